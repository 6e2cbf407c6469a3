"""The session runner's countdown for one agenda item, run by the browser.

The script runs inside an iframe's srcdoc (headers.py says why the policy allows it there), so a
ticking clock costs the server nothing.
"""

from __future__ import annotations

import html

import streamlit as st


def agenda_timer(minutes: int, key: str) -> None:
    """A countdown for one agenda item, running in the browser so the server does no work."""
    seconds = int(minutes) * 60
    # Our own fixed markup (no user text inside), so the unsanitised iframe is safe here.
    st.iframe(
        f"""
        <div style="font-family: system-ui, sans-serif; display: flex; gap: .5rem;
                    align-items: center;" role="timer" aria-live="off" id="t-{html.escape(key)}">
          <span id="clock" style="font-size: 1.4rem; font-variant-numeric: tabular-nums;
                min-width: 4.5rem;">{minutes}:00</span>
          <button id="go" style="padding:.3rem .8rem;font-size:.95rem">Start</button>
          <button id="reset" style="padding:.3rem .8rem;font-size:.95rem">Reset</button>
        </div>
        <script>
          let left = {seconds}, timer = null;
          const clock = document.getElementById('clock'), go = document.getElementById('go');
          const show = () => {{
            const m = Math.floor(Math.abs(left) / 60), s = String(Math.abs(left) % 60).padStart(2, '0');
            clock.textContent = (left < 0 ? '+' : '') + m + ':' + s;
            clock.style.color = left < 0 ? '#9b1c1c' : (left < 60 ? '#8a5a00' : 'inherit');
          }};
          go.onclick = () => {{
            if (timer) {{ clearInterval(timer); timer = null; go.textContent = 'Resume'; return; }}
            timer = setInterval(() => {{ left -= 1; show(); }}, 1000); go.textContent = 'Pause';
          }};
          document.getElementById('reset').onclick = () => {{
            clearInterval(timer); timer = null; left = {seconds}; go.textContent = 'Start'; show();
          }};
        </script>
        """,
        height=48,
        alt=f"Timer for {minutes} minutes",
    )

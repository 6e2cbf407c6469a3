"""How every staff page looks: its icon and the CSS the sign-in form, room code and print need."""

from __future__ import annotations

import streamlit as st

# An emoji, not a :material/…: icon: Streamlit fetches those favicons from fonts.gstatic.com, which
# would tell Google who opened the page and when. An emoji is drawn from a data: URL.
PAGE_ICON = "🌱"


def style() -> None:
    """The app's own CSS, added to every page (Streamlit keeps no stylesheet between pages)."""
    st.html(
        """
        <style>
        form.signin { display: grid; gap: .4rem; max-width: 22rem; }
        form.signin input { font-size: 1rem; padding: .55rem .7rem; border: 1px solid #8a8f98;
                            border-radius: .4rem; }
        form.signin button, .plain-button { font-size: 1rem; padding: .55rem 1rem; margin-top: .6rem;
                            border-radius: .4rem; border: 1px solid #2f6f5e; background: #2f6f5e;
                            color: white; cursor: pointer; }
        .plain-button { background: transparent; color: #2f6f5e; margin-top: 0; }
        a.plain-link { display: inline-block; padding: .6rem 0; color: #2f6f5e; font-weight: 600; }
        /* An empty radio circle is drawn in a light grey (about 1.4:1 on white); a darker ring
           reaches the 3:1 that controls need, so every choice is visible in a bright room. */
        label[data-testid="stRadioOption"]:not([data-selected]) > div > div:first-child {
            border: 2px solid #6b7570; }
        .room-code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace;
                     font-size: clamp(2.4rem, 6vw, 4.2rem); font-weight: 700;
                     letter-spacing: .08em; color: #1f4d41; line-height: 1.1; margin: .2rem 0 .6rem; }
        form.signin input:focus, form.signin button:focus, .plain-button:focus {
            outline: 3px solid #f2b134; outline-offset: 2px; }
        @media print {
            [data-testid="stSidebar"], header, [data-testid="stToolbar"], .no-print { display: none !important; }
            .block-container { padding: 0 !important; }
        }
        </style>
        """
    )

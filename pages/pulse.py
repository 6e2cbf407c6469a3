"""The participant pulse: no account, a room code or a card, at most ten questions.

Nothing on this page identifies the person: no sign-in, no cookie of ours, nothing logged. The
browser session remembers that it answered, so it is not offered the questions again; the cap
(never more answers than people present) and single-use cards do the rest.
"""

import datetime as dt

import streamlit as st

import ui
from program import pulse
from program.errors import InvalidInput, ProgramError, PulseFull

ui.participant_page("Today's pulse")
store = ui.store()

MAX_WRONG_CODES = 8
WRONG_CODE_PAUSE = dt.timedelta(minutes=5)

# A code in the link (from the QR code) is kept in session state, because query parameters do not
# survive every rerun. It is taken once per link, so a code typed afterwards wins over a stale one.
link_code = pulse.normalize_code(st.query_params.get("code", ""))
if link_code and link_code != st.session_state.get("pulse_link_code"):
    st.session_state["pulse_link_code"] = link_code
    st.session_state["pulse_code"] = link_code
answered: set[str] = st.session_state.setdefault("pulse_answered", set())
full: set[str] = st.session_state.setdefault("pulse_full", set())


def ask_for_code(problem: str | None = None) -> None:
    st.title("Today's pulse")
    st.write("Type the code your facilitator shows on the screen, or the code on your card.")
    if problem:
        st.error(ui.plain(problem))
    paused_until = st.session_state.get("pulse_paused_until")
    if paused_until and dt.datetime.now() < paused_until:
        st.warning("Too many codes that did not work. Please wait a few minutes and try again.")
        st.stop()
    with st.form("code_form"):
        typed = st.text_input("Code", max_chars=16, placeholder="e.g. ABCD-EFGH")
        if st.form_submit_button("Continue", type="primary", width="stretch"):
            st.session_state["pulse_code"] = pulse.normalize_code(typed)
            st.rerun()
    st.stop()


def wrong_code() -> None:
    wrong = st.session_state.get("pulse_wrong", 0) + 1
    st.session_state["pulse_wrong"] = wrong
    if wrong >= MAX_WRONG_CODES:
        st.session_state["pulse_wrong"] = 0
        st.session_state["pulse_paused_until"] = dt.datetime.now() + WRONG_CODE_PAUSE


def promise(invitation: pulse.Invitation) -> None:
    """The privacy promise before the questions: short enough that the first question shows on a
    phone's first screen, with every point of it one tap away."""
    k = invitation.min_cell_size
    count = len(invitation.items)
    st.info(
        f"**{count} short question{'s' if count != 1 else ''}, answered anonymously.** Staff see"
        f" only the group's averages, only after the pulse closes, and only if at least {k}"
        " people answered. No name, device or time is kept. Answering is voluntary.",
        icon=":material/lock:",
    )
    with st.expander("What happens to my answers?"):
        st.markdown(promise_details(invitation))


def promise_details(invitation: pulse.Invitation) -> str:
    k = invitation.min_cell_size
    asked = ", ".join(ui.plain(i.title) for i in invitation.instruments)
    return "\n".join(
        [
            f"- **What is asked:** {len(invitation.items)} short questions ({asked}).",
            "- **Who sees what:** staff see only the group's averages, never anyone's answers.",
            f"- **Minimum group size:** nothing is shown unless at least {k} people answer.",
            "- **Nothing before the end:** results appear only after the pulse closes.",
            "- **Nothing about you is kept:** no name, no device, no time. Answers are stored in"
            " a random order, so they cannot be traced back to you.",
            "- **It is up to you:** answering is voluntary. You may close this page.",
        ]
    )


def receipt_of(invitation: pulse.Invitation) -> None:
    """What the person can take away after answering: the promise as it now applies."""
    k = invitation.min_cell_size
    st.info(
        "\n".join(
            [
                "- Your answers are stored without your name, device or the time, in a random"
                " order among the others.",
                "- Staff will see only the group's averages, after the pulse closes, and only if"
                f" at least {k} people answered.",
                "- Nobody, staff included, can find out which answers were yours.",
            ]
        ),
        icon=":material/lock:",
    )


receipt = st.session_state.pop("pulse_receipt", None)
if receipt is not None:
    st.title("Thank you")
    if receipt.card_hash is not None:
        st.success(
            "Your answers are in. Each card counts once: if this card was used before, the first"
            " answer is the one that counts. You can throw the card away now."
        )
    else:
        st.success("Your answers are in.")
    receipt_of(receipt)
    st.stop()

code = st.session_state.get("pulse_code")
if not code:
    ask_for_code()

try:
    invitation = pulse.resolve_code(store, code, dt.datetime.now())
except ProgramError as exc:
    st.session_state.pop("pulse_code", None)
    wrong_code()
    ask_for_code(str(exc))

if invitation.card_hash is None and invitation.window_key in answered:
    st.title("Thank you")
    st.success("Your answers are in. Please answer once only, so the group's averages are fair.")
    receipt_of(invitation)
    st.stop()

if invitation.window_key in full:
    st.title("All answers are in")
    st.info(
        "Everyone who was here today seems to have answered already, so no more answers can be"
        " added. If you have not answered yet, please tell your facilitator."
    )
    st.stop()

# Curriculum wording is shown as written: a title or label can carry no image, link or formatting.
st.title(f"Session {invitation.session_number}: {ui.plain(invitation.session_title)}")
problem = st.session_state.pop("pulse_problem", None)
if problem:
    st.error(ui.plain(problem))
promise(invitation)

with st.form("pulse_form"):
    current = None
    for number, (instrument, item) in enumerate(invitation.items, start=1):
        if instrument.id != current:
            current = instrument.id
            st.markdown(f"**{ui.plain(instrument.recall)}**")
            if instrument.instructions:
                st.caption(ui.plain(instrument.instructions))
        labels = instrument.scale.labels
        st.radio(
            f"{number}. {ui.plain(item.text)}",
            instrument.scale.points,
            index=None,
            key=f"answer_{pulse.answer_key(instrument, item)}",
            format_func=lambda p, labels=labels: (
                f"{p}  {ui.plain(labels[p])}" if p in labels else str(p)
            ),
        )
    sent = st.form_submit_button("Send my answers", type="primary", width="stretch")

if sent:
    raw = {
        pulse.answer_key(i, item): st.session_state.get(f"answer_{pulse.answer_key(i, item)}")
        for i, item in invitation.items
    }
    try:
        pulse.submit(store, invitation, raw, dt.datetime.now())
    except PulseFull:
        full.add(invitation.window_key)
        st.rerun()
    except InvalidInput as exc:
        # Shown at the top, where a phone screen shows it; the answers given so far stay chosen.
        st.session_state["pulse_problem"] = str(exc)
        st.rerun()
    except ProgramError as exc:
        # Closed meanwhile, a card used meanwhile, or too many people sending at the same moment.
        st.session_state["pulse_problem"] = str(exc)
        st.rerun()
    else:
        answered.add(invitation.window_key)
        st.session_state["pulse_receipt"] = invitation
        if invitation.card_hash is not None:
            st.session_state.pop("pulse_code", None)  # a used card leads nowhere now
        for key in list(st.session_state):
            if str(key).startswith("answer_"):
                del st.session_state[key]
        st.rerun()

"""Group mirror: the group's own released averages for one closed session, to project in the room."""

import datetime as dt
import html

import streamlit as st

import ui
from program import pulse, session_runner
from program.errors import ProgramError
from program.mirror import Mirror, MirrorLine, mirror, mirror_sessions
from program.models import Direction, Role, StaffUser
from program.privacy import ROUNDING_NOTE, format_value
from program.store import Store
from program.views import cache_key

viewer = ui.page("Group mirror", frozenset({Role.FACILITATOR}))
store = ui.store()

# Projector-friendly: big type, dark ink on white, calm colour, nothing but the group's averages.
st.html(
    """
    <style>
    [data-testid="stMainBlockContainer"] { padding-top: 3.5rem !important; }
    .mirror { font-family: inherit; color: #111820;
              max-width: 80rem; margin: 0 auto; }
    /* Sizes follow the screen's height as well as its width, so all five measures fit a
       1280 × 720 projector with the sidebar collapsed: three cards across, two rows. */
    .mirror h1 { font-size: clamp(1.75rem, 4.5vh, 3.2rem); line-height: 1.15; margin: 0 0 .3rem;
                 font-weight: 700; color: #111820; }
    .mirror .when { font-size: clamp(1.05rem, 2.6vh, 1.5rem); color: #3a4450;
                    margin: 0 0 2vh; }
    .mirror .lines { display: grid; gap: 1.6vh 1rem;
                     grid-template-columns: repeat(auto-fit, minmax(min(100%, 21rem), 1fr)); }
    .mirror .line { border-left: .6rem solid #2f6f5e; background: #f3f6f5; border-radius: .5rem;
                    padding: 1.4vh 1.25rem; }
    .mirror .line p { margin: 0; }
    .mirror .head { display: flex; justify-content: space-between; align-items: baseline;
                    gap: .75rem; flex-wrap: wrap; }
    .mirror .what { font-size: clamp(.95rem, 2.2vh, 1.2rem); font-weight: 700; color: #24574a;
                    text-transform: uppercase; letter-spacing: .04em; }
    .mirror .number { font-size: clamp(.95rem, 2.2vh, 1.15rem); color: #2b333c;
                      white-space: nowrap; }
    .mirror .number strong { font-size: clamp(1.5rem, 4vh, 2.2rem); color: #111820; }
    .mirror .words { font-size: clamp(1.05rem, 2.6vh, 1.7rem); line-height: 1.3;
                     margin: .3rem 0 .4rem !important; }
    .mirror .change { font-size: clamp(.95rem, 2.3vh, 1.3rem); color: #2b333c; }
    .mirror .promise { font-size: clamp(.95rem, 2.3vh, 1.35rem); line-height: 1.45;
                       color: #2b333c; margin-top: 2vh; padding-top: 1.2vh;
                       border-top: 2px solid #d5dbe0; }
    .mirror .kind { font-size: 2rem; line-height: 1.4; background: #f3f6f5; border-radius: .5rem;
                    padding: 1.6rem 2rem; }
    .mirror .aside { font-size: 1.35rem; color: #3a4450; }
    </style>
    """
)

mine = session_runner.my_cohorts(store, viewer)
if not mine:
    st.info("You are not running a cohort yet. The group mirror works once you do.")
    st.stop()
# A pulse past its closing time counts as closed the moment anyone looks (as on the session page).
pulse.close_due(store, dt.datetime.now())

with st.sidebar:
    st.subheader("What to show")
    cohort = st.selectbox("Cohort", mine, format_func=lambda c: c.name, key="mirror_cohort")
    try:
        sessions = mirror_sessions(store, viewer, cohort.id)
    except ProgramError as exc:
        ui.show_error(exc)
        st.stop()
    closed = sessions.closed
    waiting = [
        f"{w.number} ({'pulse still open' if w.pulse_open else 'no pulse yet'})"
        for w in sessions.waiting
    ]
    chosen = st.selectbox(
        "Session",
        closed,
        index=len(closed) - 1 if closed else None,
        format_func=lambda s: f"{s.number}. {s.title}",
        key=f"mirror_session_{cohort.id}",
        placeholder="No closed pulse yet",
        disabled=not closed,
    )
    if waiting:
        st.caption(
            "Only sessions whose pulse has closed can be shown. Not yet: session "
            + ", ".join(waiting)
            + "."
        )
    st.caption("Collapse this sidebar (the « at its top) before projecting.")
    with st.expander("How the averages are rounded"):
        st.markdown(
            "Each average is rounded to a step that is coarser for smaller groups: the smallest"
            " of 1, 2, 2.5 or 5 (times a power of ten) for which the number of answers times the"
            " step is at least half the scale's range. On a 0–10 scale, 5–9 answers give whole"
            " points and 10–19 give halves. It is rounded up or down at random, more often to"
            " the nearer step, by a draw made once when the pulse closed and kept secret, so the"
            " figure never changes. Someone who knew every answer but one could narrow the last"
            " one down only to a band at least half the scale wide; an answer at the very top or"
            " bottom of the scale can be told apart from the rest only by chance. The mirror"
            " shows no spread, interval or count per answer."
        )


@st.cache_data(max_entries=64, show_spinner=False)
def load_mirror(
    _store: Store, _viewer: StaffUser, database: str, viewer_id: int, session_id: int, version: int
) -> Mirror:
    """The session's mirror, cached like the dashboard: per database, viewer and data version."""
    return mirror(_store, _viewer, session_id)


def line_html(line: MirrorLine) -> str:
    instrument = line.instrument
    low, high = instrument.score_range
    better = "higher" if instrument.direction == Direction.HIGHER_IS_BETTER else "lower"
    change = ""
    if line.change_sentence is not None:
        change = f'<p class="change">{html.escape(line.change_sentence)}</p>'
    return (
        '<div class="line"><div class="head">'
        f'<p class="what">{html.escape(instrument.short_title)}</p>'
        f'<p class="number"><strong>{format_value(line.mean, line.step)}</strong> on {low:g}–{high:g},'
        f" {better} is better</p></div>"
        f'<p class="words">{html.escape(line.sentence)}</p>'
        f"{change}</div>"
    )


def promise(min_group_size: int) -> str:
    return (
        '<p class="promise">Nobody’s answers are shown here, only the group’s average, and only'
        f" when at least {min_group_size} people answered. {html.escape(ROUNDING_NOTE)} No names, devices or"
        " times are stored with the answers.</p>"
    )


if chosen is None:
    st.html(
        '<section class="mirror"><h1>How the group is doing</h1>'
        '<p class="kind">There is nothing to show yet. The group mirror shows a session once its'
        " pulse has closed.</p></section>"
    )
    st.stop()

try:
    key = cache_key(store)
    view = load_mirror(store, viewer, key.database, viewer.id, chosen.id, key.data_version)
except ProgramError as exc:
    ui.show_error(exc)
    st.stop()

heading = (
    "<h1>How the group is doing</h1>"
    f'<p class="when">Session {view.session_number}: {html.escape(view.session_title)}</p>'
)
if not view.lines:
    # Everything held back: a kind explanation, and nothing else.
    st.html(
        f'<section class="mirror">{heading}'
        f'<p class="kind">This time, fewer than {view.min_group_size} people answered, so the group’s results'
        " stay private: nothing is shown, so that nobody’s answers can be singled out. Thank you"
        " to everyone who took part.</p>"
        "</section>"
    )
    st.stop()

aside = ""
if view.held_back:
    aside = (
        '<p class="aside">Some questions are not shown this time because fewer than'
        f" {view.min_group_size} people answered them.</p>"
    )
st.html(
    f'<section class="mirror">{heading}<div class="lines">'
    + "".join(line_html(line) for line in view.lines)
    + "</div>"
    + aside
    + promise(view.min_group_size)
    + "</section>"
)

"""Cohort results: one cohort's attendance, fidelity and released pulse results, for its facilitators."""

import datetime as dt
import re
from functools import partial
from typing import Any

import streamlit as st

import ui
from program import charts, exports, printing, pulse, reports, session_runner
from program.cohort_results import CohortResults, MeasureSeries, cohort_results, record_export
from program.errors import ProgramError
from program.models import Role, StaffUser
from program.privacy import (
    ROUNDING_NOTE,
    end_chance,
    shields_the_middle,
    step_bands,
    step_decimals,
)
from program.release_arithmetic import grain
from program.store import Store
from program.views import cache_key

viewer = ui.page("Cohort results", frozenset({Role.FACILITATOR}))
store = ui.store()

st.title("Cohort results")
mine = session_runner.my_cohorts(store, viewer)
if not mine:
    st.info("You are not running a cohort yet. Results appear here once you do.")
    st.stop()


@st.cache_data(max_entries=64, show_spinner=False)
def load_results(
    _store: Store, _viewer: StaffUser, database: str, viewer_id: int, cohort_id: int, version: int
) -> CohortResults:
    """The cohort's results, cached until anything a dashboard shows may have changed.

    The key holds the database and the viewer, so one facilitator's cached results never reach
    another database or person; `version` (the data version) changes with every audited write.
    """
    return cohort_results(_store, _viewer, cohort_id)


@st.cache_data(max_entries=64, show_spinner=False)
def chart_specs(
    _data: CohortResults, database: str, viewer_id: int, cohort_id: int, version: int
) -> dict[str, dict[str, Any]]:
    """Every chart of the page as a Vega-Lite spec, built once per version of the data like the
    results themselves: building and checking Altair charts is most of this page's time. The
    builders' specs are checked against the Vega-Lite schema in tests/test_charts.py."""
    data = _data
    built = {"attendance": charts.attendance_chart(data.attendance)}
    return {name: chart.to_dict(validate=False) for name, chart in built.items()}


@st.cache_data(max_entries=256, show_spinner=False)
def measure_spec(
    _series: MeasureSeries,
    measure: str,
    database: str,
    viewer_id: int,
    cohort_id: int,
    version: int,
    min_group_size: int,
) -> dict[str, Any]:
    """One measure's chart as a Vega-Lite spec, built when its tab is first chosen; `measure`
    (its id) is part of the cache's key, as the series itself is not hashed."""
    spec: dict[str, Any] = charts.measure_trend(_series, min_group_size).to_dict(validate=False)
    return spec


def draw(name: str, height: int, label: str, series: MeasureSeries | None = None) -> None:
    """One chart of the page, and its PNG download."""
    spec = (
        measure_spec(
            series,
            series.instrument.id,
            key.database,
            viewer.id,
            cohort.id,
            key.data_version,
            min_group_size,
        )
        if series is not None
        else specs[name]
    )
    st.vega_lite_chart(spec=spec, width="stretch", height=height)
    png_button(spec, name, label)


cohort = st.columns([1, 2])[0].selectbox(
    "Cohort", mine, format_func=lambda c: c.name, key="dash_cohort"
)
# A pulse past its closing time counts as closed the moment anyone looks (as on the session page).
pulse.close_due(store, dt.datetime.now())
# One version of the data for every cache key of this run, read after close_due may change it.
key = cache_key(store)
with st.spinner("Loading the cohort's results…"):
    try:
        data = load_results(store, viewer, key.database, viewer.id, cohort.id, key.data_version)
    except ProgramError as exc:
        ui.show_error(exc)
        st.stop()

min_group_size = data.min_group_size
specs = chart_specs(data, key.database, viewer.id, cohort.id, key.data_version)
headline = data.headline
# Streamlit fits title, axes and plot into the chart's height; 260 leaves a thin plot.
CHART_HEIGHT = 400
SMALL_CHART_HEIGHT = 320
METRIC_WIDTH = 170  # pixels: two figures side by side on a 390-pixel phone, four on a laptop
slug = re.sub(r"[^a-z0-9]+", "-", data.cohort.name.lower()).strip("-") or "cohort"


def audited(what: str) -> None:
    """Record one export in the audit log (runs when the download button is clicked)."""
    record_export(store, viewer, data.cohort.id, what)


def png_button(chart: Any, name: str, label: str) -> None:
    """A download of the chart as PNG, drawn only when clicked (each takes most of a second)."""
    st.download_button(
        f"Chart as PNG: {ui.plain(label)}",
        data=partial(charts.png, chart),
        file_name=f"{slug}-{name}.png",
        mime="image/png",
        on_click=audited,
        args=(f"cohort chart png {name}",),
        type="tertiary",
        icon=":material/download:",
        key=f"png_{name}",
    )


# --------------------------------------------------------------------------- headline

st.caption(
    f"{ui.plain(data.bundle.curriculum.title)} · started {data.cohort.start_date:%d %B %Y} ·"
    f" {data.cohort.status} · minimum group size for pulse results: {min_group_size}"
)
# A row that wraps instead of columns that stack: two figures a line on a phone, not one.
figures_row = st.container(horizontal=True, gap="small")
figures_row.metric("Enrolled", headline.enrolled, border=True, width=METRIC_WIDTH)
figures_row.metric(
    "Sessions held",
    f"{headline.sessions_held} of {headline.sessions_scheduled}",
    border=True,
    width=METRIC_WIDTH,
)
figures_row.metric(
    "Attendance",
    "—" if headline.attendance_rate is None else f"{headline.attendance_rate:.0%}",
    help="Present ÷ enrolled, averaged over the sessions held so far.",
    border=True,
    width=METRIC_WIDTH,
)
figures_row.metric(
    "Completed" if headline.finished else "Completed so far",
    f"{headline.completers} of {headline.enrolled}",
    help=(
        f"Attended at least {headline.completion_rule} of the {headline.weekly_sessions} weekly"
        " sessions: the curriculum's rule."
    ),
    border=True,
    width=METRIC_WIDTH,
)

# --------------------------------------------------------------------------- attendance

st.header("Attendance")
if headline.sessions_held:
    attendance_left, attendance_right = st.columns(2)
    with attendance_left:
        draw("attendance", SMALL_CHART_HEIGHT, "attendance")
    with attendance_right:
        # Retention as a small table of figures rather than a second chart: the same facts,
        # read at a glance, and one chart fewer for the browser to draw.
        st.markdown("**Retention over the weekly sessions**")
        st.dataframe(
            [
                {"Session": a.number, "Present": f"{a.present} of {a.enrolled}", "Share": a.rate}
                for a in data.retention
            ],
            hide_index=True,
            width="stretch",
            column_config={
                "Share": st.column_config.ProgressColumn(
                    "Share present", format="percent", min_value=0.0, max_value=1.0
                )
            },
        )
else:
    st.info("No session has been marked held yet. Attendance appears here once one is.")

marked = sorted({n for sessions in data.who_came.values() for n in sessions})
# Drawn only when opened: a table of names is one more grid for the browser to draw on every
# open of the page, for a fact most visits do not need.
who_came = st.expander(
    "Who came", icon=":material/group:", key=f"who_came_{cohort.id}", on_change="rerun"
)
with who_came:
    st.caption(
        "Only this cohort's facilitators see names. Program leads and admins never do, and"
        " names are never part of an export."
    )
    if not who_came.open:
        pass
    elif marked and data.who_came:
        st.dataframe(
            [
                {"Name": name}
                | {
                    f"Session {n}": sessions.get(n, "—").replace(" (late)", ", late")
                    for n in marked
                }
                for name, sessions in data.who_came.items()
            ],
            hide_index=True,
            width="stretch",
        )
    else:
        st.write("No attendance taken yet.")

# --------------------------------------------------------------------------- measures

st.header("Pulse results")
# A pulse opens only on or after its session's day, so a session with results could be held: say
# so where it is not marked held yet, rather than show results for a session "not held".
not_marked = data.not_marked
if not_marked:
    listed = ", ".join(str(n) for n in not_marked)
    st.warning(
        (
            f"Session {listed} had a pulse but is"
            if len(not_marked) == 1
            else f"Sessions {listed} had a pulse but are"
        )
        + " not marked held yet: mark it held in Run a session so that its attendance counts too.",
        icon=":material/event_note:",
    )


def signed(value: float, places: int) -> str:
    """+1.2 or −1.2, with a true minus sign (a hyphen reads as a dash next to "to")."""
    return f"{value:+.{places}f}".replace("-", "−")


def change_card(series: MeasureSeries) -> None:
    """First vs last session in two plain sentences: what changed, and how sure the figures let
    us be (`MeasureSeries.words`); the figures behind them for evaluators, one click away."""
    st.markdown("**What changed**")
    fl = series.first_last
    words = series.words
    if fl is None or words is None:
        st.caption(f"Not available: {series.first_last_reason}.")
        return
    st.markdown(f"{ui.plain(words.what)} {words.how_sure}")
    st.caption(
        "Answers are anonymous and not linked from week to week, so this compares the group as a"
        " whole at two sessions; it does not show that any one member changed, and the people"
        " answering may differ between the two."
    )
    c = fl.change
    places = step_decimals(c.diff_step)
    ci_places = step_decimals(c.ci_step)
    with st.expander("Details for evaluators", icon=":material/science:"):
        lines = [
            f"- Difference (last − first): {signed(c.diff, places)} points, 95% interval"
            f" {signed(c.ci95[0], ci_places)} to {signed(c.ci95[1], ci_places)}, from the two"
            " rounded averages and an assumed spread of a quarter of the scale (independent"
            " samples: t on n₁ + n₂ − 2 degrees of freedom)."
        ]
        if c.g is not None and c.g_ci95 is not None:
            lines.append(
                f"- Hedges' g: {signed(c.g, 1)}, 95% interval {signed(c.g_ci95[0], 1)} to"
                f" {signed(c.g_ci95[1], 1)} (about 0.2 small, 0.5 medium, 0.8 large)."
            )
        enrolled = data.enrolled
        shares = [
            f"session {number}: {n} of {enrolled} enrolled ({n / enrolled:.0%})"
            if enrolled
            else f"session {number}: {n}"
            for number, n in ((fl.first, fl.n_first), (fl.last, fl.n_last))
        ]
        lines.append(f"- Answered: {'; '.join(shares)}.")
        lines.append(
            f"- Smallest change that matters on this scale:"
            f" {series.instrument.minimal_important_change:g} points."
        )
        st.markdown("\n".join(lines))


def rounding_details(data: CohortResults) -> str:
    """The rounding rule and the reference spread, for the "How the averages are rounded" box."""
    top = max(20, data.enrolled)
    shown = {cell.measure for cell in data.release.released}
    scales = []
    for series in data.measures:
        instrument = series.instrument
        if instrument.id not in shown:
            continue
        low, high = instrument.score_range
        bands = "; ".join(
            f"{first if first == last else f'{first}–{last}'} answers → {step:g}"
            for first, last, step in step_bands(low, high, min_group_size, top)
        )
        sizes = range(min_group_size, top + 1)
        apart = grain(instrument)
        if all(shields_the_middle(n, low, high, apart) for n in sizes):
            chance = max(end_chance(n, low, high, apart) for n in sizes)
            risk = f"An answer at the very top or bottom is singled out at most {chance:.0%} of the time."
        else:
            risk = "The scale is too short for rounding to hide single answers: any can be singled out."
        scales.append(
            f"- **{ui.plain(instrument.short_title)}** ({low:g}–{high:g}), steps: {bands}."
            f" {risk} Spread the interval assumes: {(high - low) / 4:g} points."
        )
    return (
        "- **Rounding.** An average of n answers is rounded to the smallest step of 1, 2, 2.5 or"
        " 5 (times a power of ten) for which n × step is at least half the scale's range, counted"
        " from the scale's lowest point. It is rounded up or down at random, more often to the"
        " nearer step, by a draw made once when the pulse closed and kept secret, so every view"
        " shows the same figure. Someone who knew every answer but one could narrow the last one"
        " down only to a band at least half the scale wide; an answer at the very top or bottom"
        " of the scale can be told apart from the rest only by chance (below, per question).\n"
        "- **The 95% interval** never uses the spread of this group's answers, nor of any other"
        " group's, which could give answers away. It assumes answers spread about a quarter of"
        " the scale's range, which is typical of these scales and on the cautious side, so the"
        " interval is, if anything, too wide. Its ends are rounded outward to the average's"
        " step.\n"
        "- **The change** from the first to the last session is the difference between the two"
        " rounded averages, with the same assumed spread; Hedges' g is rounded to one decimal.\n"
        "- No standard deviation and no count per answer of this group is shown or exported.\n"
        + "\n".join(scales)
    )


released_any = data.released_any
still_open = data.still_open
if not released_any:
    if data.held_back:
        st.info(
            f"Pulse results for this group are held back: fewer than {min_group_size} responses at every"
            " session so far; nothing is shown so that nobody's answers can be singled out."
            " That is the privacy promise at work, not a problem with the group. Attendance and"
            " fidelity are about what you recorded, so they are shown in full.",
            icon=":material/lock:",
        )
    elif not still_open:
        st.info(
            "No pulse has closed yet. Results appear here after a session's pulse closes, for"
            f" each question at least {min_group_size} people answered."
        )
    if still_open:
        st.info(
            f"The pulse of session {', '.join(map(str, still_open))} is still open: results"
            " appear after it closes.",
            icon=":material/schedule:",
        )
else:
    st.caption(ROUNDING_NOTE)
    with st.expander("How to read this", icon=":material/help:"):
        st.markdown(
            f"""
- Each chart shows **the group's average** at each session, rounded, with its **95% interval**
  as a grey band: the range of averages that fit the answers given, if they spread about a
  quarter of the scale as such answers usually do. Above each point, **n** is how many people
  answered. Sessions are spaced by their number, so a gap between sessions 1 and 3 is wider
  than one between 3 and 4.
- A session is shown only when its pulse has closed and **at least {min_group_size} people** answered. A
  triangle at the bottom marks a session that is held back; hover it for the reason. A gap is
  not a low score.
- The pale strip across the chart, around the first session's average, is **the smallest
  change that matters** on that scale: movements inside it are noise-sized.
- **What changed** compares the first and last session the question was asked. Answers are
  anonymous and not linked across weeks, so these are two snapshots of whoever answered, not
  the same people measured twice.
- With groups this small, intervals are wide. Read the direction and size together, and
  alongside what you saw in the room.
"""
        )
    with st.expander("How the averages are rounded", icon=":material/calculate:"):
        st.markdown(rounding_details(data))
    if still_open:
        st.caption(
            f"The pulse of session {', '.join(map(str, still_open))} is still open: its results"
            " appear after it closes."
        )
    asked = [series for series in data.measures if series.points]
    not_asked = [series.instrument.short_title for series in data.measures if not series.points]
    # Only the chosen measure's tab is drawn (the others when chosen): a chart each is most of
    # this page's time.
    tabs = st.tabs(
        [ui.plain(series.instrument.short_title) for series in asked],
        key=f"measure_tab_{cohort.id}",
        on_change="rerun",
    )
    for tab, series in zip(tabs, asked, strict=True):
        if not tab.open:
            continue
        with tab:
            draw(series.instrument.id, CHART_HEIGHT, series.instrument.short_title, series)
            held_back = [p for p in series.points if p.cell is None]
            if held_back:
                st.caption(
                    "Not shown: "
                    + "; ".join(f"session {p.session_number} ({p.reason})" for p in held_back)
                    + "."
                )
            with st.container(border=True):
                change_card(series)
    if not_asked:
        st.caption(f"Not asked yet: {ui.plain(', '.join(not_asked))}.")

# --------------------------------------------------------------------------- fidelity

st.header("Fidelity")
if any(share is not None for share in data.fidelity.values()):
    fidelity_left, fidelity_right = st.columns(2)
    with fidelity_left:
        st.dataframe(
            [
                {"Session": number, "Delivered": share}
                for number, share in sorted(data.fidelity.items())
                if share is not None
            ],
            hide_index=True,
            width="stretch",
            column_config={
                "Delivered": st.column_config.ProgressColumn(
                    "Agenda delivered", format="percent", min_value=0.0, max_value=1.0
                )
            },
        )
    fidelity_right.caption(
        "The share of each session's agenda ticked on the checklist. A session that ran short is"
        " worth keeping in mind when its pulse results move."
    )
else:
    st.info("No fidelity checklist saved yet. Tick agenda items on the session page.")

# --------------------------------------------------------------------------- export

st.header("Export")
if released_any:
    st.caption(
        "The CSV holds exactly the figures released on this page: attendance and agenda"
        " delivered by session, and each question's n, rounded average, the step it was rounded"
        f" to and its 95% interval where at least {min_group_size} people answered. Held-back sessions are listed with their reason and no"
        " numbers, and no names are included. Every download is recorded in the audit log."
    )
else:
    st.caption(
        "The CSV holds attendance and agenda delivered by session. Pulse results are held back,"
        " so they are listed with their reason and no numbers. No names are included. Every"
        " download is recorded in the audit log."
    )
st.download_button(
    "Download results (CSV)",
    data=exports.cohort_csv(data),
    file_name=f"{slug}-results.csv",
    mime="text/csv",
    on_click=audited,
    args=("cohort results csv",),
    icon=":material/download:",
    key="csv",
)

st.subheader("A report for the group's sponsor")
st.caption(
    "One printable document: attendance, what changed for each question in plain words, and how"
    " the figures are made. No names. Making it is recorded in the audit log."
)
# Not keyed on the data version: making the report is an audited write, which moves it.
report_key = f"report-{data.cohort.id}"
if st.button("Make the report", icon=":material/description:", key="make-report"):
    with st.spinner("Drawing the report's charts…"):
        html = reports.cohort_report(data, dt.datetime.now(), toolbar=printing.PRINT_TIP)
    audited("cohort report")
    # Kept in this process's memory only, for the two links below (printing.SHEETS).
    st.session_state[report_key] = printing.SHEETS.put(html, dt.datetime.now())
if token := st.session_state.get(report_key):
    with st.container(horizontal=True):
        st.link_button("Print the report", printing.report_link(token), icon=":material/print:")
        st.link_button(
            "Report as PDF", printing.report_link(token, pdf=True), icon=":material/picture_as_pdf:"
        )

"""Program dashboard: pooled, released results across a program's cohorts, and their exports.

No roster name appears here: the page shows cohort names, counts and pooled figures only, all
built by program.results.program_results from released cells.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

import streamlit as st

import ui
from program import charts, exports
from program.access import visible_programs
from program.errors import ProgramError
from program.models import Actor, Role
from program.privacy import ROUNDING_NOTE, PooledFigure
from program.results import ProgramResults, Selection, program_results

viewer = ui.page("Program dashboard", frozenset({Role.LEAD, Role.ADMIN}))
store = ui.store()

PNG_WIDTH = 640  # charts fill their container on the page; a PNG has none, so give it a width
CHART_HEIGHT = 340  # the page fits title, axes and plot into this; the builders' 260 leaves ~120
METRIC_WIDTH = 105  # pixels: three figures side by side in a box, on a phone as on a laptop


# Cached with st.cache_data: ProgramResults are frozen dataclasses and pydantic models, which pickle
# (15 kB on the demo), and the call takes 80–90 ms on the demo and grows with the number of cohorts.
# The key holds the database path (one process may serve several, as the tests do), the viewer,
# every selection field and the store's data version, which changes whenever a shown number may.
# The access check runs inside the cached call, and errors are never cached.
@st.cache_data(ttl=600, show_spinner=False)
def load_results(
    database: str,
    viewer_id: int,
    program_id: int,
    curriculum_version_id: int | None,
    started_from: dt.date | None,
    started_to: dt.date | None,
    data_version: int,
) -> ProgramResults:
    del database, data_version  # only part of the cache key
    selection = Selection(program_id, curriculum_version_id, started_from, started_to)
    shared = ui.store()
    return program_results(shared, shared.staff_user(viewer_id), selection)


def record_export(what: str, program_id: int) -> None:
    store.record_export(Actor.of(viewer), what, program_id)


def png_of(chart: Any) -> Callable[[], bytes]:
    """Render the PNG only when someone clicks its download button (it takes a second or two)."""
    return lambda: charts.png(chart.properties(width=PNG_WIDTH))


def png_button(label: str, chart: Any, program_id: int, name: str) -> None:
    """A download button for one chart as PNG, rendered on click; the download is audited."""
    st.download_button(
        label,
        data=png_of(chart),
        file_name=f"program-{program_id}-{name}.png",
        mime="image/png",
        icon=":material/image:",
        on_click=record_export,
        args=(f"program {name} png", program_id),
        key=f"png-{name}",
    )


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def left_out_line(count: int, k: int) -> str:
    if count == 1:
        return f"1 cell left out of this view because it rests on fewer than {k} responses or is still open."
    return (
        f"{count} cells left out of this view because they rest on fewer than {k} responses or"
        " are still open."
    )


def g_and_n_table(figures: list[PooledFigure]) -> str:
    """G, N and cells left out at each session, as a small Markdown table beside the chart."""
    lines = ["| Session | G | N | Left out |", "|---:|---:|---:|---:|"]
    lines += [
        f"| {f.session_number} | {f.pooled.G} | {f.pooled.N} | {f.left_out} |" for f in figures
    ]
    return "\n".join(lines)


st.title("Program dashboard")
st.caption(
    "Pooled results across cohorts. Every number about answers comes only from released cells:"
    " a session's pulse has closed and the cohort gave at least the program's minimum number of"
    " responses. No names from any roster appear here."
)

# --------------------------------------------------------------------------- what to show
programs = visible_programs(store, viewer)
if not programs:
    if viewer.role == Role.ADMIN:
        st.info("There is no program yet. Create one on the Admin page.", icon=":material/info:")
    else:
        st.info(
            "You do not lead a program yet. When an admin assigns you to one, its pooled results"
            " appear here.",
            icon=":material/info:",
        )
    st.stop()

left, middle, right = st.columns([2, 2, 2])
program = left.selectbox("Program", programs, format_func=lambda p: p.name)
all_cohorts = store.cohort_frame(program.id)
if all_cohorts.empty:
    st.info(
        f"**{ui.plain(program.name)}** has no cohorts yet. Once a cohort holds sessions and closes its"
        " pulses, pooled results appear here.",
        icon=":material/info:",
    )
    st.stop()

version_ids = sorted(int(v) for v in all_cohorts["curriculum_version_id"].unique())
versions = {v: store.curriculum_version(v) for v in version_ids}
version_id = middle.selectbox(
    "Curriculum version",
    [None, *version_ids],
    format_func=lambda v: (
        "All versions used in the program"
        if v is None
        else f"{versions[v].title} {versions[v].version} · {versions[v].content_hash[:8]}"
    ),
    key=f"version-{program.id}",
)
first_start = all_cohorts["start_date"].min().date()
last_start = all_cohorts["start_date"].max().date()
period = right.date_input(
    "Cohorts starting between",
    value=(first_start, last_start),
    format="DD/MM/YYYY",
    key=f"period-{program.id}",
    help="The default covers every cohort of the program.",
)
# While someone is picking a range the widget holds one date: show from that date on.
dates = [d for d in (period if isinstance(period, tuple) else (period,)) if d is not None]
started_from = dates[0] if dates else None
started_to = dates[1] if len(dates) > 1 else None
if started_from is not None and started_from <= first_start:
    started_from = None
if started_to is not None and started_to >= last_start:
    started_to = None

try:
    with st.spinner("Pooling released results…"):
        results = load_results(
            store.path,
            viewer.id,
            program.id,
            version_id,
            started_from,
            started_to,
            store.data_version(),
        )
except ProgramError as exc:
    ui.show_error(exc)
    st.stop()

k = results.k
if not results.cohort_count:
    st.info("No cohort of this program started in the chosen period.", icon=":material/info:")
    st.stop()

st.caption(
    f"{results.cohort_count} of {len(all_cohorts)} cohorts in this view · minimum group size"
    f" k = {k}"
)

with st.expander("How to read this", icon=":material/help:"):
    st.markdown(
        f"""
- **Cells.** One cohort's answers to one measure at one session form a *cell*. A cell is
  *released* once its pulse has closed and it holds at least **k = {k}** responses. Below that,
  an average could point to one person, so the cell stays hidden.
- **Pooling.** A pooled figure combines the released cells of several cohorts at the same session
  number: the average of their rounded averages, each weighted by how many answered.
  Suppressed cells are left out entirely, never estimated, so no number here depends on a hidden
  cell. Each chart says how many cells were left out.
- **G and N.** G is the number of cohorts pooled at a session, N the number of responses.
- **The 95% interval is cluster-robust.** Members of one group move together, so cohorts, not
  people, are the independent units. The interval uses the spread between cohort averages and a
  t distribution with G − 1 degrees of freedom. With two or three cohorts it is wide, honestly so;
  with one cohort there is no interval at all.
- **Why some cells are missing.** A session is missing from a chart when every cell at it was left
  out: fewer than {k} responses, or the pulse is still open. Cohorts at different stages also
  reach fewer sessions, which is why G can fall over the weeks.
- **Changes over time** are changes in the *pooled average* of whoever answered that week, not
  proof that individual members improved: answers are anonymous and never linked across weeks.
"""
    )
with st.expander("How the averages are rounded", icon=":material/calculate:"):
    st.markdown(
        """
- **Rounding.** A cell's average of n answers is rounded to the smallest step of 1, 2, 2.5 or 5
  (times a power of ten) for which n × step is at least half the scale's range, counted from the
  scale's lowest point: on a 0–10 scale, 5–9 answers give whole points, 10–19 halves, 20–24
  quarters. It is rounded up or down at random, more often to the nearer step, by a draw made
  once when the pulse closed and kept secret, so every view shows the same figure. Someone who
  knew every answer in a cell but one could narrow the last one down only to a band at least
  half the scale wide; an answer at the very top or bottom of the scale can be told apart from
  the rest only by chance: at most one answer step in n × step, which is one time in five on a
  0–10 scale and one in three on a 1–7 scale.
- **A cell's 95% interval** never uses the spread of any cohort's answers. It assumes answers
  spread about a quarter of the scale's range, which is typical of these scales and on the
  cautious side, so the interval is, if anything, too wide. Its ends are rounded outward to the
  step.
- **Look twice** at a cohort whose pulses have many answers typed in from paper cards (the audit
  log's "close pulse" events say how many): whoever typed in all but one answer of a cell is the
  one person who could try to learn something about the last.
- **Pooled figures** are built from the rounded cell averages, weighted by n, so comparing two
  views can reveal no more than the cells themselves show.
- No standard deviation and no count per answer of any cell is shown or exported.
"""
    )

# --------------------------------------------------------------------------- headline
headline = results.headline
bundles = {v: store.curriculum_bundle(v) for v in results.version_ids}
rules = {
    (b.curriculum.completion.min_sessions_attended, len(b.curriculum.weekly_numbers))
    for b in bundles.values()
}
rule = (
    "attended at least {} of the {} weekly sessions".format(*next(iter(rules)))
    if len(rules) == 1
    else "met their curriculum's completion rule"
)
cohort_box, people_box = st.columns(2)
with cohort_box.container(border=True):
    st.markdown("**Cohorts**")
    # Rows that wrap instead of columns that stack: the figures stay side by side on a phone.
    cohort_row = st.container(horizontal=True)
    cohort_row.metric("Running", headline.cohorts_running, width=METRIC_WIDTH)
    cohort_row.metric("Finished", headline.cohorts_finished, width=METRIC_WIDTH)
    cohort_row.metric("Scheduled", headline.cohorts_scheduled, width=METRIC_WIDTH)
with people_box.container(border=True):
    st.markdown("**People**")
    people_row = st.container(horizontal=True)
    people_row.metric(
        "Enrolled",
        headline.enrolled,
        help="Active roster members of the cohorts in this view.",
        width=METRIC_WIDTH,
    )
    people_row.metric(
        "Attendance",
        percent(headline.attendance_rate),
        help="Present ÷ enrolled, over every held session of these cohorts.",
        width=METRIC_WIDTH,
    )
    people_row.metric(
        "Completion",
        percent(headline.completion_rate),
        help=f"Finished cohorts only: members who {rule}, ÷ enrolled.",
        width=METRIC_WIDTH,
    )

# --------------------------------------------------------------------------- retention
st.subheader("Retention")
if results.retention:
    retention = charts.retention_chart(results.retention, "Retention across cohorts")
    ui.chart(
        retention,
        CHART_HEIGHT,
        alt="Share of enrolled members present at each session, pooled across cohorts.",
    )
    orientation = " Session 0 is the optional orientation." if 0 in results.retention else ""
    st.caption(
        "At each session number: members present ÷ members enrolled, over the cohorts that have"
        f" held that session.{orientation}"
    )
    png_button("Retention chart (PNG)", retention, program.id, "retention")
else:
    st.info("No session has been held yet in these cohorts.", icon=":material/info:")

# --------------------------------------------------------------------------- pooled trends
st.subheader("Pooled trends")
any_released = bool(results.table)
if results.left_out:
    st.markdown(f"**{left_out_line(results.left_out, k).capitalize()}** (all measures together)")
if not any_released:
    if results.left_out:
        st.info(
            "No released cells yet: every closed pulse in these cohorts has fewer than"
            f" {k} responses, or is still open.",
            icon=":material/info:",
        )
    else:
        st.info("No pulse has closed yet in these cohorts.", icon=":material/info:")
else:
    for measure, figures in results.trends.items():
        if not figures:
            continue  # asked at no session of these cohorts so far
        instrument = results.instruments[measure]
        measure_left_out = sum(f.left_out for f in figures)
        with st.container(border=True):
            if not any(f.pooled.mean is not None for f in figures):
                st.markdown(f"**{ui.plain(instrument.title)}**")
                st.caption(f"Nothing released yet. {left_out_line(measure_left_out, k)}")
                continue
            chart = charts.pooled_trend(figures, instrument.short_title, instrument.score_range)
            plot, numbers = st.columns([3, 1], vertical_alignment="center")
            ui.chart(
                chart,
                CHART_HEIGHT,
                alt=f"{instrument.title}: pooled average by session with 95% intervals.",
                target=plot,
            )
            numbers.markdown(g_and_n_table(figures))
            st.caption(
                f"{left_out_line(measure_left_out, k)} G: cohorts pooled; N: their responses."
            )
            png_button("Chart (PNG)", chart, program.id, measure)

# --------------------------------------------------------------------------- comparison
st.subheader("Cohort comparison")
if results.table:
    st.caption(ROUNDING_NOTE)
    # "plain" shows each figure as rounded: 6, 6.5 or 6.25, never a padded 6.00.
    st.dataframe(
        results.table.frame(),
        hide_index=True,
        width="stretch",
        column_config={
            "Mean": st.column_config.NumberColumn(
                "Mean (rounded)",
                format="plain",
                help="Rounded more coarsely the fewer people answered.",
            ),
            "CI low": st.column_config.NumberColumn(
                "95% CI low",
                format="plain",
                help="Assumes answers spread about a quarter of the scale; rounded outward.",
            ),
            "CI high": st.column_config.NumberColumn("95% CI high", format="plain"),
            "Responses ÷ enrolled": st.column_config.NumberColumn(format="%.0f%%"),
        },
    )
    st.caption(
        f"Released cells only: a cohort's session appears once its pulse has closed with at least"
        f" {k} responses. {left_out_line(results.left_out, k) if results.left_out else ''}"
    )
else:
    st.info("No released cells to compare yet.", icon=":material/info:")

# --------------------------------------------------------------------------- exports
st.subheader("Downloads")
st.caption(
    "Exactly the released figures shown above, as CSV. Never single responses, never names, never"
    " a left-out cell. Every download is recorded in the audit log."
)
curriculum = (
    "all versions used in the program"
    if version_id is None
    else f"{versions[version_id].title} {versions[version_id].version}"
)
downloads = st.columns(3)
downloads[0].download_button(
    "Headline figures (CSV)",
    data=exports.program_headline_csv(results, curriculum),
    file_name=f"program-{program.id}-headline.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click=record_export,
    args=("program headline csv", program.id),
    key="csv-headline",
)
downloads[1].download_button(
    "Pooled trends (CSV)",
    data=exports.pooled_trends_csv(results),
    file_name=f"program-{program.id}-pooled-trends.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click=record_export,
    args=("program pooled trends csv", program.id),
    key="csv-trends",
    disabled=not any_released,
)
downloads[2].download_button(
    "Cohort comparison (CSV)",
    # Built only when clicked: at thousands of cohorts it takes most of a second.
    data=lambda: exports.cohort_comparison_csv(results),
    file_name=f"program-{program.id}-cohort-comparison.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click=record_export,
    args=("program cohort comparison csv", program.id),
    key="csv-comparison",
    disabled=not any_released,
)

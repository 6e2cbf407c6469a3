"""Program dashboard: pooled, released results across a program's cohorts, and their exports.

No roster name appears here: the page shows cohort names, counts and pooled figures only, all
built from released cells (program/views/program_dashboard.py, program/program_results.py).
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

import streamlit as st

import ui
from program import charts, comparison, exports, method, printing, reports
from program.errors import ProgramError
from program.models import Role, StaffUser
from program.program_results import Selection
from program.trends import composition_drops
from program.views import CacheKey, cache_key
from program.views import program_dashboard as dashboard

viewer = ui.page("Program dashboard", frozenset({Role.LEAD, Role.ADMIN}))
store = ui.store()

PNG_WIDTH = 640  # charts fill their container on the page; a PNG has none, so give it a width
CHART_HEIGHT = 340  # the page fits title, axes and plot into this; the builders' 260 leaves ~120
METRIC_WIDTH = 105  # pixels: three figures side by side in a box, on a phone as on a laptop


# Cached with st.cache_data: the figures are frozen dataclasses and pydantic models, which pickle
# small, and the call grows with the number of cohorts (benchmarks/RESULTS.md has its times).
# The key holds the database path and its data version (views.cache_key: the version changes
# whenever a shown number may), the viewer's id and the selection; the viewer itself is left out
# of the key (its leading underscore). The access check runs inside the cached call, and errors
# are never cached.
@st.cache_data(ttl=600, show_spinner=False)
def load_figures(
    key: CacheKey, viewer_id: int, _viewer: StaffUser, selection: Selection
) -> dashboard.DashboardFigures:
    del key, viewer_id  # only part of the cache key
    return dashboard.figures(ui.store(), _viewer, selection)


def record_export(what: str, program_id: int) -> None:
    dashboard.record_export(store, viewer, what, program_id)


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


st.title("Program dashboard")
st.caption(
    "How the program's groups (cohorts) are doing, together. A figure about answers appears only"
    " once a session's pulse has closed and enough people in the group answered; no names from"
    " any roster appear here."
)

# --------------------------------------------------------------------------- what to show
programs = dashboard.choices(store, viewer).programs
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
scope = dashboard.scope(store, viewer, program.id)
if not scope.cohort_count:
    st.info(
        f"**{ui.plain(program.name)}** has no cohorts yet. Once a cohort holds sessions and closes its"
        " pulses, pooled results appear here.",
        icon=":material/info:",
    )
    st.stop()

version_id = middle.selectbox(
    "Curriculum version",
    [None, *scope.versions],
    format_func=scope.version_label,
    key=f"version-{program.id}",
)
period = right.date_input(
    "Cohorts starting between",
    value=(scope.first_start, scope.last_start),
    format="DD/MM/YYYY",
    key=f"period-{program.id}",
    help="The default covers every cohort of the program.",
)
selection = scope.selection(version_id, period if isinstance(period, tuple) else (period,))

try:
    with st.spinner("Pooling released results…"):
        shown = load_figures(cache_key(store), viewer.id, viewer, selection)
except ProgramError as exc:
    ui.show_error(exc)
    st.stop()
results, rule = shown.results, shown.completion_rule

min_group_size = results.min_group_size
if not results.cohort_count:
    st.info("No cohort of this program started in the chosen period.", icon=":material/info:")
    st.stop()

st.caption(
    f"{results.cohort_count} of {scope.cohort_count} cohorts in this view · a group's figures"
    f" appear once at least {min_group_size} people answered"
)

# --------------------------------------------------------------------------- headline
headline = results.headline
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

# --------------------------------------------------------------------------- what changed
st.subheader("What changed")
trends = shown.trends
if not trends:
    st.info(
        "Nothing to say yet: no pulse in these cohorts has closed with enough answers.",
        icon=":material/info:",
    )
else:
    for trend in trends:
        with st.container(border=True):
            st.markdown(f"**{ui.plain(trend.instrument.title)}**")
            st.markdown(ui.plain(trend.story.sentence))

    # One chart at a time: the sentences above say what each shows, and a page of six charts
    # takes the browser seconds to draw.
    st.markdown("**Over the sessions**")
    pick, counted_pick = st.columns([2, 3], vertical_alignment="bottom")
    by_id = {t.measure: t for t in trends}
    measure = pick.selectbox(
        "Measure",
        list(by_id),
        format_func=lambda m: str(by_id[m].instrument.title),
        key=f"trend-measure-{program.id}",
    )
    counted = counted_pick.segmented_control(
        "Groups counted in the line",
        ["same", "every"],
        default="same",
        format_func=lambda v: "Same groups at both ends" if v == "same" else "Every group",
        key=f"counted-{program.id}",
        help="The same groups at both ends compare like with like: a line over every group can"
        " rise or fall only because different groups are counted.",
    )
    every = counted == "every"
    trend = by_id[measure]
    instrument = trend.instrument
    figures = [f for f in (trend.everyone if every else trend.panel) if f.pooled.mean is not None]
    if not figures:
        st.caption("No group has figures at both the first and the last session yet.")
    else:
        who = "every group with figures" if every else f"the same {trend.panel_size} groups"
        chart = charts.pooled_trend(figures, instrument.short_title, instrument.score_range, who)
        ui.chart(chart, CHART_HEIGHT, alt=f"{instrument.title}: pooled average by session, {who}.")
        drops = composition_drops(figures)
        if every and drops:
            where = ", ".join(f"session {s} ({a} → {b} groups)" for s, a, b in drops)
            st.caption(
                f"Fewer groups are counted from {where}: a rise or fall there may come from"
                " which groups are counted, not from change."
            )
        png_button("Chart (PNG)", chart, program.id, trend.measure)

# --------------------------------------------------------------------------- side by side
st.subheader("Groups side by side")
grid = results.grid
if grid is None or not grid.cohorts_with_figures():
    st.info("No group has figures at two sessions yet.", icon=":material/info:")
else:
    st.caption(
        "Each figure is a group's change between its first and last sessions with figures (last"
        " minus first, on the measure's own scale). **?** marks a change too uncertain to read:"
        " it could be zero. Click a column heading to sort."
    )
    find, pick = st.columns(2, vertical_alignment="bottom")
    name_part = find.text_input(
        "Find a cohort", key=f"grid-find-{program.id}", placeholder="Part of its name"
    )
    statuses = sorted(set(grid.frame[comparison.STATUS]))
    chosen = pick.multiselect("Status", statuses, default=statuses, key=f"grid-status-{program.id}")
    view = comparison.grid_view(grid, name_part, chosen)
    st.dataframe(
        view.styled,
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * max(len(view.frame), 1), 420),
        column_config={
            comparison.COHORT: st.column_config.TextColumn(pinned=True),
            comparison.STARTED: st.column_config.DateColumn(format="DD/MM/YYYY"),
            **{
                c.title: st.column_config.NumberColumn(
                    help=f"Last minus first session. {'Higher' if c.better_when_higher else 'Lower'}"
                    " is better."
                )
                for c in grid.columns
            },
        },
    )
    st.caption(
        f"{len(view.frame)} of {len(grid.frame)} cohorts shown."
        + (
            ""
            if view.marked
            else f" The ? marks appear when at most {comparison.MARKED_ROWS} are listed: narrow"
            " the list by name or status to see them."
        )
    )
    st.caption("  \n".join(reports.said(reports.grid_counts(grid))))

with st.expander("How these figures are made", icon=":material/functions:"):
    st.markdown(method.method_markdown(min_group_size, results.left_out))

# --------------------------------------------------------------------------- report
curriculum = scope.curriculum_words(version_id)
st.subheader("Report for funders and boards")
st.caption(
    "One printable document with the figures above: headline, attendance, each measure's"
    " sentence and chart, the groups side by side, and how the figures are made. Making it is"
    " recorded in the audit log like every download."
)
# Keyed on the selection, not on the data version: making the report is itself an audited write,
# which moves the data version, and its links must outlive the next rerun. A new report replaces
# the last; each says when it was made.
report_key = f"report-{program.id}-{version_id}-{selection.started_from}-{selection.started_to}"
if st.button("Make the report", icon=":material/description:", key="make-report"):
    with st.spinner("Drawing the report's charts…"):
        html = reports.program_report(
            results, curriculum, dt.datetime.now(), toolbar=printing.PRINT_TIP
        )
    record_export("program report", program.id)
    # Kept in this process's memory only, for the two links below (printing.SHEETS).
    st.session_state[report_key] = printing.SHEETS.put(html, dt.datetime.now())
token = st.session_state.get(report_key)
if token:
    with st.container(horizontal=True):
        st.link_button("Print the report", printing.report_link(token), icon=":material/print:")
        st.link_button(
            "Report as PDF",
            printing.report_link(token, pdf=True),
            icon=":material/picture_as_pdf:",
        )

# --------------------------------------------------------------------------- exports
st.subheader("Downloads")
st.caption(
    "Exactly the released figures shown above, as CSV. Never single responses, never names, never"
    " a left-out cell. Every download is recorded in the audit log."
)
# (label, data, file and audit name, widget key, made of the trend rows): the three files differ
# in nothing else. A file made of trend rows has nothing to hold when there are none.
csv_downloads: tuple[tuple[str, str | Callable[[], str], str, str, bool], ...] = (
    (
        "Headline figures (CSV)",
        exports.program_headline_csv(results, curriculum),
        "headline",
        "headline",
        False,
    ),
    ("Pooled trends (CSV)", exports.pooled_trends_csv(results), "pooled-trends", "trends", True),
    (
        "Cohort comparison (CSV)",
        # Built only when clicked: at thousands of cohorts it takes most of a second.
        lambda: exports.cohort_comparison_csv(results),
        "cohort-comparison",
        "comparison",
        True,
    ),
)
for column, (label, data, name, key, of_trends) in zip(st.columns(3), csv_downloads, strict=True):
    column.download_button(
        label,
        data=data,
        file_name=f"program-{program.id}-{name}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click=record_export,
        args=(f"program {name.replace('-', ' ')} csv", program.id),
        key=f"csv-{key}",
        disabled=of_trends and not results.table,
    )

"""Reports to hand to a funder, a board or a group's sponsor: one print-ready page, and a PDF of it.

Built only from what the dashboards show (a `ProgramResults` or a `CohortResults`): the headline
figures, attendance, each measure's sentence and chart, the groups side by side, how the figures
are made and what was held back. Nothing here reads the store. Charts are drawn as SVG by
vl-convert, offline, so the page needs no script and the PDF (WeasyPrint, as for session guides:
program/printing.py) matches the print preview.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from program import charts, comparison, method, printing
from program.cohort_results import CohortResults, change_in_words
from program.program_results import ProgramResults

REPORT_GRID_ROWS = 40
"""Groups listed one by one in a report; past this a report counts them by what changed (a
board reads forty rows, not four thousand; the CSV holds them all)."""

CHART_WIDTH = 620
CHART_HEIGHT = 200


def _svg(chart: Any) -> Markup:
    """An Altair chart as inline SVG, at a size that fits an A4 column."""
    import vl_convert as vlc

    spec = chart.to_dict(validate=False)
    spec["width"], spec["height"] = CHART_WIDTH, CHART_HEIGHT
    svg: str = vlc.vegalite_to_svg(json.dumps(spec))
    # Vega's SVG renderer escapes every text it draws (titles come from curriculum files; a test
    # puts markup in one and finds it escaped), so the SVG is safe to inline as it is.
    return Markup(svg)  # noqa: S704


def _method(sections: list[tuple[str, str]]) -> list[tuple[str, Markup]]:
    return [(heading, printing.markdown(body)) for heading, body in sections]


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


@dataclass(frozen=True)
class GridCount:
    """A measure's column of the grid counted by what the figures say."""

    title: str
    clear_up: int
    clear_down: int
    unclear: int


def grid_counts(grid: comparison.ComparisonGrid) -> list[GridCount]:
    """Per measure: groups whose change is clearly up, clearly down, or too uncertain to read."""
    counts = []
    frame = grid.frame
    for column in grid.columns:
        has = frame[column.change].notna()
        clear = frame[column.clear] & has
        counts.append(
            GridCount(
                column.title,
                int((clear & (frame[column.change] > 0)).sum()),
                int((clear & (frame[column.change] < 0)).sum()),
                int((has & ~frame[column.clear]).sum()),
            )
        )
    return counts


def _report_page(
    name: str, what: str, context: str, made: dt.datetime, toolbar: str | None, **sections: Any
) -> str:
    """A printed report of `name` (a program or a cohort), called `what` in its title: both
    kinds fill one template, in English, titled and dated the same way; `sections` are what the
    template shows of them."""
    return printing.render(
        "print/report.html",
        lang="en",
        direction="ltr",
        title=f"{name}: {what}",
        toolbar=toolbar,
        heading=name,
        context=context,
        made=made.strftime("%d %B %Y"),
        **sections,
    )


def program_report(
    results: ProgramResults, curriculum: str, made: dt.datetime, toolbar: str | None = None
) -> str:
    """The program's report as print-ready HTML. `curriculum` names the version(s) covered."""
    selection = results.selection
    period = (
        "all start dates"
        if selection.started_from is None and selection.started_to is None
        else f"starting {selection.started_from or 'from the first'} to"
        f" {selection.started_to or 'the last'}"
    )
    measures = []
    for trend in results.measure_trends.values():
        figures = [f for f in trend.panel if f.pooled.mean is not None]
        measures.append(
            {
                "title": trend.instrument.title,
                "sentence": trend.story.sentence,
                "chart": (
                    _svg(
                        charts.pooled_trend(
                            figures,
                            str(trend.instrument.short_title),
                            trend.instrument.score_range,
                            f"the same {trend.panel_size} groups",
                        )
                    )
                    if figures
                    else None
                ),
            }
        )
    grid = results.grid
    rows: list[dict[str, Any]] = []
    counts: list[GridCount] = []
    columns: list[str] = []
    listed = 0
    if grid is not None and grid.cohorts_with_figures():
        view = comparison.grid_view(grid, "", sorted(set(grid.frame[comparison.STATUS])))
        listed = len(view.frame)
        columns = [c.title for c in grid.columns]
        counts = grid_counts(grid)
        if listed <= REPORT_GRID_ROWS:
            full = grid.frame.set_index(comparison.COHORT)
            for name in view.frame[comparison.COHORT]:
                row = full.loc[name]
                rows.append(
                    {
                        "cohort": name,
                        "changes": [
                            comparison.change_text(float(row[c.change]), bool(row[c.clear]))
                            for c in grid.columns
                        ],
                    }
                )
    headline = results.headline
    return _report_page(
        results.program.name,
        "program report",
        f"Program report · {curriculum} · cohorts with {period}",
        made,
        toolbar,
        facts=[
            ("Cohorts in this report", f"{results.cohort_count}"),
            ("Running", f"{headline.cohorts_running}"),
            ("Finished", f"{headline.cohorts_finished}"),
            ("Scheduled", f"{headline.cohorts_scheduled}"),
            ("People enrolled", f"{headline.enrolled}"),
            ("Attendance", _percent(headline.attendance_rate)),
            ("Completion (finished cohorts)", _percent(headline.completion_rate)),
        ],
        retention=(
            _svg(charts.retention_chart(results.retention, "Attendance by session"))
            if results.retention
            else None
        ),
        retention_rows=[(n, _percent(r)) for n, r in sorted(results.retention.items())],
        measures=measures,
        grid_columns=columns,
        grid_rows=rows,
        grid_counts=counts,
        grid_listed=listed,
        grid_limit=REPORT_GRID_ROWS,
        method=_method(method.method_sections(results.min_group_size, results.left_out)),
        held_back=results.left_out,
        min_group_size=results.min_group_size,
        kind="program",
    )


def cohort_report(results: CohortResults, made: dt.datetime, toolbar: str | None = None) -> str:
    """One cohort's report for the group's sponsor: attendance, what changed, how it is made.
    No roster name: attendance is counted, never listed by person."""
    cohort = results.cohort
    measures: list[dict[str, Any]] = []
    held_back = 0
    for series in results.measures:
        words = change_in_words(series)
        held_back += sum(1 for p in series.points if p.cell is None)
        released = [p for p in series.points if p.cell is not None]
        # The sentence starts with the measure's short name; the heading names it already.
        what = words.what.removeprefix(f"{series.instrument.short_title}: ") if words else ""
        measures.append(
            {
                "title": series.instrument.title,
                "sentence": (
                    f"{what[:1].upper()}{what[1:]} {words.how_sure}"
                    if words
                    else "Not enough answers yet to say how this changed."
                ),
                "chart": _svg(charts.measure_trend(series, results.min_group_size))
                if released
                else None,
            }
        )
    held = [a for a in results.attendance if a.rate is not None]
    retention = {a.number: a.rate for a in held if a.rate is not None}
    present = sum(a.present for a in held)
    possible = sum(a.enrolled for a in held)
    return _report_page(
        cohort.name,
        "group report",
        f"Group report · {results.bundle.curriculum.title} · started {cohort.start_date:%d %B %Y}",
        made,
        toolbar,
        facts=[
            ("People enrolled", f"{results.enrolled}"),
            ("Sessions held", f"{len(held)}"),
            ("Attendance", _percent(present / possible if possible else None)),
            ("Completed the course", f"{results.completers}"),
        ],
        retention=(
            _svg(charts.retention_chart(retention, "Attendance by session")) if retention else None
        ),
        retention_rows=[(n, _percent(r)) for n, r in sorted(retention.items())],
        measures=measures,
        grid_columns=[],
        grid_rows=[],
        grid_counts=[],
        grid_listed=0,
        grid_limit=REPORT_GRID_ROWS,
        method=_method(method.method_sections(results.min_group_size, held_back)[:2]),
        held_back=held_back,
        min_group_size=results.min_group_size,
        kind="cohort",
    )


def said(counts: list[GridCount]) -> list[str]:
    """The grid's counts in words, as the dashboard and the report both say them."""
    return [
        f"{c.title}: {c.clear_up} {'group' if c.clear_up == 1 else 'groups'} clearly higher,"
        f" {c.clear_down} clearly lower, {c.unclear} too uncertain to read."
        for c in counts
    ]

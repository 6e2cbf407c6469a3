"""CSV exports of released aggregates: never responses, never rosters, never a cell's own spread.

A released mean and its interval are written with the decimals of the step they were rounded to
("6", "6.5", "6.25"), and the step itself in `rounded_to`, so a spreadsheet shows exactly the
figures the dashboards do.
"""

from __future__ import annotations

import csv
import io

from program.cohort_results import CohortResults
from program.privacy import format_value
from program.program_results import ProgramResults

# --------------------------------------------------------------------------- program dashboard

# Spreadsheets run a cell that starts with one of these as a formula; cohort names are typed by staff.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def _csv_number(value: float | None, places: int) -> str:
    return "" if value is None else f"{value:.{places}f}"


def _csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def program_headline_csv(results: ProgramResults, curriculum: str = "all versions") -> str:
    """The selection and the headline figures of the program dashboard, one per row.

    Attendance figures are about what facilitators recorded, not about answers; they come whole.
    """
    selection, headline = results.selection, results.headline
    rows: list[tuple[str, str]] = [
        ("Program", _csv_text(results.program.name)),
        ("Curriculum version", _csv_text(curriculum)),
        ("Cohorts starting from", str(selection.started_from or "any date")),
        ("Cohorts starting until", str(selection.started_to or "any date")),
        ("Minimum group size k", str(results.min_group_size)),
        ("Cohorts running", str(headline.cohorts_running)),
        ("Cohorts finished", str(headline.cohorts_finished)),
        ("Cohorts scheduled", str(headline.cohorts_scheduled)),
        ("People enrolled", str(headline.enrolled)),
        (
            "Attendance rate (present / enrolled, held sessions)",
            _csv_number(headline.attendance_rate, 4),
        ),
        ("Completion rate (finished cohorts)", _csv_number(headline.completion_rate, 4)),
        ("Cells left out (fewer than k responses, or still open)", str(results.left_out)),
    ]
    rows += [
        (f"Present at session {number} (share of enrolled)", _csv_number(rate, 4))
        for number, rate in sorted(results.retention.items())
    ]
    return _csv(["figure", "value"], [list(r) for r in rows])


def pooled_trends_csv(results: ProgramResults) -> str:
    """Each measure pooled across cohorts by session: released cells only, and how many were left out.

    A session where every cell was left out has no mean and no interval, only its count.
    """
    rows = []
    for measure, figures in sorted(results.trends.items()):
        title = _csv_text(results.instruments[measure].short_title)
        for f in figures:
            low, high = f.pooled.ci95 if f.pooled.ci95 else (None, None)
            rows.append(
                [
                    title,
                    str(f.session_number),
                    str(f.pooled.G),
                    str(f.pooled.N),
                    _csv_number(f.pooled.mean, 3),
                    _csv_number(low, 3),
                    _csv_number(high, 3),
                    str(f.left_out),
                ]
            )
    header = ["measure", "session", "cohorts_G", "responses_N", "mean", "ci95_low", "ci95_high"]
    return _csv([*header, "cells_left_out"], rows)


def cohort_comparison_csv(results: ProgramResults) -> str:
    """The cohort comparison table: one row per released cell, none for a suppressed one."""
    rows = [
        [
            _csv_text(r.cohort),
            _csv_text(r.measure),
            str(r.session_number),
            str(r.n),
            format_value(r.mean, r.step),
            format_value(r.step, r.step),
            format_value(r.ci_low, r.step),
            format_value(r.ci_high, r.step),
            _csv_number(r.response_rate, 4),
        ]
        for r in results.table
    ]
    header = ["cohort", "measure", "session", "n", "mean", "rounded_to", "ci95_low", "ci95_high"]
    return _csv([*header, "responses_per_enrolled"], rows)


# --------------------------------------------------------------------------- cohort dashboard

COHORT_CSV_HEADER = [
    "cohort",
    "kind",
    "session",
    "date",
    "session_status",
    "measure",
    "n",
    "mean",
    "rounded_to",
    "ci95_low",
    "ci95_high",
    "present",
    "enrolled",
    "attendance_rate",
    "agenda_delivered",
    "note",
]


def cohort_csv(results: CohortResults) -> str:
    """The cohort dashboard's aggregates: attendance by session, then each measure by session.

    No names: who came stays on the facilitator's screen. A measure cell that is not released
    gets a row with its reason and no numbers at all, so nothing derives from it.
    """
    cohort = _csv_text(results.cohort.name)
    blank = [""] * len(COHORT_CSV_HEADER)

    def row(**values: str) -> list[str]:
        out = list(blank)
        for name, value in values.items():
            out[COHORT_CSV_HEADER.index(name)] = value
        return out

    rows = []
    dates = {a.number: a.date.isoformat() for a in results.attendance}
    for a in results.attendance:
        held = a.status == "held"
        rows.append(
            row(
                cohort=cohort,
                kind="attendance",
                session=str(a.number),
                date=a.date.isoformat(),
                session_status=a.status.value,
                present=str(a.present) if held else "",
                enrolled=str(a.enrolled),
                attendance_rate=_csv_number(a.rate, 4),
                agenda_delivered=_csv_number(results.fidelity.get(a.number), 4),
            )
        )
    for series in results.measures:
        measure = _csv_text(series.instrument.short_title)
        for p in series.points:
            where = {
                "cohort": cohort,
                "kind": "measure",
                "session": str(p.session_number),
                "date": dates.get(p.session_number, ""),
                "measure": measure,
            }
            if p.cell is None:
                rows.append(row(**where, note=f"not shown: {p.reason}"))
                continue
            s = p.cell.summary
            rows.append(
                row(
                    **where,
                    n=str(s.n),
                    mean=s.text(s.mean),
                    rounded_to=s.text(s.step),
                    ci95_low=s.text(s.ci95[0]),
                    ci95_high=s.text(s.ci95[1]),
                )
            )
    return _csv(COHORT_CSV_HEADER, rows)

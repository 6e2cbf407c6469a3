"""Reports for funders and sponsors: built from the dashboards' released figures only, as HTML for
print and as PDF; every figure in them is on the dashboard, no held-back figure is anywhere."""

from __future__ import annotations

import datetime as dt
import io
import re
from html import unescape

import pytest
from pypdf import PdfReader

from program import printing, reports
from program.cohort_results import cohort_results
from program.trends import Change
from tests.factories.program_dashboard import SECRET, opened, page_text, populated
from tests.factories.programs import add_cohort, closed_pulse, make_world, results, roster

MADE = dt.datetime(2026, 11, 27, 10, 0)


def words(html: str) -> str:
    """The report's visible text: tags, style and the charts' drawing code left out."""
    html = re.sub(r"<style.*?</style>|<script.*?</script>", " ", html, flags=re.S)
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture
def world(store, make_staff):  # type: ignore[no-untyped-def]
    return populated(store, make_staff)


def test_the_program_report_holds_the_dashboards_figures(world):
    res = results(world)
    html = reports.program_report(res, "all versions", MADE)
    text = words(html)
    assert res.program.name in text and "27 November 2026" in text
    for trend in res.measure_trends.values():
        assert trend.story.sentence in text
    assert "How these figures are made" in text and "What was held back" in text
    # The grid: both released groups, by name, with their changes as the dashboard shows them.
    assert "North" in text and "South" in text
    dashboard = page_text(opened(world.store, world.lead))
    for sentence in (t.story.sentence for t in res.measure_trends.values()):
        assert sentence in dashboard
    for label, value in [("People enrolled", "19"), ("Attendance", "100%")]:
        assert f"{label} {value}" in text
    assert html.count("<svg") == 1 + len(res.measure_trends)  # attendance and each measure


def test_no_held_back_figure_or_name_is_anywhere_in_the_report(world):
    res = results(world)
    html = reports.program_report(res, "all versions", MADE)
    assert SECRET not in html and "Quiet-Name" not in html
    assert "Small" not in html  # the group of four has no figure, so it is not named
    # Its cells would move every sentence (all 9s, then all 1s); tests/test_lead_view.py shows the
    # sentences are the same with and without such a group.
    assert "held back" in words(html)
    assert f"{res.left_out} figures of one group" in words(html)


@pytest.mark.slow
def test_the_report_pdf_has_its_pages(world):
    html = reports.program_report(results(world), "all versions", MADE)
    document = printing.pdf(html)
    reader = PdfReader(io.BytesIO(document))
    assert 3 <= len(reader.pages) <= 8
    first = reader.pages[0].extract_text()
    assert world.program.name in first and "Attendance" in first
    everything = " ".join(p.extract_text() for p in reader.pages)
    assert "How these figures are made" in everything
    assert SECRET not in everything and "Quiet-Name" not in everything


def test_a_report_of_many_groups_counts_them_instead_of_listing(store, make_staff, monkeypatch):
    monkeypatch.setattr(reports, "REPORT_GRID_ROWS", 1)
    world = populated(store, make_staff)
    res = results(world)
    text = words(reports.program_report(res, "all versions", MADE))
    assert "2 groups have figures at two sessions: too many to list here" in text
    assert "North" not in text
    counts = reports.grid_counts(res.grid)  # type: ignore[arg-type]
    assert sum(c.clear_up + c.clear_down + c.unclear for c in counts) == 2 * len(counts)
    dashboard = page_text(opened(store, world.lead))
    for line in reports.said(counts):
        assert line in dashboard


def test_a_report_before_any_release_says_so(store, make_staff):
    world = make_world(store, make_staff)
    closed_pulse(world, add_cohort(world, "Small", roster("S", 6)), 1, [5] * 4)
    res = results(world)
    assert all(t.story.change == Change.NOTHING for t in res.measure_trends.values())
    text = words(reports.program_report(res, "all versions", MADE))
    assert "No group has released figures yet." in text
    assert "No group has figures at two sessions yet." in text


def test_the_cohort_report_has_no_name_and_no_held_back_figure(world):
    north = next(c for c in world.store.cohorts() if c.name == "North")
    data = cohort_results(world.store, world.facilitator, north.id)
    html = reports.cohort_report(data, MADE)
    text = words(html)
    assert "North: group report" in html and "People enrolled 7" in text
    assert SECRET not in html
    for series in data.measures:
        assert series.instrument.title in text
    reader = PdfReader(io.BytesIO(printing.pdf(html)))
    assert 2 <= len(reader.pages) <= 6


def test_every_figure_of_the_reports_grid_and_attendance_is_on_the_dashboard(world):
    res = results(world)
    html = reports.program_report(res, "all versions", MADE)
    at = opened(world.store, world.lead)
    (table,) = at.dataframe
    shown = table.value.set_index("Cohort")
    rows = re.findall(r"<tr><td>([^<]+)</td>((?:<td>[^<]*</td>)+)</tr>", html)
    listed = {name: re.findall(r"<td>([^<]*)</td>", cells) for name, cells in rows}
    titles = [c.title for c in res.grid.columns]  # type: ignore[union-attr]
    assert set(listed) >= {"North", "South"}
    for name in ("North", "South"):
        for title, text in zip(titles, listed[name], strict=True):
            value = float(text.removesuffix(" ?").replace("−", "-"))
            assert value == shown.loc[name, title], (name, title)
    # Attendance: the report's percentages are the dashboard chart's shares, rounded.
    # The dashboard draws `res.retention` (charts.retention_chart); the report prints the same.
    assert any("Retention across cohorts" in c.proto.spec for c in at.get("vega_lite_chart"))
    for share in res.retention.values():
        assert f"<td>{share:.0%}</td>" in html


def test_text_inside_a_reports_chart_is_escaped():
    from program import charts

    svg = str(reports._svg(charts.retention_chart({1: 0.5}, "<script>alert(1)</script> & <b>")))
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg

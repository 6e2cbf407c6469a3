"""The chart builders make valid Vega-Lite: the pages draw their specs without Altair's check
(it takes most of a page's time), so the check is made here, once per builder."""

from __future__ import annotations

import datetime as dt

from program import charts
from program.cohort_results import SessionAttendance
from program.models import SessionStatus
from program.privacy import PooledFigure
from program.stats import pool
from tests.factories.results import series_from_means


def test_every_builder_makes_a_spec_that_passes_the_vega_lite_schema() -> None:
    rows = [
        SessionAttendance(n, dt.date(2026, 3, n), SessionStatus.HELD, 6, 8, 0.75) for n in (1, 2, 3)
    ]
    built = [
        charts.attendance_chart(rows),
        charts.retention_chart({1: 1.0, 2: 0.9, 3: 0.8}),
        charts.fidelity_chart({1: 1.0, 2: None, 3: 0.5}),
        charts.measure_trend(series_from_means(7.5, 3.5, 20), 5),
        charts.pooled_trend(
            [
                PooledFigure("stress", n, pool([(8, 6.0), (6, 5.0), (7, 4.5)], (0, 10)), 1)
                for n in (1, 2)
            ],
            "Stress",
            (0, 10),
        ),
    ]
    for chart in built:
        chart.to_dict()  # validates; raises on a spec Vega-Lite would not accept


def test_a_trend_spaces_sessions_by_their_number() -> None:
    spec = charts.measure_trend(series_from_means(7.5, 3.5, 20), 5).to_dict(validate=False)
    encodings = [layer.get("encoding", {}).get("x") for layer in spec["layer"]]
    xs = [x for x in encodings if x]
    assert xs and all(x["type"] == "quantitative" for x in xs)
    assert xs[0]["axis"]["values"] == [1, 6]
    assert xs[0]["scale"]["domain"] == [0.5, 6.5]


def test_a_spec_renders_to_png_like_the_chart_itself() -> None:
    chart = charts.retention_chart({1: 1.0, 2: 0.5})
    image = charts.png(chart.to_dict(validate=False))
    assert image.startswith(b"\x89PNG") and image == charts.png(chart)

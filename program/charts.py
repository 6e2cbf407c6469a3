"""Altair chart builders: pure functions from results to charts, readable in grayscale.

Gaps, not zeros: a suppressed point is simply absent from the line (its reason is shown on
hover over a marker at the bottom of the chart), so a missing number never looks like a low one.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

import altair as alt

from program.cohort_results import MeasureSeries, SessionAttendance
from program.privacy import PooledFigure
from program.trends import MIN_GROUPS, composition_drops, no_interval_reason, shown_interval

INK = "#1f2933"
BAND = "#9aa5b1"
RULE = "#66788a"  # interval lines: 4.4:1 on white, where BAND would be too faint for a thin line
FONT = "system-ui, -apple-system, Segoe UI, sans-serif"


def _style(
    chart: alt.TopLevelMixin, title: str, subtitle: str | None = None, width: int = 90
) -> Any:
    lines = textwrap.wrap(subtitle or "", width)
    return (
        chart.properties(
            # The offset leaves a row above the plot for the per-session counts (`_count_row`).
            title=alt.TitleParams(title, subtitle=lines, anchor="start", fontSize=15, offset=18),
            width="container",
            height=260,
        )
        .configure(font=FONT)
        .configure_axis(labelFontSize=12, titleFontSize=12, grid=False)
    )


def _count_row(base: alt.Chart, x: alt.X, y_scale: alt.Scale, top: float, field: str) -> Any:
    """The per-session counts (n, or G and N) in one row just above the plot, where they never
    collide with an interval reaching the axis, and line up with the sessions below."""
    return base.mark_text(baseline="bottom", dy=-4, fontSize=10, color=INK).encode(
        x=x, y=alt.YDatum(top, scale=y_scale), text=f"{field}:N"
    )


def measure_trend(series: MeasureSeries, min_group_size: int) -> Any:
    """The group's rounded mean by session with its 95% interval as a band and n above each
    point; the tooltip shows each figure with the decimals of the step it was rounded to."""
    instrument = series.instrument
    low, high = instrument.score_range
    rows = [
        {
            "session": p.cell.session_number,
            "mean": p.cell.summary.mean,
            "low": p.cell.summary.ci95[0],
            "high": p.cell.summary.ci95[1],
            "mean_text": p.cell.summary.text(p.cell.summary.mean),
            "low_text": p.cell.summary.text(p.cell.summary.ci95[0]),
            "high_text": p.cell.summary.text(p.cell.summary.ci95[1]),
            "n": f"n={p.cell.n}",
        }
        for p in series.points
        if p.cell is not None
    ]
    gaps = [
        {"session": p.session_number, "reason": p.reason or "", "y": low}
        for p in series.points
        if p.cell is None
    ]
    # Sessions spaced by their number: a measure asked at 1, 3 and 6 shows the gaps between.
    asked = [p.session_number for p in series.points] or [1]
    x = alt.X(
        "session:Q",
        title="Session",
        scale=alt.Scale(domain=[min(asked) - 0.5, max(asked) + 0.5], nice=False, zero=False),
        axis=alt.Axis(values=asked, format="d", labelAngle=0, grid=False),
    )
    y_scale = alt.Scale(domain=[low, high])
    base = alt.Chart(alt.Data(values=rows))
    layers = [
        base.mark_area(opacity=0.35, color=BAND).encode(
            x=x, y=alt.Y("low:Q", scale=y_scale, title=instrument.short_title), y2="high:Q"
        ),
        base.mark_line(color=INK, strokeWidth=2).encode(x=x, y=alt.Y("mean:Q", scale=y_scale)),
        base.mark_point(color=INK, filled=True, size=70).encode(
            x=x,
            y=alt.Y("mean:Q", scale=y_scale),
            tooltip=[
                alt.Tooltip("session:O", title="Session"),
                alt.Tooltip("mean_text:N", title="Group average (rounded)"),
                alt.Tooltip("low_text:N", title="95% interval from"),
                alt.Tooltip("high_text:N", title="to"),
                alt.Tooltip("n:N", title="Responses"),
            ],
        ),
        _count_row(base, x, y_scale, high, "n"),
    ]
    first = next((p for p in series.points if p.cell is not None), None)
    if first is not None and first.cell is not None:
        mic = instrument.minimal_important_change
        ref = first.cell.summary.mean
        layers.insert(
            0,
            alt.Chart(alt.Data(values=[{"lo": max(low, ref - mic), "hi": min(high, ref + mic)}]))
            .mark_rect(opacity=0.12, color=INK)
            .encode(y=alt.Y("lo:Q", scale=y_scale), y2="hi:Q"),
        )
    if gaps:
        layers.append(
            alt.Chart(alt.Data(values=gaps))
            .mark_point(shape="triangle-up", color=BAND, size=90, filled=True)
            .encode(
                x=x,
                y=alt.Y("y:Q", scale=y_scale),
                tooltip=[
                    alt.Tooltip("session:O", title="Session"),
                    alt.Tooltip("reason:N", title="Not shown"),
                ],
            )
        )
    direction = (
        "higher is better" if instrument.direction == "higher_is_better" else "lower is better"
    )
    subtitle = (
        f"Group average (rounded) with 95% interval; {direction}. Shaded strip: first session ± the smallest"
        f" change that matters ({instrument.minimal_important_change:g}). Triangles: not shown"
        f" (fewer than {min_group_size} responses, or still open)."
    )
    return _style(alt.layer(*layers), instrument.title, subtitle)


def attendance_chart(rows: list[SessionAttendance]) -> Any:
    """Share of enrolled members present at each held session."""
    data = [
        {"session": r.number, "rate": r.rate, "label": f"{r.present}/{r.enrolled}"}
        for r in rows
        if r.rate is not None
    ]
    x = alt.X("session:O", title="Session", axis=alt.Axis(labelAngle=0))
    y = alt.Y("rate:Q", title="Present", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]))
    base = alt.Chart(alt.Data(values=data))
    chart = base.mark_bar(color=BAND, stroke=INK, strokeWidth=0.5).encode(
        x=x, y=y, tooltip=[alt.Tooltip("label:N", title="Present of enrolled")]
    ) + base.mark_text(dy=-8, fontSize=11, color=INK).encode(x=x, y=y, text="label:N")
    return _style(chart, "Attendance by session", "Present ÷ enrolled, held sessions")


def retention_chart(retention: dict[int, float], title: str = "Retention") -> Any:
    data = [{"session": n, "rate": r} for n, r in sorted(retention.items())]
    x = alt.X("session:O", title="Session", axis=alt.Axis(labelAngle=0))
    y = alt.Y("rate:Q", title="Present", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]))
    base = alt.Chart(alt.Data(values=data))
    chart = base.mark_line(color=INK, strokeDash=[4, 2]) + base.mark_point(
        color=INK, filled=True
    ).encode(tooltip=[alt.Tooltip("rate:Q", title="Present", format=".0%")])
    return _style(chart.encode(x=x, y=y), title, "Share of enrolled members present, by session")


def fidelity_chart(fidelity: dict[int, float | None]) -> Any:
    data = [{"session": n, "share": s} for n, s in sorted(fidelity.items()) if s is not None]
    x = alt.X("session:O", title="Session", axis=alt.Axis(labelAngle=0))
    y = alt.Y(
        "share:Q", title="Delivered", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])
    )
    chart = alt.Chart(alt.Data(values=data)).mark_bar(color=BAND, stroke=INK, strokeWidth=0.5)
    return _style(
        chart.encode(x=x, y=y, tooltip=[alt.Tooltip("share:Q", format=".0%")]),
        "Fidelity",
        "Share of the agenda delivered, by session",
    )


def pooled_trend(
    figures: list[PooledFigure],
    title: str,
    scale: tuple[float, float],
    counted: str = "the same groups throughout",
) -> Any:
    """A measure pooled across cohorts by session number. The interval is drawn only where it is
    usable (`trends.shown_interval`: enough cohorts, inside the scale), so nothing is ever cut off
    at the chart's edge; the number of cohorts counted stands under each session, and a dashed
    line marks each session where that number falls."""
    shown = [f for f in figures if f.pooled.mean is not None]
    numbers = [f.session_number for f in shown]
    data: list[dict[str, Any]] = []
    for f in shown:
        interval = shown_interval(f, scale)
        data.append(
            {
                "session": f.session_number,
                "mean": f.pooled.mean,
                "low": interval[0] if interval else None,
                "high": interval[1] if interval else None,
                "groups": f"{f.pooled.G} {'group' if f.pooled.G == 1 else 'groups'}",
                "count": f"({f.pooled.G})",
                "answers": f.pooled.N,
                "left_out": f.left_out,
                "interval": (
                    f"{interval[0]:.1f} to {interval[1]:.1f}"
                    if interval
                    else f"none: {no_interval_reason(f, scale)}"
                ),
            }
        )
    # Under each session number, in brackets, how many groups it pools: two short lines of axis
    # label, narrow enough for six sessions across a phone.
    labels = " : ".join(
        f"datum.value == {r['session']} ? ['{r['session']}', '{r['count']}']" for r in data
    )
    sessions = alt.Scale(domain=_session_domain(numbers), nice=False)
    x = alt.X(
        "session:Q",
        title="Session (groups counted)",
        scale=sessions,
        axis=alt.Axis(
            values=numbers,
            labelExpr=f"{labels} : datum.label" if labels else "datum.label",
            labelFontSize=11,
            labelLineHeight=14,
            grid=False,
        ),
    )
    y_scale = alt.Scale(domain=list(scale))
    base = alt.Chart(alt.Data(values=data))
    drops = composition_drops(shown)
    layers = [
        base.mark_rule(color=RULE, strokeWidth=3).encode(
            x=x, y=alt.Y("low:Q", scale=y_scale, title=title), y2="high:Q"
        ),
        base.mark_line(color=INK).encode(x=x, y=alt.Y("mean:Q", scale=y_scale, title=title)),
        base.mark_point(color=INK, filled=True, size=60).encode(
            x=x,
            y=alt.Y("mean:Q", scale=y_scale),
            tooltip=[
                alt.Tooltip("session:Q", title="Session"),
                alt.Tooltip("mean:Q", title="Pooled average", format=".1f"),
                alt.Tooltip("interval:N", title="95% interval"),
                alt.Tooltip("groups:N", title="Groups counted"),
                alt.Tooltip("answers:Q", title="Answers"),
                alt.Tooltip("left_out:Q", title="Groups left out (too few answers, or open)"),
            ],
        ),
    ]
    if drops:
        marks = alt.Chart(
            alt.Data(
                values=[{"session": s - 0.5, "note": f"{a} → {b} groups"} for s, a, b in drops]
            )
        )
        session_x = alt.X("session:Q", scale=sessions)
        layers.append(marks.mark_rule(color=RULE, strokeDash=[4, 3]).encode(x=session_x))
        layers.append(
            marks.mark_text(
                align="left", dx=3, dy=2, baseline="top", fontSize=10, color=INK
            ).encode(x=session_x, y=alt.YDatum(scale[1], scale=y_scale), text="note:N")
        )
    return _style(
        alt.layer(*layers),
        title,
        f"Average of {counted}. Lines: the 95% range, drawn from {MIN_GROUPS} groups on.",
        width=48,
    )


def _session_domain(sessions: list[int]) -> list[float]:
    """Sessions spaced by number, with half a session of room at each end."""
    if not sessions:
        return [0.5, 1.5]
    return [min(sessions) - 0.5, max(sessions) + 0.5]


def png(chart: Any) -> bytes:
    """The chart (an Altair chart, or its Vega-Lite spec as a dict) as a PNG image, rendered
    offline by vl-convert."""
    import vl_convert as vlc

    spec = dict(chart) if isinstance(chart, dict) else chart.to_dict()
    # "container" width means nothing outside a page: give exported images a readable width.
    if spec.get("width") == "container":
        spec["width"] = 720
    data: bytes = vlc.vegalite_to_png(json.dumps(spec), scale=2)
    return data

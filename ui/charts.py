"""Drawing the Altair charts program/charts.py builds."""

from __future__ import annotations

from typing import Any

import streamlit as st


def chart(chart: Any, height: int, alt: str | None = None, target: Any = None) -> None:
    """An Altair chart drawn from its Vega-Lite spec without Altair's schema check, which takes
    most of a dashboard's time; tests/test_charts.py checks every builder's spec once.

    `target` is where to draw it (a column, a container); the page itself by default.
    """
    (target or st).vega_lite_chart(
        spec=chart.to_dict(validate=False), width="stretch", height=height, alt=alt
    )

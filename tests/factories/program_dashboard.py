"""The program dashboard page as its tests open it: the page (`PAGE`), opened by a viewer
(`opened`), a program populated with released and held-back cohorts, one naming SECRET on its
roster (`populated`), and every element's message as the browser receives it (`page_text`)."""

from __future__ import annotations

from collections.abc import Iterator

from tests.factories.pages import app_test
from tests.factories.programs import World, add_cohort, closed_pulse, make_world, roster

PAGE = "pages/program_dashboard.py"
SECRET = "Zebedee-Secret"


def opened(store, user):  # type: ignore[no-untyped-def]
    at = app_test(PAGE, store, user)
    at.run()
    assert not at.exception, at.exception
    return at


def populated(store, make_staff) -> World:  # type: ignore[no-untyped-def]
    """Two released cohorts at sessions 1 and 6, one with SECRET on its roster, and one cohort of
    four (held back at both)."""
    world = make_world(store, make_staff)
    north = add_cohort(world, "North", [SECRET, *roster("N", 6)])
    closed_pulse(world, north, 1, [3, 4, 5, 6, 7])
    closed_pulse(world, north, 6, [5, 6, 7, 8, 9])
    south = add_cohort(world, "South", roster("S", 7))
    closed_pulse(world, south, 1, [2, 4, 4, 6, 8, 8])
    closed_pulse(world, south, 6, [4, 5, 6, 6, 8, 9])
    small = add_cohort(world, "Small", ["Quiet-Name", *roster("Q", 4)])
    closed_pulse(world, small, 1, [9] * 4)
    closed_pulse(world, small, 6, [1] * 4)
    return world


def nodes(node) -> Iterator[object]:  # type: ignore[no-untyped-def]
    yield node
    for child in getattr(node, "children", {}).values():
        yield from nodes(child)


def page_text(at) -> str:  # type: ignore[no-untyped-def]
    """Every element's message as the browser would receive it: text, labels, chart specs, tables."""
    parts = []
    for node in nodes(at._tree):
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
            parts.append(proto.SerializeToString().decode("utf-8", "replace"))
    for frame in at.dataframe:
        parts.append(frame.value.to_string())
    return "\n".join(parts)

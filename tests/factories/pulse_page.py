"""The participant's page at /pulse over HTTP, as its tests and the language tests drive it: the
fixtures (each test's own database copied from the pulse template, a group, a client on the app's
ROUTES behind the security headers, and no tokens left from another test), and a page as a
browser without scripts reads it (`Page`, `read`, `visit`, `send`, `choose`)."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware

with warnings.catch_warnings():  # Starlette prefers httpx2, which is not installed; httpx works
    warnings.filterwarnings("ignore", "Using `httpx`")
    from starlette.testclient import TestClient

import routes
import ui
from headers import SecurityHeaders
from program import participant, pulse
from program.settings import get_settings
from program.store import Store
from tests.factories import pulses

CLIENT = ("203.0.113.7", 50000)
APP = Starlette(routes=routes.ROUTES, middleware=[Middleware(SecurityHeaders)])


template = pulses.template
store = pulses.store
group = pulses.group


@pytest.fixture(autouse=True)
def fresh_memory() -> Iterator[None]:
    """Tokens and wrong-code counts live in the process's memory: each test starts with none."""
    participant.forget()
    yield
    participant.forget()


@pytest.fixture
def http(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(ui, "store", lambda: store)
    monkeypatch.setattr(ui, "settings", get_settings)
    with TestClient(APP, client=CLIENT, follow_redirects=False) as client:
        yield client


def now() -> dt.datetime:
    # The route reads the wall clock, so windows are opened at the wall clock too.
    return dt.datetime.now()


@dataclass
class Page:
    """A page as a browser without scripts sees it."""

    status: int
    html: str
    headers: httpx.Headers
    h1: list[str] = field(default_factory=list)
    text: str = ""  # visible text, outside scripts, styles and hidden elements
    inputs: list[dict[str, str]] = field(default_factory=list)
    labels: set[str] = field(default_factory=set)  # the `for` of every label
    forms: list[dict[str, str]] = field(default_factory=list)
    problem: str = ""  # the message at the top
    at_question: dict[str, str] = field(default_factory=dict)  # fieldset id -> its message
    fieldsets: list[str] = field(default_factory=list)
    legends: int = 0
    scripts: list[dict[str, str]] = field(default_factory=list)

    @property
    def radios(self) -> list[dict[str, str]]:
        return [i for i in self.inputs if i.get("type") == "radio"]

    @property
    def names(self) -> list[str]:
        """The questions' form fields, in page order."""
        return list(dict.fromkeys(i["name"] for i in self.radios))

    def values(self, name: str) -> list[str]:
        return [i["value"] for i in self.radios if i["name"] == name]

    def checked(self) -> dict[str, str]:
        return {i["name"]: i["value"] for i in self.radios if "checked" in i}

    def hidden(self) -> dict[str, str]:
        return {i["name"]: i["value"] for i in self.inputs if i.get("type") == "hidden"}

    @property
    def visible_inputs(self) -> list[dict[str, str]]:
        return [i for i in self.inputs if i.get("type") != "hidden"]

    @property
    def asks_for_code(self) -> bool:
        return [i.get("name") for i in self.visible_inputs] == ["code"] and self.forms == [
            {"method": "get", "action": "/pulse"}
        ]

    @property
    def shows_questions(self) -> bool:
        return bool(self.radios) and {"method": "post", "action": "/pulse"} in [
            {k: f[k] for k in ("method", "action")} for f in self.forms
        ]


class _Reader(HTMLParser):
    VOID = {"input", "meta", "link", "br", "img", "hr", "source", "wbr", "area", "base", "col"}

    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.texts: list[str] = []

    def _inside(self, test: Any) -> bool:
        return any(test(tag, attrs) for tag, attrs in self.stack)

    def handle_starttag(self, tag: str, raw: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in raw}
        if tag == "input":
            self.page.inputs.append(attrs)
        elif tag == "label" and "for" in attrs:
            self.page.labels.add(attrs["for"])
        elif tag == "form":
            self.page.forms.append(
                {"method": attrs.get("method", "get").lower(), "action": attrs.get("action", "")}
            )
        elif tag == "fieldset":
            self.page.fieldsets.append(attrs.get("id", ""))
        elif tag == "legend":
            self.page.legends += 1
        elif tag == "script":
            self.page.scripts.append(attrs)
        if tag not in self.VOID:
            self.stack.append((tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._inside(lambda t, a: t in ("script", "style") or "hidden" in a):
            return
        self.texts.append(data)
        if self.stack and self.stack[-1][0] == "h1":
            self.page.h1.append(data.strip())
        if self._inside(lambda t, a: "problem" in a.get("class", "").split()):
            self.page.problem += data
        if self._inside(lambda t, a: "qproblem" in a.get("class", "").split()):
            fieldset = [a.get("id", "") for t, a in self.stack if t == "fieldset"][-1]
            self.page.at_question[fieldset] = self.page.at_question.get(fieldset, "") + data


def read(reply: httpx.Response) -> Page:
    page = Page(reply.status_code, reply.text, reply.headers)
    reader = _Reader(page)
    reader.feed(reply.text)
    page.text = " ".join(" ".join(reader.texts).split())
    page.problem = " ".join(page.problem.split())
    return page


def visit(http: TestClient, code: str | None = None, **kwargs: Any) -> Page:
    params = {} if code is None else {"code": code}
    return read(http.get("/pulse", params=params, **kwargs))


def send(http: TestClient, page: Page, answers: dict[str, str], **kwargs: Any) -> Page:
    """Post the page's form as a browser would: its hidden fields and the chosen answers."""
    return read(http.post("/pulse", data={**page.hidden(), **answers}, **kwargs))


def choose(page: Page, pick: str = "last", skip: tuple[int, ...] = ()) -> dict[str, str]:
    """One choice per question (its first or last scale point), leaving out the `skip`ped ones."""
    out = {}
    for index, name in enumerate(page.names):
        if index in skip:
            continue
        points = [v for v in page.values(name) if v != pulse.PREFER_NOT_TO_SAY]
        out[name] = points[0] if pick == "first" else points[-1]
    return out

"""Hostile input at the app's edges: curriculum uploads, pulse answers, room codes, sign-in.

Generated with hypothesis: wrong types, huge strings, unicode, SQL-looking text, out-of-range
numbers, missing and extra keys, nesting. What must hold whatever comes in: only the typed errors
a page knows how to show (with a readable message, and for a curriculum its file and line), and
nothing stored when the input is refused. Cases the properties found once (deep nesting, alias
bombs, huge values quoted whole) have their own tests at the end, so they stay fixed.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from program import auth, cohorts, curriculum, library, participant, pulse, session_runner
from program.errors import AccessDenied, CurriculumError, InvalidInput, PulseFull, PulseUnavailable
from program.models import Actor, AttendanceMark, Mark, Role
from program.settings import get_settings
from program.staff import create_user
from program.store import Store
from tests.factories.paths import CURRICULA, INSTRUMENTS, ROOT

CURRICULUM = CURRICULA / "collective-healing.yaml"
BASE_TEXT = CURRICULUM.read_text(encoding="utf-8")


def small_curriculum() -> dict[str, Any]:
    """The bundled curriculum cut to two short sessions: still valid, and quick to check."""
    doc = yaml.safe_load(BASE_TEXT)
    doc["summary"], doc["audience"] = doc["summary"][:120], doc["audience"][:120]
    doc["sessions"] = [s for s in doc["sessions"] if s["number"] in (1, 2)]
    for session in doc["sessions"]:
        session["agenda"] = session["agenda"][:2]
        for activity in session["agenda"]:
            activity["notes"] = activity["notes"][:120]
            activity["prompts"] = activity.get("prompts", [])[:1]
        session["intentions"] = session["intentions"][:2]
        for field in ("home_practice", "safety_notes"):
            session[field] = session[field][:120]
    doc["completion"]["min_sessions_attended"] = 1
    return doc


BASE = small_curriculum()
ACTOR = Actor.system()
# Each property shares one database across its examples (the row counts are compared around
# each example), so hypothesis's warning about function-scoped fixtures does not apply.
FAST = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SLOW = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

SQL = [
    "'; DROP TABLE cohorts; --",
    "1; DELETE FROM responses",
    '" OR 1=1 --',
    "Robert'); DROP TABLE staff_users;--",
    "%' UNION SELECT * FROM staff_users --",
    "$$; ATTACH '/tmp/x.duckdb'; $$",
]
ODD_TEXT = [
    "",
    " ",
    "\x00",
    "\u202egnp.exe",  # right-to-left override
    "Z\u0351\u0352\u0353a\u0354\u0355l\u0356g\u0357o",  # combining marks
    "😀" * 40,
    "<script>alert(1)</script>",
    "{{7*7}} ${7*7}",
    "null",
    "~",
    "yes",
    "0x1F",
    "1e309",
    "-.inf",
    ".nan",
    "\t\r\n",
    "ß" * 17,  # upper() doubles it
    "ǅ" * 9,
    "٣٤٥٦٧٨٩٢",  # Arabic-Indic digits (isalnum)
    "ＡＢＣＤ－ＥＦＧＨ",  # full-width
]


def huge(min_size: int = 5_000, max_size: int = 120_000) -> st.SearchStrategy[str]:
    return st.builds(
        lambda n, c: c * n, st.integers(min_size, max_size), st.sampled_from("xÅ€😀'\n;")
    )


hostile_text = st.one_of(
    st.sampled_from(SQL),
    st.sampled_from(ODD_TEXT),
    st.text(max_size=40),
    # No lone surrogates: no browser or HTTP form can send one (they are decoded with
    # replacement characters before the app sees them).
    st.text(
        st.characters(min_codepoint=0x80, max_codepoint=0x2FFFF, exclude_categories=("Cs",)),
        max_size=20,
    ),
    huge(),
)
hostile_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.sampled_from([0, -1, 1, 10**9, 2**63, -(2**63) - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
)


def nested(depth: int, leaf: Any, kind: str) -> Any:
    """`leaf` wrapped `depth` times in lists or mappings."""
    for _ in range(depth):
        leaf = [leaf] if kind == "list" else {"x": leaf}
    return leaf


hostile_value = st.one_of(
    hostile_scalar,
    st.recursive(
        hostile_scalar,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), inner, max_size=3)
        ),
        max_leaves=8,
    ),
    # Deep, on both sides of the depth a curriculum may have (curriculum.MAX_DEPTH).
    st.builds(nested, st.integers(1, 60), hostile_scalar, st.sampled_from(["list", "dict"])),
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into a parsed YAML document (keys and list indexes), parents first."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*prefix, index))


BASE_PATHS = list(paths(BASE))[1:]


def mutated(doc: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    """A deep copy of `doc` with the value at `path` replaced, deleted, or given an extra key."""
    import copy

    out = copy.deepcopy(doc)
    parent = out
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "replace":
        parent[last] = value
    elif how == "delete":
        del parent[last]
    elif isinstance(parent, dict):
        parent[f"extra_{len(parent)}"] = value
    else:
        parent.append(value)
    return out


@st.composite
def hostile_curricula(draw: st.DrawFn) -> str:
    """YAML text: the bundled curriculum with one to three hostile changes, or raw odd YAML."""
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "tokens", "text"]))
    if kind == "tokens":
        tokens = [
            "a: ",
            "- ",
            "\n",
            "  ",
            "[",
            "]",
            "{",
            "}",
            ": ",
            "&x ",
            "*x",
            "!!python/object:os.system ",
            "!!binary ",
            "? ",
            "'",
            '"',
            "#",
            "---\n",
            "...\n",
            "%YAML 1.1\n",
            "\t",
            "sessions:",
            "id: x",
            "<<: *x",
        ]
        return "".join(draw(st.lists(st.sampled_from(tokens + SQL), max_size=40)))
    if kind == "text":
        return draw(st.text(max_size=300))
    doc = BASE
    for _ in range(draw(st.integers(1, 3))):
        candidates = list(paths(doc))[1:] or [()]
        path = draw(st.sampled_from(candidates))
        if not path:
            break
        doc = mutated(
            doc, path, draw(st.sampled_from(["replace", "delete", "extra"])), draw(hostile_value)
        )
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=10**6)


def assert_readable(exc: CurriculumError, names: set[str]) -> None:
    """Every problem names a file, a line, and says something."""
    assert exc.problems, exc
    for problem in exc.problems:
        assert problem.file in names, problem
        assert problem.line >= 1, problem
        assert problem.message.strip(), problem
        assert re.match(rf"{re.escape(problem.file)}, line \d+", str(problem)), problem
    assert "Traceback" not in str(exc)


def instrument_files() -> set[str]:
    return {p.name for p in INSTRUMENTS.glob("*.yaml")}


# --------------------------------------------------------------------------- curriculum uploads


def test_the_small_curriculum_the_mutations_start_from_is_valid(store: Store) -> None:
    text = yaml.safe_dump(BASE, allow_unicode=True, sort_keys=False)
    version, created = library.upload_curriculum(store, ACTOR, "small.yaml", text, INSTRUMENTS)
    assert created and len(store.curriculum_bundle(version.id).curriculum.sessions) == 2


@FAST
@given(text=hostile_curricula())
def test_hostile_curriculum_text_is_refused_whole_or_stored_whole(store: Store, text: str) -> None:
    before = store.row_counts()
    try:
        version, _ = library.upload_curriculum(store, ACTOR, "hostile.yaml", text, INSTRUMENTS)
    except CurriculumError as exc:
        event("refused")
        assert_readable(exc, {"hostile.yaml"} | instrument_files())
        assert store.row_counts() == before
    else:
        event("stored")
        # Text that is still a valid curriculum (SQL-looking titles are just text) is stored as
        # written, and reads back the same.
        assert store.curriculum_source(version.id) == ("hostile.yaml", text)
        bundle = store.curriculum_bundle(version.id)
        assert bundle.curriculum.title == yaml.safe_load(text)["title"]


file_names = st.one_of(
    st.sampled_from(["c.yaml", "C.YML", "dir/sub/c.yaml", "..\\..\\c.yaml", "c.yaml.exe", ""]),
    st.sampled_from(SQL).map(lambda s: s + ".yaml"),
    st.text(max_size=30).map(lambda s: s + ".yaml"),
    st.text(max_size=30),
)
file_bytes = st.one_of(
    hostile_curricula().map(lambda t: t.encode("utf-8")),
    hostile_curricula().map(lambda t: t.encode("utf-16")),
    st.binary(max_size=400),
    st.sampled_from([b"\xff\xfe\x00", b"title: caf\xe9\n", b"\x00" * 100, b"a: 1\n" * 210_000]),
)


@FAST
@given(name=file_names, data=file_bytes)
def test_hostile_curriculum_files_are_refused_whole(store: Store, name: str, data: bytes) -> None:
    before = store.row_counts()
    try:
        library.upload_curriculum_file(store, ACTOR, name, data, INSTRUMENTS)
    except CurriculumError as exc:
        shown = Path(name.replace("\\", "/")).name or "upload.yaml"
        assert_readable(exc, {shown} | instrument_files())
        assert store.row_counts() == before
    else:
        assert name.lower().endswith((".yaml", ".yml"))


def test_sql_looking_text_in_a_curriculum_is_only_text(store: Store) -> None:
    text = BASE_TEXT.replace('title: "Collective', f'title: "{SQL[0]} Collective', 1)
    version, created = library.upload_curriculum(store, ACTOR, "sql.yaml", text, INSTRUMENTS)
    assert created
    assert store.curriculum_bundle(version.id).curriculum.title.startswith(SQL[0])
    assert store.row_counts()["cohorts"] == 0  # the table is still there, and still empty


# --------------------------------------------------------------------------- pulse answers


@pytest.fixture
def invitation(store: Store) -> pulse.Invitation:
    """An open pulse with 40 people present (the largest roster), as a phone reaches it."""
    library.load_curriculum(store, ACTOR, CURRICULUM)
    facilitator = store.create_staff_user(ACTOR, "fac", "Fac", Role.FACILITATOR, None)
    program = store.create_program(ACTOR, "P", "", 5)
    store.add_program_facilitator(ACTOR, program.id, facilitator.id)
    (version,) = store.curriculum_versions()
    today = dt.date.today()
    cohort = cohorts.create_cohort(
        store,
        facilitator,
        program.id,
        version.id,
        "C",
        today,
        today.weekday(),
        False,
        [facilitator.id],
        "\n".join(f"Member {i}" for i in range(cohorts.MAX_ROSTER)),
    )
    session = store.sessions(cohort.id)[0]
    marks = {m.id: AttendanceMark(status=Mark.PRESENT) for m in store.roster(cohort.id)}
    session_runner.save_sheet(
        store, facilitator, session.id, marks, set(), "", False, store.session_revision(session.id)
    )
    window = pulse.open_pulse(store, get_settings(), facilitator, session.id, dt.datetime.now())
    assert window.room_code
    return pulse.resolve_code(store, window.room_code, dt.datetime.now())


def valid_answers(invitation: pulse.Invitation) -> dict[str, object]:
    return {pulse.answer_key(i, item): i.scale.min for i, item in invitation.items}


answer_values = st.one_of(
    hostile_scalar,
    st.integers(-5, 15),
    st.lists(st.integers(0, 5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.builds(lambda x: x + 0.0, st.integers(0, 5)),  # 3.0 is not 3
)
answer_keys = st.one_of(
    st.sampled_from(SQL), st.sampled_from(ODD_TEXT), st.text(max_size=30), st.integers(), huge()
)


@st.composite
def hostile_answers(draw: st.DrawFn, invitation: pulse.Invitation) -> dict[Any, object]:
    raw: dict[Any, object] = dict(valid_answers(invitation))
    keys = list(raw)
    for _ in range(draw(st.integers(1, 4))):
        change = draw(st.sampled_from(["value", "value", "drop", "extra", "rename"]))
        key = draw(st.sampled_from(keys))
        if change == "value":
            raw[key] = draw(answer_values)
        elif change == "drop":
            raw.pop(key, None)
        elif change == "extra":
            raw[draw(answer_keys)] = draw(answer_values)
        elif key in raw:
            raw[draw(answer_keys)] = raw.pop(key)
    return raw


def is_valid(invitation: pulse.Invitation, raw: dict[Any, object]) -> bool:
    """Only today's questions, each skipped (left out, None, "Prefer not to say") or a whole
    number on its scale."""
    expected = {pulse.answer_key(i, item): i for i, item in invitation.items}
    return set(raw) <= set(expected) and all(
        raw[k] is None
        or raw[k] == pulse.PREFER_NOT_TO_SAY
        or (type(raw[k]) is int and i.scale.min <= raw[k] <= i.scale.max)  # type: ignore[operator]
        for k, i in expected.items()
        if k in raw
    )


def answered(raw: dict[Any, object]) -> int:
    return sum(v is not None and v != pulse.PREFER_NOT_TO_SAY for v in raw.values())


def stored(store: Store) -> dict[str, int]:
    """Rows of the answer tables, counting what open pulses hold in their ballot files."""
    counts = store.row_counts()
    held = [r for sid in store.ballots.sessions() for r in store.ballots.contents(sid).responses]
    return {
        "responses": counts["responses"] + len(held),
        "answers": counts["answers"] + sum(len(r.answers) for r in held),
        "scores": counts["scores"] + sum(len(r.scores) for r in held),
        "pulse_windows": counts["pulse_windows"],
    }


def assert_kind(exc: Exception) -> None:
    """A message for a participant: short, plain, and not an echo of what was sent."""
    message = str(exc)
    assert message.strip() and len(message) < 300, message
    assert not any(s in message for s in SQL), message
    assert "Traceback" not in message and "Error" not in message, message


@SLOW
@given(data=st.data())
def test_hostile_pulse_answers_are_refused_whole(
    store: Store, invitation: pulse.Invitation, data: st.DataObject
) -> None:
    raw = data.draw(hostile_answers(invitation))
    before = stored(store)
    try:
        pulse.submit(store, invitation, raw, dt.datetime.now())
    except (InvalidInput, PulseUnavailable, PulseFull) as exc:
        event(type(exc).__name__)
        assert_kind(exc)
        assert not is_valid(invitation, raw)
        assert stored(store) == before
    else:
        event("stored" if answered(raw) else "all skipped")
        assert is_valid(invitation, raw)
        after = stored(store)
        assert after["responses"] == before["responses"] + (1 if answered(raw) else 0)
        assert after["answers"] == before["answers"] + answered(raw)


@FAST
@given(data=st.data())
def test_check_answers_accepts_exactly_the_valid_answers(
    store: Store, invitation: pulse.Invitation, data: st.DataObject
) -> None:
    raw = data.draw(hostile_answers(invitation))
    try:
        answers = pulse.check_answers(invitation, raw)
    except InvalidInput as exc:
        assert_kind(exc)
        assert not is_valid(invitation, raw)
    else:
        assert is_valid(invitation, raw)
        assert all(type(v) is int for v in answers.values())


def test_answers_after_the_cap_or_the_close_are_refused_whole(
    store: Store, invitation: pulse.Invitation
) -> None:
    facilitator = store.staff_user_by_username("fac")
    assert facilitator is not None
    for _ in range(cohorts.MAX_ROSTER):
        pulse.submit(store, invitation, valid_answers(invitation), dt.datetime.now())
    before = stored(store)
    with pytest.raises(PulseFull) as full:
        pulse.submit(store, invitation, valid_answers(invitation), dt.datetime.now())
    assert_kind(full.value)
    pulse.close_pulse(store, facilitator, invitation.session_id, dt.datetime.now())
    with pytest.raises(PulseUnavailable) as closed:
        pulse.submit(store, invitation, valid_answers(invitation), dt.datetime.now())
    assert_kind(closed.value)
    assert stored(store) == before


hostile_codes = st.one_of(
    st.sampled_from(SQL),
    st.sampled_from(ODD_TEXT),
    st.text(max_size=40),
    st.text(st.sampled_from("23456789ABCDEFGHJKMNPQRSTUVWXYZ-"), min_size=8, max_size=12),
    huge(1_000, 60_000),
)


@FAST
@given(code=hostile_codes)
def test_hostile_codes_lead_nowhere(store: Store, invitation: pulse.Invitation, code: str) -> None:
    window = store.pulse_window(invitation.session_id)
    assert window is not None and window.room_code
    if pulse.normalize_code(code) == window.room_code:
        return  # hypothesis guessed the room code: nothing to check
    with pytest.raises(PulseUnavailable) as refused:
        pulse.resolve_code(store, code, dt.datetime.now())
    assert_kind(refused.value)


# --------------------------------------------------------------------------- the participant page


@contextmanager
def participant_http(store: Store) -> Iterator[Any]:
    """The app's routes over HTTP, on this test's store (the page's own route, pulse_page.py)."""
    import warnings

    from starlette.applications import Starlette

    import routes
    import ui

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Using `httpx`")
        from starlette.testclient import TestClient

    real = ui.store
    ui.store = lambda: store  # type: ignore[assignment]
    try:
        with TestClient(Starlette(routes=routes.ROUTES)) as http:
            yield http
    finally:
        ui.store = real  # type: ignore[assignment]


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(code=hostile_codes)
@example(code="")
@example(code="'; --")
@example(code=SQL[0])
@example(code="😀" * 40)
@example(code="x" * 60_000)
@pytest.mark.filterwarnings("ignore:Using `httpx`")
def test_the_participant_page_never_fails_on_a_hostile_code(store: Store, code: str) -> None:
    participant.forget()  # each example from a fresh count of wrong codes
    code = code[:2000]  # a URL holds no more (servers refuse longer request lines anyway)
    with participant_http(store) as http:
        reply = http.get("/pulse", params={"code": code})
    assert reply.status_code == 200, reply.text[-500:]
    page = reply.text
    # A code with nothing code-like in it is treated as no code: the form asks for one.
    told = [m for m in (pulse.NO_OPEN_PULSE, pulse.CARD_TYPO) if m in page]
    assert len(told) == (1 if pulse.normalize_code(code) else 0), told
    assert 'name="code"' in page and 'type="radio"' not in page
    # What was typed is never drawn back into the page.
    if len(code.strip()) > 3:
        assert code.strip() not in page and str(escape(code.strip())) not in page


form_fields = st.lists(
    st.tuples(
        st.one_of(answer_keys.map(str), st.sampled_from(["code", "token"])), hostile_scalar.map(str)
    ),
    max_size=8,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
@pytest.mark.filterwarnings("ignore:Using `httpx`")
def test_the_participant_page_never_fails_on_a_hostile_form(
    store: Store, invitation: pulse.Invitation, data: st.DataObject
) -> None:
    """Whatever a form post holds, the reply is a page (never a traceback) and nothing is stored
    unless it is the page's own form with answers on the scale."""
    participant.forget()
    window = store.pulse_window(invitation.session_id)
    assert window is not None and window.room_code
    before = stored(store)
    with participant_http(store) as http:
        page = http.get("/pulse", params={"code": window.room_code}).text
        token = page.split('name="token" value="')[1].split('"')[0]
        own = [("code", window.room_code), ("token", token)]
        fields = data.draw(st.one_of(form_fields, form_fields.map(lambda f: own + f)))
        reply = http.post(
            "/pulse",
            content=urlencode(fields),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert reply.status_code in (200, 400), reply.text[-500:]
    assert "Traceback" not in reply.text
    if stored(store) != before:
        assert reply.status_code == 200 and "Thank you" in reply.text
        answers = [(k, v) for k, v in fields if k not in ("code", "token")]
        assert answers and all(
            k in {pulse.answer_key(i, item) for i, item in invitation.items} for k, _ in answers
        )


# --------------------------------------------------------------------------- sign-in


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(wrong=st.lists(hostile_text.filter(lambda p: p != "correct horse"), min_size=5, max_size=6))
def test_sign_in_pauses_after_repeated_failures(store: Store, wrong: list[str]) -> None:
    settings_ = get_settings()
    username = f"u{store.count_staff_users()}"
    create_user(store, ACTOR, username, "U", Role.FACILITATOR, "correct horse")
    limit = settings_.failed_signin_limit
    messages = []
    for password in wrong:
        with pytest.raises(AccessDenied) as refused:
            auth.sign_in(store, settings_, username, password[:256])
        messages.append(str(refused.value))
    assert len(messages) >= limit
    assert set(messages) == {auth.REFUSED}, messages
    # Paused: even the right password is refused, with the same words (a pause tells nothing).
    with pytest.raises(AccessDenied, match=auth.REFUSED):
        auth.sign_in(store, settings_, username, "correct horse")
    # Once the pause is over, the right password works again.
    later = dt.datetime.now() + dt.timedelta(minutes=settings_.failed_signin_pause_minutes + 1)
    assert auth.sign_in(store, settings_, username, "correct horse", at=later)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(username=hostile_text, password=hostile_text)
@example(username="\ud800", password="x")  # half a surrogate pair: not text a database can hold
@example(username="admin", password="\udfff")
def test_hostile_usernames_and_passwords_are_just_wrong(
    store: Store, username: str, password: str
) -> None:
    before = store.row_counts()
    with pytest.raises(AccessDenied) as refused:
        auth.sign_in(store, get_settings(), username[:64], password[:256])
    assert str(refused.value) == "That username and password do not match an active account."
    assert store.row_counts() == before


# --------------------------------------------------------------------------- found by the properties above


def alias_bomb(levels: int) -> str:
    """A few hundred bytes of YAML whose aliases expand to 9**levels strings ("billion laughs")."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join([*lines, f"title: *a{levels - 1}"]) + "\n"


def test_deeply_nested_yaml_is_refused_with_a_readable_error(store: Store) -> None:
    """600 levels would exhaust the YAML composer's stack; it is refused before that."""
    text = "title: " + "[" * 600 + "]" * 600 + "\n"
    before = store.row_counts()
    with pytest.raises(CurriculumError) as refused:
        library.upload_curriculum_file(store, ACTOR, "deep.yaml", text.encode(), INSTRUMENTS)
    assert_readable(refused.value, {"deep.yaml"})
    assert store.row_counts() == before


def test_a_yaml_alias_bomb_is_refused_quickly(settings_env: Path) -> None:
    """Aliases are refused before anything walks them, so 9**8 values are never expanded."""
    # In a subprocess, so the slow case can be stopped at the timeout instead of running on.
    code = (
        "import sys; from pathlib import Path; from program import library;"
        " from program.errors import CurriculumError; from program.models import Actor;"
        " from program.store import Store;"
        f" s = Store({str(settings_env)!r});"
        " text = sys.stdin.read()\n"
        "try:\n"
        f"    library.upload_curriculum(s, Actor.system(), 'bomb.yaml', text, Path({str(INSTRUMENTS)!r}))\n"
        "except CurriculumError:\n"
        "    print('refused')\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            input=alias_bomb(8),
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=8,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("An 8-level alias bomb was still being read after 8 s.")
    assert done.stdout.strip() == "refused", done.stderr


def test_a_problem_message_does_not_echo_a_huge_value(store: Store) -> None:
    """A wrong value is quoted cut short, with its length, not whole."""
    doc = dict(yaml.safe_load(BASE_TEXT), id="X" * 200_000)
    with pytest.raises(CurriculumError) as refused:
        library.upload_curriculum(store, ACTOR, "huge.yaml", yaml.safe_dump(doc), INSTRUMENTS)
    assert_readable(refused.value, {"huge.yaml"})
    assert all(len(p.message) < 500 for p in refused.value.problems), [
        len(p.message) for p in refused.value.problems
    ]


@pytest.mark.parametrize(
    ("depth", "refused"),
    [
        (curriculum.MAX_DEPTH - 1, False),
        (curriculum.MAX_DEPTH, False),
        (curriculum.MAX_DEPTH + 1, True),
    ],
)
def test_nesting_is_refused_just_past_the_limit(depth: int, refused: bool) -> None:
    """The depth limit sits exactly at MAX_DEPTH levels (the top mapping counts as one)."""
    text = "title: " + "[" * (depth - 1) + "]" * (depth - 1) + "\n"
    if refused:
        with pytest.raises(CurriculumError, match="nested more than"):
            curriculum.parse_yaml(text, "deep.yaml")
    else:
        assert curriculum.parse_yaml(text, "deep.yaml").data["title"] is not None


def test_an_anchor_without_an_alias_is_harmless_but_an_alias_is_named() -> None:
    parsed = curriculum.parse_yaml("title: &t Welcome\n", "a.yaml")
    assert parsed.data == {"title": "Welcome"}
    with pytest.raises(CurriculumError) as refused:
        curriculum.parse_yaml("title: &t Welcome\nsummary: *t\n", "a.yaml")
    [problem] = refused.value.problems
    assert problem.line == 2 and "aliases" in problem.message


@pytest.mark.filterwarnings("ignore:Using `httpx`")
def test_a_participant_with_a_wrong_link_can_type_the_right_code(
    store: Store, invitation: pulse.Invitation
) -> None:
    participant.forget()
    window = store.pulse_window(invitation.session_id)
    assert window is not None and window.room_code
    with participant_http(store) as http:
        wrong = http.get("/pulse", params={"code": "ABCD-EFGH"}).text  # last week's QR code, say
        assert pulse.NO_OPEN_PULSE in wrong and 'name="code"' in wrong
        # The code form sends what is typed as ?code=…, formatted as on the screen.
        right = http.get("/pulse", params={"code": pulse.format_code(window.room_code)}).text
    assert pulse.NO_OPEN_PULSE not in right
    assert right.count('value="skip"') == len(invitation.items)

"""Load and check curriculum and instrument files, with errors that name the file, line and field.

A curriculum file is checked in three layers: YAML syntax, the shape of each field (the pydantic
models), then the rules that span fields and files (`check_curriculum`). Every problem found is
reported at once, so an author can fix a file in one pass.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from program.errors import CurriculumError, Problem
from program.models import MAX_PULSE_ITEMS, Curriculum, CurriculumBundle, Instrument

M = TypeVar("M", bound=BaseModel)
Path_ = tuple[str | int, ...]

INSTRUMENTS_FOLDER = "instruments"


# --------------------------------------------------------------------------- YAML with lines


@dataclass(frozen=True)
class Parsed:
    """A parsed YAML document and the line (1-based) where each value starts."""

    data: Any
    lines: dict[Path_, int]

    def line_of(self, path: Sequence[str | int]) -> int:
        """The line of the deepest part of `path` that exists in the file."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return 1


def _record_lines(
    node: yaml.Node, path: Path_, lines: dict[Path_, int], duplicates: list[tuple[Path_, int]]
) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str | int] = set()
        for key_node, value_node in node.value:
            key: str | int = key_node.value
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag.endswith(":int"):
                key = int(key_node.value)
            if key in seen:
                # PyYAML keeps the last of two equal keys without a word; an author meant one.
                duplicates.append(((*path, key), key_node.start_mark.line + 1))
            seen.add(key)
            _record_lines(value_node, (*path, key), lines, duplicates)
            # A missing or extra field is best reported on the line of its key.
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _record_lines(child, (*path, index), lines, duplicates)


# libyaml's parser when PyYAML was built with it (the wheels are): the same events, marks and
# errors as the pure-Python one, many times faster, which matters for a whole curriculum read
# three times over (screened, composed for line numbers, loaded).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Deeper than any curriculum needs (a guide is about six levels), and far below the depth at which
# PyYAML's recursive composer exhausts Python's stack.
MAX_DEPTH = 40


def _screen_events(text: str, name: str) -> None:
    """Refuse aliases and deep nesting before anything recursive reads the document.

    PyYAML's event parser is a loop, so this pass is linear in the text. Aliases are refused
    because each use is walked again by validation: a few hundred bytes of nested aliases
    ("billion laughs") would expand to billions of values. A curriculum never needs them.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            line = event.start_mark.line + 1 if event.start_mark else 1
            raise CurriculumError(
                [
                    Problem(
                        name,
                        line,
                        "",
                        "YAML aliases (*name) are not supported; write the value out",
                    )
                ]
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else 1
                raise CurriculumError(
                    [Problem(name, line, "", f"nested more than {MAX_DEPTH} levels deep")]
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def parse_yaml(text: str, name: str) -> Parsed:
    """Parse one YAML document, or raise CurriculumError saying where the syntax breaks."""
    try:
        _screen_events(text, name)
        node = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, C or Python
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem or exc.context or "the YAML cannot be read"
        raise CurriculumError([Problem(name, line, "", f"YAML syntax: {what}")]) from exc
    except yaml.YAMLError as exc:
        raise CurriculumError([Problem(name, 1, "", f"YAML syntax: {exc}")]) from exc
    lines: dict[Path_, int] = {}
    duplicates: list[tuple[Path_, int]] = []
    if node is not None:
        _record_lines(node, (), lines, duplicates)
    if duplicates:
        raise CurriculumError(
            [
                Problem(name, line, format_path(path), "appears twice; keep only one")
                for path, line in duplicates
            ]
        )
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise CurriculumError(
            [Problem(name, 1, "", f"the file must hold a mapping of fields, got {got}")]
        )
    return Parsed(data, lines)


# --------------------------------------------------------------------------- readable errors


# The longest value a message quotes whole; longer ones are cut, so a wrong 200 kB value does not
# make a 200 kB error on the page.
QUOTE_LIMIT = 60


def quote(value: object) -> str:
    """`value` as a message shows it: repr, cut to a readable length."""
    if isinstance(value, str) and len(value) > QUOTE_LIMIT:
        return f"{value[:QUOTE_LIMIT]!r}… ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= QUOTE_LIMIT else f"{text[:QUOTE_LIMIT]}…"


def format_path(path: Sequence[str | int]) -> str:
    """('sessions', 2, 'minutes') -> 'sessions[2].minutes'."""
    out = ""
    for part in path:
        if isinstance(part, str) and len(part) > QUOTE_LIMIT:
            part = f"{part[:QUOTE_LIMIT]}…"
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _data_path(data: Any, loc: Sequence[str | int]) -> Path_:
    """Drop the parts of a pydantic location that are not in the data (union member tags)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and part not in node and not _is_union_tag(part):
            path.append(part)  # a missing or unknown field: keep it, it is the subject
            node = None
        # otherwise a union member tag or '[key]': not part of the data path
    return tuple(path)


def _is_union_tag(part: str | int) -> bool:
    return isinstance(part, str) and (
        part in {"int", "str", "float", "bool", "[key]"} or "[" in part or "(" in part
    )


def _plain(error: ErrorDetails, field: str | int | None) -> str:
    """One pydantic error in words a curriculum author can act on."""
    kind = error["type"]
    ctx = error.get("ctx", {})
    got = error.get("input")
    shown = quote(got) if isinstance(got, str | int | float | bool) else type(got).__name__
    unit = " minutes" if field == "minutes" else ""
    match kind:
        case "missing":
            return "is required but missing"
        case "extra_forbidden":
            return "is not a known field (check the spelling and the indentation)"
        case "int_parsing" | "int_type" | "int_from_float":
            return f"must be a whole number{' of minutes' if unit else ''}, got {shown}"
        case "float_parsing" | "float_type":
            return f"must be a number, got {shown}"
        case "bool_parsing" | "bool_type":
            return f"must be true or false, got {shown}"
        case "string_type":
            return f"must be text, got {shown}"
        case "string_too_short":
            return "must not be empty"
        case "string_pattern_mismatch":
            return (
                "must be lowercase letters, digits, '-' or '_', starting with a letter or digit,"
                f" got {shown}"
            )
        case "greater_than":
            return f"must be more than {ctx['gt']}{unit}, got {shown}"
        case "greater_than_equal":
            return f"must be at least {ctx['ge']}{unit}, got {shown}"
        case "less_than":
            return f"must be less than {ctx['lt']}{unit}, got {shown}"
        case "less_than_equal":
            return f"must be at most {ctx['le']}{unit}, got {shown}"
        case "too_short":
            return (
                f"needs at least {ctx['min_length']} entr{'y' if ctx['min_length'] == 1 else 'ies'}"
            )
        case "too_long":
            return f"may have at most {ctx['max_length']} entries, got {ctx.get('actual_length')}"
        case "list_type":
            return f"must be a list (lines starting with '- '), got {shown}"
        case "dict_type" | "model_type" | "model_attributes_type":
            return f"must be a mapping of fields, got {shown}"
        case "literal_error" | "enum":
            return f"must be one of {ctx.get('expected')}, got {shown}"
        case "value_error" | "assertion_error":
            return _cut(str(ctx.get("error", error["msg"])))
        case _:
            return _cut(str(error["msg"]))


def _cut(message: str) -> str:
    """A message from a validator, which may quote the value, at a readable length."""
    return message if len(message) <= 4 * QUOTE_LIMIT else f"{message[: 4 * QUOTE_LIMIT]}…"


def _problems_from(exc: ValidationError, parsed: Parsed, name: str) -> list[Problem]:
    by_path: dict[Path_, list[str]] = {}
    for error in exc.errors():
        path = _data_path(parsed.data, error["loc"])
        field = path[-1] if path else None
        message = _plain(error, field)
        by_path.setdefault(path, [])
        if message not in by_path[path]:
            by_path[path].append(message)
    problems = []
    for path, messages in by_path.items():
        if len(messages) > 1 and any("one of" in m for m in messages):
            # A field that accepts a word or a number failed both ways: say so once.
            got = messages[0].rsplit(", got ", 1)[-1]
            if any("at least 1" in m for m in messages):
                messages = [f"the orientation (session 0) is never surveyed; got {got}"]
            else:
                messages = [f"must be every, first, middle, last or a session number, got {got}"]
        for message in messages:
            problems.append(Problem(name, parsed.line_of(path), format_path(path), message))
    return sorted(problems, key=lambda p: p.line)


def validate_model(model: type[M], parsed: Parsed, name: str) -> M:
    """Validate parsed YAML into `model`, raising CurriculumError with every problem found."""
    try:
        return model.model_validate(parsed.data)
    except ValidationError as exc:
        raise CurriculumError(_problems_from(exc, parsed, name)) from exc


# --------------------------------------------------------------------------- cross-field rules


def check_curriculum(
    curriculum: Curriculum, instruments: dict[str, Instrument | None]
) -> list[tuple[Path_, str]]:
    """Rules that span fields: numbering, timing, the pulse plan and the completion rule.

    `instruments` maps each scheduled id to its instrument, or None when no file was found; an id
    left out had a file with problems of its own, reported under that file's name.
    """
    found: list[tuple[Path_, str]] = []
    numbers = [s.number for s in curriculum.sessions]
    start = 0 if numbers[0] == 0 else 1
    numbering_reported = False
    for index, session in enumerate(curriculum.sessions):
        expected = start + index
        if session.number != expected and not numbering_reported:
            numbering_reported = True
            found.append(
                (
                    ("sessions", index, "number"),
                    f"sessions must be numbered {start}, {start + 1}, {start + 2}, … in order"
                    f" (0 only for an orientation); expected {expected}, got {session.number}",
                )
            )
        if session.minutes > curriculum.session_minutes:
            found.append(
                (
                    ("sessions", index, "agenda"),
                    f"the agenda adds up to {session.minutes} minutes, more than the session"
                    f" length of {curriculum.session_minutes} minutes",
                )
            )
    weekly = curriculum.weekly_numbers
    if not weekly:
        found.append((("sessions",), "needs at least one weekly session (number 1 or above)"))
        return found
    rule = curriculum.completion.min_sessions_attended
    if rule > len(weekly):
        found.append(
            (
                ("completion", "min_sessions_attended"),
                f"asks for {rule} sessions attended, but there are only {len(weekly)} weekly"
                " sessions, so nobody could complete",
            )
        )
    for p, plan in enumerate(curriculum.pulses):
        if plan.instrument in instruments and instruments[plan.instrument] is None:
            found.append(
                (
                    ("pulses", p, "instrument"),
                    f"instrument {quote(plan.instrument)} does not exist (no file"
                    f" {INSTRUMENTS_FOLDER}/{plan.instrument}.yaml)",
                )
            )
        for w, when in enumerate(plan.at):
            if isinstance(when, int) and when not in weekly:
                found.append(
                    (
                        ("pulses", p, "at", w),
                        f"session {when} does not exist (weekly sessions are"
                        f" {weekly[0]}–{weekly[-1]})",
                    )
                )
    seen: set[str] = set()
    for p, plan in enumerate(curriculum.pulses):
        if plan.instrument in seen:
            found.append(
                (("pulses", p, "instrument"), f"{quote(plan.instrument)} is scheduled twice")
            )
        seen.add(plan.instrument)
    for number in weekly:
        ids = curriculum.instruments_at(number)
        count = sum(len(i.items) for i in (instruments.get(x) for x in ids) if i is not None)
        if count > MAX_PULSE_ITEMS:
            found.append(
                (
                    ("pulses",),
                    f"session {number} would ask {count} questions ({', '.join(ids)}); a pulse"
                    f" may ask at most {MAX_PULSE_ITEMS}",
                )
            )
    return found


# --------------------------------------------------------------------------- loading


def check_translations(instrument: Instrument) -> list[tuple[Path_, str]]:
    """Each translation covers every item and every labelled scale point, and one of a validated
    instrument names the official translation it comes from."""
    found: list[tuple[Path_, str]] = []
    item_ids = [item.id for item in instrument.items]
    points = list(instrument.scale.labels)
    for language, translation in instrument.translations.items():
        at: Path_ = ("translations", language)
        if language.split("-")[0] == instrument.language.split("-")[0]:
            found.append((at, f"the instrument is written in {quote(instrument.language)} already"))
        if instrument.validated and translation.source is None:
            found.append(
                (
                    (*at, "source"),
                    "this instrument is validated: its translation must name its source, the"
                    " official translation the words are copied from",
                )
            )
        if instrument.instructions is not None and translation.instructions is None:
            found.append(((*at, "instructions"), "the instrument has instructions; translate them"))
        if instrument.instructions is None and translation.instructions is not None:
            found.append(((*at, "instructions"), "the instrument has no instructions to translate"))
        for name, wanted, given in (
            ("items", item_ids, list(translation.items)),
            ("scale", points, list(translation.scale)),
        ):
            missing = [x for x in wanted if x not in given]
            if missing:
                what = "items" if name == "items" else "scale points"
                found.append(((*at, name), f"misses the {what} {', '.join(map(str, missing))}"))
            for extra in (x for x in given if x not in wanted):
                what = "no item" if name == "items" else "no labelled point"
                found.append(
                    ((*at, name, extra), f"{quote(str(extra))} is {what} of the instrument")
                )
    return found


def load_instrument(path: Path) -> Instrument:
    """Read and validate one instrument file."""
    parsed = parse_yaml(_read(path), path.name)
    instrument = validate_model(Instrument, parsed, path.name)
    found: list[tuple[Path_, str]] = []
    if instrument.id != path.stem:
        found.append(
            (
                ("id",),
                f"must match the file name: expected {quote(path.stem)}, got {quote(instrument.id)}",
            )
        )
    seen: set[str] = set()
    for index, item in enumerate(instrument.items):
        if item.id in seen:
            found.append((("items", index, "id"), f"item id {quote(item.id)} appears twice"))
        seen.add(item.id)
    found.extend(check_translations(instrument))
    sentence = instrument.mirror_sentence
    if sentence is not None and sentence.count("{words}") != 1:
        found.append(
            (
                ("mirror_sentence",),
                "must say {words} once, where the scale's words for the group's average go",
            )
        )
    needed = instrument.scoring.min_answered
    if needed is not None and needed > len(instrument.items):
        found.append(
            (
                ("scoring", "min_answered"),
                f"asks for {needed} answered items, but the instrument has only"
                f" {len(instrument.items)}",
            )
        )
    if found:
        raise CurriculumError(
            [Problem(path.name, parsed.line_of(p), format_path(p), m) for p, m in found]
        )
    return instrument


def load_curriculum_text(text: str, name: str, instruments_dir: Path) -> CurriculumBundle:
    """Validate a curriculum given as text, with the instruments it schedules.

    Raises CurriculumError listing every problem; nothing is written anywhere.
    """
    parsed = parse_yaml(text, name)
    curriculum = validate_model(Curriculum, parsed, name)
    instruments: dict[str, Instrument | None] = {}
    problems: list[Problem] = []
    for plan in curriculum.pulses:
        file = instruments_dir / f"{plan.instrument}.yaml"
        if not file.is_file():
            instruments[plan.instrument] = None
            continue
        try:
            instruments[plan.instrument] = load_instrument(file)
        except CurriculumError as exc:
            problems.extend(exc.problems)
    for path, message in check_curriculum(curriculum, instruments):
        problems.append(Problem(name, parsed.line_of(path), format_path(path), message))
    if problems:
        raise CurriculumError(sorted(problems, key=lambda p: (p.file != name, p.file, p.line)))
    resolved = {k: v for k, v in instruments.items() if v is not None}
    return CurriculumBundle(curriculum=curriculum, instruments=resolved)


def load_curriculum_file(path: Path, instruments_dir: Path | None = None) -> CurriculumBundle:
    """Validate a curriculum file; instruments come from the `instruments/` folder beside it."""
    folder = instruments_dir or path.parent / INSTRUMENTS_FOLDER
    return load_curriculum_text(_read(path), path.name, folder)


def validate_files(paths: Iterable[Path]) -> list[Problem]:
    """Check curriculum and instrument files; return every problem (empty when all are valid)."""
    problems: list[Problem] = []
    for path in paths:
        try:
            if path.parent.name == INSTRUMENTS_FOLDER:
                load_instrument(path)
            else:
                load_curriculum_file(path)
        except CurriculumError as exc:
            problems.extend(exc.problems)
    return problems


def bundled_files(folder: Path) -> list[Path]:
    """Every curriculum and instrument file in a curricula folder."""
    return sorted(folder.glob("*.yaml")) + sorted((folder / INSTRUMENTS_FOLDER).glob("*.yaml"))


SCHEMAS: dict[str, type[BaseModel]] = {"curriculum": Curriculum, "instrument": Instrument}


def json_schemas() -> dict[str, str]:
    """The JSON Schema of each file format, as text, so editors can check files as authors type."""
    out = {}
    for name, model in SCHEMAS.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"{name}.schema.json"
        out[f"{name}.schema.json"] = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    return out


def content_hash(bundle: CurriculumBundle) -> str:
    """A hash of what the curriculum says (not its comments or layout), instruments included."""
    canonical = json.dumps(bundle.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CurriculumError([Problem(path.name, 1, "", "file not found")]) from exc
    except UnicodeDecodeError as exc:
        raise CurriculumError(
            [Problem(path.name, 1, "", "the file is not UTF-8 text; save it as UTF-8")]
        ) from exc

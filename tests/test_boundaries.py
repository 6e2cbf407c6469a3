"""The layering rules of docs/design.md ("Layers"), checked on the source: no Streamlit in
program/, no SQL built from values with f-strings, the schema only in migrations/, SQL only in the
store."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ROOT / "program"
# benchmarks/ times bare SQL against the store on purpose; scripts/ drives a browser.
SKIP_DIRS = {".venv", ".tools", "tests", "data", ".git", "node_modules", "benchmarks", "scripts"}

# Words that only SQL puts in upper case; the project writes its SQL keywords in capitals.
SQL_WORDS = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|FROM|JOIN|VALUES|RETURNING|ORDER BY|GROUP BY|LIMIT)\b"
)
DDL = re.compile(
    r"\b(CREATE|ALTER|DROP)\s+(OR\s+REPLACE\s+)?(TEMP(ORARY)?\s+)?(UNIQUE\s+)?"
    r"(TABLE|SEQUENCE|INDEX|VIEW|SCHEMA|TYPE|MACRO)\b",
    re.IGNORECASE,
)
SQL_STATEMENT = re.compile(
    r"^\s*(SELECT\b.*\bFROM\b|INSERT\s+INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b)", re.DOTALL
)
BOOTSTRAP = "CREATE TABLE IF NOT EXISTS schema_migrations"
CONSTANT_NAME = re.compile(r"^_[A-Z][A-Z0-9_]*$")


def program_files() -> list[Path]:
    return sorted(PROGRAM.rglob("*.py"))


def project_files() -> list[Path]:
    """Every Python file of the app: program/, the pages and the top-level UI scripts."""
    files = list(ROOT.glob("*.py"))
    for folder in ROOT.iterdir():
        if folder.is_dir() and folder.name not in SKIP_DIRS and not folder.name.startswith("."):
            files.extend(folder.rglob("*.py"))
    return sorted(files)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring nodes, which are prose, not SQL."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def string_constants(tree: ast.Module) -> Iterator[ast.Constant]:
    skip = docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node


def class_constants(tree: ast.Module) -> set[str]:
    """Names like `_STAFF` assigned a plain string literal in a class body of this module."""
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        for stmt in node.body:
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(stmt, ast.Assign):
                targets, value = stmt.targets, stmt.value
            elif isinstance(stmt, ast.AnnAssign):
                targets, value = [stmt.target], stmt.value
            if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                continue
            for target in targets:
                if isinstance(target, ast.Name) and CONSTANT_NAME.match(target.id):
                    names.add(target.id)
    return names


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    what: str

    def __str__(self) -> str:
        shown = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{shown}:{self.line}: {self.what}"


# --------------------------------------------------------------------------- no Streamlit


IMPORT_ALL = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(sorted(m for m in sys.modules if m == "streamlit" or m.startswith("streamlit.")))
"""


@pytest.mark.slow
def test_program_imports_no_streamlit_at_run_time() -> None:
    # program.__main__ only runs the command line (and would exit): it imports program.cli.
    names = [module_name(p) for p in program_files() if p.name != "__main__.py"]
    assert "program.store" in names
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL, *names],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"program/ pulled in Streamlit: {done.stdout}"


def test_program_source_never_names_streamlit() -> None:
    found = []
    for path in program_files():
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for m in modules:
                if m.split(".")[0] == "streamlit":
                    found.append(Finding(path, node.lineno, f"imports {m}"))
    assert not found, "\n".join(map(str, found))


# --------------------------------------------------------------------------- SQL from values


# Module functions that quote what they are given as an SQL identifier or string literal; what they
# return is safe to interpolate whatever the input (their quoting is checked below).
QUOTERS = {"_name": ('x"y', '"x""y"'), "_text": ("it's", "'it''s'")}
MODULE_CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]*$")


def single_binding(stmt: ast.stmt) -> tuple[str, ast.expr] | None:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target, value = stmt.targets[0], stmt.value
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        target, value = stmt.target, stmt.value
    else:
        return None
    return (target.id, value) if isinstance(target, ast.Name) else None


def bound_names(target: ast.expr) -> list[str]:
    """The names an assignment target binds (not those read inside `x[i] = ...`)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple | ast.List):
        return [n for t in target.elts for n in bound_names(t)]
    if isinstance(target, ast.Starred):
        return bound_names(target.value)
    return []


class SqlSafety:
    """Which expressions of one module can only ever produce SQL text written in the source.

    Safe: string literals; `self._UPPER` class constants; `_UPPER` module constants (and rows of
    them, like a tuple of (table, condition) pairs); calls of the module's quoting functions;
    `", ".join(...)` of safe parts; `+` of safe parts; f-strings of safe parts; and local names
    whose every binding is one of these (or a loop over a module's constant rows).
    """

    def __init__(self, tree: ast.Module) -> None:
        self.class_constants = class_constants(tree)
        self.quoters = {
            f.name for f in tree.body if isinstance(f, ast.FunctionDef) and f.name in QUOTERS
        }
        self.constants: set[str] = set()
        self.sql_constants: set[str] = set()  # the constants that hold SQL, not a folder name
        self.rows: set[str] = set()
        for stmt in tree.body:
            bound = single_binding(stmt)
            if bound is None or not MODULE_CONSTANT.match(bound[0]):
                continue
            name, value = bound
            if self.safe(value, set()):
                self.constants.add(name)
                if SQL_WORDS.search(ast.unparse(value)):
                    self.sql_constants.add(name)
            elif self.safe_rows(value, set()):
                self.rows.add(name)

    def safe(self, e: ast.expr, local: set[str]) -> bool:
        if isinstance(e, ast.Constant):
            return isinstance(e.value, str)
        if isinstance(e, ast.JoinedStr):
            return all(
                self.safe(v.value, local) and v.conversion == -1 and v.format_spec is None
                for v in e.values
                if isinstance(v, ast.FormattedValue)
            )
        if isinstance(e, ast.Attribute):
            return (
                isinstance(e.value, ast.Name)
                and e.value.id in {"self", "cls"}
                and e.attr in self.class_constants
            )
        if isinstance(e, ast.Name):
            return e.id in self.constants or e.id in local
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add):
            return self.safe(e.left, local) and self.safe(e.right, local)
        if isinstance(e, ast.Call):
            if isinstance(e.func, ast.Name):
                return e.func.id in self.quoters
            joined = (
                isinstance(e.func, ast.Attribute)
                and e.func.attr == "join"
                and isinstance(e.func.value, ast.Constant)
                and len(e.args) == 1
                and isinstance(e.args[0], ast.GeneratorExp | ast.ListComp)
            )
            return joined and self.safe(e.args[0].elt, local)  # type: ignore[union-attr]
        return False

    def holds_sql(self, e: ast.expr) -> bool:
        """An SQL fragment or quoted name: an f-string that interpolates one builds SQL."""
        if isinstance(e, ast.Name):
            return e.id in self.sql_constants
        if isinstance(e, ast.Call):
            return isinstance(e.func, ast.Name) and e.func.id in self.quoters
        return isinstance(e, ast.Attribute) and self.safe(e, set())

    def safe_rows(self, e: ast.expr, local: set[str]) -> bool:
        if not isinstance(e, ast.Tuple | ast.List):
            return False
        return all(
            self.safe(x, local)
            or (isinstance(x, ast.Tuple) and all(self.safe(y, local) for y in x.elts))
            for x in e.elts
        )

    def local_names(self, func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
        """Names in `func` (nested functions included) whose every binding is safe."""
        bindings: dict[str, list[ast.expr | None]] = {}  # None: a binding that is never safe
        for node in ast.walk(func):
            if isinstance(node, ast.arguments):
                for a in [*node.posonlyargs, *node.args, *node.kwonlyargs, node.vararg, node.kwarg]:
                    if a is not None:
                        bindings.setdefault(a.arg, []).append(None)
            elif isinstance(node, ast.For | ast.comprehension):
                over_rows = isinstance(node.iter, ast.Name) and node.iter.id in self.rows
                for t in bound_names(node.target):
                    # Each name of a loop over constant rows takes one constant of a row.
                    safe_row = ast.Constant("") if over_rows else None
                    bindings.setdefault(t, []).append(safe_row)
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
                bound = single_binding(node) if isinstance(node, ast.stmt) else None
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for t in bound_names(target):
                        value = bound[1] if bound and bound[0] == t else None
                        bindings.setdefault(t, []).append(value)
        safe: set[str] = set()
        for _ in range(len(bindings) + 1):
            grown = {
                name
                for name, values in bindings.items()
                if all(v is not None and self.safe(v, safe) for v in values)
            }
            if grown == safe:
                break
            safe = grown
        return safe


def is_sql(node: ast.JoinedStr, safety: SqlSafety) -> bool:
    text = "".join(
        v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
    )
    return bool(SQL_WORDS.search(text)) or any(
        isinstance(v, ast.FormattedValue) and safety.holds_sql(v.value) for v in node.values
    )


# Functions reviewed by hand that build SQL from names a static check cannot follow: the cohort
# deletion finds the tables to clear in DuckDB's catalog (columns named in COHORT_LINKS), quotes
# them with `_name`, and passes the cohort's keys as named parameters; the one statement
# run on them is a count or a delete, fixed by its Literal type. A function added here needs
# the same review: every interpolated piece must come from the source or the catalog, never a person.
REVIEWED = {
    ("program/store/deletion.py", "_cohort_rows"),
    ("program/store/deletion.py", "_on_cohort_rows"),
}


def sql_fstring_findings(path: Path) -> list[Finding]:
    tree = parse(path)
    safety = SqlSafety(tree)
    where = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
    scopes: list[tuple[ast.AST, set[str]]] = [(tree, set())]
    skipped: list[ast.AST] = []
    for parent in [tree, *(n for n in tree.body if isinstance(n, ast.ClassDef))]:
        for node in parent.body:  # type: ignore[attr-defined]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if (where, node.name) in REVIEWED:
                    skipped.append(node)
                else:
                    scopes.append((node, safety.local_names(node)))
    found = []
    seen: set[int] = {id(n) for f in skipped for n in ast.walk(f)}
    for scope, local in reversed(scopes):  # functions first, then what is left at module level
        for node in ast.walk(scope):
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, ast.JoinedStr) and is_sql(node, safety):
                for v in node.values:
                    if isinstance(v, ast.FormattedValue) and not safety.safe(v.value, local):
                        what = f"f-string SQL interpolates {ast.unparse(v.value)}"
                        found.append(Finding(path, node.lineno, what))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "format"
                and isinstance(node.func.value, ast.Constant)
                and isinstance(node.func.value.value, str)
                and SQL_WORDS.search(node.func.value.value)
            ):
                found.append(Finding(path, node.lineno, "SQL built with str.format"))
            elif (
                isinstance(node, ast.BinOp)
                and isinstance(node.op, ast.Mod)
                and isinstance(node.left, ast.Constant)
                and isinstance(node.left.value, str)
                and SQL_WORDS.search(node.left.value)
            ):
                found.append(Finding(path, node.lineno, "SQL built with %-formatting"))
    return sorted(found, key=lambda f: (f.line, f.what))


def test_no_sql_is_built_from_values_in_program() -> None:
    found = [f for path in program_files() for f in sql_fstring_findings(path)]
    assert not found, "\n".join(map(str, found))


def test_the_quoting_functions_quote() -> None:
    """The SQL rule trusts these functions' output, so check that they really quote."""
    for path in program_files():
        defined = {
            f.name for f in parse(path).body if isinstance(f, ast.FunctionDef) and f.name in QUOTERS
        }
        if not defined:
            continue
        module = importlib.import_module(module_name(path))
        for name in defined:
            given, expected = QUOTERS[name]
            assert getattr(module, name)(given) == expected, (path, name)


SAMPLE = """\
_ROWS = "SELECT id FROM t"
PAIRS = (("t", f"id IN ({_ROWS})"), ("u", "x = $x"))


def _name(identifier):
    return '"' + identifier.replace('"', '""') + '"'


class Q:
    _ALL = "SELECT * FROM t"

    def ok(self, table, columns_in):
        cols = ", ".join(_name(c) for c in columns_in)
        a = f"{self._ALL} WHERE id = ?"
        b = f"SELECT count(*) FROM t{_ROWS}"
        c = {t: f"DELETE FROM {t} WHERE {w}" for t, w in PAIRS}
        return a, b, c, f"INSERT INTO {_name(table)} ({cols}) SELECT {cols} FROM x"

    def bad(self, name, table, rows):
        a = f"SELECT * FROM t WHERE name = '{name}'"
        b = f"{self._ALL} ORDER BY {table}"
        c = "DELETE FROM t WHERE id = {}".format(name)
        d = [f"DELETE FROM {t} WHERE {w}" for t, w in rows]
        e = f"{self._ALL} WHERE x = {name!r}"
        return a, b, c, d, e
"""


def test_the_sql_rule_catches_values_and_allows_constants_and_quoted_names(
    tmp_path: Path,
) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(SAMPLE, encoding="utf-8")
    found = [(f.line - 19, f.what) for f in sql_fstring_findings(sample)]
    assert found == [
        (1, "f-string SQL interpolates name"),
        (2, "f-string SQL interpolates table"),
        (3, "SQL built with str.format"),
        (4, "f-string SQL interpolates t"),
        (4, "f-string SQL interpolates w"),
        (5, "f-string SQL interpolates name"),
    ]


# --------------------------------------------------------------------------- schema and SQL placement


def test_ddl_appears_only_in_migrations_and_the_bootstrap_table() -> None:
    """The database's schema lives in migrations/. Two exceptions, each exactly once: the table
    that records migrations, and the schema of a ballot file (an open pulse's own SQLite file,
    created whole and deleted at close, so it never migrates)."""
    bootstrap = []
    ballot_schema = []
    found = []
    for path in project_files():
        in_store = module_name(path).startswith("program.store")
        for node in string_constants(parse(path)):
            if not DDL.search(node.value):
                continue
            if in_store and BOOTSTRAP in node.value:
                bootstrap.append(Finding(path, node.lineno, "bootstrap"))
            elif module_name(path) == "program.store.ballots":
                ballot_schema.append(Finding(path, node.lineno, "ballot file schema"))
            else:
                found.append(
                    Finding(path, node.lineno, f"DDL outside migrations/: {node.value[:60]!r}")
                )
    assert not found, "\n".join(map(str, found))
    assert len(bootstrap) == 1, f"expected one {BOOTSTRAP!r} in program/store: {bootstrap}"
    assert len(ballot_schema) == 1, ballot_schema


def test_migrations_are_sql_files_named_in_order() -> None:
    files = sorted(p.name for p in (PROGRAM / "migrations").iterdir() if p.is_file())
    sql = [f for f in files if f.endswith(".sql")]
    assert sql and sql[0] == "0001_initial.sql"
    assert all(re.fullmatch(r"\d{4}_[a-z0-9_]+\.sql", f) for f in sql), sql
    numbers = [int(f[:4]) for f in sql]
    assert numbers == list(range(1, len(sql) + 1)), "migration numbers must run 0001, 0002, …"


@pytest.mark.parametrize("path", project_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_sql_statements_live_only_in_the_store(path: Path) -> None:
    if module_name(path).startswith("program.store"):
        return
    found = [
        Finding(path, node.lineno, f"SQL outside program/store: {node.value[:60]!r}")
        for node in string_constants(parse(path))
        if SQL_STATEMENT.search(node.value)
    ]
    assert not found, "\n".join(map(str, found))


# --------------------------------------------------------------------------- pages only draw

# The scripts Streamlit or the HTTP routes run for a screen. They draw what a view function of
# program/ returns; every read and write, and the access check with it, happens in program/.
SCREENS = sorted(
    [*ROOT.glob("pages/*.py")]
    + [ROOT / name for name in ("home.py", "pulse_page.py", "print_page.py", "projector.py")]
)
# Names a screen may give the shared store, which it only passes on to program/.
STORE_NAMES = {"store", "_store"}


def _is_store(node: ast.expr) -> bool:
    """`store`, `_store` or `ui.store()`."""
    if isinstance(node, ast.Name):
        return node.id in STORE_NAMES
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "store"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "ui"
    )


def store_uses(tree: ast.Module) -> list[tuple[int, str]]:
    """Where a screen reaches into the store itself: a method or attribute of the store object,
    or anything of program.store imported but the `Store` type for annotations."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_store(node.value):
            found.append((node.lineno, f"store.{node.attr}"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("program.store"):
            others = [a.name for a in node.names if a.name != "Store"]
            if others or node.module != "program.store":
                found.append((node.lineno, f"imports {node.module}: {', '.join(others)}"))
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, f"imports {a.name}")
                for a in node.names
                if a.name.startswith("program.store")
            ]
    return sorted(found)


def test_the_store_rule_catches_a_screen_reaching_into_the_store() -> None:
    source = (
        "from program.store import Store\n"
        "from program.store.pulse import PulseQueries\n"
        "import ui\n"
        "store = ui.store()\n"
        "def draw(store: Store) -> None:\n"
        "    views.session_choice(store, viewer, 3)\n"
        "    store.sessions(3)\n"
        "    ui.store().data_version()\n"
        "    print(store.path)\n"
    )
    assert store_uses(ast.parse(source)) == [
        (2, "imports program.store.pulse: PulseQueries"),
        (7, "store.sessions"),
        (8, "store.data_version"),
        (9, "store.path"),
    ]


@pytest.mark.parametrize("path", SCREENS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_screens_never_touch_the_store(path: Path) -> None:
    """Pages draw; program/ decides. A screen gets the shared store from ui.store() and hands
    it to program/ (views, or the domain module of what it changes), never calls it."""
    found = [Finding(path, line, what) for line, what in store_uses(parse(path))]
    assert not found, "\n".join(map(str, found))


def test_no_test_module_imports_another_or_a_conftest() -> None:
    """Shared builders live in tests/factories/ (and tests/browser/steps.py): a test module
    imports them from there, never from another test module or a conftest."""
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
                if node.module in ("tests", "tests.browser"):
                    names += [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                last = name.rsplit(".", 1)[-1]
                if name.startswith("tests.") and (last.startswith("test_") or last == "conftest"):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert not found, "\n".join(found)

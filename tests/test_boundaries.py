"""The layering rules of STYLE.md, checked on the source: no Streamlit in program/, no SQL built from
values with f-strings, the schema only in migrations/, SQL only in the store."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ROOT / "program"
SKIP_DIRS = {".venv", ".tools", "tests", "data", ".git", "node_modules"}

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
    return sorted(
        p
        for p in ROOT.rglob("*.py")
        if not SKIP_DIRS.intersection(p.relative_to(ROOT).parts[:-1]) and not p.name.startswith(".")
    )


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


def allowed_interpolation(expr: ast.expr, constants: set[str]) -> bool:
    """`self._STAFF`: a string constant of the class, so no value from a person can enter."""
    return (
        isinstance(expr, ast.Attribute)
        and isinstance(expr.value, ast.Name)
        and expr.value.id in {"self", "cls"}
        and expr.attr in constants
    )


def sql_fstring_findings(path: Path) -> list[Finding]:
    tree = parse(path)
    constants = class_constants(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
            parts = [v for v in node.values if isinstance(v, ast.FormattedValue)]
            sql_inside = SQL_WORDS.search(text) or any(
                allowed_interpolation(v.value, constants) for v in parts
            )
            if not sql_inside:
                continue
            for v in parts:
                if (
                    not allowed_interpolation(v.value, constants)
                    or v.format_spec
                    or v.conversion != -1
                ):
                    found.append(
                        Finding(
                            path, node.lineno, f"f-string SQL interpolates {ast.unparse(v.value)}"
                        )
                    )
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
    return found


def test_no_sql_is_built_from_values_in_program() -> None:
    found = [f for path in program_files() for f in sql_fstring_findings(path)]
    assert not found, "\n".join(map(str, found))


def test_the_sql_fstring_rule_catches_a_value_and_allows_a_class_constant(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "class Q:\n"
        '    _ROWS = "SELECT id FROM t"\n'
        "    def ok(self):\n"
        '        return f"{self._ROWS} WHERE id = ?"\n'
        "    def bad(self, name):\n"
        "        return f\"SELECT * FROM t WHERE name = '{name}'\"\n"
        "    def also_bad(self, table):\n"
        '        return f"{self._ROWS} ORDER BY {table}"\n'
        "    def formatted(self, x):\n"
        '        return "DELETE FROM t WHERE id = {}".format(x)\n',
        encoding="utf-8",
    )
    found = sql_fstring_findings(sample)
    assert [(f.line, f.what) for f in found] == [
        (6, "f-string SQL interpolates name"),
        (8, "f-string SQL interpolates table"),
        (10, "SQL built with str.format"),
    ]


# --------------------------------------------------------------------------- schema and SQL placement


def test_ddl_appears_only_in_migrations_and_the_bootstrap_table() -> None:
    bootstrap = []
    found = []
    for path in project_files():
        in_store = module_name(path).startswith("program.store")
        for node in string_constants(parse(path)):
            if not DDL.search(node.value):
                continue
            if in_store and BOOTSTRAP in node.value:
                bootstrap.append(Finding(path, node.lineno, "bootstrap"))
            else:
                found.append(
                    Finding(path, node.lineno, f"DDL outside migrations/: {node.value[:60]!r}")
                )
    assert not found, "\n".join(map(str, found))
    assert len(bootstrap) == 1, f"expected one {BOOTSTRAP!r} in program/store: {bootstrap}"


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

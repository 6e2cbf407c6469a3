"""What PostgreSQL could keep of an answer, and the arrival order of answers, and how the store
leaves none of it (README, "Anonymity on PostgreSQL").

An open pulse's answers sit in the `ballots` tables, in arrival order, as they sit in a ballot file
beside a DuckDB database. At close they move into the app's tables in one transaction, shuffled
under fresh ids, and the ballot tables are rewritten so no dead row (which PostgreSQL keeps until
a vacuum) holds the old order. A server set to log statements (answers are statement parameters)
or to date commits is refused at start.

Run with `--engine postgresql`. The test server's user is its superuser, so these tests may read
the table files on disk as an admin with shell access to the server could.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from program.errors import UnsafeDatabase
from program.store import Store
from program.store.postgres import unsafe_settings
from tests.factories import engines, pulses
from tests.factories.pulses import Group, submit_n

ON_POSTGRES = pytest.mark.postgresql

store = pulses.store
template = pulses.template
group = pulses.group

# Bytes every stored ballot payload holds (program/store/ballots.py `_payload`).
PAYLOAD_MARK = b'"answers": [['


def _file_of(s: Store, table: str) -> Path:
    (row,) = s._rows(
        "SELECT current_setting('data_directory') || '/' || pg_relation_filepath(?)", [table]
    )
    return Path(str(row[0]))


def _flush(s: Store) -> None:
    """Write every changed page to the table files, as the server does within minutes."""
    cur = s.cursor()
    try:
        cur.execute("CHECKPOINT")
    finally:
        cur.close()


def _on_disk(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


@ON_POSTGRES
def test_answers_of_an_open_pulse_are_in_the_ballot_tables_only(group: Group) -> None:
    code = group.open()
    submit_n(group, code, 6)
    _flush(group.store)
    assert _on_disk(_file_of(group.store, "ballots.answers")).count(PAYLOAD_MARK) == 6
    (row,) = group.store._rows("SELECT count(*) FROM responses")
    assert row[0] == 0


@ON_POSTGRES
@pytest.mark.parametrize("answered", [4, 5, 6])
def test_after_close_no_table_file_keeps_a_ballot(group: Group, answered: int) -> None:
    """Below, at and above k: the ballot tables are rewritten at close, and neither the new
    files nor the old ones (removed) hold any ballot."""
    code = group.open()
    submit_n(group, code, answered)
    _flush(group.store)
    before = _file_of(group.store, "ballots.answers")
    assert _on_disk(before).count(PAYLOAD_MARK) == answered
    group.close()
    _flush(group.store)
    after = _file_of(group.store, "ballots.answers")
    assert after != before  # rewritten (VACUUM FULL), not cleaned in place
    assert not before.exists()
    assert PAYLOAD_MARK not in _on_disk(after)
    (row,) = group.store._rows(
        "SELECT count(*) FROM responses WHERE session_id = ?", [group.session_id]
    )
    assert row[0] == answered


@ON_POSTGRES
def test_a_closed_pulses_answers_share_one_transaction(group: Group) -> None:
    """Each row's header names the transaction that wrote it: at close every response, answer
    and score is written by the same one, so the headers order nothing."""
    code = group.open()
    submit_n(group, code, 6)
    group.close()
    rows = group.store._rows(
        "SELECT count(DISTINCT r.xmin::TEXT), count(DISTINCT a.xmin::TEXT)"
        " FROM responses r JOIN answers a ON a.response_id = r.id WHERE r.session_id = ?",
        [group.session_id],
    )
    assert rows == [(1, 1)]


@ON_POSTGRES
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("log_statement", "mod"),
        ("log_statement", "all"),
        ("log_min_duration_statement", "0"),
        ("log_min_duration_sample", "0"),
        ("log_transaction_sample_rate", "0.5"),
        ("log_parameter_max_length_on_error", "-1"),
    ],
)
def test_a_server_that_would_log_answers_is_refused(store: Store, name: str, value: str) -> None:
    database = store.engine.url.rsplit("/", 1)[1]  # type: ignore[attr-defined]
    engines.admin(f"ALTER DATABASE {database} SET {name} = '{value}'")
    with pytest.raises(UnsafeDatabase, match=name):
        Store(store.engine.url).close()  # type: ignore[attr-defined]
    engines.admin(f"ALTER DATABASE {database} RESET {name}")
    Store(store.engine.url).close()  # type: ignore[attr-defined]


def test_the_safe_values_are_the_servers_defaults_and_commit_times_are_refused() -> None:
    defaults = {
        "track_commit_timestamp": "off",
        "log_statement": "none",
        "log_min_duration_statement": "-1",
        "log_min_duration_sample": "-1",
        "log_transaction_sample_rate": "0",
        "log_parameter_max_length_on_error": "0",
    }
    assert unsafe_settings(defaults) == []
    assert unsafe_settings({**defaults, "log_statement": "ddl"}) == []
    assert unsafe_settings({**defaults, "track_commit_timestamp": "on"}) == [
        "track_commit_timestamp = on"
    ]


@ON_POSTGRES
def test_the_test_server_itself_runs_with_safe_settings(store: Store) -> None:
    rows = store._rows("SELECT name, setting FROM pg_settings")
    assert unsafe_settings({str(n): str(v) for n, v in rows}) == []
    with psycopg.connect(store.engine.url) as con:  # type: ignore[attr-defined]
        assert con.execute("SHOW track_commit_timestamp").fetchone() == ("off",)

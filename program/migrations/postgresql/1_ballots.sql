-- Where an open pulse keeps its answers on PostgreSQL: the counterpart of a ballot file beside
-- a DuckDB database (program/store/ballots.py, program/store/postgres.py). Every app replica
-- sees these tables, so the cap and single-use cards hold across replicas.
--
-- A schema of their own keeps them out of backups (an open pulse's answers never leave in one)
-- and out of every query over the app's tables. Rows here hold arrival order while the pulse is
-- open, as a ballot file does; at close they move into the app's tables, shuffled, in the same
-- transaction that deletes them here, and the tables are then rewritten (VACUUM FULL) so no dead
-- row keeps that order.

CREATE SCHEMA IF NOT EXISTS ballots;

CREATE TABLE IF NOT EXISTS ballots.tallies (
    session_id      INTEGER PRIMARY KEY,
    accepted        INTEGER NOT NULL DEFAULT 0 CHECK (accepted >= 0),
    typed_in        INTEGER NOT NULL DEFAULT 0 CHECK (typed_in >= 0)
);

CREATE TABLE IF NOT EXISTS ballots.answers (
    session_id      INTEGER NOT NULL,
    payload         TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS ballots.used_cards (
    code_hash       TEXT PRIMARY KEY,
    session_id      INTEGER NOT NULL
);

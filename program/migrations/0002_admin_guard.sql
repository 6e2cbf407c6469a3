-- A single row that every change able to take away an active admin updates first.
--
-- DuckDB detects write-write conflicts only. Two admins deactivating each other at the same moment
-- would each see "another active admin remains", change different rows and both commit, leaving no
-- admin. Updating this one row in both transactions makes the later one conflict and retry, and the
-- retry sees the first change.

CREATE TABLE admin_guard (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    changes         BIGINT NOT NULL DEFAULT 0
);

INSERT INTO admin_guard (id, changes) VALUES (1, 0);

-- The migrations are written in DuckDB's SQL, and merged migrations are never edited. Two of
-- their words are not PostgreSQL's; these make them mean the same there. Run before the
-- migrations on every start (each statement may run again).

-- DuckDB's name for a naive local timestamp (PostgreSQL's LOCALTIMESTAMP).
CREATE OR REPLACE FUNCTION current_localtimestamp() RETURNS timestamp
    LANGUAGE sql STABLE AS 'SELECT LOCALTIMESTAMP';

-- DuckDB's DOUBLE is PostgreSQL's DOUBLE PRECISION. Values of a domain come back as its base
-- type, so the driver sees a plain float.
DO $$
BEGIN
    CREATE DOMAIN double AS double precision;
EXCEPTION WHEN duplicate_object THEN NULL;
END
$$;

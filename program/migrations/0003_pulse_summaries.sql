-- Each response's score on each instrument, and the frozen summary of every closed cell.
--
-- A session's answers never change after its pulse closes, so each cell (session × instrument) is
-- summarised once at close: n, Σscore, Σscore², and how many responses gave each score. Dashboards
-- and the release engine read these summaries, never raw answers; that is also what makes them
-- fast at scale (docs/design.md, "Speed targets").

CREATE TABLE scores (
    response_id     UUID NOT NULL,
    instrument_id   VARCHAR NOT NULL,
    score           DOUBLE NOT NULL,
    PRIMARY KEY (response_id, instrument_id)
);

CREATE TABLE cell_summaries (
    session_id      INTEGER NOT NULL,
    instrument_id   VARCHAR NOT NULL,
    n               INTEGER NOT NULL CHECK (n > 0),
    total           DOUBLE NOT NULL,
    total_sq        DOUBLE NOT NULL,
    PRIMARY KEY (session_id, instrument_id)
);

CREATE TABLE cell_counts (
    session_id      INTEGER NOT NULL,
    instrument_id   VARCHAR NOT NULL,
    score           DOUBLE NOT NULL,
    responses       INTEGER NOT NULL CHECK (responses > 0),
    PRIMARY KEY (session_id, instrument_id, score)
);

-- The whole domain: staff, curricula, programs, cohorts, sessions, attendance and the anonymous pulse.
--
-- No FOREIGN KEY constraints: DuckDB refuses to delete a parent row in the same transaction that
-- deleted its children ("key is still referenced"), which would make deleting a cohort's data, or
-- rewriting a session's responses at close, impossible to do atomically. The store keeps references
-- whole instead, and tests check it. CHECK constraints guard every value with a fixed range.

CREATE SEQUENCE staff_user_id START 1;
CREATE TABLE staff_users (
    id              INTEGER PRIMARY KEY DEFAULT nextval('staff_user_id'),
    username        VARCHAR NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
    display_name    VARCHAR NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    role            VARCHAR NOT NULL CHECK (role IN ('admin', 'lead', 'facilitator')),
    email           VARCHAR UNIQUE,
    password_hash   VARCHAR,              -- argon2id; NULL for single-sign-on-only accounts
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    failed_signins  INTEGER NOT NULL DEFAULT 0 CHECK (failed_signins >= 0),
    paused_until    TIMESTAMP,
    created_at      TIMESTAMP NOT NULL DEFAULT current_localtimestamp()
);

-- Server-side sign-in sessions; the browser holds only a signed cookie naming one.
CREATE TABLE staff_sessions (
    token_hash      VARCHAR PRIMARY KEY,
    user_id         INTEGER NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    last_seen_at    TIMESTAMP NOT NULL,
    revoked         BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE SEQUENCE instrument_row_id START 1;
CREATE TABLE instruments (
    id              INTEGER PRIMARY KEY DEFAULT nextval('instrument_row_id'),
    instrument_id   VARCHAR NOT NULL,
    version         VARCHAR NOT NULL,
    content_hash    VARCHAR NOT NULL UNIQUE,
    body            JSON NOT NULL
);

CREATE SEQUENCE curriculum_version_id START 1;
CREATE TABLE curriculum_versions (
    id              INTEGER PRIMARY KEY DEFAULT nextval('curriculum_version_id'),
    curriculum_id   VARCHAR NOT NULL,
    version         VARCHAR NOT NULL,
    title           VARCHAR NOT NULL,
    content_hash    VARCHAR NOT NULL UNIQUE,
    source_name     VARCHAR NOT NULL,
    source_text     VARCHAR NOT NULL,     -- the file as uploaded, comments and all
    body            JSON NOT NULL,        -- the validated curriculum with its instruments resolved
    loaded_at       TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    loaded_by       INTEGER
);

-- Which instrument versions a curriculum version was loaded with.
CREATE TABLE curriculum_instruments (
    curriculum_version_id INTEGER NOT NULL,
    instrument_row_id     INTEGER NOT NULL,
    PRIMARY KEY (curriculum_version_id, instrument_row_id)
);

CREATE SEQUENCE program_id START 1;
CREATE TABLE programs (
    id              INTEGER PRIMARY KEY DEFAULT nextval('program_id'),
    name            VARCHAR NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 120),
    description     VARCHAR NOT NULL DEFAULT '',
    min_cell_size   INTEGER NOT NULL DEFAULT 5 CHECK (min_cell_size BETWEEN 3 AND 10),
    created_at      TIMESTAMP NOT NULL DEFAULT current_localtimestamp()
);

CREATE TABLE program_leads (
    program_id      INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    PRIMARY KEY (program_id, user_id)
);

CREATE SEQUENCE cohort_id START 1;
CREATE TABLE cohorts (
    id                     INTEGER PRIMARY KEY DEFAULT nextval('cohort_id'),
    program_id             INTEGER NOT NULL,
    curriculum_version_id  INTEGER NOT NULL,  -- pinned: the cohort runs this exact version
    name                   VARCHAR NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    start_date             DATE NOT NULL,
    created_at             TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    UNIQUE (program_id, name)
);

CREATE TABLE cohort_facilitators (
    cohort_id       INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    PRIMARY KEY (cohort_id, user_id)
);

-- Display names or pseudonyms only: no contact details or other personal data, by design.
CREATE SEQUENCE roster_member_id START 1;
CREATE TABLE roster_members (
    id              INTEGER PRIMARY KEY DEFAULT nextval('roster_member_id'),
    cohort_id       INTEGER NOT NULL,
    display_name    VARCHAR NOT NULL CHECK (length(display_name) BETWEEN 1 AND 60),
    status          VARCHAR NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'withdrawn')),
    UNIQUE (cohort_id, display_name)
);

CREATE SEQUENCE session_id START 1;
CREATE TABLE sessions (
    id              INTEGER PRIMARY KEY DEFAULT nextval('session_id'),
    cohort_id       INTEGER NOT NULL,
    number          INTEGER NOT NULL CHECK (number BETWEEN 0 AND 52),
    scheduled_date  DATE NOT NULL,
    status          VARCHAR NOT NULL DEFAULT 'planned'
                    CHECK (status IN ('planned', 'held', 'cancelled')),
    notes           VARCHAR NOT NULL DEFAULT '',
    UNIQUE (cohort_id, number)
);

-- The fidelity checklist: which agenda items of the pinned curriculum were delivered.
CREATE TABLE fidelity (
    session_id      INTEGER NOT NULL,
    agenda_index    INTEGER NOT NULL CHECK (agenda_index >= 0),
    delivered       BOOLEAN NOT NULL,
    PRIMARY KEY (session_id, agenda_index)
);

CREATE TABLE attendance (
    session_id      INTEGER NOT NULL,
    member_id       INTEGER NOT NULL,
    status          VARCHAR NOT NULL CHECK (status IN ('present', 'absent', 'excused')),
    late            BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (session_id, member_id)
);

-- One pulse window per session. The room code is stored only while the window is open.
-- `accepted` counts responses so that concurrent submissions all update one row: DuckDB then lets
-- only one of two racing transactions commit, and the cap can never be overshot.
CREATE TABLE pulse_windows (
    session_id      INTEGER PRIMARY KEY,
    room_code       VARCHAR UNIQUE,
    opened_at       TIMESTAMP NOT NULL,
    closes_at       TIMESTAMP NOT NULL,
    closed_at       TIMESTAMP,
    accepted        INTEGER NOT NULL DEFAULT 0 CHECK (accepted >= 0),
    CHECK (closes_at > opened_at)
);

-- Single-use cards: only a hash of each code and whether it was used, never which response it gave.
CREATE TABLE card_codes (
    code_hash       VARCHAR PRIMARY KEY,
    session_id      INTEGER NOT NULL,
    used            BOOLEAN NOT NULL DEFAULT FALSE
);

-- A response is a random id and a session: no time, device, address or person, by design.
CREATE TABLE responses (
    id              UUID PRIMARY KEY,
    session_id      INTEGER NOT NULL
);

CREATE TABLE answers (
    response_id     UUID NOT NULL,
    instrument_id   VARCHAR NOT NULL,
    item_id         VARCHAR NOT NULL,
    value           INTEGER NOT NULL CHECK (value BETWEEN 0 AND 100),
    PRIMARY KEY (response_id, instrument_id, item_id)
);

CREATE SEQUENCE audit_event_id START 1;
CREATE TABLE audit_events (
    id              BIGINT PRIMARY KEY DEFAULT nextval('audit_event_id'),
    occurred_at     TIMESTAMP NOT NULL DEFAULT current_localtimestamp(),
    actor_id        INTEGER,              -- NULL for the command line and the system itself
    actor           VARCHAR NOT NULL,
    action          VARCHAR NOT NULL,
    object_type     VARCHAR NOT NULL,
    object_id       VARCHAR NOT NULL,
    detail          VARCHAR NOT NULL DEFAULT ''
);

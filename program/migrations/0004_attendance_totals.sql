-- Attendance totals kept as marks are saved, so dashboards read one row per session and one per
-- member instead of every mark.
--
-- The program dashboard needs, for thousands of cohorts, how many were present at each held session
-- and how many weekly sessions each member attended (for completion). Grouping every attendance
-- mark for that took a quarter of its time at 5,000 cohorts (docs/design.md, "Speed targets"). The store rewrites
-- a session's row and its cohort's member rows in the same transaction that saves the marks;
-- `Store.attendance_totals_drift()` recomputes both from the marks, for tests and checks.

CREATE TABLE session_attendance (
    session_id      INTEGER PRIMARY KEY,
    present         INTEGER NOT NULL CHECK (present >= 0)
);

-- Present marks at weekly sessions (number 1 and above), whatever the session's status: the count
-- a curriculum's completion rule is applied to.
CREATE TABLE member_attendance (
    member_id       INTEGER PRIMARY KEY,
    weekly_present  INTEGER NOT NULL CHECK (weekly_present >= 0)
);

INSERT INTO session_attendance
SELECT session_id, count(*) FROM attendance WHERE status = 'present' GROUP BY session_id;

INSERT INTO member_attendance
SELECT a.member_id, count(*) FROM attendance a JOIN sessions s ON s.id = a.session_id
WHERE a.status = 'present' AND s.number >= 1 GROUP BY a.member_id;

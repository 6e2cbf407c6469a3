-- Which facilitators belong to which program: a facilitator may create cohorts only in programs
-- they belong to, so nobody can add made-up cohorts to another program's pooled results.
--
-- Admins add and remove members on the Admin page (audited like program leads). Everyone who
-- already facilitates a cohort of a program belongs to it from the start.

CREATE TABLE program_facilitators (
    program_id      INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    PRIMARY KEY (program_id, user_id)
);

INSERT INTO program_facilitators (program_id, user_id)
SELECT DISTINCT c.program_id, f.user_id
FROM cohort_facilitators f JOIN cohorts c ON c.id = f.cohort_id;

-- Open pulses keep their answers in ballot files, not in this database (program/store/ballots.py).
--
-- Nothing a submission changes may be written here while a pulse is open: every write lands in
-- the write-ahead log in arrival order, beside time-stamped rows that date it. So which cards were
-- used and how many answered move into the ballot file, and the window keeps only what is fixed
-- while it is open:
--   cap           how many answers it may take, frozen when it opens (people marked present, or
--                 the active roster before attendance is taken), so editing attendance during the
--                 pulse can neither stuff it nor probe how many answered;
--   takes_room_code  false when the facilitator chose cards only: the room code then leads nowhere;
--   typed_in      how many answers the facilitator typed in from paper cards, written at close
--                 and shown in the cohort's record.
-- `accepted` now counts only answers stored here before this migration, for pulses open across it.

ALTER TABLE pulse_windows ADD COLUMN cap INTEGER;
ALTER TABLE pulse_windows ADD COLUMN takes_room_code BOOLEAN DEFAULT TRUE;
ALTER TABLE pulse_windows ADD COLUMN typed_in INTEGER;

UPDATE pulse_windows SET takes_room_code = TRUE;

UPDATE pulse_windows w SET cap = CASE
    WHEN EXISTS (SELECT 1 FROM attendance a WHERE a.session_id = w.session_id)
    THEN (SELECT count(*) FROM attendance a WHERE a.session_id = w.session_id AND a.status = 'present')
    ELSE (SELECT count(*) FROM roster_members r JOIN sessions s ON r.cohort_id = s.cohort_id
          WHERE s.id = w.session_id AND r.status = 'active')
END;

-- A card's code hash and its pulse stay here (written once, when cards are printed); whether it
-- was used lives in the ballot file. Cards used before this migration are removed, so they stay
-- spent.
DELETE FROM card_codes WHERE used;
ALTER TABLE card_codes DROP COLUMN used;

-- A released mean is rounded to its cell's step up or down at random, in proportion to how near
-- it lies to each (program/privacy.py). The draw is made once, when the cell is summarised at
-- close, and kept here, so every view shows the same figure and reloading cannot average it away.
-- Without it, whoever chose the other answers in a cell could place a rounding boundary right
-- beside an end of the scale and learn whether the last answer was at that end.
ALTER TABLE cell_summaries ADD COLUMN rounding_draw DOUBLE;
UPDATE cell_summaries SET rounding_draw = random();

"""Typed errors raised by the domain package, with messages a facilitator or author can act on."""

from __future__ import annotations

from dataclasses import dataclass


class ProgramError(Exception):
    """Base of every error the app shows to a person; `str(error)` is the message to show."""

    title = "Something went wrong"


class NotFound(ProgramError):
    title = "Not found"


class AccessDenied(ProgramError):
    title = "Not allowed"


class InvalidInput(ProgramError):
    title = "Please check your input"


class Conflict(ProgramError):
    """The data changed since the form was drawn, or the action would break a rule."""

    title = "That could not be done"


class DatabaseLocked(ProgramError):
    title = "The database is in use"


class DatabaseUnavailable(ProgramError):
    """A PostgreSQL database that does not answer at start: down, or a wrong URL or password."""

    title = "The database cannot be reached"


class UnsafeDatabase(ProgramError):
    """A PostgreSQL server whose settings would log answers or date them (store/postgres.py)."""

    title = "The database server would keep answers in its logs"


class PasswordCheckBusy(ProgramError):
    """Every password-hashing slot stayed taken for the whole wait (program/staff.py)."""

    title = "The server is busy"


class UnreadableData(InvalidInput):
    """A backup's files cannot be read, or their rows do not fit this app's tables."""


class PdfUnavailable(ProgramError):
    title = "The PDF cannot be made here"


class NotYetDue(InvalidInput):
    """A session planned for a later day: it can be moved to today."""


NOTES_CHANGED = "Someone else changed these notes since you opened them."


class NotesChanged(Conflict):
    """Someone else saved a session's notes since the writer last saw them; `theirs` is what
    they saved, to merge with what the writer typed."""

    def __init__(self, theirs: str) -> None:
        super().__init__(NOTES_CHANGED)
        self.theirs = theirs


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a curriculum or instrument file."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}"
        return f"{where}, {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class CurriculumError(InvalidInput):
    """A curriculum or instrument file is invalid; `problems` lists every issue found."""

    title = "The curriculum file has problems"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class PulseUnavailable(ProgramError):
    """A participant's code does not lead to an open pulse. Says nothing about other responses."""

    title = "This pulse is not open"


class PulseFull(ProgramError):
    title = "Thank you for coming"

"""Exceptions that reach the user as one clear line (exit code 1)."""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix: a missing file, an unknown dataset, bad input."""

    exit_code = 1


class SourceError(UserError):
    """A source that cannot be read at all (missing, a directory, binary, wrong format)."""


class InvalidRecord(UserError):
    """A record of a source that cannot become a task (raised only under ``--strict``)."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        super().__init__(f"{path}:{line}: {reason}")

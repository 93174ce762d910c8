"""Exceptions that reach the user as one clear line (exit code 1), and :func:`read_toml`, the reading of a
settings file (a prompt, a questionnaire) that fails with one.

:func:`read_toml` lives here, in the headless core, so that :mod:`tuiannot.llm` (which may import neither the
recipes nor the command line) and :mod:`tuiannot.recipes` share it; it leaves the checking of the keys to its
callers, whose errors name the file and the key the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .sanitize import one_line  # (sanitize imports nothing of tuiannot: no cycle)


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


def read_toml(path: str | Path, name: str, what: str = "file") -> dict[str, Any]:
    """The TOML file ``path`` parsed, or a :class:`UserError` of one line: ``{name}: {reason}`` (``name`` is the
    file as the user gave it, made safe to print by the caller; ``what`` names it in "no such ...").
    (:mod:`tomllib` is imported here, when a file is read: ~0.6% of an annotation command's start otherwise.)"""
    import tomllib

    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise UserError(f"{name}: no such {what}") from None
    except IsADirectoryError:
        raise UserError(f"{name}: is a folder, not a {what}") from None
    except OSError as e:
        raise UserError(f"{name}: cannot be read ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise UserError(f"{name}: not valid UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{name}: not valid TOML ({one_line(str(e), 120)})") from None

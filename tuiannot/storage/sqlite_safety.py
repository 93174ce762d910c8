"""Keeping the SQLite backend's promises when things go wrong: transactions, one-line errors, damage checks.

:class:`Transaction` is ``BEGIN IMMEDIATE`` ... ``COMMIT`` whose rollback never hides the error that caused it.
:func:`guarded` wraps every public method of the backend so that a damaged database is refused and every
``sqlite3`` error leaves as a one-line :class:`~tuiannot.storage.base.StorageError`; a method that writes runs
the damage check first (``PRAGMA quick_check``, once per database and process, before its first write: for
:data:`CHECK_SECONDS` at once, the rest on a background thread). The helpers here tell a full disk, a read-only
place and a lock apart for those messages.
"""

from __future__ import annotations

import functools
import inspect
import shutil
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable, TypeVar

from .base import STAGING, check_name as _check_name  # noqa: F401  (shared with the PostgreSQL backend)

BUSY_TIMEOUT_MS = 30_000
CHECK_SECONDS = 0.1
"""How long opening a database checks it in the foreground; the rest of the check runs on a thread."""
_checked: dict[str, str | None] = {}  # database path -> None (checked or being checked) or the damage found
_checked_lock = threading.Lock()


class Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on error). A failed ``COMMIT`` is rolled back too,
    and a rollback never hides the error that caused it (SQLite may have rolled back already: a full disk)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
                return
            except BaseException:
                self._rollback()
                raise
        self._rollback()

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass


_F = TypeVar("_F", bound=Callable[..., Any])


def guarded(method: _F, writes: bool = False) -> _F:
    """The method, refusing a damaged database and raising every ``sqlite3`` error as a StorageError; a method
    that ``writes`` checks the database for damage first (``_before_writing``: once per process and file)."""
    if inspect.isgeneratorfunction(method):
        assert not writes, "a generator that writes would write after its first item is asked for"

        @functools.wraps(method)
        def generator(self: Any, *args: Any, **kwargs: Any) -> Any:
            self._refuse_if_damaged()
            try:
                yield from method(self, *args, **kwargs)
            except sqlite3.Error as e:
                raise self._error(e) from None
        return generator  # type: ignore[return-value]

    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            if writes:
                self._before_writing()
            else:
                self._refuse_if_damaged()
            return method(self, *args, **kwargs)
        except sqlite3.Error as e:
            raise self._error(e) from None
    return call  # type: ignore[return-value]


def _damaged(location: str, detail: str) -> str:
    return (f"{location}: the database is damaged ({detail}); nothing more is written into it. Restore it from a "
            f"backup, or save what is readable with: sqlite3 {location} .recover | sqlite3 recovered.db (then "
            "use --db recovered.db)")


def _check_to_the_end(location: str, key: str) -> None:
    """The rest of the check at open, on its own connection (a reader: it holds up no one)."""
    try:
        conn = sqlite3.connect(location, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        try:
            rows = conn.execute("PRAGMA quick_check(3)").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        if "malformed" in str(e) or "not a database" in str(e):
            _checked[key] = _damaged(location, str(e))
        return
    if rows != [("ok",)]:
        _checked[key] = _damaged(location, "; ".join(str(r[0]) for r in rows))


def _free(folder: str) -> str:
    try:
        free = float(shutil.disk_usage(folder).free)
    except OSError:
        return "unknown space"
    for unit in ("bytes", "KB", "MB", "GB"):
        if free < 1024 or unit == "GB":
            return f"{free:.0f} {unit}"
        free /= 1024
    return f"{free:.0f} GB"


def _disk_full(folder: str) -> bool:
    """Nearly no room left where the database is (SQLite says "disk I/O error" when it cannot even make the
    shared-memory file it needs to read)."""
    try:
        return shutil.disk_usage(folder).free < 256 * 1024
    except OSError:
        return False


def _remove_if_empty(path: Path) -> None:
    """Remove a database file this process created and could not set up, if it is still empty (and the -wal and
    -shm files of that attempt)."""
    try:
        if path.stat().st_size != 0:
            return
        path.unlink()
        for side in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            side.unlink(missing_ok=True)
    except OSError:
        pass


def _is_busy(e: sqlite3.Error) -> bool:
    return "locked" in str(e) or "busy" in str(e)

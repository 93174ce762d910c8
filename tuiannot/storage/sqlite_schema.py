"""The SQLite schema: its migrations, and opening the file the way the backend needs it.

The schema has a version (``PRAGMA user_version``); each migration brings a database one version up, in one
transaction, when a process opens it. ``answer_counts`` and ``question_counts`` are running totals that triggers
keep, so that ``stats`` reads a few rows whatever the number of answers. Only :mod:`tuiannot.storage` imports
this module.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..errors import UserError
from .base import IDLE_CAP_SECONDS, StorageError
from .sharing import create_mode, give_folder_group
from .sqlite_safety import _disk_full, _free

if TYPE_CHECKING:
    import sqlite_utils

SCHEMA_VERSION = 4


def _migrate_1(db: "sqlite_utils.Database") -> None:
    db.table("datasets").create({"id": int, "name": str, "created": float, "meta": str}, pk="id")
    db.table("datasets").create_index(["name"], unique=True)
    db.table("sessions").create(
        {"id": int, "dataset_id": int, "session": str, "started": float, "meta": str}, pk="id",
        foreign_keys=[("dataset_id", "datasets", "id")])
    db.table("sessions").create_index(["dataset_id", "session"])
    db.table("answers").create(
        {"id": int, "dataset_id": int, "task_hash": int, "input_hash": int, "session": str, "answer": str,
         "labels": str, "view_id": str, "timestamp": float, "seconds": float, "content": str},
        pk="id", not_null={"dataset_id", "task_hash", "input_hash", "session", "answer", "content"},
        foreign_keys=[("dataset_id", "datasets", "id")])
    # Each index serves one query: exports in order, resume/exclude, per-input merges, the medians.
    db.table("answers").create_index(["dataset_id"])
    db.table("answers").create_index(["dataset_id", "task_hash"])
    db.table("answers").create_index(["dataset_id", "input_hash"])
    db.table("answers").create_index(["dataset_id", "session", "seconds"])
    db.table("answers").create_index(["dataset_id", "seconds"])
    db.executescript(COUNTS_SCHEMA)


def _inserted_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row the cursor's INSERT just added (sqlite3 types it Optional: None before any INSERT)."""
    assert cursor.lastrowid is not None
    return int(cursor.lastrowid)


# Running totals kept by triggers, so that `stats` reads a few hundred rows instead of scanning
# millions of answers. `first`/`last` only ever widen (a replaced answer's time still counts).
COUNTS_SCHEMA = """
CREATE TABLE answer_counts (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id), session TEXT NOT NULL, answer TEXT NOT NULL,
    labels TEXT NOT NULL, n INTEGER NOT NULL, first REAL, last REAL, seconds_total REAL NOT NULL,
    timed INTEGER NOT NULL, PRIMARY KEY (dataset_id, session, answer, labels)) WITHOUT ROWID;
CREATE TABLE question_counts (
    dataset_id INTEGER PRIMARY KEY REFERENCES datasets(id), tasks INTEGER NOT NULL DEFAULT 0,
    inputs INTEGER NOT NULL DEFAULT 0);

CREATE TRIGGER answers_count_insert AFTER INSERT ON answers BEGIN
    {add_new}
    INSERT OR IGNORE INTO question_counts (dataset_id) VALUES (NEW.dataset_id);
    UPDATE question_counts SET
        tasks = tasks + NOT EXISTS (SELECT 1 FROM answers WHERE dataset_id = NEW.dataset_id
                                    AND task_hash = NEW.task_hash AND id != NEW.id),
        inputs = inputs + NOT EXISTS (SELECT 1 FROM answers WHERE dataset_id = NEW.dataset_id
                                      AND input_hash = NEW.input_hash AND id != NEW.id)
    WHERE dataset_id = NEW.dataset_id;
END;

CREATE TRIGGER answers_count_delete AFTER DELETE ON answers
WHEN EXISTS (SELECT 1 FROM datasets WHERE id = OLD.dataset_id) BEGIN
    {remove_old}
    UPDATE question_counts SET
        tasks = tasks - NOT EXISTS (SELECT 1 FROM answers WHERE dataset_id = OLD.dataset_id
                                    AND task_hash = OLD.task_hash),
        inputs = inputs - NOT EXISTS (SELECT 1 FROM answers WHERE dataset_id = OLD.dataset_id
                                      AND input_hash = OLD.input_hash)
    WHERE dataset_id = OLD.dataset_id;
END;

CREATE TRIGGER answers_count_update AFTER UPDATE ON answers BEGIN
    {remove_old}
    {add_new}
    UPDATE question_counts SET
        tasks = tasks
            - (OLD.task_hash != NEW.task_hash AND NOT EXISTS (SELECT 1 FROM answers
               WHERE dataset_id = OLD.dataset_id AND task_hash = OLD.task_hash))
            + (OLD.task_hash != NEW.task_hash AND NOT EXISTS (SELECT 1 FROM answers
               WHERE dataset_id = NEW.dataset_id AND task_hash = NEW.task_hash AND id != NEW.id)),
        inputs = inputs
            - (OLD.input_hash != NEW.input_hash AND NOT EXISTS (SELECT 1 FROM answers
               WHERE dataset_id = OLD.dataset_id AND input_hash = OLD.input_hash))
            + (OLD.input_hash != NEW.input_hash AND NOT EXISTS (SELECT 1 FROM answers
               WHERE dataset_id = NEW.dataset_id AND input_hash = NEW.input_hash AND id != NEW.id))
    WHERE dataset_id = NEW.dataset_id;
END;
""".replace("{add_new}", f"""
    INSERT INTO answer_counts (dataset_id, session, answer, labels, n, first, last, seconds_total, timed)
    VALUES (NEW.dataset_id, NEW.session, NEW.answer, coalesce(NEW.labels, '[]'), 1, NEW.timestamp,
            NEW.timestamp, coalesce(min(NEW.seconds, {IDLE_CAP_SECONDS}), 0), NEW.seconds IS NOT NULL)
    ON CONFLICT (dataset_id, session, answer, labels) DO UPDATE SET
        n = n + 1, first = coalesce(min(first, excluded.first), first, excluded.first),
        last = coalesce(max(last, excluded.last), last, excluded.last),
        seconds_total = seconds_total + excluded.seconds_total, timed = timed + excluded.timed;""").replace(
    "{remove_old}", f"""
    UPDATE answer_counts SET n = n - 1,
        seconds_total = seconds_total - coalesce(min(OLD.seconds, {IDLE_CAP_SECONDS}), 0),
        timed = timed - (OLD.seconds IS NOT NULL)
    WHERE dataset_id = OLD.dataset_id AND session = OLD.session AND answer = OLD.answer
        AND labels = coalesce(OLD.labels, '[]');
    DELETE FROM answer_counts WHERE dataset_id = OLD.dataset_id AND session = OLD.session
        AND answer = OLD.answer AND labels = coalesce(OLD.labels, '[]') AND n <= 0;""")


def _migrate_2(db: "sqlite_utils.Database") -> None:
    """Claims for task routing: who holds which task until when, with the task itself, so that
    another session can take over a lapsed claim without reading the source again."""
    db.executescript("""
    CREATE TABLE claims (
        id INTEGER PRIMARY KEY, dataset_id INTEGER NOT NULL REFERENCES datasets(id),
        task_key INTEGER NOT NULL, session TEXT NOT NULL, target INTEGER NOT NULL,
        expires REAL NOT NULL, content TEXT NOT NULL);
    CREATE UNIQUE INDEX claims_task_session ON claims (dataset_id, task_key, session);
    CREATE INDEX claims_expiry ON claims (dataset_id, expires);
    """)


def _migrate_3(db: "sqlite_utils.Database") -> None:
    """Resume checkpoints: how far into a source every task is done, so that a restart seeks there instead of
    reading and hashing the answered part again (see :mod:`tuiannot.resume`). A cache: losing one costs a scan."""
    db.executescript("""
    CREATE TABLE checkpoints (
        dataset_id INTEGER NOT NULL REFERENCES datasets(id), key TEXT NOT NULL, value TEXT NOT NULL,
        updated REAL NOT NULL, PRIMARY KEY (dataset_id, key)) WITHOUT ROWID;
    """)


def _migrate_4(db: "sqlite_utils.Database") -> None:
    """The replies of LLM servers, per dataset (see :mod:`.sqlite_caches`)."""
    db.executescript("""
    CREATE TABLE llm_cache (
        dataset_id INTEGER NOT NULL REFERENCES datasets(id), key TEXT NOT NULL, value TEXT NOT NULL,
        created REAL NOT NULL, PRIMARY KEY (dataset_id, key)) WITHOUT ROWID;
    """)


MIGRATIONS: dict[int, Callable[["sqlite_utils.Database"], None]] = {1: _migrate_1, 2: _migrate_2, 3: _migrate_3,
                                                                    4: _migrate_4}


def _sqlite_utils() -> Any:
    """sqlite-utils, imported only to create or migrate a schema, and without the optional pandas and
    numpy it would pull in (hundreds of milliseconds on the first start; we never hand it DataFrames)."""
    import sys

    if "sqlite_utils" in sys.modules:
        return sys.modules["sqlite_utils"]
    blocked = [name for name in ("pandas", "numpy") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        import sqlite_utils
    finally:
        for name in blocked:
            del sys.modules[name]
    return sqlite_utils


def _create_private_file(path: Path) -> bool:
    """Create the database file (and its folder) readable by its owner only, or in a team folder (group-writable)
    by the folder's group too (see :mod:`.sharing`); whether this call created it."""
    if path.exists():
        if path.is_dir():
            raise UserError(f"{path}: is a directory, not a database file")
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        mode = create_mode(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.fchmod(fd, mode)  # whatever the umask: SQLite gives -wal and -shm the database file's mode
            give_folder_group(fd, path.parent)
        finally:
            os.close(fd)
    except FileExistsError:
        return False
    except OSError as e:
        folder = path.parent if str(path.parent) else Path(".")
        if e.errno == errno.ENOSPC or _disk_full(str(folder)):
            raise StorageError(f"{path}: cannot create the database: the disk is full ({_free(str(folder))} free "
                               f"in {folder}); free some space or choose another place") from None
        raise StorageError(f"{path}: cannot create the database ({e.strerror}); choose a folder this user may "
                           "write, or create the folder first") from None
    return True

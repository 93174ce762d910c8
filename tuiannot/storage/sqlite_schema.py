"""The SQLite schema: its migrations, and opening the file the way the backend needs it.

The schema has a version (``PRAGMA user_version``); each migration brings a database one version up, in one
transaction, when a process opens it. ``answer_counts`` and ``question_counts`` are running totals that triggers
keep, so that ``stats`` reads a few rows whatever the number of answers. Only :mod:`tuiannot.storage` imports
this module.

The migrations are plain SQL run statement by statement on the connection (inside the caller's ``BEGIN
IMMEDIATE``: ``executescript`` would commit first). The first tables were made with sqlite-utils, whose import
and plugin loading made every start on a new database ~50 ms slower (issue 15); the statements here are the
very text it wrote (SQLite keeps it in ``sqlite_master``), so a database made before and one made now are the
same to the byte, and a test compares the two. A migration takes anything with ``execute(sql)``: a
``sqlite3.Connection`` or a ``sqlite_utils.Database``.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path
from typing import Any, Callable, Protocol

from ..errors import UserError
from .base import IDLE_CAP_SECONDS, StorageError
from .sharing import create_mode, give_folder_group
from .sqlite_safety import _disk_full, _free

SCHEMA_VERSION = 4


class Executes(Protocol):
    """What a migration runs its statements on: a ``sqlite3.Connection`` (or a ``sqlite_utils.Database``)."""

    def execute(self, sql: str, /) -> Any: ...


def run_script(db: Executes, script: str) -> None:
    """Run each statement of ``script`` in turn: inside the caller's transaction, unlike ``executescript``."""
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):  # a trigger's body has semicolons of its own
            if statement.strip(" \n;"):
                db.execute(statement.strip())
            statement = ""
    assert not statement.strip(" \n;"), f"an incomplete statement: {statement!r}"


# The tuiannot_meta table and migration 1's tables and indexes, in the words sqlite-utils wrote them.
META_SCHEMA = '''CREATE TABLE IF NOT EXISTS "tuiannot_meta" (
   "key" TEXT PRIMARY KEY,
   "value" TEXT
);'''
FIRST_SCHEMA = '''CREATE TABLE "datasets" (
   "id" INTEGER PRIMARY KEY,
   "name" TEXT,
   "created" REAL,
   "meta" TEXT
);
CREATE UNIQUE INDEX "idx_datasets_name"
    ON "datasets" ("name");
CREATE TABLE "sessions" (
   "id" INTEGER PRIMARY KEY,
   "dataset_id" INTEGER REFERENCES "datasets"("id"),
   "session" TEXT,
   "started" REAL,
   "meta" TEXT
);
CREATE INDEX "idx_sessions_dataset_id_session"
    ON "sessions" ("dataset_id", "session");
CREATE TABLE "answers" (
   "id" INTEGER PRIMARY KEY,
   "dataset_id" INTEGER NOT NULL REFERENCES "datasets"("id"),
   "task_hash" INTEGER NOT NULL,
   "input_hash" INTEGER NOT NULL,
   "session" TEXT NOT NULL,
   "answer" TEXT NOT NULL,
   "labels" TEXT,
   "view_id" TEXT,
   "timestamp" REAL,
   "seconds" REAL,
   "content" TEXT NOT NULL
);
CREATE INDEX "idx_answers_dataset_id"
    ON "answers" ("dataset_id");
CREATE INDEX "idx_answers_dataset_id_task_hash"
    ON "answers" ("dataset_id", "task_hash");
CREATE INDEX "idx_answers_dataset_id_input_hash"
    ON "answers" ("dataset_id", "input_hash");
CREATE INDEX "idx_answers_dataset_id_session_seconds"
    ON "answers" ("dataset_id", "session", "seconds");
CREATE INDEX "idx_answers_dataset_id_seconds"
    ON "answers" ("dataset_id", "seconds");'''


def _migrate_1(db: Executes) -> None:
    # Each index on answers serves one query: exports in order, resume/exclude, per-input merges, the medians.
    run_script(db, FIRST_SCHEMA)
    run_script(db, COUNTS_SCHEMA)


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


def _migrate_2(db: Executes) -> None:
    """Claims for task routing: who holds which task until when, with the task itself, so that
    another session can take over a lapsed claim without reading the source again."""
    run_script(db, """
    CREATE TABLE claims (
        id INTEGER PRIMARY KEY, dataset_id INTEGER NOT NULL REFERENCES datasets(id),
        task_key INTEGER NOT NULL, session TEXT NOT NULL, target INTEGER NOT NULL,
        expires REAL NOT NULL, content TEXT NOT NULL);
    CREATE UNIQUE INDEX claims_task_session ON claims (dataset_id, task_key, session);
    CREATE INDEX claims_expiry ON claims (dataset_id, expires);
    """)


def _migrate_3(db: Executes) -> None:
    """Resume checkpoints: how far into a source every task is done, so that a restart seeks there instead of
    reading and hashing the answered part again (see :mod:`tuiannot.resume`). A cache: losing one costs a scan."""
    run_script(db, """
    CREATE TABLE checkpoints (
        dataset_id INTEGER NOT NULL REFERENCES datasets(id), key TEXT NOT NULL, value TEXT NOT NULL,
        updated REAL NOT NULL, PRIMARY KEY (dataset_id, key)) WITHOUT ROWID;
    """)


def _migrate_4(db: Executes) -> None:
    """The replies of LLM servers, per dataset (see :mod:`.sqlite_caches`)."""
    run_script(db, """
    CREATE TABLE llm_cache (
        dataset_id INTEGER NOT NULL REFERENCES datasets(id), key TEXT NOT NULL, value TEXT NOT NULL,
        created REAL NOT NULL, PRIMARY KEY (dataset_id, key)) WITHOUT ROWID;
    """)


MIGRATIONS: dict[int, Callable[[Executes], None]] = {1: _migrate_1, 2: _migrate_2, 3: _migrate_3, 4: _migrate_4}


def migrate(conn: sqlite3.Connection, version: int) -> None:
    """Bring the schema from ``version`` to :data:`SCHEMA_VERSION` (inside the caller's transaction)."""
    run_script(conn, META_SCHEMA)
    for step in range(version + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[step](conn)
    conn.execute("INSERT INTO tuiannot_meta (key, value) VALUES ('schema_version', ?) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))


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

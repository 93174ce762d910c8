"""The SQLite schema: its migrations, and opening the file the way the backend needs it.

The schema has a version (``PRAGMA user_version``); each migration brings a database one version up, in one
transaction, when a process opens it. ``answer_counts`` and ``question_counts`` are running totals that triggers
keep, so that ``stats`` reads a few rows whatever the number of answers; so is ``flag_counts`` (schema 5: flagged
and commented answers). ``answer_history`` (schema 5) keeps every version of an answer an ``UPDATE`` replaced, by a
trigger, so that no code path overwrites one without a trace (read by :mod:`.sqlite_history`). Only
:mod:`tuiannot.storage` imports this module.

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

SCHEMA_VERSION = 5


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


# What an answer's JSON says of its flag and comment (issue 19): ``"_flagged": true``, a ``"_comment"`` that is
# not empty. The key looked for as text first (``"_flagged"`` with its quotes: in a string value the quotes would
# be escaped), so that an answer without either costs a substring search, not a JSON parse, on every write.
_HAS_FLAG = "(instr({row}.content, '\"_flagged\"') OR instr({row}.content, '\"_comment\"'))"
_FLAGGED = "coalesce(json_type({row}.content, '$._flagged') = 'true', 0)"
_COMMENTED = ("coalesce(json_type({row}.content, '$._comment') = 'text' AND json_extract({row}.content, "
              "'$._comment') != '', 0)")


def _flag_delta(row: str, sign: str) -> str:
    """The statements that add (``sign`` +) or take (-) ``row``'s flag and comment to its dataset's totals."""
    flagged, commented = _FLAGGED.format(row=row), _COMMENTED.format(row=row)
    return f"""
    INSERT INTO flag_counts (dataset_id, session, flagged, commented)
    SELECT {row}.dataset_id, {row}.session, {sign}{flagged}, {sign}{commented} WHERE {flagged} OR {commented}
    ON CONFLICT (dataset_id, session) DO UPDATE SET flagged = flagged + excluded.flagged,
        commented = commented + excluded.commented;
    DELETE FROM flag_counts WHERE dataset_id = {row}.dataset_id AND session = {row}.session AND flagged = 0
        AND commented = 0;"""


HISTORY_SCHEMA = f"""
CREATE TABLE answer_history (
    id INTEGER PRIMARY KEY, answer_id INTEGER NOT NULL, dataset_id INTEGER NOT NULL, task_hash INTEGER NOT NULL,
    input_hash INTEGER NOT NULL, session TEXT NOT NULL, answer TEXT NOT NULL, content TEXT NOT NULL,
    replaced REAL NOT NULL, replaced_by TEXT NOT NULL);
CREATE INDEX answer_history_input ON answer_history (dataset_id, input_hash, replaced);

CREATE TRIGGER answers_history BEFORE UPDATE ON answers
WHEN OLD.content IS NOT NEW.content OR OLD.answer IS NOT NEW.answer OR OLD.session IS NOT NEW.session
    OR OLD.labels IS NOT NEW.labels OR OLD.task_hash IS NOT NEW.task_hash OR OLD.input_hash IS NOT NEW.input_hash
BEGIN
    INSERT INTO answer_history (answer_id, dataset_id, task_hash, input_hash, session, answer, content, replaced,
                                replaced_by)
    VALUES (OLD.id, OLD.dataset_id, OLD.task_hash, OLD.input_hash, OLD.session, OLD.answer, OLD.content,
            (julianday('now') - 2440587.5) * 86400.0, NEW.session);
END;

CREATE TABLE flag_counts (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id), session TEXT NOT NULL, flagged INTEGER NOT NULL,
    commented INTEGER NOT NULL, PRIMARY KEY (dataset_id, session)) WITHOUT ROWID;

CREATE TRIGGER answers_flags_insert AFTER INSERT ON answers WHEN {_HAS_FLAG.format(row="NEW")} BEGIN
    {_flag_delta("NEW", "")}
END;

CREATE TRIGGER answers_flags_delete AFTER DELETE ON answers
WHEN {_HAS_FLAG.format(row="OLD")} AND EXISTS (SELECT 1 FROM datasets WHERE id = OLD.dataset_id) BEGIN
    {_flag_delta("OLD", "-")}
END;

CREATE TRIGGER answers_flags_update AFTER UPDATE ON answers
WHEN {_HAS_FLAG.format(row="OLD")} OR {_HAS_FLAG.format(row="NEW")} BEGIN
    {_flag_delta("OLD", "-")}
    {_flag_delta("NEW", "")}
END;

CREATE TRIGGER datasets_history_delete AFTER DELETE ON datasets BEGIN
    DELETE FROM answer_history WHERE dataset_id = OLD.id;
    DELETE FROM flag_counts WHERE dataset_id = OLD.id;
END;
"""


def _migrate_5(db: Executes) -> None:
    """Answer history and flag totals (issue 19). ``answer_history`` keeps every version of an answer that an
    ``UPDATE`` replaced (undo then answer again, an edit), filled by a trigger so that no code path replaces an
    answer without a trace: the old row, when it was replaced and by which session. A move of rows between
    datasets (an import's staging rows made the dataset's) changes none of what it compares, and is not history.
    ``flag_counts`` are running totals of flagged and commented answers per dataset and session (``stats`` reads
    them, never the answers). Both go with their dataset (a trigger on ``datasets``: ``drop`` deletes its row
    first). The totals of the answers already stored are counted here, once."""
    run_script(db, HISTORY_SCHEMA)
    db.execute(f"""
    INSERT INTO flag_counts (dataset_id, session, flagged, commented)
    SELECT a.dataset_id, a.session, sum({_FLAGGED.format(row="a")}), sum({_COMMENTED.format(row="a")})
    FROM answers a WHERE {_HAS_FLAG.format(row="a")} GROUP BY a.dataset_id, a.session
    HAVING sum({_FLAGGED.format(row="a")}) > 0 OR sum({_COMMENTED.format(row="a")}) > 0""")


MIGRATIONS: dict[int, Callable[[Executes], None]] = {1: _migrate_1, 2: _migrate_2, 3: _migrate_3, 4: _migrate_4,
                                                      5: _migrate_5}


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

"""The storage contract, always through ``tuiannot.connect(location)``: the tests that take ``database`` run on
SQLite and on PostgreSQL (see conftest.py); the ones about a SQLite file (its mode, WAL, its schema's text) or
about reaching a PostgreSQL server are each backend's own."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from tuiannot.storage.sqlite import SCHEMA_VERSION

import tuiannot
from tuiannot.errors import UserError
from tuiannot.metrics import dataset_report
from tuiannot.storage import UnknownDataset
from tuiannot.storage.base import IDLE_CAP_SECONDS
from tuiannot.tasks import input_hash, set_hashes, task_hash

from .helpers import is_postgres, raw_sql

NASTY_NAMES = [
    "x'; DROP TABLE answers; --",
    'Robert"); DROP TABLE datasets;--',
    "名前 ✓ données",
    "with space and %_ wildcards",
    "\u202eevil\x1b[31m",
]


def answer(text: str, ans: str = "accept", **extra: Any) -> dict[str, Any]:
    return {"text": text, "answer": ans, **extra}


def sql(path: Path, query: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


# -- the file ----------------------------------------------------------------------
def test_new_database_file_is_private_and_its_folder_created(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "answers.db"
    with tuiannot.connect(path) as db:
        db.add_answer("ds", answer("a"))
        assert db.location == str(path)
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for sidecar in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        if sidecar.exists():
            assert stat.S_IMODE(sidecar.stat().st_mode) & 0o077 == 0, sidecar


def test_private_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "open" / "a.db"
        tuiannot.connect(path).close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_existing_file_permissions_are_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    tuiannot.connect(path).close()
    path.chmod(0o640)  # a team's group-readable database
    tuiannot.connect(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_default_location_is_in_home_or_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with tuiannot.connect() as db:
        assert db.location == str(tmp_path / "home" / ".tuiannot" / "tuiannot.db")
    assert (tmp_path / "home" / ".tuiannot" / "tuiannot.db").is_file()
    monkeypatch.setenv("TUIANNOT_DB", str(tmp_path / "env.db"))
    with tuiannot.connect() as db:
        assert db.location == str(tmp_path / "env.db")


def test_wal_mode_and_full_sync(db_path: Path) -> None:
    with tuiannot.connect(db_path) as db:
        assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    assert sql(db_path, "PRAGMA journal_mode") == [("wal",)]  # persistent, seen by any connection


def test_schema_version_recorded_and_reopening_keeps_data(database: str) -> None:
    with tuiannot.connect(database) as db:
        db.add_answer("ds", answer("kept"))
    assert raw_sql(database, "SELECT value FROM tuiannot_meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)]
    with tuiannot.connect(database) as db:
        assert [a["text"] for a in db.answers("ds")] == ["kept"]
        again = db.reopen()
        try:
            assert again is not db and again.count_answers("ds") == 1
        finally:
            again.close()
    assert raw_sql(database, "SELECT count(*) FROM tuiannot_meta") == [(1,)]


def test_newer_schema_version_is_refused(database: str) -> None:
    tuiannot.connect(database).close()
    newer = str(SCHEMA_VERSION + 1)
    raw_sql(database, "UPDATE tuiannot_meta SET value = ? WHERE key = 'schema_version'", newer)
    with pytest.raises(UserError, match="newer") as info:
        tuiannot.connect(database)
    assert tuiannot.storage.shown_location(database) in str(info.value)
    # and nothing was changed
    assert raw_sql(database, "SELECT value FROM tuiannot_meta WHERE key = 'schema_version'") == [(newer,)]


def test_an_older_schema_is_migrated_keeping_its_answers(db_path: Path) -> None:
    """A database made by schema 1 (before claims existed) is brought up to date on open."""
    import sqlite_utils

    from tuiannot.storage.sqlite import MIGRATIONS

    old = sqlite_utils.Database(sqlite3.connect(db_path))
    old["tuiannot_meta"].create({"key": str, "value": str}, pk="key")
    MIGRATIONS[1](old)
    old["tuiannot_meta"].insert({"key": "schema_version", "value": "1"})
    old.conn.commit()
    old.conn.close()
    with tuiannot.connect(db_path) as db:
        db.add_answer("ds", answer("before"))  # written through the new code, counted by the old triggers
        assert db.claim("ds", "alice", 1, 1, 60.0, "{}")
        assert [a["text"] for a in db.answers("ds")] == ["before"]
    assert sql(db_path, "SELECT value FROM tuiannot_meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)]


def test_a_new_schema_is_the_one_sqlite_utils_made(db_path: Path, tmp_path: Path) -> None:
    """The schema is created in plain SQL now; a database made by sqlite-utils (as before) is the same to the
    byte in ``sqlite_master``, so old and new databases cannot drift apart."""
    import sqlite_utils

    from tuiannot.storage.sqlite import MIGRATIONS
    from tuiannot.storage.sqlite_schema import COUNTS_SCHEMA

    tuiannot.connect(db_path).close()
    made = sqlite_utils.Database(sqlite3.connect(tmp_path / "made-by-sqlite-utils.db"))
    made["tuiannot_meta"].create({"key": str, "value": str}, pk="key")
    made["datasets"].create({"id": int, "name": str, "created": float, "meta": str}, pk="id")
    made["datasets"].create_index(["name"], unique=True)
    made["sessions"].create({"id": int, "dataset_id": int, "session": str, "started": float, "meta": str}, pk="id",
                            foreign_keys=[("dataset_id", "datasets", "id")])
    made["sessions"].create_index(["dataset_id", "session"])
    made["answers"].create(
        {"id": int, "dataset_id": int, "task_hash": int, "input_hash": int, "session": str, "answer": str,
         "labels": str, "view_id": str, "timestamp": float, "seconds": float, "content": str},
        pk="id", not_null={"dataset_id", "task_hash", "input_hash", "session", "answer", "content"},
        foreign_keys=[("dataset_id", "datasets", "id")])
    for columns in (["dataset_id"], ["dataset_id", "task_hash"], ["dataset_id", "input_hash"],
                    ["dataset_id", "session", "seconds"], ["dataset_id", "seconds"]):
        made["answers"].create_index(columns)
    made.executescript(COUNTS_SCHEMA)
    for step in range(2, SCHEMA_VERSION + 1):
        MIGRATIONS[step](made)
    made["tuiannot_meta"].upsert({"key": "schema_version", "value": str(SCHEMA_VERSION)}, pk="key")
    made.conn.commit()
    made.conn.close()
    query = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"
    assert sql(db_path, query) == sql(tmp_path / "made-by-sqlite-utils.db", query)
    assert len(sql(db_path, query)) == 30 and sql(db_path, "SELECT * FROM tuiannot_meta") == [
        ("schema_version", str(SCHEMA_VERSION))]


def test_opening_a_database_imports_no_sqlite_utils(tmp_path: Path) -> None:
    """Creating (and migrating) a database is plain SQL: sqlite-utils cost every start on a new database ~50 ms."""
    import subprocess
    import sys

    code = ("import sys, tuiannot\n"
            "with tuiannot.connect(sys.argv[1]) as db:\n"
            "    db.add_answer('ds', {'text': 'a', 'answer': 'accept'})\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlite_utils', 'pydantic', 'click')))\n")
    for _ in range(2):  # a new database, then one that exists
        result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "new.db")], capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "[]"
    assert sql(tmp_path / "new.db", "SELECT count(*) FROM answers") == [(2,)]


@pytest.mark.parametrize("content", [
    b"this is a text file, not a database\n" * 100,
    b"SQLite format 3\x00" + b"\xff" * 4000,  # a corrupt header
    bytes(range(256)) * 64,
])
def test_file_that_is_not_a_database(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    with pytest.raises(UserError) as info:
        tuiannot.connect(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)
    assert path.read_bytes() == content  # the user's file is not touched


def test_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is a directory"):
        tuiannot.connect(tmp_path)


# -- PostgreSQL: its schema, and one clear line when the server cannot be used ---------------------------------
def test_the_postgres_schema_has_sqlites_version_and_migrations() -> None:
    from tuiannot.storage import postgres_schema, sqlite_schema

    assert postgres_schema.SCHEMA_VERSION == sqlite_schema.SCHEMA_VERSION
    assert set(postgres_schema.MIGRATIONS) == set(sqlite_schema.MIGRATIONS)


def test_an_older_postgres_schema_is_migrated_keeping_its_answers(postgres_url: str) -> None:
    """A schema made by migration 1 alone (before claims existed) is brought up to date on open."""
    import psycopg

    from tuiannot.storage.postgres_connect import parse_url
    from tuiannot.storage.postgres_schema import META_SCHEMA, MIGRATIONS

    url, schema, extra = parse_url(postgres_url)
    with psycopg.connect(url.reveal(), **extra) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(META_SCHEMA)
        MIGRATIONS[1](conn)
        conn.execute("INSERT INTO tuiannot_meta VALUES ('schema_version', '1')")
    with tuiannot.connect(postgres_url) as db:
        db.add_answer("ds", answer("before"))  # counted by the triggers of migration 1
        assert db.claim("ds", "alice", 1, 1, 60.0, "{}")
        assert [a["text"] for a in db.answers("ds")] == ["before"] and db.dataset_counts("ds").tasks == 1
    assert raw_sql(postgres_url, "SELECT value FROM tuiannot_meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)]
    tables = {r[0] for r in raw_sql(postgres_url, "SELECT table_name FROM information_schema.tables WHERE "
                                                  "table_schema = current_schema()")}
    assert tables == {"tuiannot_meta", "datasets", "sessions", "answers", "answer_counts", "question_counts",
                      "answer_keys", "claims", "checkpoints", "llm_cache", "answer_history", "flag_counts"}


def test_the_password_is_masked_in_every_location() -> None:
    from tuiannot.storage import shown_location

    assert shown_location("postgresql://bob:s3cr%40t@db.example:5432/team?schema=x") == \
        "postgresql://bob:****@db.example:5432/team?schema=x"
    assert shown_location("postgres://bob@host/db?password=s3cret&sslmode=require") == \
        "postgres://bob@host/db?password=****&sslmode=require"
    assert shown_location("postgresql://host:5432/db") == "postgresql://host:5432/db"
    assert shown_location("postgresql://bob@host:5432/db") == "postgresql://bob@host:5432/db"
    assert shown_location("postgresql://bob:p@ss:w@host/db") == "postgresql://bob:****@host/db"
    assert shown_location("/tmp/with:colon@sign.db") == "/tmp/with:colon@sign.db"  # a file path: as it is


@pytest.mark.parametrize("where, needles", [
    ("127.0.0.1:1/test", ["cannot reach the PostgreSQL server", "check that it runs"]),
    ("127.0.0.1:5432/no_such_database_here", ["no such database", "createdb"]),
])
def test_a_server_that_cannot_be_used_is_one_line_naming_the_url_without_its_password(
        postgres_url: str, where: str, needles: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from tuiannot.storage import StorageError

    from .helpers import assert_one_line_error, run

    url = f"postgresql://postgres:s3cret-word@{where}"
    with pytest.raises(StorageError) as info:
        tuiannot.connect(url)
    message = str(info.value)
    assert message.startswith(f"postgresql://postgres:****@{where}: ") and "\n" not in message
    assert "s3cret-word" not in message and all(n in message for n in needles)
    code, out, err = run(capsys, "stats", "--db", url)
    assert code == 1 and out == ""
    assert_one_line_error(err, f"postgresql://postgres:****@{where}", *needles)
    assert "s3cret-word" not in err


def test_a_login_refused_and_a_role_without_rights_are_one_line(postgres_url: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown role is refused at the door; a role that may log in but not create the schema is told what to ask
    the lead for; both before anything else (an annotation command connects before it starts its screen)."""
    import uuid

    from tuiannot.storage import StorageError

    from .conftest import POSTGRES
    from .helpers import assert_one_line_error, run

    refused = postgres_url.replace("postgresql://postgres@", "postgresql://nobody_at_all:pw@")
    with pytest.raises(StorageError, match="refused the login") as info:
        tuiannot.connect(refused)
    assert "pw@" not in str(info.value) and "nobody_at_all:****@" in str(info.value)
    role = f"tuiannot_test_{uuid.uuid4().hex[:8]}"
    raw_sql(POSTGRES, f"CREATE ROLE {role} LOGIN")
    try:
        weak = postgres_url.replace("postgresql://postgres@", f"postgresql://{role}:secret-pw@")
        code, out, err = run(capsys, "stats", "--db", weak)
        assert code == 1 and out == ""
        assert_one_line_error(err, f"{role}:****@", "may not create tuiannot's tables", "GRANT CREATE")
        assert "secret-pw" not in err
        tuiannot.connect(postgres_url).close()  # the lead makes the schema
        schema = postgres_url.rsplit("schema=", 1)[1]
        raw_sql(POSTGRES, f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        code, out, err = run(capsys, "stats", "--db", weak)
        assert code == 1
        assert_one_line_error(err, "may not read tuiannot's tables", f"ON ALL TABLES IN SCHEMA {schema}")
        for grant in (f"SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema}",  # as the README says
                      f"USAGE ON ALL SEQUENCES IN SCHEMA {schema}"):
            raw_sql(POSTGRES, f"GRANT {grant} TO {role}")
        with tuiannot.connect(weak) as db:  # with those rights, an annotator's role does everything it needs
            db.start_session("ds", role)
            assert db.claim("ds", role, 7, 1, 60.0, "{}")
            db.answer_claimed("ds", role, 7, answer("claimed"))
            db.add_answers("ds", (answer(f"t{i}") for i in range(500)))
            db.replace_answer(db.add_answer("ds", answer("x")), answer("x", "reject"))
            assert db.dataset_counts("ds").answers == 502
    finally:
        raw_sql(POSTGRES, f"DROP OWNED BY {role}")
        raw_sql(POSTGRES, f"DROP ROLE {role}")


def test_a_schema_name_that_is_not_plain_is_refused(postgres_url: str) -> None:
    with pytest.raises(UserError, match="is not a plain PostgreSQL name"):
        tuiannot.connect(postgres_url.split("?")[0] + "?schema=Robert%22%3B%20DROP")


def test_stats_names_the_database_with_its_password_masked(postgres_url: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from .helpers import run

    url = postgres_url.replace("postgresql://postgres@", "postgresql://postgres:hunter2@")  # (trust: ignored)
    with tuiannot.connect(url) as db:
        db.add_answer("ds", answer("a"))
        assert "hunter2" not in db.location + repr(db)
    code, out, _ = run(capsys, "stats", "--json", "--db", url)
    assert code == 0 and "hunter2" not in out
    assert json.loads(out)["database"] == url.replace("hunter2", "****")


def test_a_crash_shows_no_password_in_the_crash_log_nor_in_the_locals_textual_prints(
        postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected error (a bug) under a PostgreSQL command: the line, the crash log, and a traceback drawn as
    Textual draws one (each frame's local variables: the backend, its pool, a connection) mask the password."""
    from rich.console import Console
    from rich.traceback import Traceback

    from tuiannot.storage import postgres_connect

    from .helpers import run

    url = postgres_url.replace("postgresql://postgres@", "postgresql://postgres:hunter2@")
    db = tuiannot.connect(url)
    try:
        def broken(self: Any) -> Any:
            raise RuntimeError("a bug")

        monkeypatch.setattr(postgres_connect.Pool, "_new", broken)
        db._pool.close_idle()  # type: ignore[attr-defined]  (the next call needs a new connection)
        with pytest.raises(RuntimeError) as info:
            db.reopen().datasets()  # as the prefetch thread of the app does
        console = Console(record=True, width=200, file=open(os.devnull, "w"))
        below_the_test = info.tb.tb_next  # (this test's own frame holds the URL, as the command line's does)
        console.print(Traceback.from_exception(info.type, info.value, below_the_test, show_locals=True,
                                               locals_max_string=500))
        drawn = console.export_text()
        assert "PostgresDatabase('postgresql://postgres:****@" in drawn and "hunter2" not in drawn
        code, out, err = run(capsys, "stats", "--db", url)
        assert code == 1 and "internal error: RuntimeError: a bug" in err and "hunter2" not in err
        log = (tmp_path / "home" / ".tuiannot" / "crash.log").read_text()
        assert "RuntimeError: a bug" in log and "hunter2" not in log
    finally:
        monkeypatch.undo()
        db.close()


def test_concurrent_first_connections_create_the_schema_once(database: str) -> None:
    first = tuiannot.connect(database)
    second = tuiannot.connect(database)
    try:
        first.add_answer("ds", answer("a"))
        second.add_answer("ds", answer("b"))
        assert first.count_answers("ds") == second.count_answers("ds") == 2
        assert first.datasets() == ["ds"]
    finally:
        first.close()
        second.close()


# -- datasets ----------------------------------------------------------------------
@pytest.mark.parametrize("name", NASTY_NAMES)
def test_dataset_names_are_data_not_sql(database: str, name: str) -> None:
    with tuiannot.connect(database) as db:
        db.add_dataset("other")
        db.add_answer("other", answer("other text"))
        assert not db.has_dataset(name)
        db.add_dataset(name, {"note": name})
        assert db.has_dataset(name)
        db.add_answer(name, answer("t1", _session_id=f"{name}-ann"))
        db.add_answers(name, [answer("t2", "reject"), answer("t3", "ignore")])
        assert sorted(db.datasets()) == sorted(["other", name])
        assert [a["text"] for a in db.answers(name)] == ["t1", "t2", "t3"]
        assert [a["text"] for a in db.answers(name, answer="reject")] == ["t2"]
        assert db.count_answers(name) == 3
        assert db.count_answers(name, session="ann") == 1
        counts = db.dataset_counts(name)
        assert counts.name == name and counts.answers == 3
        assert set(counts.sessions) == {"ann", "unknown"}
        assert {r["dataset"] for r in db.overview()} == {"other", name}
        assert db.answered([name], [task_hash({"text": "t1"})]) == {task_hash({"text": "t1"})}
        assert db.drop_dataset(name) == 3
        assert not db.has_dataset(name)
        assert db.datasets() == ["other"]
        assert db.count_answers("other") == 1
    tables = {r[0] for r in raw_sql(database, "SELECT table_name FROM information_schema.tables WHERE "
                                              "table_schema = current_schema()" if is_postgres(database) else
                                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"answers", "datasets", "sessions", "tuiannot_meta"} <= tables


def test_add_dataset_is_idempotent(database: str) -> None:
    with tuiannot.connect(database) as db:
        db.add_dataset("ds")
        db.add_dataset("ds")
        assert db.datasets() == ["ds"]
        assert db.dataset_counts("ds").answers == 0
        assert db.overview() == [{"dataset": "ds", "answers": 0, "sessions": 0, "first": None, "last": None}]


def test_unknown_dataset_is_a_user_error(database: str) -> None:
    with tuiannot.connect(database) as db:
        for call in (lambda: db.drop_dataset("nope"), lambda: list(db.answers("nope")),
                     lambda: db.dataset_counts("nope"), lambda: list(db.answers_json("nope"))):
            with pytest.raises(UnknownDataset) as info:
                call()
            assert isinstance(info.value, UserError) and "nope" in str(info.value)
        assert db.count_answers("nope") == 0
        assert not db.has_dataset("nope")
        assert db.datasets() == []  # looking did not create it


def test_drop_dataset(database: str) -> None:
    with tuiannot.connect(database) as db:
        db.start_session("a", "alice")
        db.add_answers("a", [answer(f"a{i}") for i in range(5)])
        db.add_answers("b", [answer(f"b{i}") for i in range(3)])
        assert db.drop_dataset("a") == 5
        assert db.datasets() == ["b"]
        assert db.count_answers("b") == 3
        assert raw_sql(database, "SELECT count(*) FROM answers") == [(3,)]
        assert raw_sql(database, "SELECT count(*) FROM sessions") == [(0,)]
        # the name can be used again, from scratch, on the same connection
        db.add_answer("a", answer("new"))
        assert [t["text"] for t in db.answers("a")] == ["new"]


def test_empty_dataset_drop_returns_zero(database: str) -> None:
    with tuiannot.connect(database) as db:
        db.add_dataset("empty")
        assert db.drop_dataset("empty") == 0
        assert db.datasets() == []


def test_answering_after_another_connection_dropped_the_dataset(database: str) -> None:
    annotator = tuiannot.connect(database)
    admin = tuiannot.connect(database)
    try:
        annotator.add_answer("ds", answer("before"))
        admin.drop_dataset("ds")
        annotator.add_answer("ds", answer("after"))  # must store the answer, not crash
        assert [t["text"] for t in admin.answers("ds")] == ["after"]
    finally:
        annotator.close()
        admin.close()


# -- answers -----------------------------------------------------------------------
def test_add_answer_stores_the_whole_task_with_hashes(database: str) -> None:
    task = {"text": "héllo", "label": "POS", "answer": "accept", "meta": {"id": 7},
            "_session_id": "ds-alice", "_view_id": "classification", "_seconds": 1.5, "_timestamp": 1700000000}
    with tuiannot.connect(database) as db:
        answer_id = db.add_answer("ds", dict(task))
        assert isinstance(answer_id, int)
        (stored,) = list(db.answers("ds"))
    assert stored["_answer_id"] == answer_id
    assert stored["_input_hash"] == input_hash(task) and stored["_task_hash"] == task_hash(task)
    assert {k: stored[k] for k in task} == task
    row = raw_sql(database, "SELECT task_hash, input_hash, session, answer, labels, view_id, timestamp, seconds "
                       "FROM answers")
    assert row == [(task_hash(task), input_hash(task), "alice", "accept", '["POS"]', "classification",
                    1700000000.0, 1.5)]


def test_add_answer_sets_a_timestamp_when_missing(database: str) -> None:
    import time

    before = int(time.time())
    with tuiannot.connect(database) as db:
        db.add_answer("ds", answer("t"))
        (stored,) = list(db.answers("ds"))
    assert before <= stored["_timestamp"] <= int(time.time()) + 1


@pytest.mark.parametrize("bad", [None, "maybe", "ACCEPT", 1])
def test_add_answer_rejects_an_invalid_answer(database: str, bad: Any) -> None:
    with tuiannot.connect(database) as db:
        with pytest.raises(ValueError):
            db.add_answer("ds", {"text": "t", "answer": bad})
        with pytest.raises(ValueError):
            db.add_answers("ds", [answer("fine"), {"text": "t", "answer": bad}])
        assert db.count_answers("ds") == 0  # the batch is one transaction: nothing stored


def test_replace_answer_never_duplicates(database: str) -> None:
    with tuiannot.connect(database) as db:
        first = db.add_answer("ds", answer("t", "accept", label="POS", _seconds=2))
        db.add_answer("ds", answer("other"))
        for ans in ("reject", "ignore", "accept", "reject"):
            db.replace_answer(first, answer("t", ans, label="POS", _seconds=3))
        assert db.count_answers("ds") == 2
        rows = list(db.answers("ds"))
        assert [(r["text"], r["answer"], r["_answer_id"]) for r in rows] == [("t", "reject", first),
                                                                            ("other", "accept", rows[1]["_answer_id"])]
        assert [r["text"] for r in db.answers("ds", answer="reject")] == ["t"]
        assert db.dataset_counts("ds").by_answer == {"reject": 1, "accept": 1}
        assert db.dataset_counts("ds").tasks == 2
        with pytest.raises(KeyError):
            db.replace_answer(999_999, answer("x"))
        with pytest.raises(ValueError):
            db.replace_answer(first, answer("t", "bogus"))
        assert [r["answer"] for r in db.answers("ds")] == ["reject", "accept"]


def test_answers_json_in_written_order_and_filtered(database: str) -> None:
    with tuiannot.connect(database) as db:
        db.add_answers("ds", [answer(f"t{i}", ("accept", "reject", "ignore")[i % 3]) for i in range(9)])
        lines = list(db.answers_json("ds"))
        assert [json.loads(line)["text"] for line in lines] == [f"t{i}" for i in range(9)]
        assert [json.loads(line)["text"] for line in db.answers_json("ds", "ignore")] == ["t2", "t5", "t8"]
        assert all("_answer_id" not in line for line in lines)


def test_answers_filtered_by_session(database: str) -> None:
    with tuiannot.connect(database) as db:
        db.add_answers("ds", [
            answer("a", _session_id="ds-alice"), answer("b", _session_id="ds-bob"),
            answer("c", _session_id="alice"), answer("d", _annotator_id="ds-bob", _session_id="ds-x"),
            answer("e"),
        ])
        assert [t["text"] for t in db.answers("ds", session="alice")] == ["a", "c"]
        assert [t["text"] for t in db.answers("ds", session="bob")] == ["b", "d"]
        assert [t["text"] for t in db.answers("ds", session="unknown")] == ["e"]
        assert db.count_answers("ds", session="bob") == 2


def test_answered_across_datasets(database: str) -> None:
    h = {name: task_hash({"text": name}) for name in ("a1", "a2", "b1", "c1", "never")}
    with tuiannot.connect(database) as db:
        db.add_answers("a", [answer("a1"), answer("a2"), answer("a2", "reject")])
        db.add_answers("b", [answer("b1")])
        db.add_answers("c", [answer("c1")])
        everything = list(h.values())
        assert db.answered(["a"], everything) == {h["a1"], h["a2"]}
        assert db.answered(["b"], everything) == {h["b1"]}
        assert db.answered(["a", "b"], everything) == {h["a1"], h["a2"], h["b1"]}
        assert db.answered(["a", "b", "no-such-dataset"], everything) == {h["a1"], h["a2"], h["b1"]}
        assert db.answered(["no-such-dataset"], everything) == set()
        assert db.answered([], everything) == set()
        assert db.answered(["a"], []) == set()
        assert db.answered(["a"], iter([h["a1"], h["a1"]])) == {h["a1"]}
        assert not db.has_dataset("no-such-dataset")


def test_answered_with_many_hashes(database: str) -> None:
    tasks = [set_hashes(answer(f"t{i}")) for i in range(1300)]
    with tuiannot.connect(database) as db:
        db.add_answers("ds", tasks[::2])
        asked = [t["_task_hash"] for t in tasks] + [12345]
        assert db.answered(["ds"], asked) == {t["_task_hash"] for t in tasks[::2]}


def test_add_answers_returns_count_and_keeps_given_hashes(database: str) -> None:
    with tuiannot.connect(database) as db:
        n = db.add_answers("ds", (answer(f"t{i}", _input_hash=i, _task_hash=-i) for i in range(12_000)))
        assert n == 12_000
        assert db.count_answers("ds") == 12_000
        assert db.answered(["ds"], [-5, -11_999, 5]) == {-5, -11_999}
        assert db.add_answers("ds", []) == 0


# -- aggregates --------------------------------------------------------------------
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z


@pytest.fixture
def hand_made(database: str) -> Path:
    """alice: 3 timed answers (odd), bob: 4 timed + 1 untimed (even), binary and choice questions."""
    with tuiannot.connect(database) as db:
        db.add_answers("ds", [
            # alice, binary questions about POS: seconds 10, 20, 1000 (1000 is capped at 300 for rates)
            answer("a", "accept", label="POS", _session_id="ds-alice", _seconds=10, _timestamp=T0 + 10),
            answer("b", "reject", label="POS", _session_id="ds-alice", _seconds=1000, _timestamp=T0 + 1010),
            answer("c", "accept", label="POS", _session_id="ds-alice", _seconds=20, _timestamp=T0 + 1030),
            # bob, a choice question: seconds 4, 2, 8, 6 and one answer without a time
            answer("a", "accept", options=[{"id": "X"}, {"id": "Y"}], accept=["X", "Y"], _session_id="ds-bob",
                   _seconds=4, _timestamp=T0 + 5),
            answer("b", "accept", options=[{"id": "X"}, {"id": "Y"}], accept=["Y"], _session_id="ds-bob",
                   _seconds=2, _timestamp=T0 + 7),
            answer("c", "reject", options=[{"id": "X"}, {"id": "Y"}], accept=[], _session_id="ds-bob",
                   _seconds=8, _timestamp=T0 + 15),
            answer("d", "ignore", options=[{"id": "X"}, {"id": "Y"}], accept=["X"], _session_id="ds-bob",
                   _seconds=6, _timestamp=T0 + 21),
            answer("e", "accept", options=[{"id": "X"}, {"id": "Y"}], accept=["X"], _session_id="ds-bob",
                   _timestamp=T0 + 2000),
        ])
        db.add_answers("other", [answer("z", _session_id="other-carol", _seconds=99, _timestamp=T0 + 50)])
    return database


def test_dataset_counts_on_a_hand_made_set(hand_made: Path) -> None:
    with tuiannot.connect(hand_made) as db:
        c = db.dataset_counts("ds")
    assert c.name == "ds"
    assert c.answers == 8
    assert c.tasks == 8  # 3 binary + 5 choice questions
    assert c.inputs == 5  # a b c d e
    assert c.by_answer == {"accept": 5, "reject": 2, "ignore": 1}
    assert c.first == T0 + 5 and c.last == T0 + 2000
    assert set(c.sessions) == {"alice", "bob"}
    alice, bob = c.sessions["alice"], c.sessions["bob"]
    assert (alice.answers, alice.timed) == (3, 3)
    assert alice.by_answer == {"accept": 2, "reject": 1}
    assert alice.median_seconds == 20  # odd count: the middle one, uncapped
    assert alice.seconds_total == 10 + 20 + IDLE_CAP_SECONDS  # capped
    assert (alice.first, alice.last) == (T0 + 10, T0 + 1030)
    assert (bob.answers, bob.timed) == (5, 4)
    assert bob.median_seconds == 5.0  # even count: mean of 4 and 6
    assert bob.seconds_total == 20
    # the whole dataset: 2, 4, 6, 8, 10, 20, 1000 -> 8
    assert c.median_seconds == 8
    assert sorted(c.by_labels, key=repr) == sorted([
        ("accept", ["POS"], 2), ("reject", ["POS"], 1),
        ("accept", ["X", "Y"], 1), ("accept", ["Y"], 1), ("accept", ["X"], 1),
        ("reject", [], 1), ("ignore", ["X"], 1),
    ], key=repr)


def test_dataset_report_rates_use_the_idle_cap(hand_made: Path) -> None:
    with tuiannot.connect(hand_made) as db:
        report = dataset_report(db.dataset_counts("ds"))
    assert report["answers"] == 8 and report["sessions"] == 2
    assert report["by_answer"] == {"accept": 5, "reject": 2, "ignore": 1}
    assert report["by_label"] == {
        "POS": {"accept": 2, "reject": 1, "ignore": 0},
        "X": {"accept": 2, "reject": 0, "ignore": 1},
        "Y": {"accept": 2, "reject": 0, "ignore": 0},
    }
    alice, bob = report["by_session"]["alice"], report["by_session"]["bob"]
    assert alice["answers_per_hour"] == round(3600 * 3 / 330, 1) == 32.7
    assert alice["median_seconds"] == 20
    assert bob["answers_per_hour"] == 3600 * 4 / 20 == 720.0  # untimed answers do not count
    assert bob["median_seconds"] == 5.0
    assert report["answers_per_hour"] == round(3600 * 7 / 350, 1) == 72.0
    assert report["median_seconds"] == 8
    assert report["first"] == "2023-11-14T22:13:25Z"
    assert report["last"] == "2023-11-14T22:46:40Z"


def test_median_of_a_single_and_of_two_answers(database: str) -> None:
    with tuiannot.connect(database) as db:
        db.add_answers("one", [answer("a", _seconds=3.25)])
        db.add_answers("two", [answer("a", _seconds=1), answer("b", _seconds=2)])
        db.add_answers("none", [answer("a")])
        assert db.dataset_counts("one").median_seconds == 3.25
        assert db.dataset_counts("two").median_seconds == 1.5
        assert db.dataset_counts("none").median_seconds is None
        assert dataset_report(db.dataset_counts("none"))["answers_per_hour"] is None


def test_overview(hand_made: Path) -> None:
    with tuiannot.connect(hand_made) as db:
        rows = db.overview()
    assert rows == [
        {"dataset": "ds", "answers": 8, "sessions": 2, "first": T0 + 5, "last": T0 + 2000},
        {"dataset": "other", "answers": 1, "sessions": 1, "first": T0 + 50, "last": T0 + 50},
    ]


def test_dataset_counts_of_other_datasets_do_not_leak(hand_made: Path) -> None:
    with tuiannot.connect(hand_made) as db:
        c = db.dataset_counts("other")
    assert c.answers == 1 and set(c.sessions) == {"carol"} and c.median_seconds == 99


# -- the aggregates agree with the answers, whatever happened to them ---------------
def _recount(db: Any, name: str) -> dict[str, Any]:
    """dataset_counts' figures, computed the slow way from the stored answers."""
    from collections import Counter
    from statistics import median

    from tuiannot.storage.base import session_name
    from tuiannot.tasks import accepted_labels

    rows = list(db.answers(name))
    sessions: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        sessions.setdefault(session_name(name, r), []).append(r)

    def timed(rs: list[dict[str, Any]]) -> list[float]:
        return [float(r["_seconds"]) for r in rs if isinstance(r.get("_seconds"), (int, float))]

    return {
        "answers": len(rows),
        "tasks": len({r["_task_hash"] for r in rows}),
        "inputs": len({r["_input_hash"] for r in rows}),
        "by_answer": dict(Counter(r["answer"] for r in rows)),
        "by_labels": sorted((a, list(labels), n) for (a, labels), n in
                            Counter((r["answer"], tuple(accepted_labels(r))) for r in rows).items()),
        "median": median(timed(rows)) if timed(rows) else None,
        "sessions": {s: (len(rs), dict(Counter(r["answer"] for r in rs)), len(timed(rs)),
                         round(sum(min(x, IDLE_CAP_SECONDS) for x in timed(rs)), 6),
                         median(timed(rs)) if timed(rs) else None) for s, rs in sessions.items()},
    }


def _counted(db: Any, name: str) -> dict[str, Any]:
    c = db.dataset_counts(name)
    return {
        "answers": c.answers, "tasks": c.tasks, "inputs": c.inputs, "by_answer": c.by_answer,
        "by_labels": sorted((a, list(labels), n) for a, labels, n in c.by_labels),
        "median": c.median_seconds,
        "sessions": {s: (v.answers, v.by_answer, v.timed, round(v.seconds_total, 6), v.median_seconds)
                     for s, v in c.sessions.items()},
    }


def test_aggregates_match_the_answers_after_adds_replaces_and_drops(database: str) -> None:
    import random

    rng = random.Random(20240601)
    names = ["ds", "x'; DROP TABLE answers; --"]

    def random_task(name: str) -> dict[str, Any]:
        task: dict[str, Any] = {"text": f"text {rng.randrange(12)}", "answer": rng.choice(["accept", "reject",
                                                                                           "ignore"])}
        kind = rng.random()
        if kind < 0.4:
            task["label"] = rng.choice(["POS", "NEG"])
        elif kind < 0.8:
            task["options"] = [{"id": "A"}, {"id": "B"}, {"id": "C"}]
            task["accept"] = rng.sample(["A", "B", "C"], rng.randrange(4))
        if rng.random() < 0.8:
            task["_seconds"] = rng.choice([0.5, 1, 2.25, 7, 299, 300, 301, 5000])
        task["_session_id"] = f"{name}-{rng.choice(['alice', 'bob', 'carol'])}"
        task["_timestamp"] = 1_700_000_000 + rng.randrange(10_000)
        return task

    with tuiannot.connect(database) as db, tuiannot.connect(database) as reader:
        ids: dict[str, list[int]] = {n: [] for n in names}
        drops = checks = 0
        for step in range(400):
            name = rng.choice(names)
            op = rng.random()
            if op < 0.55 or not ids[name]:
                ids[name].append(db.add_answer(name, random_task(name)))
            elif op < 0.9:
                db.replace_answer(rng.choice(ids[name]), random_task(name))
            elif op < 0.98:
                db.add_answers(name, [random_task(name) for _ in range(rng.randrange(1, 6))])
                ids[name] = [r["_answer_id"] for r in db.answers(name)]
            else:
                db.drop_dataset(name)
                ids[name] = []
                drops += 1
                assert not db.has_dataset(name)
            if step % 20 == 19:
                for n in names:
                    if db.has_dataset(n):
                        assert _counted(db, n) == _recount(db, n), (step, n)
                        checks += 1
                        assert _counted(reader, n) == _recount(reader, n), (step, n)  # another connection
                        assert db.count_answers(n) == len(list(db.answers(n)))
                overview = {r["dataset"]: r["answers"] for r in db.overview()}
                assert overview == {n: db.count_answers(n) for n in names if db.has_dataset(n)}
        assert drops >= 2 and checks >= 30  # the sequence exercised every kind of change


def test_answer_fields_and_answers_by_id_read_what_the_answers_hold(database: str) -> None:
    """The compact rows the reports read (SQLite's json_extract) are what the whole answers say."""
    from tuiannot.storage import Database

    rows = [{"text": f"t{i}", "answer": ("accept", "reject", "ignore")[i % 3], "_session_id": f"ds-{'ab'[i % 2]}",
             **({"accept": ["X"] * (i % 3)} if i % 4 else {}), **({"_seconds": i % 7} if i % 5 else {}),
             **({"spans": [{"start": 0, "end": 1, "label": "L"}]} if i % 6 == 0 else {}),
             **({"_gold": {"answer": "accept"}} if i % 9 == 0 else {}), "_view_id": "choice" if i % 2 else None}
            for i in range(1200)]
    fields = ("accept", "spans", "_gold")
    with tuiannot.connect(database) as db:
        db.add_answers("ds", rows)
        db.add_answer("ds", {"text": "a NUL \x00 in it", "answer": "accept", "accept": ["\x00"]})  # (PostgreSQL's
        db.add_answer("other", {"text": "elsewhere", "answer": "accept"})  # JSON functions cannot read that)
        fast = list(db.answer_fields("ds", fields))
        slow = list(Database.answer_fields(db, "ds", fields))  # the interface's own, from the whole answers
        assert fast == slow and len(fast) == 1201 and fast[-1][6:] == (["\x00"], None, None)
        assert fast[1][2:6] == ("b", "reject", "choice", 1.0) and fast[1][6:] == (["X"], None, None)
        assert list(db.answer_fields("ds", ("meta",)))[0][6:] == (None,)  # one field, absent
        whole = {a["_answer_id"]: a for a in db.answers("ds")}
        ids = [i for i in whole][::-3] + [10 ** 9]  # out of order, more than a chunk, one not stored
        assert [a["_answer_id"] for a in db.answers_by_id(ids)] == sorted(ids)[:-1]
        assert list(db.answers_by_id(whole)) == list(whole.values())
        assert len(whole) == 1201
        with pytest.raises(UnknownDataset):
            list(db.answer_fields("nope", fields))


def test_db_out_to_standard_output_escapes_exactly_as_escape_json(database: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The fast way for ASCII chunks leaves alone only what escape_json leaves alone."""
    from tuiannot.cli.datasets import _ASCII_CONTROLS, _terminal_safe
    from tuiannot.sanitize import _UNSAFE, escape_json

    from .helpers import run

    assert {c for c in range(128) if _UNSAFE.match(chr(c))} == set(_ASCII_CONTROLS)  # (a newline is left alone)
    for c in range(0x100):
        text = json.dumps({"text": f"a{chr(c)}b"}, ensure_ascii=False)[:-1] + chr(c) + "}"  # raw, as a bad row
        assert _terminal_safe(text) == escape_json(text), hex(c)
    for text in ['{"text": "plain"}\n{"text": "two"}', '{"text": "é\u202eevil"}', '{"t": "\x9b31m"}']:
        assert _terminal_safe(text) == escape_json(text)
    with tuiannot.connect(database) as db:
        db.add_answers("ds", [{"text": "del \x7f here", "answer": "accept"}, {"text": "plain", "answer": "accept"},
                              {"text": "bidi \u202e here", "answer": "accept"}])
    code, out, _ = run(capsys, "db-out", "ds", "--db", database)
    assert code == 0 and "\x7f" not in out and "\u202e" not in out and "\\u007f" in out
    assert [json.loads(line)["text"] for line in out.splitlines()] == ["del \x7f here", "plain", "bidi \u202e here"]


def test_checkpoints_and_cached_replies(database: str) -> None:
    with tuiannot.connect(database) as db, tuiannot.connect(database) as other:
        assert db.checkpoint("ds", "k") is None and db.cached_replies("ds", ["a"]) == {}
        db.save_checkpoint("ds", "k", {"line": 1})  # no dataset yet: nothing kept
        db.cache_reply("ds", "a", {"model": "m1"})
        assert db.checkpoint("ds", "k") is None and db.cache_stats("ds")["replies"] == 0
        db.add_dataset("ds")
        db.save_checkpoint("ds", "k", {"line": 1})
        db.save_checkpoint("ds", "k", {"line": 2})  # replaced
        assert other.checkpoint("ds", "k") == {"line": 2}
        for key, model in (("a", "m1"), ("b", "m1"), ("c", "m2"), ("d", "m3"), ("a", "m1")):
            db.cache_reply("ds", key, {"model": model, "text": f"reply {key} \x00"})
        assert other.cached_replies("ds", ["a", "d", "z", "a"]) == {
            "a": {"model": "m1", "text": "reply a \x00"}, "d": {"model": "m3", "text": "reply d \x00"}}
        stats = other.cache_stats("ds")
        assert stats["replies"] == 4 and stats["by_model"] == {"m1": 2, "m2": 1, "m3": 1}
        assert stats["bytes"] > 0 and stats["first"] <= stats["last"]
        assert db.clear_cache("ds") == 4 and other.cached_replies("ds", ["a"]) == {}
        assert db.drop_dataset("ds") == 0
        db.add_dataset("ds")
        assert other.checkpoint("ds", "k") is None  # dropping a dataset dropped its checkpoints


def test_nan_or_infinity_is_refused_on_the_way_in(database: str) -> None:
    """Sources and db-in refuse NaN and Infinity; the Python API did not, and a stored NaN made SQLite's json_extract
    (progress, iaa, aggregate) report the database as damaged and db-out write bare NaN."""
    with tuiannot.connect(database) as db:
        with pytest.raises(ValueError, match="NaN or Infinity is not JSON"):
            db.add_answers("api", [{"text": "a", "answer": "accept", "meta": {"score": float("nan")}}])
        with pytest.raises(ValueError, match="NaN or Infinity is not JSON"):
            db.add_answer("api", {"text": "b", "answer": "accept", "meta": {"score": float("inf")}})
        db.add_answers("api", [{"text": "c", "answer": "accept", "meta": {"score": 0.5}}])
        assert [a["text"] for a in db.answers("api")] == ["c"]

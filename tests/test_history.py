"""Answer history (issue 19): an answer replaced keeps its earlier versions, on both backends, by a trigger (so no
code path replaces one without a trace); a database of schema 4 gains it when opened; ``tuiannot history`` shows
every version in order, the current one marked, with who, when, guidelines, flag and comment, hostile text
escaped."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import tuiannot
from tuiannot.storage import UnknownDataset

from .helpers import assert_one_line_error, is_postgres, raw_sql, run, run_json

OPTIONS = [{"id": "POS", "text": "POS"}, {"id": "NEG", "text": "NEG"}]
V1 = {"hash": "0123456789ab", "version": "v1"}
V2 = {"hash": "ba9876543210"}


def choice(text: str, who: str, accept: list[str], **extra: Any) -> dict[str, Any]:
    return {"text": text, "options": OPTIONS, "accept": accept, "answer": "accept", "_view_id": "choice",
            "_session_id": f"ds-{who}", **extra}


def again(db: Any, answer_id: int, **changes: Any) -> dict[str, Any]:
    """The stored answer ``answer_id`` with ``changes`` (None deletes a key), as the app would store it again."""
    task = next(db.answers_by_id([answer_id]))
    task.pop("_answer_id")
    for key, value in changes.items():
        if value is None:
            task.pop(key, None)
        else:
            task[key] = value
    return task


# -- storage, both backends ---------------------------------------------------------------------------------
def test_a_replaced_answer_keeps_each_earlier_version_with_who_and_when(database: str) -> None:
    with tuiannot.connect(database) as db:
        first = db.add_answer("ds", choice("good", "alice", ["POS"], _guidelines=V1, _timestamp=1000))
        other = db.add_answer("ds", choice("bad", "alice", ["NEG"], _timestamp=1001))
        db.add_answer("ds", choice("good", "bob", ["POS"]))
        assert list(db.answer_history("ds")) == []  # nothing replaced yet
        db.replace_answer(first, again(db, first, accept=["NEG"], _timestamp=1002, _flagged=True,
                                       _comment="not sure"))
        db.replace_answer(first, again(db, first, accept=["POS"], _timestamp=1003, _guidelines=V2,
                                       _session_id="ds-carol"))
        history = list(db.answer_history("ds"))
        assert [(h["answer_id"], h["session"], h["task"]["accept"], h["replaced_by"]) for h in history] == [
            (first, "alice", ["POS"], "alice"), (first, "alice", ["NEG"], "carol")]
        assert history[0]["task"]["_guidelines"] == V1 and history[0]["task"]["_timestamp"] == 1000
        assert history[1]["task"]["_flagged"] is True and history[1]["task"]["_comment"] == "not sure"
        assert history[0]["replaced"] <= history[1]["replaced"]
        assert history[0]["input_hash"] == next(db.answers_by_id([first]))["_input_hash"]
        # the answer itself is the current version, under its id: never a second copy
        assert db.count_answers("ds") == 3
        assert next(db.answers_by_id([first]))["accept"] == ["POS"]
        # one input's history; another input has none
        assert [h["task"]["accept"] for h in db.answer_history("ds", history[0]["input_hash"])] == [["POS"], ["NEG"]]
        other_input = next(db.answers_by_id([other]))["_input_hash"]
        assert list(db.answer_history("ds", other_input)) == []
        with pytest.raises(UnknownDataset):
            list(db.answer_history("nope"))


def test_an_update_around_the_storage_leaves_a_trace_too(database: str) -> None:
    """The trigger, not the method, keeps history: an UPDATE by hand is recorded as well."""
    with tuiannot.connect(database) as db:
        answer_id = db.add_answer("ds", choice("good", "alice", ["POS"]))
    raw_sql(database, "UPDATE answers SET answer = 'reject', session = 'mallory' WHERE id = ?", answer_id)
    with tuiannot.connect(database) as db:
        [entry] = db.answer_history("ds")
    assert (entry["answer"], entry["session"], entry["replaced_by"]) == ("accept", "alice", "mallory")


def test_history_goes_with_its_dataset_and_an_import_makes_none(database: str) -> None:
    with tuiannot.connect(database) as db:
        answer_id = db.add_answer("ds", choice("good", "alice", ["POS"]))
        db.replace_answer(answer_id, again(db, answer_id, accept=["NEG"]))
        kept = db.add_answer("kept", choice("x", "alice", ["POS"]))
        db.replace_answer(kept, again(db, kept, accept=["NEG"]))
        # a large import (SQLite stages it, then moves the rows into the dataset: not a replacement)
        assert db.add_answers("ds", [choice(f"t{i}", "bob", ["POS"]) for i in range(1500)]) == 1500
        assert len(list(db.answer_history("ds"))) == 1
        assert db.drop_dataset("ds") == 1501
        assert len(list(db.answer_history("kept"))) == 1
    assert raw_sql(database, "SELECT count(*) FROM answer_history") == [(1,)]


def _v4_sqlite(path: Path) -> None:
    from tuiannot.storage.sqlite_schema import META_SCHEMA, MIGRATIONS

    conn = sqlite3.connect(path)
    conn.execute(META_SCHEMA)
    for step in range(1, 5):
        MIGRATIONS[step](conn)
    conn.execute("INSERT INTO tuiannot_meta VALUES ('schema_version', '4')")
    conn.execute("INSERT INTO datasets (name, created, meta) VALUES ('ds', 1.0, '{}')")
    for i, content in enumerate([{"text": "a", "answer": "accept", "_flagged": True, "_comment": "hm"},
                                 {"text": "b", "answer": "accept", "_comment": ""},
                                 {"text": "c", "answer": "accept", "_flagged": False}]):
        conn.execute("INSERT INTO answers (dataset_id, task_hash, input_hash, session, answer, content) VALUES "
                     "(1, ?, ?, 'alice', 'accept', ?)", (i, i, json.dumps(content)))
    conn.commit()
    conn.close()


def _v4_postgres(url: str) -> None:
    import psycopg

    from tuiannot.storage.postgres_connect import parse_url
    from tuiannot.storage.postgres_schema import META_SCHEMA, MIGRATIONS

    libpq, schema, extra = parse_url(url)
    with psycopg.connect(libpq.reveal(), **extra) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute(META_SCHEMA)
        for step in range(1, 5):
            MIGRATIONS[step](conn)
        conn.execute("INSERT INTO tuiannot_meta VALUES ('schema_version', '4')")
        conn.execute("INSERT INTO datasets (name, created, meta) VALUES ('ds', 1.0, '{}')")
        for i, content in enumerate([{"text": "a\u0000", "answer": "accept", "_flagged": True, "_comment": "hm"},
                                     {"text": "b", "answer": "accept", "_comment": ""},
                                     {"text": "c", "answer": "accept", "_flagged": False}]):
            conn.execute("INSERT INTO answers (dataset_id, task_hash, input_hash, session, answer, content) "
                         "VALUES (1, %s, %s, 'alice', 'accept', %s)", (i, i, json.dumps(content)))


def test_a_schema_4_database_gains_history_and_counts_its_flags(database: str, tmp_path: Path) -> None:
    from tuiannot.storage.sqlite_schema import SCHEMA_VERSION

    if is_postgres(database):
        _v4_postgres(database)
    else:
        _v4_sqlite(Path(database))
    with tuiannot.connect(database) as db:
        assert db.flag_counts("ds") == {"alice": {"flagged": 1, "commented": 1}}  # the answers already there
        first = next(iter(db.answers("ds")))["_answer_id"]
        db.replace_answer(first, again(db, first, answer="reject", _flagged=None, _session_id="ds-bob"))
        assert [h["answer"] for h in db.answer_history("ds")] == ["accept"]
        assert db.flag_counts("ds") == {"bob": {"flagged": 0, "commented": 1}}
        assert db.count_answers("ds") == 3
    assert raw_sql(database, "SELECT value FROM tuiannot_meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)]
    assert SCHEMA_VERSION == 5


# -- tuiannot history ------------------------------------------------------------------------------------------
@pytest.fixture
def replaced(db_path: Path) -> int:
    with tuiannot.connect(db_path) as db:
        answer_id = db.add_answer("ds", choice("good film", "alice", ["POS"], _guidelines=V1, _timestamp=1700000000))
        db.add_answer("ds", choice("other film", "alice", ["NEG"]))
        db.replace_answer(answer_id, again(db, answer_id, accept=["NEG"], _timestamp=1700000060, _flagged=True,
                                           _comment="the ending changes it"))
        db.replace_answer(answer_id, again(db, answer_id, accept=["POS"], _timestamp=1700000120, _guidelines=V2,
                                           _flagged=None, _comment=None))
        return answer_id


@pytest.mark.usefixtures("cli_env")
def test_history_shows_every_version_in_order_the_current_one_marked(
        db_path: Path, replaced: int, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "history", "ds", "--db", db_path)
    assert code == 0, err
    assert "Dataset 'ds': 1 answer replaced on 1 input, 2 earlier versions kept" in out
    lines = [line.strip() for line in out.splitlines() if re.match(r"\s*(▶ )?\d\. ", line)]
    assert len(lines) == 3
    assert lines[0].startswith("1. 2023-11-14 22:13  alice  ACCEPT: POS  guidelines v1 (0123456789ab)")
    assert "replaced" in lines[0] and "by alice" in lines[0]
    assert lines[1].startswith("2. 2023-11-14 22:14  alice  ACCEPT: NEG  guidelines v1 (0123456789ab)  ⚑ flagged  "
                               "“the ending changes it”")
    assert lines[2].startswith("▶ 3. 2023-11-14 22:15  alice  ACCEPT: POS  guidelines ba9876543210")
    assert lines[2].endswith("(current)") and "⚑" not in lines[2]
    assert "'good film'" in out and "other film" not in out

    report = run_json(capsys, "history", "ds", "--json", "--db", db_path)
    assert (report["inputs"], report["replaced"]) == (1, 2)
    [shown] = report["history"]
    [chain] = shown["answers"]
    assert chain["answer_id"] == replaced
    versions = chain["versions"]
    assert [v["what"] for v in versions] == ["POS", "NEG", "POS"]
    assert [v["current"] for v in versions] == [False, False, True]
    assert [v["flagged"] for v in versions] == [False, True, False]
    assert [v["guidelines"] for v in versions] == [V1, V1, V2]
    assert versions[1]["comment"] == "the ending changes it" and versions[2]["replaced"] is None
    assert versions[0]["task"]["_timestamp"] == 1700000000 and "_answer_id" not in versions[2]["task"]
    # --input: one input; another has no history
    one = run_json(capsys, "history", "ds", "--input", shown["input_hash"], "--json", "--db", db_path)
    assert one["history"] == report["history"] and one["input"] == shown["input_hash"]
    code, out, _ = run(capsys, "history", "ds", "--input", "12345", "--db", db_path)
    assert code == 0 and "No answer of 'ds' was replaced for input 12345" in out


@pytest.mark.usefixtures("cli_env")
def test_history_of_an_unknown_dataset_or_none_replaced(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with tuiannot.connect(db_path) as db:
        db.add_answer("calm", choice("good", "alice", ["POS"]))
    code, _, err = run(capsys, "history", "nope", "--db", db_path)
    assert code == 1
    assert_one_line_error(err, "no dataset named 'nope'")
    code, out, err = run(capsys, "history", "calm", "--db", db_path)
    assert code == 0 and "No answer of 'calm' was replaced: every answer is the one first given." in out
    assert run_json(capsys, "history", "calm", "--json", "--db", db_path)["history"] == []


EVIL = "\x1b]2;PWNED\x07\x1b[2J\x9b2J\u202e\u200b[bold red]markup[/]"
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u200b-\u200f]")


@pytest.mark.usefixtures("cli_env")
def test_history_shows_hostile_text_escaped(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with tuiannot.connect(db_path) as db:
        answer_id = db.add_answer(f"ds{EVIL}", {
            "text": f"text {EVIL}", "spans": [{"start": 5, "end": 9, "label": f"L{EVIL}"}], "answer": "accept",
            "_view_id": "ner_manual", "_session_id": f"eve{EVIL}", "_comment": f"c{EVIL}", "_flagged": True,
            "_guidelines": {"hash": "0123456789ab", "version": f"v{EVIL}"}})
        task = again(db, answer_id, answer="reject")
        db.replace_answer(answer_id, task)
    code, out, err = run(capsys, "history", f"ds{EVIL}", "--db", db_path)
    assert code == 0, err
    assert not RAW.search(out), out
    assert "[bold red]markup[/]" in out  # shown as it is, not obeyed
    assert out.count("⚑ flagged") == 2 and "REJECT" in out and "ACCEPT" in out
    report = run_json(capsys, "history", f"ds{EVIL}", "--json", "--db", db_path)
    assert report["history"][0]["answers"][0]["versions"][0]["comment"] == f"c{EVIL}"  # the very values


@pytest.mark.usefixtures("cli_env")
def test_an_annotators_edit_keeps_history_they_cannot_write_themselves(
        postgres_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """On a project with roles (``db-roles``), the history trigger runs as the lead's: an annotator's edit of
    their own answer is kept, yet the annotator may not write (forge) the history nor the flag totals."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    from tuiannot.storage.postgres_connect import close_all

    suffix, password = uuid.uuid4().hex[:10], uuid.uuid4().hex
    lead, alice = f"lead_{suffix}", f"alice_{suffix}"
    schema = urlsplit(postgres_url).query.rsplit("schema=", 1)[1]
    parts = urlsplit(postgres_url)
    as_alice = urlunsplit(parts._replace(netloc=f"{alice}:{password}@{parts.netloc.rsplit('@', 1)[-1]}"))
    try:
        code, _, err = run(capsys, "db-roles", postgres_url, "--lead", lead, "--annotators", alice)
        assert code == 0, err
        raw_sql(postgres_url, f"ALTER ROLE \"{alice}\" PASSWORD '{password}'")
        with tuiannot.connect(as_alice) as db:
            answer_id = db.add_answer("ds", choice("good", alice, ["POS"], _flagged=True))
            db.replace_answer(answer_id, again(db, answer_id, accept=["NEG"], _comment="on second thought"))
            assert [h["task"]["accept"] for h in db.answer_history("ds")] == [["POS"]]
            assert db.flag_counts("ds") == {alice: {"flagged": 1, "commented": 1}}
        for forged in ("INSERT INTO answer_history (answer_id, dataset_id, task_hash, input_hash, session, answer, "
                       "content, replaced, replaced_by) VALUES (1, 1, 1, 1, 'x', 'accept', '{}', 0, 'x')",
                       "UPDATE flag_counts SET flagged = 0", "DELETE FROM answer_history"):
            with psycopg.connect(as_alice.split("?")[0], options=f"-c search_path={schema}") as conn:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(forged)
        assert raw_sql(postgres_url, "SELECT count(*) FROM answer_history") == [(1,)]
    finally:
        close_all()
        with psycopg.connect(postgres_url.split("?")[0], autocommit=True) as conn:
            for role in (lead, alice, f"tuiannot_{schema}_lead", f"tuiannot_{schema}_annotator"):
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                    conn.execute(f'DROP OWNED BY "{role}" CASCADE')
                    conn.execute(f'DROP ROLE "{role}"')

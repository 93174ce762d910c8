"""``tuiannot db-migrate SRC DST``: a whole project copied between databases (SQLite to PostgreSQL and back,
SQLite to SQLite), nothing twice when run again, and a check at the end that can fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import tuiannot
from tuiannot.storage import transfer

from .helpers import assert_one_line_error, is_postgres, raw_sql, run

pytestmark = pytest.mark.usefixtures("cli_env")

NAMES = ["ds", "x'; DROP TABLE answers; --", "名前 \x1b[31m"]


def project(location: str | Path) -> None:
    """Answers (one replaced), sessions (one ended), a checkpoint, cached replies and an empty dataset."""
    with tuiannot.connect(location) as db:
        for k, name in enumerate(NAMES):
            db.add_answers(name, ({"text": f"text {i}", "answer": ("accept", "reject", "ignore")[i % 3],
                                   "label": "POS", "_session_id": f"{name}-{'abc'[i % 3]}", "_seconds": i % 11,
                                   "_timestamp": 1_700_000_000 + i, "meta": {"i": i, "nested": [1.5, None, "é"]}}
                                  for i in range(300 + 100 * k)))
            first = db.add_answer(name, {"text": "undone", "answer": "accept", "_session_id": f"{name}-a"})
            db.replace_answer(first, {"text": "undone", "answer": "reject", "_session_id": f"{name}-a"})
            record = db.start_session(name, "a", {"recipe": "textcat"})
            db.end_session(record)
            db.start_session(name, "b")
            db.save_checkpoint(name, "source.jsonl", {"offset": 123, "name": name})
            db.cache_reply(name, "key-1", {"model": "m1", "text": "a reply"})
            db.cache_reply(name, "key-2", {"model": "m2", "text": "another"})
        db.add_dataset("empty")


def snapshot(location: str | Path) -> dict[str, Any]:
    """Everything a project is, read through the interface and around it (the tables beside the answers)."""
    with tuiannot.connect(location) as db:
        found: dict[str, Any] = {"datasets": db.datasets()}
        for name in db.datasets():
            counts = db.dataset_counts(name)
            found[name] = {
                "answers": list(db.answers_json(name)),
                "counts": (counts.answers, counts.tasks, counts.inputs, counts.by_answer, counts.median_seconds,
                           {s: (v.answers, v.timed, v.seconds_total) for s, v in counts.sessions.items()}),
                "cache": db.cached_replies(name, ["key-1", "key-2"]),
                "checkpoint": db.checkpoint(name, "source.jsonl"),
                "live": [s.session for s in db.live_sessions(name)],
            }
        found["overview"] = db.overview()
    found["beside"] = sorted(map(repr, raw_sql(
        location, "SELECT d.name, s.session, s.started, s.meta FROM sessions s JOIN datasets d ON d.id = s.dataset_id "
        "UNION ALL SELECT d.name, c.key, c.created, c.value FROM llm_cache c JOIN datasets d ON d.id = c.dataset_id")))
    return found


def migrate(capsys: pytest.CaptureFixture[str], src: Any, dst: Any) -> dict[str, Any]:
    code, out, err = run(capsys, "db-migrate", src, dst, "--json")
    assert code == 0, err
    return json.loads(out)


def test_to_postgresql_and_back_keeps_everything(tmp_path: Path, postgres_url: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    src, back = tmp_path / "src.db", tmp_path / "back.db"
    project(src)
    there = migrate(capsys, src, postgres_url)
    assert there["ok"] and [d["dataset"] for d in there["datasets"]] == sorted(["empty", *NAMES])
    assert {d["dataset"]: (d["copied"], d["sessions"], d["checkpoints"], d["cached_replies"])
            for d in there["datasets"]} == {"ds": (301, 2, 1, 2), NAMES[1]: (401, 2, 1, 2),
                                             NAMES[2]: (501, 2, 1, 2), "empty": (0, 0, 0, 0)}
    assert snapshot(postgres_url) == snapshot(src)
    again = migrate(capsys, postgres_url, back)
    assert again["ok"] and all(d["source_hash"] == d["destination_hash"] for d in again["datasets"])
    assert snapshot(back) == snapshot(src)
    assert [d["source_hash"] for d in again["datasets"]] == [d["source_hash"] for d in there["datasets"]]


def test_sqlite_to_sqlite_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project(tmp_path / "a.db")
    code, out, err = run(capsys, "db-migrate", tmp_path / "a.db", tmp_path / "b.db")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"From {tmp_path / 'a.db'} to {tmp_path / 'b.db'}:"
    assert lines[1].startswith("ok  ds: 301 answers in SRC, 301 copied now, 0 there before; DST has all of them "
                               "(the same hash: ")
    assert lines[1].endswith("; also copied: 2 session records, 1 checkpoint, 2 cached replies")
    assert "\x1b" not in out and "名前 ␛[31m: 501 answers" in out  # a name is shown, never sent raw
    assert "; history: 1 replaced version in SRC, 1 copied now, 0 there before; DST has all of them (the same " \
        "hash); also copied: " in lines[1]
    assert lines[-1] == ("Copied 1203 answers and 3 replaced versions; 4 datasets checked: every answer of SRC is "
                         "in DST.")
    assert snapshot(tmp_path / "b.db") == snapshot(tmp_path / "a.db")


def test_a_second_run_copies_nothing_and_an_interrupted_one_goes_on(tmp_path: Path, database: str,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "src.db"
    project(src)
    monkeypatch.setattr(transfer, "BATCH", 100)
    real = transfer.copy_dataset

    add = transfer._Tables.add_rows
    batches: list[int] = []

    def add_then_stop(self: Any, name: str, rows: Any) -> int:
        if name == NAMES[1] and len(batches) == 2:  # Ctrl-C after two batches of this dataset (the third of four)
            raise KeyboardInterrupt
        batches.extend([1] if name == NAMES[1] else [])
        return add(self, name, rows)

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(transfer._Tables, "add_rows", add_then_stop)
        try:
            return real(*args, **kwargs)
        finally:
            monkeypatch.setattr(transfer._Tables, "add_rows", add)

    monkeypatch.setattr(transfer, "copy_dataset", interrupted)
    code, _, _ = run(capsys, "db-migrate", src, database)
    assert code == 130
    monkeypatch.setattr(transfer, "copy_dataset", real)
    with tuiannot.connect(database) as db:
        assert db.count_answers("ds") == 301 and db.count_answers(NAMES[1]) == 200  # two batches of 100
        assert not db.has_dataset(NAMES[2])
    report = {d["dataset"]: d for d in migrate(capsys, src, database)["datasets"]}
    assert (report["ds"]["copied"], report["ds"]["already"]) == (0, 301)
    assert (report[NAMES[1]]["copied"], report[NAMES[1]]["already"]) == (201, 200)
    assert (report[NAMES[2]]["copied"], report[NAMES[2]]["already"]) == (501, 0)
    assert all(d["ok"] and d["own"] == 0 for d in report.values())
    third = migrate(capsys, src, database)
    assert [(d["copied"], d["sessions"], d["checkpoints"], d["cached_replies"]) for d in third["datasets"]] == [
        (0, 0, 0, 0)] * 4
    assert snapshot(database) == snapshot(src)
    count = raw_sql(database, "SELECT count(*) FROM answers")[0][0]
    assert count == 1203 and raw_sql(database, "SELECT count(*) FROM sessions")[0][0] == 6


def test_answers_dst_had_of_its_own_stay_and_are_counted_apart(tmp_path: Path, database: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src.db"
    shared = {"text": "shared", "answer": "accept", "_timestamp": 1_700_000_000}  # (the same JSON in both, whenever
    with tuiannot.connect(src) as db:  # each is written: a new PostgreSQL schema may take more than a second)
        db.add_answers("ds", [dict(shared), dict(shared)])
    with tuiannot.connect(database) as db:  # one of the two twins already there, and one of its own
        db.add_answers("ds", [dict(shared), {"text": "mine", "answer": "reject"}])
    (report,) = migrate(capsys, src, database)["datasets"]
    assert (report["copied"], report["already"], report["own"], report["destination_answers"]) == (1, 1, 1, 3)
    assert report["ok"] and report["source_hash"] != report["destination_hash"]


def test_a_copy_that_does_not_check_out_fails_and_says_which(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A DST that loses answers (here: one of each batch) is caught by reading it back."""
    project(tmp_path / "src.db")
    real = transfer._Tables.add_rows

    def lossy(self: Any, dataset: str, rows: Any) -> int:
        real(self, dataset, rows[:-1])
        return len(rows)

    monkeypatch.setattr(transfer._Tables, "add_rows", lossy)
    code, out, err = run(capsys, "db-migrate", tmp_path / "src.db", tmp_path / "dst.db")
    assert code == 1
    assert_one_line_error(err, "3 of 4 datasets did not check out", "'ds'")
    assert "FAILED  ds: 301 answers in SRC, 301 copied now, 0 there before; DST LACKS 1 answer of them" in out


def test_what_cannot_be_migrated_is_one_line(tmp_path: Path, postgres_url: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    project(tmp_path / "src.db")
    code, _, err = run(capsys, "db-migrate", tmp_path / "missing.db", tmp_path / "dst.db")
    assert code == 1 and not (tmp_path / "missing.db").exists() and not (tmp_path / "dst.db").exists()
    assert_one_line_error(err, "missing.db", "no database file there")
    code, _, err = run(capsys, "db-migrate", tmp_path / "src.db", tmp_path / "." / "src.db")
    assert code == 1
    assert_one_line_error(err, "the same database")
    code, _, err = run(capsys, "db-migrate", tmp_path / "src.db", "postgresql://bob:pa55word@127.0.0.1:1/test")
    assert code == 1
    assert_one_line_error(err, "postgresql://bob:****@127.0.0.1:1/test", "cannot reach")
    assert "pa55word" not in err
    assert is_postgres(postgres_url)


def history_project(location: str | Path) -> None:
    """Answers replaced once, twice, back and forth; twins (one of them replaced into the other's JSON); flags and
    comments, some taken back by a replacement; and the datasets of :func:`project`."""
    project(location)
    with tuiannot.connect(location) as db:
        for name in ("h", NAMES[2]):
            db.add_answers(name, ({"text": f"h{i}", "answer": "accept", "_session_id": f"{name}-a",
                                   "_timestamp": 1_700_000_000 + i, **({"_flagged": True} if i % 4 == 0 else {}),
                                   **({"_comment": f"c{i} [b]x[/b]"} if i % 5 == 0 else {})} for i in range(40)))
            ids = [a["_answer_id"] for a in db.answers(name) if a.get("text", "").startswith("h")]
            for n, answer_id in enumerate(ids[:12]):  # 12 replaced once, 4 of them twice, one three times
                for k in range(1 + (n % 3 == 0) + (n == 0)):
                    db.replace_answer(answer_id, {
                        "text": f"h{n}", "answer": ("reject", "ignore", "accept")[k],
                        "_session_id": f"{name}-{'bc'[k % 2]}", "_timestamp": 1_700_001_000 + k,
                        **({"_flagged": True} if k == 1 else {})})
            twin = {"text": "twin", "answer": "accept", "_session_id": f"{name}-a", "_timestamp": 1}
            db.add_answer(name, dict(twin))
            other = db.add_answer(name, {"text": "twin", "answer": "reject", "_session_id": f"{name}-a",
                                         "_timestamp": 2})  # (not now: SRC's running "last" keeps a replaced time)
            db.replace_answer(other, dict(twin))  # now the twin of the first, and the one with history


def without_ids(value: Any) -> Any:
    """A report with the ids (that differ between databases) and the database's location taken out."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k not in ("answer_id", "database")}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def told(capsys: pytest.CaptureFixture[str], location: Any) -> dict[str, Any]:
    """What ``history --json`` and ``stats --json`` say of every dataset, and the raw history rows but ids."""
    with tuiannot.connect(location) as db:
        names = db.datasets()
    found: dict[str, Any] = {}
    for name in names:
        for command in ("history", "stats"):
            code, out, err = run(capsys, command, name, "--json", "--db", location)
            assert code == 0, err
            found[f"{command} {name}"] = without_ids(json.loads(out))
    found["rows"] = sorted(raw_sql(location, "SELECT d.name, h.task_hash, h.input_hash, h.session, h.answer, "
                                   "h.content, h.replaced, h.replaced_by, a.content FROM answer_history h JOIN "
                                   "datasets d ON d.id = h.dataset_id JOIN answers a ON a.id = h.answer_id"))
    return found


def test_answer_history_goes_to_postgresql_and_back(tmp_path: Path, postgres_url: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    src, back = tmp_path / "src.db", tmp_path / "back.db"
    history_project(src)
    before = told(capsys, src)
    assert before["history h"]["replaced"] == 12 + 4 + 1 + 1 and len(before["rows"]) == 3 + 2 * 18 - 1 + 1
    assert before["stats h"]["flagged"] > 0 and before["stats h"]["commented"] > 0
    there = {d["dataset"]: d for d in migrate(capsys, src, postgres_url)["datasets"]}
    assert (there["h"]["source_history"], there["h"]["history_copied"], there["h"]["destination_history"]) == (
        18, 18, 18)
    assert there["h"]["source_history_hash"] == there["h"]["destination_history_hash"] and there["h"]["ok"]
    assert there["empty"]["source_history"] == 0 and there["ds"]["history_copied"] == 1
    assert told(capsys, postgres_url) == before  # history, its attachment, and the flag totals counted by DST
    again = {d["dataset"]: d for d in migrate(capsys, postgres_url, back)["datasets"]}
    assert again["h"]["history_copied"] == 18 and all(d["ok"] for d in again.values())
    assert [again[n]["destination_history_hash"] for n in sorted(again)] == [
        there[n]["source_history_hash"] for n in sorted(there)]
    assert told(capsys, back) == before


def test_history_is_copied_once_and_again_after_a_drop(tmp_path: Path, database: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src.db"
    history_project(src)
    before = told(capsys, src)
    first = {d["dataset"]: d for d in migrate(capsys, src, database)["datasets"]}
    assert first["h"]["history_copied"] == 18
    second = {d["dataset"]: d for d in migrate(capsys, src, database)["datasets"]}
    assert [(d["copied"], d["history_copied"], d["history_already"]) for d in second.values()] == [
        (0, 0, d["source_history"]) for d in second.values()]
    assert all(d["ok"] and d["history_own"] == 0 for d in second.values())
    assert raw_sql(database, "SELECT count(*) FROM answer_history")[0][0] == len(before["rows"])
    assert told(capsys, database) == before
    with tuiannot.connect(database) as db:
        db.drop_dataset("h")
    third = {d["dataset"]: d for d in migrate(capsys, src, database)["datasets"]}
    assert (third["h"]["copied"], third["h"]["history_copied"], third["h"]["history_already"]) == (42, 18, 0)
    assert third[NAMES[2]]["history_copied"] == 0 and all(d["ok"] for d in third.values())
    assert told(capsys, database) == before


def test_a_history_row_changed_in_dst_fails_the_check(tmp_path: Path, database: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src.db"
    history_project(src)
    migrate(capsys, src, database)
    raw_sql(database, "UPDATE answer_history SET replaced_by = 'mallory' WHERE id = (SELECT max(id) FROM "
            "answer_history WHERE dataset_id = (SELECT id FROM datasets WHERE name = 'h'))")
    code, out, err = run(capsys, "db-migrate", src, database)
    assert code == 1
    assert_one_line_error(err, "1 of 5 datasets did not check out", "'h'")
    line = next(x for x in out.splitlines() if x.startswith("FAILED"))
    assert line.startswith("FAILED  h: 42 answers in SRC, 0 copied now, 42 there before; DST has all of them")
    assert "; history: 18 replaced versions in SRC, 0 copied now, 18 there before; DST LACKS 1 of them and 1 of " \
        "its own (hashes differ)" in line

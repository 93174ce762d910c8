"""Parquet in and out (issue 19): sources read by row groups in flat memory, the text column chosen with
``--loader parquet:COLUMN``, other columns made JSON into ``meta``, bad rows as file:row warnings, a resume that
starts at the row group of the checkpoint; ``db-out --format parquet`` read back with pyarrow."""

from __future__ import annotations

import datetime
import decimal
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tuiannot.errors import SourceError
from tuiannot.sources import Source
from tuiannot.stream import Stream

from .helpers import ROOT, accept_one_and_quit, make_app, make_controller, run, seed, stored, wait_done, wait_for_task

pytestmark = pytest.mark.usefixtures("cli_env")


def write_parquet(path: Path, columns: dict[str, Any], row_group_size: int | None = None) -> Path:
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)
    return path


def numbered(path: Path, n: int, row_group_size: int) -> Path:
    return write_parquet(path, {"text": [f"text number {i}" for i in range(n)], "id": list(range(n))},
                         row_group_size)


def read(source: Source) -> tuple[list[dict[str, Any]], list[str]]:
    stream = Stream(source)
    tasks = [{k: v for k, v in t.items() if not k.startswith("_")} for t in stream]
    return tasks, list(stream.warnings)


def test_rows_become_tasks_and_the_other_columns_json_meta(tmp_path: Path) -> None:
    """Every other column goes into meta by one rule per type (the module's docstring), and json.dumps takes it
    strictly; rows whose text is null, binary that is not UTF-8, or empty are file:row warnings."""
    utc = datetime.timezone.utc
    path = write_parquet(tmp_path / "data.parquet", {
        "text": ["first", None, "third", "", "fifth"],
        "when": pa.array([datetime.datetime(2024, 5, 1, 12, 30, 0, 250000)] * 5, pa.timestamp("ns")),
        "zoned": pa.array([datetime.datetime(2024, 5, 1, 10, 30, tzinfo=utc)] * 5, pa.timestamp("ms", "Europe/Paris")),
        "day": pa.array([datetime.date(2024, 5, 1)] * 5),
        "price": pa.array([decimal.Decimal("12.50")] * 5, pa.decimal128(8, 2)),
        "took": pa.array([datetime.timedelta(seconds=1.5)] * 5, pa.duration("ns")),
        "blob": pa.array([b"\xff\x00", b"plain", None, b"", b"x"]),
        "score": [0.5, float("nan"), float("inf"), 1.0, None],
        "tags": [["a", "b"], [], None, ["c"], ["d"]],
        "info": [{"k": 1, "v": [1.5]}] * 5,
        "pairs": pa.array([[("x", 1)]] * 5, pa.map_(pa.string(), pa.int64())),
        "kind": pa.array(["news", "blog", "news", "news", "blog"]).dictionary_encode(),
        "big": pa.array([2 ** 64 - 1] * 5, pa.uint64()),
    }, row_group_size=2)
    source = Source(path)
    assert source.loader == "parquet" and source.seekable and source.line_count() == 5
    tasks, warnings = read(source)
    assert [t["text"] for t in tasks] == ["first", "third", "fifth"]
    assert tasks[0]["meta"] == {
        "when": "2024-05-01T12:30:00.250000", "zoned": "2024-05-01T10:30:00+00:00", "day": "2024-05-01",
        "price": "12.50", "took": 1.5, "blob": "/wA=", "score": 0.5, "tags": ["a", "b"],
        "info": {"k": 1, "v": [1.5]}, "pairs": [["x", 1]], "kind": "news", "big": 2 ** 64 - 1}
    assert tasks[1]["meta"]["score"] is None and tasks[1]["meta"]["blob"] is None  # infinity: no JSON
    assert tasks[2]["meta"]["blob"] == "x"  # UTF-8 bytes: their text
    json.dumps([t["meta"] for t in tasks], allow_nan=False)
    assert warnings == [f"{path}:2: the text column 'text' is null", f"{path}:4: empty 'text'"]


def test_the_text_column_is_named_in_the_loader_spec(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "posts.parquet", {"Body": ["hello", "world"], "n": [1, 2], "text": ["x", "y"]})
    tasks, _ = read(Source(path, loader="parquet:body"))  # exact name first, else the one differing in case
    assert tasks == [{"text": "hello", "meta": {"n": 1, "text": "x"}}, {"text": "world", "meta": {"n": 2, "text": "y"}}]
    tasks, _ = read(Source(path))  # the default: 'text'
    assert [t["text"] for t in tasks] == ["x", "y"] and tasks[0]["meta"] == {"Body": "hello", "n": 1}
    with pytest.raises(SourceError) as info:
        Source(path, loader="parquet:title")
    assert str(info.value) == (f"{path}: no column 'title' for the text (columns: Body, n, text); choose one with "
                               "--loader parquet:COLUMN")
    numbers, _ = read(Source(path, loader="parquet:n"))  # not a string: a warning per row
    assert numbers == []
    with pytest.raises(SourceError, match="only the parquet loader takes a column"):
        Source(tmp_path / "t.csv", loader="csv:body")


def test_a_number_as_text_and_a_file_that_is_not_parquet_are_said_in_one_line(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "n.parquet", {"text": [1, 2]})
    stream = Stream(Source(path))
    assert list(stream) == [] and list(stream.warnings) == [
        f"{path}:1: the text column 'text' holds int '1', not a string",
        f"{path}:2: the text column 'text' holds int '2', not a string"]
    fake = tmp_path / "fake.parquet"
    fake.write_text('{"text": "not parquet"}\n')
    with pytest.raises(SourceError, match=r"fake.parquet: cannot be read as Parquet \("):
        Source(fake)
    fifo = tmp_path / "fifo.parquet"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match="give a file, not a pipe"):
        Source(fifo)


def test_memory_stays_flat_however_big_the_file(tmp_path: Path) -> None:
    """A file of 150 row groups (about 60 MB) is read in the peak memory of one of 5: peak RSS measured in a
    fresh interpreter that reads every task (pyarrow over all row groups at once would keep ~60 MB more). Its
    timestamps (nanoseconds, a time zone) do not bring pandas in, which pyarrow would for them (~50 MB)."""
    def peak(path: Path) -> tuple[int, int, bool]:
        # the peak of this interpreter's own memory (VmHWM): ru_maxrss would count the forking pytest's too
        code = ("import re, sys\nfrom tuiannot.sources import Source\nfrom tuiannot.stream import Stream\n"
                "n = sum(1 for _ in Stream(Source(sys.argv[1])))\n"
                "peak = re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1)\n"
                "print(n, peak, 'pandas' in sys.modules)")
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        n, kb, pandas = out.stdout.split()
        return int(n), int(kb) // 1024, pandas == "True"

    def generate(path: Path, groups: int, rows: int = 2000) -> Path:
        schema = pa.schema([("text", pa.string()), ("id", pa.int64()), ("at", pa.timestamp("ns")),
                            ("zoned", pa.timestamp("us", "UTC"))])
        at = datetime.datetime(2024, 5, 1)
        with pq.ParquetWriter(path, schema) as writer:
            for g in range(groups):  # random text: it does not compress away
                writer.write_table(pa.table({"text": [os.urandom(100).hex() for _ in range(rows)],
                                             "id": range(g * rows, (g + 1) * rows), "at": [at] * rows,
                                             "zoned": [at] * rows}, schema=schema))
        return path

    small, big = generate(tmp_path / "small.parquet", 5), generate(tmp_path / "big.parquet", 150)
    assert big.stat().st_size > 50 * 1024 * 1024
    (n_small, mb_small, pandas_small), (n_big, mb_big, pandas_big) = peak(small), peak(big)
    assert (n_small, n_big) == (10_000, 300_000)
    assert mb_big - mb_small < 20, (mb_small, mb_big)  # the file grew by 57 MB; memory by less than 20
    assert mb_big < 300
    assert not pandas_small and not pandas_big


async def test_the_app_annotates_a_parquet_source(tmp_path: Path, db_path: Path) -> None:
    source = write_parquet(tmp_path / "reviews.parquet", {"review": ["great film", "dull film"],
                                                          "stars": [5, 1]})
    app = make_app(source, db_path, labels="POS", loader="parquet:review")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="great film")
        await pilot.press("a")
        await wait_for_task(pilot, text="dull film")
        await pilot.press("x")
        await wait_done(pilot)
    rows = stored(db_path, "reviews")
    assert [(r["text"], r["meta"], r["answer"]) for r in rows] == [
        ("great film", {"stars": 5}, "accept"), ("dull film", {"stars": 1}, "reject")]


def _answer(source: Path, db_path: Path, n: int) -> str | None:
    from tuiannot.controller import answer_all

    controller = make_controller(source, db_path, labels="POS")
    try:
        answer_all(controller, lambda t: ("accept", None), limit=n)
        task = controller.next_task(timeout=10)
        return task["text"] if task else None
    finally:
        controller.close()
        controller.db.close()


def _restart(source: Path, db_path: Path) -> tuple[str | None, int | None, list[str]]:
    controller = make_controller(source, db_path, labels="POS")
    try:
        task = controller.next_task(timeout=10)
        checkpoint = controller._checkpoint
        return (task["text"] if task else None, checkpoint.resumed_at if checkpoint else None,
                list(controller.stream.warnings))
    finally:
        controller.close()
        controller.db.close()


def test_a_restart_reads_from_the_row_group_of_the_checkpoint(tmp_path: Path, db_path: Path) -> None:
    """Rows before the checkpoint are not read again: the null text in row group 0 is not reported again (only
    counted, as the resume of any source counts them), and the task shown is the next open one."""
    texts: list[str | None] = [f"text number {i}" for i in range(500)]
    texts[3] = None
    source = write_parquet(tmp_path / "in.parquet", {"text": texts}, row_group_size=50)
    assert _answer(source, db_path, 300) == "text number 301"
    text, resumed_at, warnings = _restart(source, db_path)
    assert text == "text number 301"
    assert resumed_at is not None and 290 <= resumed_at <= 302
    assert warnings == [f"{source}: 1 invalid record before line {resumed_at:,} skipped (each was reported when it "
                        "was first read; a restart seeks past them)"]
    assert Source(source)._parquet.place(resumed_at - 1) == ((resumed_at - 1) // 50, (resumed_at - 1) % 50)
    # answering on from there: every row once
    controller = make_controller(source, db_path, labels="POS")
    from tuiannot.controller import answer_all

    assert answer_all(controller, lambda t: ("reject", None)) == 499 - 300
    controller.close()
    controller.db.close()
    assert sorted(r["text"] for r in stored(db_path, "in")) == sorted(t for t in texts if t)


def test_a_rewritten_parquet_file_is_read_from_the_start(tmp_path: Path, db_path: Path) -> None:
    source = numbered(tmp_path / "in.parquet", 200, 20)
    assert _answer(source, db_path, 120) == "text number 120"
    write_parquet(source, {"text": ["a new first row"] + [f"text number {i}" for i in range(200)]},
                  row_group_size=20)
    text, resumed_at, _ = _restart(source, db_path)
    assert resumed_at is None and text == "a new first row"


def test_db_out_parquet_writes_the_answers_as_a_table(tmp_path: Path, db_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    seed(db_path, "ds", [
        {"text": "a", "_input_hash": 1, "_task_hash": 11, "answer": "accept", "label": "POS", "meta": {"src": "x"},
         "score": 1, "_view_id": "classification"},
        {"text": "b", "_input_hash": -2, "_task_hash": 12, "answer": "reject", "label": "POS", "score": 0.25,
         "spans": [{"start": 0, "end": 1, "label": "X"}], "mixed": "s", "_view_id": "classification"},
        {"text": "c", "_input_hash": 3, "_task_hash": 13, "answer": "accept", "accept": ["POS"], "mixed": 3,
         "flag": True, "_view_id": "choice"},
    ])
    out = tmp_path / "answers.parquet"
    code, _, err = run(capsys, "db-out", "ds", out, "--format", "parquet", "--db", db_path)
    assert code == 0 and err.startswith("Exported 3 answers (") and "parquet) from 'ds' to" in err
    table = pq.read_table(out)
    types = {f.name: str(f.type) for f in table.schema}
    assert types["text"] == "string" and types["_input_hash"] == "int64" and types["score"] == "double"
    assert types["flag"] == "bool" and types["meta"] == types["spans"] == types["mixed"] == "string"
    rows = table.to_pylist()
    as_stored = stored(db_path, "ds")
    assert [r["text"] for r in rows] == ["a", "b", "c"] and [r["_input_hash"] for r in rows] == [1, -2, 3]
    assert rows[0]["score"] == 1.0 and rows[1]["score"] == 0.25 and rows[2]["score"] is None
    assert json.loads(rows[0]["meta"]) == {"src": "x"} and rows[1]["meta"] is None
    assert json.loads(rows[1]["spans"]) == as_stored[1]["spans"]
    assert [json.loads(r["mixed"]) if r["mixed"] else None for r in rows] == [None, "s", 3]
    assert rows[2]["flag"] is True and json.loads(rows[2]["accept"]) == ["POS"]
    assert [r["_timestamp"] for r in rows] == [a["_timestamp"] for a in as_stored]
    # only accepted answers, into the same file: replaced whole
    code, _, err = run(capsys, "db-out", "ds", out, "--format", "parquet", "--answer", "accept", "--db", db_path)
    assert code == 0 and [r["text"] for r in pq.read_table(out).to_pylist()] == ["a", "c"]
    before = out.read_bytes()
    code, _, err = run(capsys, "db-out", "nope", out, "--format", "parquet", "--db", db_path)
    assert code == 1 and "no dataset named 'nope'" in err and out.read_bytes() == before  # a good file stays
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []  # and nothing half-written beside it
    code, out_text, err = run(capsys, "db-out", "ds", "--format", "parquet", "--db", db_path)
    assert code == 2 and out_text == "" and "give OUTPUT" in err


def test_an_export_read_back_as_a_source_gives_the_same_texts(tmp_path: Path, db_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    seed(db_path, "ds", [{"text": f"text {i}", "_input_hash": i, "_task_hash": i, "answer": "accept"}
                         for i in range(25_000)])  # more than one row group (10,000 rows each)
    out = tmp_path / "all.parquet"
    assert run(capsys, "db-out", "ds", out, "--format", "parquet", "--db", db_path)[0] == 0
    assert pq.ParquetFile(out).metadata.num_row_groups == 3
    tasks, warnings = read(Source(out))
    assert warnings == [] and [t["text"] for t in tasks] == [f"text {i}" for i in range(25_000)]
    assert tasks[7]["meta"]["answer"] == "accept"


def test_without_pyarrow_one_line_names_the_extra(tmp_path: Path, db_path: Path) -> None:
    """pyarrow missing (its import refused, as on a machine without it): one error line naming the extra, for a
    source and for db-out."""
    seed(db_path, "ds", [{"text": "a", "_input_hash": 1, "_task_hash": 1, "answer": "accept"}])
    source = numbered(tmp_path / "in.parquet", 3, 2)
    code = ("import sys\nsys.modules['pyarrow'] = sys.modules['pyarrow.parquet'] = None\n"
            "from tuiannot.cli import main\nmain(sys.argv[1:])")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for argv in (["db-out", "ds", str(tmp_path / "out.parquet"), "--format", "parquet", "--db", str(db_path)],
                 ["textcat", str(source), "--label", "POS", "--db", str(db_path)]):
        out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=300,
                             env=env, stdin=subprocess.DEVNULL)
        assert out.returncode == 1, (argv, out.stderr)
        assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: "), out.stderr
        assert "needs pyarrow" in out.stderr and "pip install 'tuiannot[parquet]'" in out.stderr
    assert not (tmp_path / "out.parquet").exists()


def test_text_column_chooses_the_column_in_a_real_terminal(tmp_path: Path) -> None:
    import pty
    import sqlite3

    source = write_parquet(tmp_path / "reviews.parquet", {"review": ["great film", "dull film"], "stars": [5, 1]})
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30", "USER": "dana"}
    for name in ("TUIANNOT_DB", "TUIANNOT_KEYMAP", "NO_COLOR"):
        env.pop(name, None)
    db = tmp_path / "answers.db"
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(sys.executable, [sys.executable, "-m", "tuiannot", "textcat", str(source), "--label", "POS",
                                    "--text-column", "review", "--db", str(db)], env)
    assert accept_one_and_quit(pid, fd, b"great film", b"dull film") == 0
    with sqlite3.connect(db) as conn:
        rows = [json.loads(c) for (c,) in conn.execute("SELECT content FROM answers")]
    assert [(r["text"], r["meta"], r["answer"]) for r in rows] == [("great film", {"stars": 5}, "accept")]


@pytest.mark.parametrize("argv, needle", [
    (["reviews.jsonl", "--text-column", "review"], "--text-column is for Parquet sources"),
    (["reviews.parquet", "--text-column", " "], "--text-column is blank"),
    (["reviews.parquet", "--loader", "parquet:body", "--text-column", "review"], "both name the text column"),
    (["reviews.parquet", "--text-column", "nope"], "no column 'nope' for the text (columns: review, stars)"),
])
def test_text_column_mistakes_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           argv: list[str], needle: str) -> None:
    write_parquet(tmp_path / "reviews.parquet", {"review": ["great film"], "stars": [5]})
    (tmp_path / "reviews.jsonl").write_text('{"text": "x"}\n', encoding="utf-8")
    argv = [str(tmp_path / a) if a.startswith("reviews.") else a for a in argv]
    code, out, err = run(capsys, "textcat", *argv, "--label", "POS", "--db", tmp_path / "answers.db")
    assert code != 0 and out == "" and err.count("\n") == 1 and needle in err, err
    assert not (tmp_path / "answers.db").exists()  # refused before anything is written


def test_only_recipes_with_a_loader_take_text_column(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "textcat", "--help")
    assert code == 0 and "--text-column" in out
    code, out, _ = run(capsys, "review", "--help")
    assert code == 0 and "--text-column" not in out

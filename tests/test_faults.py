"""Special files and poison records: nothing lost, nothing silently wrong (issue 13, its high items).

Special files are made in a temporary folder (``mkfifo``, symlinks, ``mknod`` as root), never the real
``/dev`` entries: the bug these tests keep out replaced such files with plain ones.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import tuiannot
from tuiannot.sources import Source
from tuiannot.stream import Stream

from .helpers import recipe_app, wait_for_task, write_jsonl

ROOT = os.geteuid() == 0
TUIANNOT = [sys.executable, "-m", "tuiannot"]


@pytest.fixture
def db_with_answers(tmp_path: Path) -> Path:
    db_path = tmp_path / "t.db"
    with tuiannot.connect(db_path) as db:
        db.add_answers("ds", [{"text": f"text {i}", "label": "X", "answer": "accept"} for i in range(400)])
    return db_path


def db_out(db_path: Path, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TUIANNOT, "db-out", "ds", *map(str, args), "--db", str(db_path)],
                          capture_output=True, text=True, timeout=120)


def read_fifo(path: Path, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        with open(path, "rb") as f:
            into.append(f.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("fmt", ["jsonl", "doccano", "label-studio"])
def test_db_out_writes_into_a_fifo_instead_of_replacing_it(tmp_path: Path, db_with_answers: Path, fmt: str) -> None:
    fifo = tmp_path / "o.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = read_fifo(fifo, got)
    result = db_out(db_with_answers, fifo, "--format", fmt)
    reader.join(timeout=60)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still a FIFO
    text = got[0].decode("utf-8")
    records = json.loads(text) if fmt == "label-studio" else [json.loads(line) for line in text.splitlines()]
    assert len(records) == 400


def test_db_out_writes_through_a_symlink_and_keeps_a_files_permissions(tmp_path: Path,
                                                                        db_with_answers: Path) -> None:
    target = tmp_path / "elsewhere" / "answers.jsonl"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    assert db_out(db_with_answers, link).returncode == 0
    assert link.is_symlink() and len(target.read_text().splitlines()) == 400
    os.chmod(target, 0o640)
    assert db_out(db_with_answers, target).returncode == 0
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640 and len(target.read_text().splitlines()) == 400


@pytest.mark.skipif(not ROOT, reason="mknod needs root (CI runs as root)")
def test_db_out_to_device_nodes(tmp_path: Path, db_with_answers: Path) -> None:
    null, full = tmp_path / "null", tmp_path / "full"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    assert db_out(db_with_answers, null).returncode == 0
    assert stat.S_ISCHR(os.stat(null).st_mode)  # still the device
    result = db_out(db_with_answers, full)
    assert result.returncode == 1 and stat.S_ISCHR(os.stat(full).st_mode)
    assert result.stderr.strip().splitlines()[-1] == f"error: {full}: cannot write (No space left on device)"


def test_db_out_to_a_pipe_given_as_a_path(tmp_path: Path, db_with_answers: Path) -> None:
    """``db-out DS >(gzip > x.gz)``: the shell passes /dev/fd/N, a pipe."""
    out = tmp_path / "x.gz"
    result = subprocess.run(["bash", "-c", f'{" ".join(TUIANNOT)} db-out ds >(gzip > "{out}") --db "{db_with_answers}"'
                             "; wait"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for _ in range(100):
        if out.exists() and out.stat().st_size:
            break
        threading.Event().wait(0.05)
    import gzip

    assert len(gzip.decompress(out.read_bytes()).splitlines()) == 400


def numbered(n: int) -> list[dict[str, str]]:
    return [{"text": f"text number {i}"} for i in range(n)]


@pytest.mark.parametrize("loader", ["jsonl", "json", "csv", "txt"])
def test_a_pipe_is_read_once_from_the_start(tmp_path: Path, loader: str) -> None:
    """``<(cat file)``: every record, in order, from the first (the checks' bytes are not lost)."""
    rows = numbered(1000)
    if loader == "jsonl":
        content = "".join(json.dumps(r) + "\n" for r in rows)
    elif loader == "json":
        content = json.dumps(rows)
    elif loader == "csv":
        content = "id,text\n" + "".join(f"{i},{r['text']}\n" for i, r in enumerate(rows))
    else:
        content = "".join(r["text"] + "\n" for r in rows)
    read, write = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(write, content.encode()), os.close(write)), daemon=True)
    writer.start()
    source = Source(f"/dev/fd/{read}", loader=loader)
    stream = Stream(source)
    tasks, last = [], None
    for task in stream:
        tasks.append(task)
        last = stream.position
    os.close(read)
    assert [t["text"] for t in tasks] == [r["text"] for r in rows]
    assert source.progress is None  # a pipe has no size: no made-up percentage
    assert last is not None and last.share is None and last.lines is None and source.line_count() is None
    assert last.line == {"jsonl": 1000, "txt": 1000, "csv": 1001}.get(loader, last.line)
    with pytest.raises(tuiannot.errors.SourceError, match="read only once"):
        list(Stream(source))


def test_a_fifo_is_read_when_its_writer_comes(tmp_path: Path) -> None:
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in numbered(50)))

    threading.Thread(target=write, daemon=True).start()
    assert len(list(Stream(Source(fifo, loader="jsonl")))) == 50


def test_db_in_reads_standard_input(tmp_path: Path) -> None:
    content = "".join(json.dumps({"text": f"t{i}", "label": "X", "answer": "accept"}) + "\n" for i in range(30))
    result = subprocess.run([*TUIANNOT, "db-in", "ds", "-", "--db", str(tmp_path / "t.db")], input=content,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Imported 30 answers" in result.stdout
    with tuiannot.connect(tmp_path / "t.db") as db:
        assert db.count_answers("ds") == 30


POISON_JSONL = [
    '{"text": "first"}',
    '{"text": "a long number", "n": ' + "1" * 5000 + "}",
    '{"text": "deep", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"text": "a huge hash", "_input_hash": 1180591620717411303424}',
    '{"text": "a boolean hash", "_input_hash": true}',
    '{"text": "after"}',
]


def test_poison_records_are_skipped_with_their_line_and_the_rest_is_served(tmp_path: Path) -> None:
    source = tmp_path / "poison.jsonl"
    source.write_text("\n".join(POISON_JSONL) + "\n", encoding="utf-8")
    stream = Stream(Source(source))
    tasks = list(stream)
    assert [t["text"] for t in tasks] == ["first", "a huge hash", "a boolean hash", "after"]
    warnings = list(stream.warnings)
    assert warnings[0] == f"{source}:2: invalid JSON: a number with too many digits (the limit is 4300)"
    assert warnings[1] == f"{source}:3: invalid JSON: nested too deeply"
    assert warnings[2].startswith(f"{source}:4: _input_hash 1180591620717411303424 is not a 64-bit hash")
    assert warnings[3].startswith(f"{source}:5: _input_hash True is not a 64-bit hash")
    assert stream.invalid == 2
    # the hashes were computed instead: the answers are saved
    with tuiannot.connect(tmp_path / "t.db") as db:
        for task in tasks:
            db.add_answer("ds", {**task, "answer": "accept"})
        assert db.count_answers("ds") == 4


def test_poison_elements_of_a_json_array_are_skipped(tmp_path: Path) -> None:
    big = "1" * 5000
    source = tmp_path / "poison.json"
    source.write_text('[{"text": "first"},\n {"text": "big", "n": ' + big + '},\n {"text": "deep", "x": '
                      + "[" * 100_000 + "]" * 100_000 + "},\n " + big + ',\n {"text": "s\\"tr]", "y": [1, {"a": "}"}]'
                      '},\n {"text": "after"}]', encoding="utf-8")
    stream = Stream(Source(source))
    assert [t["text"] for t in stream] == ["first", 's"tr]', "after"]
    assert [w.split(": ", 1)[0] for w in stream.warnings] == [f"{source}:2", f"{source}:3", f"{source}:4"]


def test_a_poison_record_does_not_stop_annotation(tmp_path: Path) -> None:
    """The prefetch thread skips it, and a restart goes past it too."""
    from tuiannot.controller import Controller
    from tuiannot.recipes import Components, get_recipe

    source = tmp_path / "poison.jsonl"
    source.write_text("\n".join(POISON_JSONL) + "\n", encoding="utf-8")
    for run in range(2):
        components = Components.from_value(get_recipe("textcat")(str(source), label="X"))
        with tuiannot.connect(tmp_path / "t.db") as db:
            controller = Controller(components, db, "alice").start()
            answered = 0
            while controller.next_task(timeout=30) is not None:
                controller.answer("accept")
                answered += 1
            summary = controller.close()
        assert answered == (4 if run == 0 else 0) and summary.error is None and summary.invalid == 2
    with tuiannot.connect(tmp_path / "t.db") as db:
        assert db.count_answers("poison") == 4


BAD_ANSWERS = [
    ('{"text": "yesterday", "_timestamp": "yesterday"}', "'_timestamp' must be seconds since 1970"),
    ('{"text": "far", "_timestamp": 1e308}', "'_timestamp' must be seconds since 1970"),
    ('{"text": "giant", "_task_hash": 1180591620717411303424}', "'_task_hash' must be an integer that fits in 64"),
    ('{"text": "list", "label": ["A"]}', "'label' must be a string"),
    ('{"text": "object", "_session_id": {"a": 1}}', "'_session_id' must be a string"),
    ('{"text": "minus", "_seconds": -3}', "'_seconds' must be a number of seconds"),
    ('{"text": "deep", "meta": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested too deeply"),
    ('{"text": "huge", "n": ' + "9" * 5000 + "}", "too many digits"),
    ('{"text": "nan", "score": NaN}', "NaN is not JSON"),
    ('{"text": {"x": 1}}', "'text' must be a string"),  # was imported, and exported as nothing
    ('{"text": 5}', "'text' must be a string"),
    ('{"text": "half a pair", "meta": {"note": "\\ud800"}}', "a lone surrogate"),  # was "internal error"
]


def test_db_in_names_every_bad_record_and_imports_the_rest(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    lines = ['{"text": "good one", "label": "X"}'] + [line for line, _ in BAD_ANSWERS] + ['{"text": "good two"}']
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db_path = tmp_path / "t.db"
    result = subprocess.run([*TUIANNOT, "db-in", "ds", str(source), "--db", str(db_path)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    warnings = result.stderr.splitlines()
    assert len(warnings) == len(BAD_ANSWERS)
    for n, (warning, (_, reason)) in enumerate(zip(warnings, BAD_ANSWERS, strict=True), start=2):
        assert warning.startswith(f"warning: {source}:{n}: ") and reason in warning, warning
    assert f"Imported 2 answers into 'ds' (accept 2); {len(BAD_ANSWERS)} invalid records skipped" in result.stdout
    # and every report still works on what was imported
    for command in (["stats"], ["stats", "ds"], ["progress", "ds"]):
        report = subprocess.run([*TUIANNOT, *command, "--db", str(db_path), "--json"], capture_output=True,
                                text=True, timeout=120)
        assert report.returncode == 0, report.stderr
        json.loads(report.stdout)


def test_db_in_strict_imports_nothing_when_a_record_is_bad(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "good"}\n{"text": "bad", "_timestamp": "yesterday"}\n{"text": "good too"}\n')
    db_path = tmp_path / "t.db"
    result = subprocess.run([*TUIANNOT, "db-in", "ds", str(source), "--strict", "--db", str(db_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: {source}:2: '_timestamp' must be seconds since 1970")
    with tuiannot.connect(db_path) as db:
        assert db.count_answers("ds") == 0


def test_reports_survive_rows_stored_before_fields_were_checked(tmp_path: Path) -> None:
    """An old row with a timestamp of 1e308 no longer breaks stats and progress for the whole database."""
    import sqlite3

    db_path = tmp_path / "t.db"
    with tuiannot.connect(db_path) as db:
        db.add_answers("ds", [{"text": "fine", "answer": "accept"}, {"text": "odd", "answer": "accept"}])
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE answers SET timestamp = 1e308 WHERE content LIKE '%odd%'")
    conn.commit()
    conn.close()
    for command in (["stats"], ["stats", "ds"], ["progress", "ds"]):
        result = subprocess.run([*TUIANNOT, *command, "--db", str(db_path)], capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr


def not_json(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


@pytest.mark.usefixtures("cli_env")
def test_absurd_times_in_old_rows_are_said_briefly_and_json_stays_valid(capsys: pytest.CaptureFixture[str],
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path) -> None:
    """An old row with ``_seconds`` 1e308 printed a 300-digit median that broke the stats and progress tables into
    a character per line; infinity printed ``Infinity`` in --json (not JSON). A time of 1e-300 s passes the checks
    on the way in and made a 300-digit rate."""
    import re
    import sqlite3

    from rich.cells import cell_len

    from .helpers import run, seed

    db_path = tmp_path / "t.db"
    seed(db_path, "ds", [{"text": who, "answer": "accept", "_seconds": seconds, "_session_id": f"ds-{who}"}
                         for who, seconds in (("ann", 2), ("bob", 3), ("cy", 1e-300))])
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE answers SET seconds = 1e308 WHERE session = 'ann'")
    conn.execute("UPDATE answers SET seconds = 9e999 WHERE session = 'bob'")  # infinity
    conn.commit()
    conn.close()
    monkeypatch.setenv("COLUMNS", "100")
    for command in ("stats", "progress"):
        code, out, err = run(capsys, command, "ds", "--db", db_path)
        assert (code, err) == (0, ""), err
        assert max(cell_len(line) for line in out.splitlines()) <= 100 and not re.search(r"\d{12}", out), out
        rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()[:1] in (["ann"], ["bob"],
                                                                                                    ["cy"])}
        assert "1e+308" in rows["ann"] and "—" in rows["bob"] and "3.6e+303" in rows["cy"], out
        code, out, err = run(capsys, command, "ds", "--json", "--db", db_path)
        report = json.loads(out, parse_constant=not_json)
        people = report["by_session"] if command == "stats" else {p["annotator"]: p for p in report["annotators"]}
        assert [people[who]["median_seconds"] for who in ("ann", "bob", "cy")] == [1e308, None, 0.0]
        assert people["cy"]["answers_per_hour"] == pytest.approx(3.6e303)


def test_an_image_path_that_is_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    from tuiannot.images.decode import ImageError, read_bytes

    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="not a regular file"):
        read_bytes(str(fifo))  # no writer: opening it would hang


def test_annotating_from_standard_input_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run([*TUIANNOT, "textcat", "-", "--label", "X", "--loader", "jsonl", "--db",
                             str(tmp_path / "t.db")], input='{"text": "a"}\n', capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("error: annotating reads your keys from standard input")
    assert result.stderr.count("\n") == 1


def test_folders_export_copies_images_only(tmp_path: Path) -> None:
    """An answer may name any path (an import, say): only image files are copied; a long label still works."""
    from PIL import Image

    from tuiannot.images.export import to_folders

    photo = tmp_path / "cat.png"
    Image.new("RGB", (4, 4), (200, 10, 10)).save(photo)
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    fifo = tmp_path / "f.png"
    os.mkfifo(fifo)
    long_label = "L" * 300
    answers = [{"image": str(photo), "answer": "accept", "accept": ["CAT", long_label], "_input_hash": 1},
               {"image": str(secret), "answer": "accept", "accept": ["CAT"], "_input_hash": 2},
               {"image": str(fifo), "answer": "accept", "accept": ["CAT"], "_input_hash": 3}]
    warnings: list[str] = []
    counts = to_folders(answers, tmp_path / "out", warn=warnings.append)
    assert sum(counts.values()) == 2 and len(warnings) == 2
    assert "not an image file" in warnings[0] and "not a regular file" in warnings[1]
    copied = sorted(p.relative_to(tmp_path / "out") for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert len(copied) == 2 and all(p.name == "cat.png" for p in copied)
    assert not any((tmp_path / "out").rglob("passwd"))


def test_a_second_text_column_and_junk_after_a_json_array_are_reported(tmp_path: Path) -> None:
    csv_path = tmp_path / "two.csv"
    csv_path.write_text("text,id,Text\nx,1,y\n")
    with pytest.raises(tuiannot.errors.SourceError, match=r"two.csv:1: the CSV header has 2 'text' columns"):
        Source(csv_path)
    json_path = tmp_path / "junk.json"
    json_path.write_text('[{"text": "a"},\n{"text": "b"}]\n junk\n')
    stream = Stream(Source(json_path))
    assert [t["text"] for t in stream] == ["a", "b"]
    assert list(stream.warnings) == [f"{json_path}:3: text after the end of the JSON array (']'): ignored"]


async def test_a_keymap_path_with_markup_is_shown_literally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An invalid keymap at km/[/bold]x/keymap.json is a warning, not Textual's traceback."""
    bad = tmp_path / "km" / "[/bold]x" / "keymap.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("[1, 2]")
    monkeypatch.setenv("TUIANNOT_KEYMAP", str(bad))
    source = write_jsonl(tmp_path / "t.jsonl", [{"text": "hello"}])
    app = recipe_app("textcat", tmp_path / "t.db", str(source), label="X")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, app.annotation_screen)
        await pilot.pause()
        shown = [n.message for n in app._notifications]  # noqa: SLF001
        assert any("[/bold]x" in m and "keymap ignored" in m for m in shown), shown


def test_the_crash_log_is_private(tmp_path: Path) -> None:
    """An unexpected error writes its traceback to ~/.tuiannot/crash.log, readable by the user only."""
    recipes = tmp_path / "boom.py"
    recipes.write_text("from tuiannot import recipe\n\n@recipe('boom')\ndef boom(source: str):\n"
                       "    raise RuntimeError('a record: secret text')\n")
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    result = subprocess.run([*TUIANNOT, "-F", str(recipes), "boom", "x", "--db", str(tmp_path / "t.db")],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 1 and "internal error: RuntimeError" in result.stderr
    folder, log = tmp_path / "home" / ".tuiannot", tmp_path / "home" / ".tuiannot" / "crash.log"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(log.stat().st_mode) == 0o600
    assert "secret text" in log.read_text()


@pytest.mark.skipif(not ROOT, reason="mknod needs root (CI runs as root)")
@pytest.mark.parametrize("fmt", ["jsonl", "doccano"])
def test_db_out_to_a_full_standard_output_is_one_line(tmp_path: Path, db_with_answers: Path, fmt: str) -> None:
    full = tmp_path / "full"
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    with open(full, "w") as stdout:
        result = subprocess.run([*TUIANNOT, "db-out", "ds", "--format", fmt, "--db", str(db_with_answers)],
                                stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr == "error: standard output: cannot write (No space left on device); the export is incomplete\n"


def test_iaa_from_a_folder_says_so(tmp_path: Path) -> None:
    result = subprocess.run([*TUIANNOT, "iaa", "--from", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stderr == f"error: {tmp_path}: is a directory; give the CSV file\n"


def test_a_bad_base64_data_uri_says_so() -> None:
    from tuiannot.images.decode import ImageError, read_bytes

    with pytest.raises(ImageError, match="invalid base64 in the data URI"):
        read_bytes("data:image/png;base64,!!!!")  # it was "empty file"
    with pytest.raises(ImageError, match="empty data URI"):
        read_bytes("data:image/png;base64,")


@pytest.mark.parametrize("argv", [["stats"], ["stats", "ds"], ["progress", "ds"], ["iaa", "ds", "--json"],
                                  ["llm-cache", "ds", "--stats"]])
def test_a_report_to_a_full_standard_output_is_one_line(tmp_path: Path, db_with_answers: Path,
                                                        argv: list[str]) -> None:
    full = tmp_path / "full"
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    with open(full, "w") as stdout:
        result = subprocess.run([*TUIANNOT, *argv, "--db", str(db_with_answers)],
                                stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ("error: standard output: cannot write (No space left on device); what the command did "
                             "is done, its report is lost\n")

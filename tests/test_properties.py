"""Any input gives tasks or one-line warnings with a line number; never an exception (hypothesis).

Every loader and ``db-in`` are fed arbitrary bytes and arbitrary JSON-ish lines: a source is either refused
whole with one :class:`~tuiannot.errors.SourceError` (not a text file, no ``text`` column) or read to the end,
every bad record becoming a warning ``file:line: reason``; and a good record after the bad ones is always
served (imported, for ``db-in``).

``db-in`` is driven through the real command line (:func:`tests.helpers.run`) in every ``--format``, on
arbitrary bytes and on records of each format's shape whose every field may be of any JSON type (a ``result``
that is a number, labels that are objects, offsets that are strings): it exits 0 with a warning
``FILE:LINE: reason`` per record it leaves out and the good record imported, or 1 with one ``error:`` line;
never "internal error", never a traceback; ``--strict`` imports nothing when anything was left out. The
image loader (a folder, a JSONL of paths) is fed arbitrary bytes as images and as task lines.
"""

from __future__ import annotations

import itertools
import json
import re
import string
from pathlib import Path
from typing import Any, Iterator

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is in the test extra")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import tuiannot  # noqa: E402
from tuiannot.errors import SourceError  # noqa: E402
from tuiannot.sources import Source  # noqa: E402
from tuiannot.stream import Stream  # noqa: E402

GOOD = "the good record after the rest"
WARNING = re.compile(r"^.+:\d+: \S")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(1 << 80), max_value=1 << 80)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20) | st.just("lone \ud800"),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["text", "label", "answer", "_input_hash", "_task_hash", "_timestamp", "_seconds", "meta",
                         "spans", "accept", "options", "tokens", "_session_id", "x"]) | st.text(max_size=5),
        children, max_size=5),
    max_leaves=12)
json_lines = json_values.map(lambda v: json.dumps(v, allow_nan=True))
noise = st.text(alphabet=string.printable + "\x00\x1b\x9b\u202e\u200b{}[]\",:", max_size=40)
odd_lines = st.lists(json_lines | noise | st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
                     min_size=0, max_size=8)


def read_all(path: Path, loader: str, **options: object) -> tuple[list[dict], list[str]]:
    """Every task and warning of the source, or ``([], [error])`` when it is refused whole."""
    try:
        stream = Stream(Source(path, loader=loader, **options))  # type: ignore[arg-type]
    except SourceError as e:
        assert "\n" not in str(e)
        return [], [str(e)]
    tasks = list(stream)
    return tasks, list(stream.warnings)


@SETTINGS
@given(data=st.binary(max_size=300), loader=st.sampled_from(["jsonl", "json", "csv", "tsv", "txt"]))
def test_any_bytes_give_tasks_or_warnings(tmp_path: Path, data: bytes, loader: str) -> None:
    path = tmp_path / f"in.{loader}"
    path.write_bytes(data)
    tasks, warnings = read_all(path, loader)
    assert all(isinstance(t.get("text"), str) and isinstance(t["_input_hash"], int) for t in tasks)
    assert all(WARNING.match(w) or w.startswith(str(path)) for w in warnings), warnings


@SETTINGS
@given(lines=odd_lines, loader=st.sampled_from(["jsonl", "txt"]))
def test_a_good_record_after_bad_ones_is_served(tmp_path: Path, lines: list[str], loader: str) -> None:
    path = tmp_path / f"in.{loader}"
    good = json.dumps({"text": GOOD}) if loader == "jsonl" else GOOD
    path.write_bytes(("\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines) + "\n" + good + "\n")
                     .encode("utf-8", "surrogatepass"))
    tasks, warnings = read_all(path, loader)
    if refused_as_binary(path, lines, warnings):  # refused whole only for a NUL byte, as git tells binary files
        return
    assert tasks and tasks[-1]["text"] == GOOD
    assert all(WARNING.match(w) for w in warnings), warnings


def refused_as_binary(path: Path, lines: list[str], warnings: list[str]) -> bool:
    return warnings == [f"{path}: looks like a binary file, not text"] and "\x00" in "".join(lines)


@SETTINGS
@given(lines=odd_lines)
def test_a_good_element_after_bad_ones_in_a_csv_is_served(tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "in.csv"
    # no double quotes: in CSV an unclosed quote opens a field that may run to the end of the file (by design;
    # the row is reported), so no later record can be promised
    body = "".join(line.replace("\n", " ").replace("\r", " ").replace('"', "'") + "\n" for line in lines)
    path.write_bytes(("id,text\n" + body + f'9,"{GOOD}"\n').encode("utf-8", "surrogatepass"))
    tasks, warnings = read_all(path, "csv")
    if refused_as_binary(path, lines, warnings):
        return
    assert tasks and tasks[-1]["text"] == GOOD, warnings
    assert all(WARNING.match(w) for w in warnings), warnings


@SETTINGS
@given(values=st.lists(json_values, max_size=6))
def test_a_json_array_of_anything_is_read_to_its_end(tmp_path: Path, values: list[object]) -> None:
    path = tmp_path / "in.json"
    path.write_text(json.dumps([*values, {"text": GOOD}], allow_nan=True), encoding="utf-8")
    tasks, warnings = read_all(path, "json")
    assert tasks and tasks[-1]["text"] == GOOD, warnings


@SETTINGS
@given(lines=odd_lines)
def test_db_in_imports_every_good_record_and_names_the_rest(tmp_path: Path, lines: list[str]) -> None:
    from tuiannot.cli.datasets import _check_answer_record

    path = tmp_path / "in.jsonl"
    body = "".join(line.replace("\n", " ").replace("\r", " ") + "\n" for line in lines)
    path.write_bytes((body + json.dumps({"text": GOOD, "answer": "accept"}) + "\n").encode("utf-8", "surrogatepass"))
    try:
        stream = Stream(Source(path, loader="jsonl", validate=_check_answer_record))
    except SourceError as e:
        assert refused_as_binary(path, lines, [str(e)])
        return
    db_path = tmp_path / "t.db"
    if db_path.exists():
        db_path.unlink()
    with tuiannot.connect(db_path) as db:
        imported = db.add_answers("ds", ({**t, "answer": t.get("answer", "accept")} for t in stream))
        answers = list(db.answers("ds"))
    assert imported == len(answers) and answers[-1]["text"] == GOOD
    assert all(WARNING.match(w) for w in stream.warnings), list(stream.warnings)


# -- db-in through the command line, every --format ---------------------------------------------------------------
FORMATS = ["prodigy", "label-studio", "doccano", "spacy", "conll"]
CLI_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CLI_WARNING = re.compile(r"^warning: (?P<file>.+):(?P<line>\d+): \S")
MORE = re.compile(r"^warning: … and \d+ more invalid records?$")
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""What must never reach a terminal raw (C0 but newline, DEL, C1, bidi overrides)."""
TOKENS = GOOD.split()
GOOD_RECORDS: dict[str, str] = {  # one record each format reads, its text GOOD
    "prodigy": json.dumps({"text": GOOD, "answer": "accept"}),
    "label-studio": json.dumps({"data": {"text": GOOD},
                                "annotations": [{"result": [{"type": "choices", "value": {"choices": ["POS"]}}]}]}),
    "doccano": json.dumps({"text": GOOD, "label": [[0, 3, "ORG"]]}),
    "spacy": json.dumps({"text": GOOD, "cats": {"POS": 1.0}}),
    "conll": "".join(f"{t}\t{'B-ORG' if i == 0 else 'O'}\n" for i, t in enumerate(TOKENS)),
}
_files = itertools.count()


scalars = st.none() | st.booleans() | st.integers(-3, 40) | st.floats(-1, 2) | st.text(max_size=3)
word = st.text(max_size=10)
labels = st.lists(st.sampled_from(["ORG", "PER", "POS"]), max_size=2)
offset = st.integers(min_value=0, max_value=12)
VALID: dict[str, Any] = {  # records as each tool writes them (the keys after the first few: some of them)
    "prodigy": st.fixed_dictionaries({"text": word, "answer": st.sampled_from(["accept", "reject"])}, optional={
        "_input_hash": st.integers(-(1 << 63), (1 << 63) - 1), "_timestamp": st.integers(0, 2_000_000_000),
        "_seconds": st.floats(0, 100), "label": st.just("ORG"), "accept": labels, "meta": st.just({"id": 1}),
        "spans": st.lists(st.fixed_dictionaries({"start": offset, "end": offset, "label": st.just("ORG")}),
                          max_size=2),
        "options": st.just([{"id": "POS", "text": "POS"}]), "_session_id": word}),
    "label-studio": st.fixed_dictionaries({
        "data": st.fixed_dictionaries({"text": word}) | st.fixed_dictionaries({"title": word, "body": word}),
        "annotations": st.lists(st.fixed_dictionaries({"result": st.lists(
            st.fixed_dictionaries({"type": st.just("labels"), "to_name": st.sampled_from(["text", "body"]),
                                   "value": st.fixed_dictionaries({"start": offset, "end": offset, "text": word,
                                                                   "labels": labels})})
            | st.fixed_dictionaries({"type": st.just("choices"), "value": st.fixed_dictionaries({
                "choices": labels})}), max_size=2)},
            optional={"completed_by": st.fixed_dictionaries({"id": offset, "email": word}),
                      "updated_at": st.sampled_from(["2024-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00",
                                                     "0001-01-01T00:00:00+14:00", "yesterday"]),
                      "lead_time": st.floats(0, 100), "was_cancelled": st.booleans()}), max_size=2)},
        optional={"id": offset, "predictions": st.just([])}),
    "doccano": st.fixed_dictionaries({"text": word}, optional={
        "id": offset, "label": st.lists(st.tuples(offset, offset, st.just("ORG")).map(list), max_size=2) | labels,
        "entities": st.lists(st.fixed_dictionaries({"id": offset, "start_offset": offset, "end_offset": offset,
                                                    "label": st.just("PER")}), max_size=2),
        "relations": st.just([{"from_id": 0, "to_id": 1, "type": "of"}]), "meta": st.just({"source": "x"})}),
    "spacy": st.fixed_dictionaries({"text": word, "cats": st.dictionaries(st.sampled_from(["POS", "NEG"]),
                                                                          st.floats(0, 1), max_size=2)},
                                   optional={"meta": st.just({"source": "x"})}),
}


def places(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every value inside a JSON value (itself first)."""
    yield path
    for key, inner in (value.items() if isinstance(value, dict) else enumerate(value)
                       if isinstance(value, list) else ()):
        yield from places(inner, (*path, key))


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


@st.composite
def mistaken(draw: st.DrawFn, valid: Any) -> Any:
    """A record as a tool writes it with one or two of its values (a field, an entry, a whole list) of any other
    shape or type: a ``result`` that is a number, labels that are objects, offsets that are strings..."""
    record = draw(valid)
    for _ in range(draw(st.integers(0, 2))):
        record = replaced(record, draw(st.sampled_from(list(places(record)))), draw(scalars | json_values))
    return record


SHAPES: dict[str, Any] = {fmt: mistaken(valid) for fmt, valid in VALID.items()}
SHAPES["conll"] = st.lists(st.tuples(st.text(max_size=6), st.sampled_from(["O", "B-ORG", "I-ORG", "E-PER", "X", ""]),
                                     st.sampled_from(["\t", " "])), min_size=1, max_size=4)


def db_in(capsys: pytest.CaptureFixture[str], tmp_path: Path, body: bytes, fmt: str | None,
          *options: str) -> tuple[int, str, str, Path, list[dict]]:
    """``tuiannot db-in ds FILE [--format fmt]`` on a fresh file and database: the exit code, stdout, stderr,
    the file and what the database holds (an error: nothing); the output checked to be what a person may be
    shown."""
    from .helpers import run, stored

    number = next(_files)
    path, db_path = tmp_path / f"in{number}.data", tmp_path / f"db{number}.db"
    path.write_bytes(body)
    code, out, err = run(capsys, "db-in", "ds", path, *(("--format", fmt) if fmt else ()), *options,
                         "--db", db_path)
    assert code in (0, 1), (code, err)
    assert "internal error" not in err and "Traceback" not in err, err
    assert RAW.search(out + err) is None, (out, err)  # what a record holds is never printed raw
    if code == 1:
        assert err.startswith("error: ") and err.count("\n") == 1 and out == "", (out, err)
        with tuiannot.connect(db_path) as db:  # (it may leave the dataset, empty)
            left = {name: db.count_answers(name) for name in db.datasets()}
        assert not any(left.values()), f"an import that failed left answers behind: {left}"
        return code, out, err, path, []
    assert out.startswith("Imported ") and out.count("\n") == 1, out
    for line in err.splitlines():
        found = CLI_WARNING.match(line)
        assert MORE.match(line) or (found and found["file"] == str(path)), line
        assert not found or 1 <= int(found["line"]) <= body.count(b"\n") + 1, (line, body)
    return code, out, err, path, stored(db_path, "ds")


def record_lines(fmt: str, records: list[Any]) -> list[str]:
    if fmt == "conll":  # a sentence per record, a blank line after each
        return ["".join(f"{t}{sep}{tag}\n" for t, tag, sep in rows).replace("\r", " ") for rows in records]
    return [json.dumps(r) + "\n" for r in records]


@pytest.mark.usefixtures("cli_env")
@CLI_SETTINGS
@given(data=st.binary(max_size=300), fmt=st.sampled_from([None, *FORMATS]))
def test_db_in_of_any_bytes_in_every_format_is_answers_or_one_line(capsys: pytest.CaptureFixture[str],
                                                                   tmp_path: Path, data: bytes,
                                                                   fmt: str | None) -> None:
    db_in(capsys, tmp_path, data, fmt)


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize("fmt", FORMATS)
@CLI_SETTINGS
@given(data=st.data(), array=st.booleans())
def test_db_in_of_any_shape_in_every_format_imports_the_good_record(capsys: pytest.CaptureFixture[str],
                                                                    tmp_path: Path, data: st.DataObject, fmt: str,
                                                                    array: bool) -> None:
    """Records of the format's shape with fields of any type, then a good one: the good one is imported, each
    left out is named (for a JSON array, the element's line); ``--strict`` imports nothing if any was."""
    records = data.draw(st.lists(SHAPES[fmt], max_size=4), label="records")
    array = array and fmt in ("label-studio", "doccano", "spacy")
    # JSONL whose first line is an array is read as one JSON array (what "[" first means), as designed
    assume(array or fmt == "conll" or not records or not isinstance(records[0], list))
    if array:  # a JSON array: an element per line
        body = "[\n" + ",\n".join([*(json.dumps(r) for r in records), GOOD_RECORDS[fmt]]) + "\n]\n"
    elif fmt == "conll":
        body = "\n".join([*record_lines(fmt, records), GOOD_RECORDS[fmt]])
    else:
        body = "".join(record_lines(fmt, records)) + GOOD_RECORDS[fmt] + "\n"
    code, _, err, _, answers = db_in(capsys, tmp_path, body.encode("utf-8", "surrogatepass"), fmt)
    assert code == 0 and answers and answers[-1]["text"] == GOOD, err
    code, _, strict_err, _, strict_answers = db_in(capsys, tmp_path, body.encode("utf-8", "surrogatepass"), fmt,
                                                   "--strict")
    if err:  # something was left out: nothing at all is imported
        assert code == 1 and strict_answers == [] and "--strict" in strict_err, strict_err
    else:
        assert code == 0 and len(strict_answers) == len(answers)


@pytest.mark.usefixtures("cli_env")
@CLI_SETTINGS
@given(lines=odd_lines, fmt=st.sampled_from(FORMATS))
def test_db_in_serves_the_good_record_after_any_lines_in_every_format(capsys: pytest.CaptureFixture[str],
                                                                      tmp_path: Path, lines: list[str],
                                                                      fmt: str) -> None:
    # a first "[" makes the file one JSON array, which the lines before the good record would break whole
    lines = [line.replace("\n", " ").replace("\r", " ").lstrip("\ufeff \t[") for line in lines]
    body = "".join(line + "\n" for line in lines) + ("\n" if fmt == "conll" else "") + GOOD_RECORDS[fmt] + "\n"
    code, _, err, path, answers = db_in(capsys, tmp_path, body.encode("utf-8", "surrogatepass"), fmt)
    if "\x00" in body and fmt != "conll":  # a NUL byte: a binary file (a DocBin, for spacy), refused whole
        assert code == 1, err
        return
    assert code == 0 and answers and answers[-1]["text"] == GOOD, err


# -- images: a folder, and a JSONL of paths -----------------------------------------------------------------------
def png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (4, 3), (200, 30, 30)).save(path)
    return path


def read_images(source: Path) -> tuple[list[dict], list[str]]:
    from tuiannot.images.tasks import image_stream

    try:
        stream = image_stream(source, cache=None)
    except SourceError as e:
        assert "\n" not in str(e)
        return [], [str(e)]
    return list(stream), list(stream.warnings)


IMAGE_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@IMAGE_SETTINGS
@given(files=st.lists(st.tuples(st.sampled_from(["a.png", "b.jpg", "c.gif", "sub/d.webp", "e.txt"]),
                                st.binary(max_size=200)), max_size=4))
def test_a_folder_of_any_files_serves_its_good_image(tmp_path: Path, files: list[tuple[str, bytes]]) -> None:
    folder = tmp_path / f"imgs{next(_files)}"
    folder.mkdir()
    for name, data in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    png(folder / "zz-good.png")  # sorted last
    tasks, warnings = read_images(folder)
    assert tasks and tasks[-1]["meta"]["file"] == "zz-good.png", warnings
    assert len(tasks) + len(warnings) == len({n for n, _ in files if not n.endswith(".txt")}) + 1, warnings
    assert all(w.startswith(str(folder)) for w in warnings), warnings


@IMAGE_SETTINGS
@given(lines=st.lists(json_lines | noise | st.builds(lambda v: json.dumps({"image": v}), json_values)
                      | st.sampled_from([json.dumps({"image": "missing.png"}), json.dumps({"image": "."}),
                                         json.dumps({"image": "data:image/png;base64,AAAA"}),
                                         json.dumps({"image": "good.png", "meta": 5})]), max_size=6))
def test_a_jsonl_of_any_image_tasks_serves_the_good_one(tmp_path: Path, lines: list[str]) -> None:
    folder = tmp_path / f"tasks{next(_files)}"
    folder.mkdir()
    png(folder / "good.png")
    source = folder / "tasks.jsonl"
    body = "".join(line.replace("\n", " ").replace("\r", " ") + "\n" for line in lines)
    source.write_bytes((body + json.dumps({"image": "good.png", "meta": {"n": 1}}) + "\n")
                       .encode("utf-8", "surrogatepass"))
    tasks, warnings = read_images(source)
    if refused_as_binary(source, lines, warnings):
        return
    assert tasks and tasks[-1]["meta"] == {"n": 1, "file": "good.png"}, warnings
    assert all(re.match(r"^.+:\d+: .", w) for w in warnings), warnings  # the reason may start with the path " 0"

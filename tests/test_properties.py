"""Any input gives tasks or one-line warnings with a line number; never an exception (hypothesis).

Every loader and ``db-in`` are fed arbitrary bytes and arbitrary JSON-ish lines: a source is either refused
whole with one :class:`~tuiannot.errors.SourceError` (not a text file, no ``text`` column) or read to the end,
every bad record becoming a warning ``file:line: reason``; and a good record after the bad ones is always
served (imported, for ``db-in``).
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is in the test extra")
from hypothesis import HealthCheck, given, settings  # noqa: E402
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
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
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

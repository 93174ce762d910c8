"""Sources (lazy loaders), streams, task hashing and terminal sanitising.

Bad input is tested as carefully as good input: every invalid record must come
back as a record carrying the reason and the line it is on, never as an
exception, and a file that cannot be read at all must fail when it is opened.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from .helpers import texts, write_jsonl
from tuiannot.errors import InvalidRecord, SourceError, UserError
from tuiannot.sanitize import one_line, printable
from tuiannot.sources import Record, Source, check_text_task, guess_loader
from tuiannot.stream import Stream
from tuiannot.tasks import (canonical_json, hash_value, input_hash, set_hashes, task_hash)

BOM = b"\xef\xbb\xbf"


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def records(path: Path, **kwargs: Any) -> list[Record]:
    return list(Source(path, **kwargs))


def good(recs: list[Record]) -> list[tuple[int, dict[str, Any]]]:
    return [(r.line, r.task) for r in recs if r.error is None]


def bad(recs: list[Record]) -> list[tuple[int, str]]:
    return [(r.line, r.error) for r in recs if r.error is not None]


# -- loaders: valid input ----------------------------------------------------------
def test_jsonl_reads_every_object_and_keeps_all_fields(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", [
        {"text": "first", "meta": {"id": 1}},
        {"text": "second", "label": "POS", "extra": [1, 2]},
        {"text": "ünïcödé ✓ 日本語"},
    ])
    recs = records(path)
    assert [r.error for r in recs] == [None, None, None]
    assert good(recs) == [
        (1, {"text": "first", "meta": {"id": 1}}),
        (2, {"text": "second", "label": "POS", "extra": [1, 2]}),
        (3, {"text": "ünïcödé ✓ 日本語"}),
    ]
    assert Source(path).loader == "jsonl"


def test_jsonl_skips_blank_lines_but_keeps_line_numbers(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "data.jsonl", b'{"text": "a"}\n\n   \n\t\n{"text": "b"}\r\n{"text": "c"}')
    assert good(records(path)) == [(1, {"text": "a"}), (5, {"text": "b"}), (6, {"text": "c"})]


def test_ndjson_extension_is_jsonl(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.NDJSON", [{"text": "a"}])
    assert Source(path).loader == "jsonl"
    assert good(records(path)) == [(1, {"text": "a"})]


def test_json_array_with_line_numbers_of_each_object(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "data.json", (
        b'[\n'
        b'  {"text": "one"},\n'
        b'  {"text":\n'
        b'     "two", "meta": {"k": "v"}},\n'
        b'  {"text": "three"}, {"text": "four"}\n'
        b']\n'))
    recs = records(path)
    assert Source(path).loader == "json"
    assert good(recs) == [(2, {"text": "one"}), (3, {"text": "two", "meta": {"k": "v"}}),
                          (5, {"text": "three"}), (5, {"text": "four"})]
    assert bad(recs) == []


def test_json_empty_array_has_no_records(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "data.json", b"  [ ]  \n")
    assert records(path) == []


def test_csv_text_column_and_other_columns_in_meta(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "data.csv", (
        b"id,text,lang\n"
        b"1,hello,en\n"
        b'2,"with, a comma and ""quotes""",fr\n'
        b"3,bonjour,fr\n"))
    recs = records(path)
    assert Source(path).loader == "csv"
    assert good(recs) == [
        (2, {"text": "hello", "meta": {"id": "1", "lang": "en"}}),
        (3, {"text": 'with, a comma and "quotes"', "meta": {"id": "2", "lang": "fr"}}),
        (4, {"text": "bonjour", "meta": {"id": "3", "lang": "fr"}}),
    ]


def test_csv_text_column_name_is_case_insensitive_and_alone_gives_no_meta(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "data.csv", b"Text\nalpha\nbeta\n")
    assert good(records(path)) == [(2, {"text": "alpha"}), (3, {"text": "beta"})]


def test_csv_multiline_quoted_field_is_valid_with_line_of_its_first_line(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "data.csv", (
        b"id,text\n"                     # 1
        b'1,"first line\n'               # 2
        b'second line\n'                 # 3
        b'third, line"\n'                # 4
        b"2,after\n"                     # 5
        b"3,too,many\n"                  # 6
        b"4,last\n"))                    # 7
    recs = records(path)
    assert good(recs) == [
        (2, {"text": "first line\nsecond line\nthird, line", "meta": {"id": "1"}}),
        (5, {"text": "after", "meta": {"id": "2"}}),
        (7, {"text": "last", "meta": {"id": "4"}}),
    ]
    assert bad(recs) == [(6, "expected 2 fields (as in the header), got 3")]


def test_csv_header_only_and_blank_rows(tmp_path: Path) -> None:
    assert records(write_bytes(tmp_path / "empty.csv", b"text,id\n")) == []
    path = write_bytes(tmp_path / "blank.csv", b"text,id\n\n\r\na,1\n\n")
    assert good(records(path)) == [(4, {"text": "a", "meta": {"id": "1"}})]


def test_tsv_splits_on_tabs_only(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "data.tsv", b"id\ttext\n1\thello, world\n2\tsecond\n")
    assert Source(path).loader == "tsv"
    assert good(records(path)) == [(2, {"text": "hello, world", "meta": {"id": "1"}}),
                                   (3, {"text": "second", "meta": {"id": "2"}})]


def test_txt_one_task_per_non_blank_line(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "data.txt", b"first line\r\n\n   \nsecond {not json}\n  indented  \nlast")
    assert Source(path).loader == "txt"
    assert good(records(path)) == [(1, {"text": "first line"}), (4, {"text": "second {not json}"}),
                                   (5, {"text": "  indented  "}), (6, {"text": "last"})]


@pytest.mark.parametrize("name,loader", [
    ("a.jsonl", "jsonl"), ("a.JSONL", "jsonl"), ("a.ndjson", "jsonl"), ("a.json", "json"),
    ("a.csv", "csv"), ("a.tsv", "tsv"), ("a.txt", "txt"), ("dir.v2/a.Txt", "txt"),
])
def test_loader_guessed_from_extension(name: str, loader: str) -> None:
    assert guess_loader(Path(name)) == loader


def test_loader_argument_overrides_extension(tmp_path: Path) -> None:
    data = tmp_path / "data.dat"
    data.write_text('{"text": "as json"}\n', encoding="utf-8")
    assert Source(data, loader="jsonl").loader == "jsonl"
    assert good(records(data, loader="jsonl")) == [(1, {"text": "as json"})]
    assert good(records(data, loader="txt")) == [(1, {"text": '{"text": "as json"}'})]
    # a .jsonl file read as plain text, and a .txt file read as CSV
    jl = write_jsonl(tmp_path / "x.jsonl", [{"text": "t"}])
    assert good(records(jl, loader="txt")) == [(1, {"text": '{"text": "t"}'})]
    csv_txt = write_bytes(tmp_path / "x.txt", b"text,n\nhi,1\n")
    assert good(records(csv_txt, loader="csv")) == [(2, {"text": "hi", "meta": {"n": "1"}})]
    js = write_bytes(tmp_path / "x.txt2", b'[{"text": "j"}]')
    assert good(records(js, loader="json")) == [(1, {"text": "j"})]
    tsv = write_bytes(tmp_path / "x.csv", b"text\tn\nhi\t1\n")
    assert good(records(tsv, loader="tsv")) == [(2, {"text": "hi", "meta": {"n": "1"}})]


def test_unknown_loader_argument_is_a_source_error(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "a"}])
    with pytest.raises(SourceError, match="unknown loader 'xml'"):
        Source(path, loader="xml")


# -- BOM -----------------------------------------------------------------------
@pytest.mark.parametrize("name,data,expected", [
    ("a.jsonl", BOM + b'{"text": "a"}\n{"text": "b"}\n', [(1, {"text": "a"}), (2, {"text": "b"})]),
    ("a.json", BOM + b'[{"text": "a"},\n{"text": "b"}]', [(1, {"text": "a"}), (2, {"text": "b"})]),
    ("a.csv", BOM + b"id,text\n1,a\n", [(2, {"text": "a", "meta": {"id": "1"}})]),
    ("a.csv", BOM + b"text,id\na,1\n", [(2, {"text": "a", "meta": {"id": "1"}})]),
    ("a.tsv", BOM + b"text\tid\na\t1\n", [(2, {"text": "a", "meta": {"id": "1"}})]),
    ("a.txt", BOM + b"first\nsecond\n", [(1, {"text": "first"}), (2, {"text": "second"})]),
])
def test_utf8_bom_is_ignored(tmp_path: Path, name: str, data: bytes, expected: list[Any]) -> None:
    recs = records(write_bytes(tmp_path / name, data))
    assert bad(recs) == []
    assert good(recs) == expected
    for _, task in good(recs):
        assert "\ufeff" not in json.dumps(task, ensure_ascii=False)


def test_bom_only_at_the_start_is_special(tmp_path: Path) -> None:
    # a BOM in the middle of a text line is part of the text, not stripped
    path = write_bytes(tmp_path / "a.txt", b"one\n" + BOM + b"two\n")
    assert good(records(path)) == [(1, {"text": "one"}), (2, {"text": "\ufefftwo"})]


# -- laziness ------------------------------------------------------------------
@pytest.fixture(scope="module")
def big_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("big")
    n = 40_000
    rows = [json.dumps({"text": f"text number {i} " + "x" * 80}) for i in range(n)]
    files = {
        "jsonl": root / "big.jsonl", "json": root / "big.json", "csv": root / "big.csv",
        "tsv": root / "big.tsv", "txt": root / "big.txt",
    }
    files["jsonl"].write_text("\n".join(rows) + "\n", encoding="utf-8")
    files["json"].write_text("[\n" + ",\n".join(rows) + "\n]\n", encoding="utf-8")
    files["csv"].write_text("id,text\n" + "".join(f"{i},text number {i} {'x' * 80}\n" for i in range(n)),
                            encoding="utf-8")
    files["tsv"].write_text("id\ttext\n" + "".join(f"{i}\ttext number {i} {'x' * 80}\n" for i in range(n)),
                            encoding="utf-8")
    files["txt"].write_text("".join(f"text number {i} {'x' * 80}\n" for i in range(n)), encoding="utf-8")
    return files


@pytest.mark.parametrize("loader", ["jsonl", "json", "csv", "tsv", "txt"])
def test_first_record_does_not_read_the_whole_file(big_files: dict[str, Path], loader: str) -> None:
    source = Source(big_files[loader])
    assert source.size > 3_000_000
    assert source.offset == 0 and source.progress == 0.0  # opening reads nothing of the records
    first = next(iter(source))
    assert first.error is None
    assert first.task["text"].startswith("text number 0 ")
    # at most one read buffer (64 KiB) of a multi-megabyte file
    assert 0 < source.offset <= 65_536
    assert source.progress < 0.03


def test_offset_is_exact_per_line_and_progress_reaches_one(tmp_path: Path) -> None:
    lines = [b'{"text": "a"}\n', b'{"text": "bb"}\n', b"\n", b'{"text": "ccc"}\n']
    path = write_bytes(tmp_path / "a.jsonl", b"".join(lines))
    source = Source(path)
    offsets = []
    for record in source:
        offsets.append((record.line, record.offset, source.offset))
    assert offsets == [(1, 14, 14), (2, 29, 29), (4, 46, 46)]
    assert source.size == 46
    assert source.progress == 1.0


def test_stream_reads_nothing_until_iterated(big_files: dict[str, Path]) -> None:
    source = Source(big_files["jsonl"])
    stream = Stream(source).map(lambda t: {**t, "label": "X"})
    assert source.offset == 0 and stream.progress == 0.0
    it = iter(stream)
    assert source.offset == 0  # a generator: still nothing read
    task = next(it)
    assert task["label"] == "X" and isinstance(task["_task_hash"], int)
    assert 0 < stream.progress < 0.001


def test_stream_position_is_where_each_task_was_read_even_when_reordered(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", texts(6))
    (tmp_path / "gap.jsonl").write_text(path.read_text().replace("\n", "\n\n", 1))  # a blank line 2
    stream = Stream(Source(tmp_path / "gap.jsonl"))
    places = [(task["text"], stream.position) for task in stream]
    assert [p.line for _, p in places if p] == [1, 3, 4, 5, 6, 7]
    assert places[0][1] is not None and places[0][1].share == 0.0  # nothing before the first task
    assert Source(tmp_path / "gap.jsonl").line_count() == 7

    def pick_backwards(tasks):  # a --teach-like step: reads ahead three, yields them in its own order
        batch = []
        for task in tasks:
            batch.append(task)
            if len(batch) == 3:
                yield from reversed(batch)
                batch = []
        yield from reversed(batch)

    stream = Stream(Source(path)).reorder(pick_backwards)
    seen = [(task["text"], stream.position.line if stream.position else None) for task in stream]
    assert seen == [(f"text number {i}", i + 1) for i in (2, 1, 0, 5, 4, 3)]


def test_line_count_only_where_lines_are_records_and_counting_is_cheap(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert Source(write_bytes(tmp_path / "a.txt", b"one\ntwo")).line_count() == 2  # no newline at the end
    assert Source(write_bytes(tmp_path / "e.txt", b"")).line_count() == 0
    assert Source(write_bytes(tmp_path / "c.csv", b"text\n\"a\nb\"\n")).line_count() is None  # rows span lines
    big = Source(write_jsonl(tmp_path / "big.jsonl", texts(3)))
    monkeypatch.setattr("tuiannot.sources.COUNT_LINES_LIMIT", 10)
    assert big.line_count() is None and big.counted_lines is None


def test_empty_file_has_no_records_and_full_progress(tmp_path: Path) -> None:
    for name in ("e.jsonl", "e.txt"):
        source = Source(write_bytes(tmp_path / name, b""))
        assert list(source) == []
        assert source.size == 0 and source.progress == 1.0


# -- invalid records: reason and line --------------------------------------------
def test_jsonl_every_kind_of_invalid_record(tmp_path: Path) -> None:
    lines = [
        b'{"text": "ok 1"}',                        # 1
        b'{"text": "unterminated',                  # 2 bad JSON
        b'["a", "list"]',                           # 3 not an object
        b'"just a string"',                         # 4 not an object
        b'{"meta": {"id": 1}}',                     # 5 no text
        b'{"text": 42}',                            # 6 text not a string
        b'{"text": null}',                          # 7 text not a string
        b'{"text": "   \\n\\t "}',                  # 8 empty text
        b'{"text": "x", "meta": [1, 2]}',           # 9 meta not an object
        b'{"text": "caf\xe9"}',                     # 10 invalid UTF-8 (latin-1 e-acute)
        b'{"text": "' + b"y" * 300 + b'"}',         # 11 over the size limit
        b'{"text": "ok 2"}',                        # 12
        b'{"text": "ok 3"}',                        # 13 no newline at the end
    ]
    path = write_bytes(tmp_path / "bad.jsonl", b"\n".join(lines))
    recs = records(path, max_record_bytes=100)
    assert good(recs) == [(1, {"text": "ok 1"}), (12, {"text": "ok 2"}), (13, {"text": "ok 3"})]
    errors = dict(bad(recs))
    assert sorted(errors) == list(range(2, 12))
    assert errors[2].startswith("invalid JSON:") and "column" in errors[2]
    assert errors[3] == "expected a JSON object, got an array"
    assert errors[4] == "expected a JSON object, got a string"
    assert errors[5] == "no 'text' field"
    assert errors[6] == "'text' must be a string, not a number"
    assert errors[7] == "'text' must be a string, not null"
    assert errors[8] == "empty 'text'"
    assert errors[9] == "'meta' must be an object, not an array"
    assert errors[10] == "invalid UTF-8 at byte 13"
    assert errors[11].startswith("record too large") and "limit" in errors[11]
    # invalid records carry no task
    assert all(r.task is None for r in recs if r.error is not None)


def test_jsonl_line_exactly_at_the_size_limit_is_accepted(tmp_path: Path) -> None:
    line = b'{"text": "' + b"z" * 88 + b'"}'
    assert len(line) == 100
    path = write_bytes(tmp_path / "a.jsonl", line + b"\n" + line + b"x\n" + line)
    recs = records(path, max_record_bytes=100)
    assert [r.line for r in recs if r.error is None] == [1, 3]
    assert [r.line for r in recs if r.error is not None] == [2]
    assert "too large" in recs[1].error


def test_jsonl_huge_line_is_skipped_without_losing_the_next_lines(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.jsonl",
                       b'{"text": "' + b"q" * 3_000_000 + b'"}\n{"text": "next"}\n{"text": "after"}\n')
    recs = records(path, max_record_bytes=1000)
    assert bad(recs)[0][0] == 1 and "too large" in bad(recs)[0][1]
    assert good(recs) == [(2, {"text": "next"}), (3, {"text": "after"})]


def test_txt_invalid_utf8_and_oversized_lines(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.txt", b"fine\nbad \xff\xfe byte\n" + b"w" * 50 + b"\nfine again\n")
    recs = records(path, max_record_bytes=20)
    assert good(recs) == [(1, {"text": "fine"}), (4, {"text": "fine again"})]
    assert bad(recs)[0] == (2, "invalid UTF-8 at byte 4")
    assert bad(recs)[1][0] == 3 and "too large" in bad(recs)[1][1]


def test_csv_invalid_records(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.csv", (
        b"id,text,lang\n"          # 1
        b"1,good,en\n"             # 2
        b"2,missing lang\n"        # 3 too few fields
        b"3,too,many,fields\n"     # 4 too many fields
        b"4,,en\n"                 # 5 empty text
        b"5,   ,en\n"              # 6 empty text
        b"6,caf\xe9,fr\n"          # 7 invalid UTF-8
        b"7," + b"L" * 200 + b",en\n"  # 8 too large
        b"8,good again,en\n"))     # 9
    recs = records(path, max_record_bytes=100)
    assert good(recs) == [(2, {"text": "good", "meta": {"id": "1", "lang": "en"}}),
                          (9, {"text": "good again", "meta": {"id": "8", "lang": "en"}})]
    errors = dict(bad(recs))
    assert errors[3] == "expected 3 fields (as in the header), got 2"
    assert errors[4] == "expected 3 fields (as in the header), got 4"
    assert errors[5] == "empty 'text'"
    assert errors[6] == "empty 'text'"
    assert errors[7] == "invalid UTF-8 at byte 5"
    assert errors[8].startswith("record too large")
    assert sorted(errors) == [3, 4, 5, 6, 7, 8]


def test_json_array_invalid_elements(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.json", (
        b"[\n"
        b'  {"text": "ok"},\n'           # 2
        b"  5,\n"                        # 3 not an object
        b'  {"meta": {}},\n'             # 4 no text
        b'  {"text": ["a"]},\n'          # 5 not a string
        b'  {"text": ""},\n'             # 6 empty
        b'  {"text": "m", "meta": 1},\n'  # 7 meta not an object
        b'  {"text": "last"}\n'          # 8
        b"]\n"))
    recs = records(path)
    assert good(recs) == [(2, {"text": "ok"}), (8, {"text": "last"})]
    assert bad(recs) == [
        (3, "expected a JSON object, got a number"),
        (4, "no 'text' field"),
        (5, "'text' must be a string, not an array"),
        (6, "empty 'text'"),
        (7, "'meta' must be an object, not a number"),
    ]


def test_json_array_bad_json_stops_with_the_line_of_the_bad_element(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.json", b'[\n{"text": "a"},\n{bad json},\n{"text": "c"}\n]\n')
    recs = records(path)
    assert good(recs) == [(2, {"text": "a"})]
    assert len(bad(recs)) == 1
    line, error = bad(recs)[0]
    assert line == 3 and error.startswith("invalid JSON") and "rest of the file is skipped" in error


def test_json_array_not_closed(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.json", b'[\n{"text": "a"},\n{"text": "b"}\n')
    recs = records(path)
    assert good(recs) == [(2, {"text": "a"}), (3, {"text": "b"})]
    assert bad(recs) == [(4, "unexpected end of file: the JSON array is not closed")]


def test_json_array_element_over_the_size_limit(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.json", b'[{"text": "' + b"x" * 5000)  # never closed
    recs = records(path, max_record_bytes=1000)
    assert len(recs) == 1 and recs[0].error is not None and recs[0].line == 1


def test_json_array_invalid_utf8_is_an_error_record(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.json", b'[\n{"text": "a"},\n{"text": "b\xff"}\n]\n')
    recs = records(path)
    assert any(r.error and "invalid UTF-8" in r.error for r in recs)


def test_json_array_invalid_utf8_keeps_earlier_objects_and_reports_its_line(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.json", b'[\n{"text": "a"},\n{"text": "b\xff"}\n]\n')
    recs = records(path)
    assert good(recs) == [(2, {"text": "a"})]
    assert len(bad(recs)) == 1 and bad(recs)[0][0] == 3 and "invalid UTF-8" in bad(recs)[0][1]


def test_custom_validate_and_no_validation(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"image": "x.png"}, {"text": "t"}, [1]])
    recs = records(path, validate=lambda t: None if isinstance(t, dict) and "image" in t else "no image")
    assert good(recs) == [(1, {"image": "x.png"})]
    assert bad(recs) == [(2, "no image"), (3, "no image")]
    assert good(records(path, validate=None)) == [(1, {"image": "x.png"}), (2, {"text": "t"}), (3, [1])]


def test_check_text_task_directly() -> None:
    assert check_text_task({"text": "fine", "meta": {}}) is None
    assert check_text_task(None) == "expected a JSON object, got null"
    assert check_text_task(True) == "expected a JSON object, got a boolean"
    assert check_text_task(1.5) == "expected a JSON object, got a number"
    assert check_text_task({"text": {"a": 1}}) == "'text' must be a string, not an object"
    assert check_text_task({"text": "x", "meta": "m"}) == "'meta' must be an object, not a string"


# -- sources that cannot be read ------------------------------------------------
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        Source(tmp_path / "nope.jsonl")
    with pytest.raises(SourceError, match="no such file"):
        Source(tmp_path / "nope.data", loader="txt")


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    with pytest.raises(SourceError, match="is a directory"):
        Source(folder)


@pytest.mark.parametrize("name", ["data.jsonl", "data.json", "data.csv", "data.txt"])
def test_binary_file(tmp_path: Path, name: str) -> None:
    path = write_bytes(tmp_path / name, b"text\n\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(SourceError, match="binary"):
        Source(path)


@pytest.mark.parametrize("name", ["data.xml", "data", "data.jsonl.gz"])
def test_unknown_extension(tmp_path: Path, name: str) -> None:
    path = write_bytes(tmp_path / name, b'{"text": "a"}\n')
    with pytest.raises(SourceError, match="cannot tell the format") as info:
        Source(path)
    assert "--loader" in str(info.value)


@pytest.mark.parametrize("header", [b"id,label,content\n", b"\n", b"", b"texts,id\n", b'"te xt",id\n'])
def test_csv_without_text_column(tmp_path: Path, header: bytes) -> None:
    path = write_bytes(tmp_path / "a.csv", header + b"1,2,3\n")
    with pytest.raises(SourceError, match="no 'text' column"):
        Source(path)


def test_tsv_header_is_split_on_tabs(tmp_path: Path) -> None:
    # a comma-separated header read as TSV is one column named "id,text": no text column
    path = write_bytes(tmp_path / "a.tsv", b"id,text\n1,a\n")
    with pytest.raises(SourceError, match="no 'text' column"):
        Source(path)


def test_csv_header_with_invalid_utf8(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.csv", b"id,t\xe9xt\n1,a\n")
    with pytest.raises(SourceError, match="header"):
        Source(path)


@pytest.mark.parametrize("content", [b'{"text": "an object, not an array"}', b"", b"   \n", b'"text"',
                                     b"42", b"null"])
def test_json_file_that_is_not_an_array_fails_when_read(tmp_path: Path, content: bytes) -> None:
    path = write_bytes(tmp_path / "a.json", content)
    with pytest.raises(SourceError, match="expected a JSON array"):
        list(Source(path))


def test_json_file_that_is_not_an_array_fails_at_open(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "a.json", b'{"text": "an object, not an array"}')
    with pytest.raises(SourceError, match="expected a JSON array"):
        Source(path)


def test_source_errors_are_user_errors_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.csv"
    with pytest.raises(UserError) as info:
        Source(path)
    assert str(path) in str(info.value)


# -- the stream ------------------------------------------------------------------
@pytest.fixture
def mixed_source(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "mixed.jsonl", [
        {"text": "one"},          # 1
        "not json at all",        # 2
        {"text": "two"},          # 3
        {"meta": {}},             # 4
        {"text": "three"},        # 5
    ])


def test_stream_warnings_and_invalid_count(mixed_source: Path) -> None:
    stream = Stream(Source(mixed_source))
    seen: list[str] = []
    stream.on_warning = seen.append
    tasks = list(stream)
    assert [t["text"] for t in tasks] == ["one", "two", "three"]
    assert stream.invalid == 2
    name = str(mixed_source)
    assert list(stream.warnings) == [
        f"{name}:2: invalid JSON: Expecting value (column 1)",
        f"{name}:4: no 'text' field",
    ]
    assert seen == list(stream.warnings)
    assert stream.name == name
    assert stream.progress == 1.0


def test_stream_adds_hashes_to_every_task(mixed_source: Path) -> None:
    for task in Stream(Source(mixed_source)):
        assert task["_input_hash"] == input_hash({"text": task["text"]})
        assert task["_task_hash"] == task_hash({"text": task["text"]})


def test_strict_stream_raises_at_the_first_invalid_record(mixed_source: Path) -> None:
    stream = Stream(Source(mixed_source))
    stream.strict = True
    got: list[str] = []
    with pytest.raises(InvalidRecord) as info:
        for task in stream:
            got.append(task["text"])
    assert got == ["one"]  # the valid record before the bad one was served
    error = info.value
    assert (error.path, error.line) == (str(mixed_source), 2)
    assert error.reason.startswith("invalid JSON")
    assert str(error) == f"{mixed_source}:2: {error.reason}"
    assert isinstance(error, UserError)
    assert stream.invalid == 1


def test_stream_steps_can_change_drop_split_and_reject(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", texts(4))

    def step(task: dict[str, Any]) -> Any:
        n = int(task["text"].rsplit(" ", 1)[1])
        if n == 0:
            return None  # dropped, no warning
        if n == 1:
            raise ValueError("one is not allowed")
        if n == 2:
            return [{**task, "label": "A"}, {**task, "label": "B"}]
        return {**task, "label": "C"}

    stream = Stream(Source(path)).map(step)
    tasks = list(stream)
    assert [(t["text"], t["label"]) for t in tasks] == [
        ("text number 2", "A"), ("text number 2", "B"), ("text number 3", "C")]
    assert tasks[0]["_input_hash"] == tasks[1]["_input_hash"]
    assert tasks[0]["_task_hash"] != tasks[1]["_task_hash"]
    assert list(stream.warnings) == [f"{path}:2: one is not allowed"]
    assert stream.invalid == 1


def test_stream_from_plain_iterable() -> None:
    stream = Stream([{"text": "a"}, "oops", {"text": "b"}], name="mine")
    assert [t["text"] for t in stream] == ["a", "b"]
    assert list(stream.warnings) == ["mine:2: expected a task (a dict), got str"]
    assert stream.progress is None


def test_stream_unhashable_task_is_a_warning() -> None:
    stream = Stream([{"text": "a", "label": {1, 2}}], name="s")
    assert list(stream) == []
    assert stream.invalid == 1 and "cannot hash the task" in stream.warnings[0]


# -- hashing -----------------------------------------------------------------------
def test_hash_algorithm_known_values() -> None:
    # literal values: any change of algorithm (and so of every stored hash) must be deliberate
    assert input_hash({"text": "hello"}) == -487298491695478562
    assert task_hash({"text": "hello", "label": "POS"}) == 5548971117291014719
    assert input_hash({"text": "héllo ✓"}) == 2481960408955142652
    assert hash_value([]) == 8180073448483349959
    assert hash_value("a") == 1616797661514831016
    task = set_hashes({"text": "hello", "options": [{"id": "A", "text": "a"}, {"id": "B", "text": "b"}]})
    assert task["_input_hash"] == -487298491695478562
    assert task["_task_hash"] == -7717365241491286767


def test_hash_is_the_documented_algorithm() -> None:
    payload = '[["text","hello"]]'
    assert canonical_json([["text", "hello"]]) == payload
    digest = hashlib.blake2b(payload.encode("utf-8"), digest_size=8).digest()
    assert input_hash({"text": "hello"}) == int.from_bytes(digest, "big", signed=True)
    # fits a signed 64-bit integer column
    for i in range(200):
        assert -(2 ** 63) <= input_hash({"text": f"t{i}"}) < 2 ** 63


def test_hash_independent_of_key_order() -> None:
    a = {"text": "same", "label": "X", "meta": {"a": 1, "b": 2}}
    b = {"meta": {"b": 2, "a": 1}, "label": "X", "text": "same"}
    assert input_hash(a) == input_hash(b)
    assert task_hash(a) == task_hash(b)
    img_a = {"image": {"url": "u", "w": 1}}
    img_b = {"image": {"w": 1, "url": "u"}}
    assert input_hash(img_a) == input_hash(img_b)
    span_a = {"text": "t", "spans": [{"start": 0, "end": 1, "label": "L"}]}
    span_b = {"text": "t", "spans": [{"label": "L", "end": 1, "start": 0}]}
    assert task_hash(span_a) == task_hash(span_b)


def test_input_hash_ignores_labels_meta_and_answers() -> None:
    base = input_hash({"text": "t"})
    assert input_hash({"text": "t", "label": "POS"}) == base
    assert input_hash({"text": "t", "options": [{"id": "A"}], "accept": ["A"], "answer": "reject"}) == base
    assert input_hash({"text": "t", "meta": {"source": "x"}, "spans": [{"start": 0, "end": 1}]}) == base
    assert input_hash({"text": "u"}) != base
    assert input_hash({"text": "t", "image": "x.png"}) != base


def test_task_hash_depends_on_label_options_and_spans() -> None:
    plain = task_hash({"text": "t"})
    pos = task_hash({"text": "t", "label": "POS"})
    neg = task_hash({"text": "t", "label": "NEG"})
    assert len({plain, pos, neg}) == 3
    ab = task_hash({"text": "t", "options": [{"id": "A", "text": "a"}, {"id": "B", "text": "b"}]})
    ab_renamed = task_hash({"text": "t", "options": [{"id": "A", "text": "Alpha"}, {"id": "B", "text": "Beta"}]})
    ba = task_hash({"text": "t", "options": [{"id": "B"}, {"id": "A"}]})
    ac = task_hash({"text": "t", "options": [{"id": "A"}, {"id": "C"}]})
    assert ab == ab_renamed  # only option ids count
    assert len({ab, ba, ac, plain}) == 4
    s1 = task_hash({"text": "t", "spans": [{"start": 0, "end": 1, "label": "L", "text": "t"}]})
    s1_other_text = task_hash({"text": "t", "spans": [{"start": 0, "end": 1, "label": "L", "token_start": 0}]})
    s2 = task_hash({"text": "t", "spans": [{"start": 0, "end": 1, "label": "M"}]})
    s3 = task_hash({"text": "t", "spans": [{"start": 0, "end": 2, "label": "L"}]})
    assert s1 == s1_other_text
    assert len({s1, s2, s3, plain}) == 4
    # the input is part of the question
    assert task_hash({"text": "u", "label": "POS"}) != pos
    # answers and meta are not part of the question
    assert task_hash({"text": "t", "label": "POS", "answer": "reject", "meta": {"x": 1}}) == pos


def test_existing_hashes_are_kept() -> None:
    task = {"text": "t", "label": "L", "_input_hash": 123, "_task_hash": 456}
    assert set_hashes(task) is task
    assert (task["_input_hash"], task["_task_hash"]) == (123, 456)
    # only the input hash given: the task hash is built on it
    only_input = set_hashes({"text": "t", "label": "L", "_input_hash": 123})
    assert only_input["_input_hash"] == 123
    assert only_input["_task_hash"] == task_hash({"label": "L"}, in_hash=123)
    assert only_input["_task_hash"] != task_hash({"text": "t", "label": "L"})
    # non-integer hashes are not hashes: replaced
    fixed = set_hashes({"text": "t", "_input_hash": "abc", "_task_hash": None})
    assert fixed["_input_hash"] == input_hash({"text": "t"})
    # overwrite recomputes
    again = set_hashes({"text": "t", "_input_hash": 1, "_task_hash": 2}, overwrite=True)
    assert again["_input_hash"] == input_hash({"text": "t"})


def test_hashes_are_the_same_in_another_process(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    code = ("from tuiannot.tasks import set_hashes; t = set_hashes({'text': 'héllo', 'label': 'X'}); "
            "print(t['_input_hash'], t['_task_hash'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout.split()
    local = set_hashes({"text": "héllo", "label": "X"})
    assert [int(x) for x in out] == [local["_input_hash"], local["_task_hash"]]


# -- sanitising ------------------------------------------------------------------
@pytest.mark.parametrize("raw,expected", [
    ("a\x1bb", "a␛b"),                        # ESC
    ("\x1b[31mred\x1b[0m", "␛[31mred␛[0m"),   # 7-bit CSI
    ("\x9b31mred", "�31mred"),                 # 8-bit CSI
    ("ding\x07", "ding␇"),                     # BEL
    ("nul\x00", "nul␀"),                       # NUL
    ("del\x7f", "del␡"),                       # DEL
    ("tab\there", "tab⇥here"),
    ("\x1b]0;title\x07", "␛]0;title␇"),       # OSC set-title
    ("bs\x08", "bs␈"),
    ("lone\rcr", "lone␍cr"),
    ("crlf\r\nnext", "crlf \nnext"),          # CR before LF becomes a space
    ("lf\nkept\n", "lf\nkept\n"),             # newlines stay
    ("\u202eevil\u202c", "�evil�"),           # RLO / PDF
    ("\u2066iso\u2069", "�iso�"),             # isolates
    ("\u202a\u202b\u202d\u2067\u2068", "�����"),
    ("sur\ud800rogate\udfff", "sur�rogate�"),  # lone surrogates
    ("line\u2028sep\u2029", "line\nsep\n"),
    ("\x85nel", "�nel"),                      # C1 NEL
    ("plain ünïcödé 日本語 ✓ 🎉", "plain ünïcödé 日本語 ✓ 🎉"),
])
def test_printable(raw: str, expected: str) -> None:
    out = printable(raw)
    assert out == expected
    assert len(out) == len(raw)  # one for one: span offsets stay valid


def test_printable_removes_every_terminal_control_character() -> None:
    everything = "".join(chr(c) for c in range(0x00, 0xA0)) + "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    out = printable(everything)
    assert len(out) == len(everything)
    for ch in out:
        code = ord(ch)
        assert ch == "\n" or not (code < 0x20 or 0x7F <= code < 0xA0), repr(ch)
        assert ch not in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    assert out.count("\n") == 1
    # the printable ASCII range is untouched
    assert out[0x20:0x7F] == everything[0x20:0x7F]


def test_printable_keeps_span_offsets() -> None:
    text = "\x1b[1mBerlin\x1b[0m is in \u202eGermany\r\n"
    start = text.index("Berlin")
    out = printable(text)
    assert out[start:start + 6] == "Berlin"
    start = text.index("Germany")
    assert out[start:start + 7] == "Germany"


def test_one_line() -> None:
    assert one_line("a\nb\x1b[2J") == "a↵b␛[2J"
    assert one_line("x" * 300, 10) == "x" * 9 + "…"
    assert len(one_line("y" * 300, 10)) == 10


def test_json_array_elements_must_be_separated_by_commas(tmp_path):
    path = tmp_path / "nocomma.json"
    path.write_text('[{"text": "a"}\n {"text": "b"}]')
    records = list(Source(path))
    assert records[0].task == {"text": "a"}
    assert records[1].line == 2 and "expected ',' or ']'" in records[1].error
    assert len(records) == 2

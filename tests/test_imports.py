"""``tuiannot.data.imports``, the readers of ``db-in --format``: every ``db-out`` format read back to the same texts,
spans and labels (and, stored again, exported to the same file); peers' own exports, written by hand in each
peer's documented shape (Label Studio with two annotators and a cancelled annotation, doccano spans and text
labels, spaCy ``cats`` JSONL and a DocBin made with spaCy, CoNLL with ``-DOCSTART-``); what cannot be read named
in a warning with its file and line, a file with nothing readable an error; detection; WNUT-17's own CoNLL
files from ../shared."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from spacy.tokens import Doc, DocBin, SpanGroup

from tuiannot.data.answers import answer_kind, cats, make_relation, positive_labels
from tuiannot.data.imports import FORMATS, detect, read
from tuiannot.errors import UserError

from .helpers import SHARED, binary_answer, blank_nlp, choice_answer, run, seed, span_answer, stored

pytestmark = pytest.mark.usefixtures("cli_env")

NEWS = [
    span_answer("Acme Corp hired Ann Lee.", [(0, 9, "ORG"), (16, 23, "PERSON")]),
    span_answer("Nothing to see here.", []),  # "no entities": data, and it comes back as such
    span_answer("We flew to Berlin today.", [(11, 17, "GPE")], with_tokens=False),
    span_answer("Bob met Carl in New York City.", [(0, 3, "PERSON"), (8, 12, "PERSON"), (16, 29, "GPE")]),
]
NESTED = [  # span categories that overlap: spans_manual
    span_answer("Bob Lee met Carl in Paris.", [(0, 7, "PERSON"), (4, 7, "SURNAME"), (20, 25, "GPE")],
                view="spans_manual"),
    span_answer("Ann sang.", [(0, 3, "PERSON")], view="spans_manual"),
]
REVIEWS = [
    choice_answer("Great film, loved it.", ["POS"]),
    choice_answer("Neither here nor there.", []),  # none of the labels
    choice_answer("Funny and sad at once.", ["POS", "NEG"]),
    binary_answer("A waste of an evening.", "NEG"),
]
EXTENSION = {"jsonl": "jsonl", "doccano": "jsonl", "label-studio": "json", "spacy": "spacy", "conll": "conll"}
IMPORT_FORMAT = {"jsonl": "prodigy", "doccano": "doccano", "label-studio": "label-studio", "spacy": "spacy",
                 "conll": "conll"}


# -- helpers -------------------------------------------------------------------------------------------------------
def collect(path: Path | str, fmt: str | None = None, **options: Any) -> tuple[list[tuple[int, dict[str, Any]]],
                                                                            list[str]]:
    """``read()``'s answers (the format detected unless given) and the warnings it gave."""
    found: list[str] = []
    rows = list(read(path, fmt or detect(path), warn=found.append, **options))
    return rows, found


def spans3(task: dict[str, Any]) -> list[tuple[int, int, str]]:
    return sorted((s["start"], s["end"], s["label"]) for s in task.get("spans") or [])


def meaning(task: dict[str, Any]) -> tuple[Any, ...]:
    """What a round trip keeps: the text and its spans, or the text and the labels that apply."""
    if answer_kind(task) == "spans":
        return ("spans", task["text"], spans3(task))
    return ("textcat", task["text"], sorted(positive_labels(task)))


def assert_stored_shape(task: dict[str, Any]) -> None:
    """An answer as the recipes store it: accepted, a known view, spans on the answer's own tokens."""
    assert task["answer"] == "accept"
    if task["_view_id"] in ("ner_manual", "spans_manual", "relations"):
        tokens = task["tokens"]
        assert [t["id"] for t in tokens] == list(range(len(tokens)))
        assert all(task["text"][t["start"]:t["end"]] == t["text"] for t in tokens)
        for span in task["spans"]:
            assert set(span) == {"start", "end", "label", "token_start", "token_end"}
            assert tokens[span["token_start"]]["start"] == span["start"]
            assert tokens[span["token_end"]]["end"] == span["end"]
        for relation in task.get("relations", []):  # between two of the answer's spans, as rel stores them
            assert relation["head_span"] in task["spans"] and relation["child_span"] in task["spans"]
            assert (relation["head"], relation["child"]) == (relation["head_span"]["token_end"],
                                                             relation["child_span"]["token_end"])
    else:
        assert task["_view_id"] == "choice"
        ids = [o["id"] for o in task["options"]]
        assert set(task["accept"]) <= set(ids) and all(o["text"] == o["id"] for o in task["options"])


def export(capsys: pytest.CaptureFixture[str], db_path: Path, dataset: str, fmt: str, target: Path) -> Path:
    code, _, err = run(capsys, "db-out", dataset, target, "--format", fmt, "--db", db_path)
    assert code == 0, err
    return target


def write_ls(path: Path, tasks: list[dict[str, Any]]) -> Path:
    """A Label Studio JSON export, one task per line (task i on line i + 2), as tuiannot writes it."""
    path.write_text("[\n" + ",\n".join(json.dumps(t, ensure_ascii=False) for t in tasks) + "\n]\n", encoding="utf-8")
    return path


def write_lines(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso).replace(tzinfo=timezone.utc).timestamp())


# -- round trips: what db-out writes, read() reads back ----------------------------------------------------------------
class Exports:
    """The datasets news, nested and reviews, each exported with the real ``tuiannot db-out`` the first time a
    format of it is asked for (``exported["news", "conll"]``, a path)."""

    def __init__(self, capsys: pytest.CaptureFixture[str], db_path: Path, folder: Path) -> None:
        self.capsys, self.db_path, self.folder = capsys, db_path, folder
        self.files: dict[tuple[str, str], Path] = {}
        seed(db_path, "news", [dict(a) for a in NEWS])
        seed(db_path, "nested", [dict(a) for a in NESTED])
        seed(db_path, "reviews", [dict(a) for a in REVIEWS])

    def __getitem__(self, key: tuple[str, str]) -> Path:
        dataset, fmt = key
        if key not in self.files:
            target = self.folder / f"{dataset}.{fmt}.{EXTENSION[fmt]}"
            self.files[key] = export(self.capsys, self.db_path, dataset, fmt, target)
        return self.files[key]

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in KEYS

    def all(self) -> dict[tuple[str, str], Path]:
        return {key: self[key] for key in KEYS}


KEYS = [(dataset, fmt) for dataset in ("news", "nested", "reviews") for fmt in EXTENSION
        if not (fmt == "conll" and dataset == "reviews")]  # IOB tags hold spans only


@pytest.fixture
def exported(capsys: pytest.CaptureFixture[str], db_path: Path, tmp_path: Path) -> Exports:
    return Exports(capsys, db_path, tmp_path)


@pytest.mark.parametrize("fmt", ["jsonl", "doccano", "label-studio", "spacy"])
@pytest.mark.parametrize("dataset,answers", [("news", NEWS), ("nested", NESTED), ("reviews", REVIEWS)])
def test_every_export_reads_back_to_the_same_texts_spans_and_labels(
        exported: Exports, fmt: str, dataset: str, answers: list[dict[str, Any]]) -> None:
    rows, found = collect(exported[dataset, fmt])
    assert found == []
    read_back = [task for _, task in rows]
    assert [meaning(t) for t in read_back] == [meaning(a) for a in answers]
    if fmt == "jsonl":
        return  # Prodigy records as they are; db-in checks them
    for task in read_back:
        assert_stored_shape(task)
    views = [t["_view_id"] for t in read_back]
    if dataset == "reviews":
        assert views == ["choice"] * 4
        if fmt == "spacy":  # every option stated, as a choice answered here: the same categories
            assert [cats(t) for t in read_back] == [cats(a) for a in answers]
    elif dataset == "nested":  # overlapping spans: spans_manual; a DocBin keeps the view in doc.spans["sc"]
        assert views == ["spans_manual", "spans_manual" if fmt == "spacy" else "ner_manual"]
    else:
        assert views == ["ner_manual"] * 4


def test_a_rejected_yes_no_question_comes_back_from_a_docbin_as_does_not_apply(
        capsys: pytest.CaptureFixture[str], db_path: Path, tmp_path: Path) -> None:
    seed(db_path, "votes", [binary_answer("Not spam at all.", "SPAM", answer="reject"),
                            binary_answer("Buy now!!!", "SPAM")])
    rows, found = collect(export(capsys, db_path, "votes", "spacy", tmp_path / "votes.spacy"))
    assert found == []
    assert [cats(t) for _, t in rows] == [{"SPAM": 0.0}, {"SPAM": 1.0}]


def test_conll_reads_back_the_same_tokens_spans_and_labels(exported: Exports) -> None:
    """CoNLL keeps no spacing: the text is the tokens joined by single spaces; tokens, spans and labels are kept."""
    rows, found = collect(exported["news", "conll"])
    assert found == []
    assert [line for line, _ in rows] == [1, 8, 14, 21]  # the line of each sentence's first token
    for (_, task), answer in zip(rows, NEWS, strict=True):
        assert_stored_shape(task)
        words = [t.text for t in blank_nlp().make_doc(answer["text"])]
        assert task["text"] == " ".join(words) and [t["text"] for t in task["tokens"]] == words
        assert [(task["text"][s["start"]:s["end"]], s["label"]) for s in task["spans"]] == [
            (answer["text"][s["start"]:s["end"]].replace(".", " ."), s["label"]) for s in answer["spans"]]
    assert rows[0][1]["spans"] == [{"start": 0, "end": 9, "label": "ORG", "token_start": 0, "token_end": 1},
                                   {"start": 16, "end": 23, "label": "PERSON", "token_start": 3, "token_end": 4}]


@pytest.mark.parametrize("fmt", ["doccano", "label-studio", "conll"])
def test_stored_again_and_exported_again_the_file_is_the_same(
        capsys: pytest.CaptureFixture[str], exported: Exports, db_path: Path, tmp_path: Path,
        fmt: str) -> None:
    """Out, in and out again: byte for byte (a team going to a peer and back loses nothing)."""
    for dataset in ("news", "nested", "reviews"):
        if (dataset, fmt) not in exported:
            continue
        first = exported[dataset, fmt]
        rows, found = collect(first, IMPORT_FORMAT[fmt])
        assert found == []
        seed(db_path, f"{dataset}_again", [task for _, task in rows])
        again = export(capsys, db_path, f"{dataset}_again", fmt, tmp_path / f"again.{dataset}.{fmt}")
        assert again.read_text(encoding="utf-8") == first.read_text(encoding="utf-8"), (dataset, fmt)


def test_a_docbin_stored_again_and_exported_again_has_the_same_docs(
        capsys: pytest.CaptureFixture[str], exported: Exports, db_path: Path,
        tmp_path: Path) -> None:
    def docs(path: Path) -> list[tuple[Any, ...]]:
        return [(d.text, [t.text for t in d], [(e.start_char, e.end_char, e.label_) for e in d.ents],
                 {k: [(s.start_char, s.end_char, s.label_) for s in g] for k, g in d.spans.items()}, d.cats)
                for d in DocBin().from_disk(path).get_docs(blank_nlp().vocab)]

    for dataset in ("news", "nested", "reviews"):
        rows, _ = collect(exported[dataset, "spacy"])
        seed(db_path, f"{dataset}_again", [task for _, task in rows])
        again = export(capsys, db_path, f"{dataset}_again", "spacy", tmp_path / f"again.{dataset}.spacy")
        assert docs(again) == docs(exported[dataset, "spacy"]), dataset


def test_the_stored_answers_of_an_import_are_what_the_database_keeps(
        exported: Exports, db_path: Path) -> None:
    rows, _ = collect(exported["news", "label-studio"])
    seed(db_path, "imported", [task for _, task in rows])
    kept = stored(db_path, "imported")
    assert [meaning(t) for t in kept] == [meaning(a) for a in NEWS]
    assert all(isinstance(t["_input_hash"], int) and isinstance(t["_task_hash"], int) for t in kept)


# -- peers' own exports ------------------------------------------------------------------------------------------------
LS_NER = [
    {"id": 7, "data": {"text": "Ann works at Acme Corp now.", "source": "mail"},
     "annotations": [
         {"id": 1, "completed_by": 1, "was_cancelled": False, "ground_truth": False, "lead_time": 12.5,
          "created_at": "2024-03-01T10:00:00.000000Z", "updated_at": "2024-03-01T10:00:05.000000Z",
          "result": [
              {"id": "r1", "from_name": "label", "to_name": "text", "type": "labels",
               "value": {"start": 0, "end": 3, "text": "Ann", "labels": ["PER"]}},
              {"id": "r2", "from_name": "label", "to_name": "text", "type": "labels",
               "value": {"start": 13, "end": 22, "text": "Acme Corp", "labels": ["ORG"]}},
              {"from_id": "r1", "to_id": "r2", "type": "relation", "direction": "right", "labels": []}]},
         {"id": 2, "completed_by": {"id": 2, "email": "bo@example.org"}, "was_cancelled": False,
          "result": [{"id": "r3", "from_name": "label", "to_name": "text", "type": "labels",
                      "value": {"start": 13, "end": 22, "text": "Acme Corp", "labels": ["ORG"]}}]},
         {"id": 3, "completed_by": 3, "was_cancelled": True, "result": []}],
     "predictions": [{"model_version": "v1", "result": [
         {"from_name": "label", "to_name": "text", "type": "labels",
          "value": {"start": 0, "end": 3, "text": "Ann", "labels": ["ORG"]}}]}]},
    {"id": 8, "data": {"text": "Nobody annotated this yet."}, "annotations": [],
     "predictions": [{"result": [{"from_name": "label", "to_name": "text", "type": "labels",
                                  "value": {"start": 0, "end": 6, "text": "Nobody", "labels": ["PER"]}}]}]},
    # the browser counts UTF-16 code units: the emoji is two of them, so "Bob" is [12, 15) there, [11, 14) here
    {"id": 9, "data": {"text": "Smile \U0001F600 at Bob."},
     "annotations": [{"id": 4, "completed_by": 1, "result": [
         {"id": "r4", "from_name": "label", "to_name": "text", "type": "labels",
          "value": {"start": 12, "end": 15, "text": "Bob", "labels": ["PER"]}}]}]},
    {"id": 10, "data": {"text": "Nothing to mark."}, "annotations": [{"id": 5, "completed_by": 2, "result": []}]},
]


def test_label_studio_two_annotators_a_cancelled_annotation_and_predictions(tmp_path: Path) -> None:
    path = write_ls(tmp_path / "project-1-at-2024.json", LS_NER)
    assert detect(path) == "label-studio"
    rows, found = collect(path)
    assert [(line, meaning(t)) for line, t in rows] == [
        (2, ("spans", "Ann works at Acme Corp now.", [(0, 3, "PER"), (13, 22, "ORG")])),
        (2, ("spans", "Ann works at Acme Corp now.", [(13, 22, "ORG")])),  # the cancelled third: no answer
        (4, ("spans", "Smile \U0001F600 at Bob.", [(11, 14, "PER")])),
        (5, ("spans", "Nothing to mark.", [])),  # an empty result in a file of spans: no entities
    ]
    first, second = rows[0][1], rows[1][1]
    assert (first["_annotator_id"], first["_session_id"]) == ("1", "1")
    assert first["_timestamp"] == epoch("2024-03-01T10:00:05") and first["_seconds"] == 12.5
    assert first["meta"] == {"source": "mail", "label_studio_id": 7}
    assert second["_annotator_id"] == "bo@example.org" and "_seconds" not in second
    for _, task in rows:
        assert_stored_shape(task)
    assert [t["_view_id"] for _, t in rows] == ["relations"] + ["ner_manual"] * 3  # a relation annotation
    assert first["relations"] == []  # its one relation has no label
    assert found == [
        f"{path}:2: annotation 1 (by 1): relation r1 → r2: no label (a relation's 'labels' must be a non-empty list "
        "of strings); left out",
        f"{path}:3: no annotations (predictions are a model's suggestions, not answers); left out",
    ]
    pretty = tmp_path / "pretty.json"  # as Label Studio writes it: indented, each task over many lines
    pretty.write_text(json.dumps(LS_NER, indent=2, ensure_ascii=False), encoding="utf-8")
    again, found = collect(pretty)
    assert [t for _, t in again] == [t for _, t in rows] and len(found) == 2
    starts = [n for n, text in enumerate(pretty.read_text(encoding="utf-8").splitlines(), 1) if text == "  {"]
    assert [line for line, _ in again] == [starts[0], starts[0], starts[2], starts[3]]  # where each task begins


def test_label_studio_choices_of_two_annotators_and_their_agreement(capsys: pytest.CaptureFixture[str],
                                                                    tmp_path: Path, db_path: Path) -> None:
    def choice(who: int, *labels: str) -> dict[str, Any]:
        return {"completed_by": who, "result": [{"id": f"c{who}", "from_name": "sentiment", "to_name": "text",
                                                 "type": "choices", "value": {"choices": list(labels)}}]}

    path = write_ls(tmp_path / "sentiment.json", [
        {"id": 1, "data": {"review": "Great film."}, "annotations": [choice(1, "POS"), choice(2, "POS")]},
        {"id": 2, "data": {"review": "Dull."}, "annotations": [choice(1, "NEG"), choice(2, "POS")]},
        {"id": 3, "data": {"review": "So-so."}, "annotations": [choice(1), choice(2, "NEU")]},
    ])
    rows, found = collect(path)
    assert found == []
    tasks = [t for _, t in rows]
    assert [(t["text"], t["_annotator_id"], t["accept"]) for t in tasks] == [
        ("Great film.", "1", ["POS"]), ("Great film.", "2", ["POS"]), ("Dull.", "1", ["NEG"]),
        ("Dull.", "2", ["POS"]), ("So-so.", "1", []), ("So-so.", "2", ["NEU"])]
    assert all(o == [{"id": k, "text": k} for k in ("POS", "NEG", "NEU")] for o in (t["options"] for t in tasks))
    assert all(t["_view_id"] == "choice" and "review" not in t.get("meta", {}) for t in tasks)
    seed(db_path, "sentiment", tasks)  # the team's agreement, as if they had annotated here
    code, out, err = run(capsys, "iaa", "sentiment", "--json", "--db", db_path)
    assert code == 0, err
    report = json.loads(out)["documents"]
    assert (report["annotators"], report["items_compared"], report["items_unanimous"]) == (["1", "2"], 3, 1)
    assert report["exact"]["percent_agreement"] == pytest.approx(1 / 3)


def test_label_studio_a_span_whose_text_does_not_match_is_named_and_left_out(tmp_path: Path) -> None:
    path = write_ls(tmp_path / "ls.json", [
        {"id": 1, "data": {"text": "Ann left Acme."}, "annotations": [{"completed_by": 4, "result": [
            {"type": "labels", "value": {"start": 0, "end": 3, "text": "Ann", "labels": ["PER"]}},
            {"type": "labels", "value": {"start": 9, "end": 12, "text": "Acm", "labels": ["ORG"]}},
            {"type": "labels", "value": {"start": 4, "end": 8, "text": "Bob!", "labels": ["PER"]}}]},
            {"completed_by": 5}]}])
    rows, found = collect(path)
    assert [meaning(t) for _, t in rows] == [("spans", "Ann left Acme.", [(0, 3, "PER")])]
    assert found == [
        f'{path}:2: annotation 1 (by 4): span [4, 8) PER: the text there ("left") is not the result\'s ("Bob!"); '
        "left out",
        f"{path}:2: annotation 1 (by 4): span [9, 12) ORG does not align with the tokens; left out",
        f"{path}:2: annotation 2 (by 5): not an object with a 'result' list; left out",
    ]


def test_doccano_spans_in_each_of_its_export_shapes(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "admin.jsonl", [
        {"id": 11, "text": "EU rejects German call.", "label": [[0, 2, "ORG"], [11, 17, "MISC"]], "Comments": []},
        {"id": 12, "text": "Peter Blackburn spoke.", "labels": [[0, 15, "PER"]]},  # doccano before 1.0
        {"id": 13, "text": "Ann works at Acme.", "entities": [  # the relation export
            {"id": 1, "label": "PER", "start_offset": 0, "end_offset": 3},
            {"id": 2, "label": "ORG", "start_offset": 13, "end_offset": 17}],
         "relations": [{"id": 1, "from_id": 1, "to_id": 2, "type": "works_at"}]},
        {"id": 14, "text": "Nothing here.", "label": []},
        {"id": 15, "text": "Acme and Acme Corp rose.", "label": [[0, 1, "ORG"], [9, 18, "ORG"], [9, 13, "ORG"]]},
    ])
    assert detect(path) == "doccano"
    rows, found = collect(path)
    assert [(line, meaning(t)) for line, t in rows] == [
        (1, ("spans", "EU rejects German call.", [(0, 2, "ORG"), (11, 17, "MISC")])),
        (2, ("spans", "Peter Blackburn spoke.", [(0, 15, "PER")])),
        (3, ("spans", "Ann works at Acme.", [(0, 3, "PER"), (13, 17, "ORG")])),
        (4, ("spans", "Nothing here.", [])),
        (5, ("spans", "Acme and Acme Corp rose.", [(9, 13, "ORG"), (9, 18, "ORG")])),
    ]
    assert [t["_view_id"] for _, t in rows] == ["ner_manual"] * 2 + ["relations"] + ["ner_manual", "spans_manual"]
    assert [(r["head_span"]["label"], r["label"], r["child_span"]["label"]) for r in rows[2][1]["relations"]] == [
        ("PER", "works_at", "ORG")]  # the relation export: spans and the relations between them
    assert [t.get("meta") for _, t in rows] == [{"doccano_id": i} for i in (11, 12, 13, 14, 15)]
    for _, task in rows:
        assert_stored_shape(task)
    assert found == [
        f"{path}:5: span [0, 1) ORG does not align with the tokens; left out",
    ]


def test_doccano_text_labels(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "reviews.jsonl", [
        {"id": 1, "text": "Great film.", "label": ["POS"]},
        {"id": 2, "text": "Funny and sad.", "label": ["POS", "NEG"]},
        {"id": 3, "text": "Just a film.", "label": []},
        {"id": 4, "text": "Awful.", "label": ["NEG"], "meta": {"source": "imdb"}},
    ])
    assert detect(path) == "doccano"
    rows, found = collect(path)
    assert found == []
    assert [(t["text"], t["accept"], t["_view_id"]) for _, t in rows] == [
        ("Great film.", ["POS"], "choice"), ("Funny and sad.", ["POS", "NEG"], "choice"),
        ("Just a film.", [], "choice"), ("Awful.", ["NEG"], "choice")]
    assert all([o["id"] for o in t["options"]] == ["POS", "NEG"] for _, t in rows)
    assert rows[3][1]["meta"] == {"source": "imdb", "doccano_id": 4}


def test_doccano_a_record_that_marks_nothing_in_a_file_of_both_kinds_is_named(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "mixed.jsonl", [
        {"text": "Ann sang.", "label": [[0, 3, "PER"]]}, {"text": "Great.", "label": ["POS"]},
        {"text": "Hm.", "label": []}, {"text": "No label at all."}, "not json", [1, 2]])
    rows, found = collect(path)
    assert [meaning(t) for _, t in rows] == [("spans", "Ann sang.", [(0, 3, "PER")]), ("textcat", "Great.", ["POS"])]
    assert found[0] == (f"{path}:3: nothing marked, in a file with both spans and text labels: cannot tell "
                        "whether it means no entities or none of the labels; left out")
    assert found[1].startswith(f"{path}:4: no 'label' list")
    assert found[2].startswith(f"{path}:5: invalid JSON")
    assert found[3].startswith(f"{path}:6: expected a JSON object")
    assert len(found) == 4


def test_spacy_cats_jsonl(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "textcat.jsonl", [
        {"text": "Great film.", "cats": {"POS": 0.9, "NEG": 0.1}},
        {"text": "Funny and sad.", "cats": {"POS": 0.5, "NEG": 0.5}, "meta": {"id": 2}},
        {"text": "Dull.", "cats": {"POS": 0, "NEG": 1, "SPAM": "no"}},
        {"text": "No categories.", "cats": {}},
    ])
    assert detect(path) == "spacy"
    rows, found = collect(path)
    assert [(t["text"], [o["id"] for o in t["options"]], t["accept"]) for _, t in rows] == [
        ("Great film.", ["POS", "NEG"], ["POS"]), ("Funny and sad.", ["POS", "NEG"], ["POS", "NEG"]),
        ("Dull.", ["POS", "NEG"], ["NEG"])]
    assert rows[1][1]["meta"] == {"id": 2}
    assert [cats(t) for _, t in rows] == [{"POS": 1.0, "NEG": 0.0}, {"POS": 1.0, "NEG": 1.0}, {"POS": 0.0, "NEG": 1.0}]
    assert found == [f"{path}:3: category SPAM: 'no' is not a score from 0 to 1; left out",
                     f"{path}:4: no 'cats' object ({{label: score}}): not a spaCy record"]


def test_a_docbin_made_with_spacy(tmp_path: Path) -> None:
    nlp = blank_nlp()
    ner = nlp.make_doc("Ann works at Acme Corp now.")
    ner.ents = [ner.char_span(0, 3, "PER"), ner.char_span(13, 22, "ORG")]
    none = nlp.make_doc("Nobody here.")
    none.ents = []  # entity annotation that marks nothing: no entities
    nested = nlp.make_doc("Bob Lee met Carl.")
    nested.spans["sc"] = SpanGroup(nested, name="sc", spans=[nested.char_span(0, 7, "PER"),
                                                               nested.char_span(4, 7, "SURNAME")])
    textcat = nlp.make_doc("Great film.")
    textcat.cats = {"POS": 1.0, "NEG": 0.0}
    bare = nlp.make_doc("Not annotated at all.")
    both = Doc(nlp.vocab, words=["New", "York", "is", "big", "!"], spaces=[True, True, True, False, False])
    both.ents = [both.char_span(0, 8, "GPE")]
    both.cats = {"POS": 0.7}
    other = nlp.make_doc("Acme Corp rose.")
    other.spans["companies"] = SpanGroup(other, name="companies", spans=[other.char_span(0, 9, "ORG")])
    path = tmp_path / "train.spacy"
    DocBin(docs=[ner, none, nested, textcat, bare, both, other], store_user_data=True).to_disk(path)
    assert detect(path) == "spacy"
    rows, found = collect(path)
    assert [(n, t["_view_id"], meaning(t)) for n, t in rows] == [
        (1, "ner_manual", ("spans", "Ann works at Acme Corp now.", [(0, 3, "PER"), (13, 22, "ORG")])),
        (2, "ner_manual", ("spans", "Nobody here.", [])),
        (3, "spans_manual", ("spans", "Bob Lee met Carl.", [(0, 7, "PER"), (4, 7, "SURNAME")])),
        (4, "choice", ("textcat", "Great film.", ["POS"])),
        (6, "ner_manual", ("spans", "New York is big!", [(0, 8, "GPE")])),
        (6, "choice", ("textcat", "New York is big!", ["POS"])),
        (7, "spans_manual", ("spans", "Acme Corp rose.", [(0, 9, "ORG")])),
    ]
    assert rows[4][1]["tokens"][0] == {"text": "New", "start": 0, "end": 3, "id": 0, "ws": True}
    assert [t["text"] for t in rows[4][1]["tokens"]] == ["New", "York", "is", "big", "!"]  # the Doc's own words
    assert rows[6][1]["meta"] == {"spans_key": "companies"} and "meta" not in rows[2][1]
    for _, task in rows:
        assert_stored_shape(task)
    assert found == [f"{path}:document 5: no entity annotation, span groups or categories: nothing to import; "
                     "left out"]


CONLL = """\
-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O

# a comment
Peter\tB-PER
Blackburn\tI-PER

Acme\tI-ORG
Corp\tI-ORG
and\tO
Bob\tS-PER
in\tO
New\tB-GPE
York\tE-GPE
rose\tX-VERB
"""


def test_conll_with_docstart_comments_columns_and_iob_variants(tmp_path: Path) -> None:
    path = tmp_path / "eng.train"
    path.write_text(CONLL, encoding="utf-8")
    assert detect(path) == "conll"
    rows, found = collect(path)
    assert [(line, meaning(t)) for line, t in rows] == [
        (3, ("spans", "EU rejects German call .", [(0, 2, "ORG"), (11, 17, "MISC")])),
        (10, ("spans", "Peter Blackburn", [(0, 15, "PER")])),
        (13, ("spans", "Acme Corp and Bob in New York rose", [(0, 9, "ORG"), (14, 17, "PER"), (21, 29, "GPE")])),
    ]
    for _, task in rows:
        assert_stored_shape(task)
        assert task["_view_id"] == "ner_manual"
    assert found == [f'{path}:20: tag "X-VERB" is not IOB (B-, I-, O; or E-, S-, L-, U-): read as O']


def test_conll_a_sentence_with_a_line_that_cannot_be_read_is_left_out_and_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.conll"
    path.write_bytes(b"Ann\tB-PER\nsang\tO\n\nBob\tB-PER\nonly-a-token\n.\tO\n\nCarl\tB-PER\n\xff\tO\n\nDan\tO\n")
    rows, found = collect(path, "conll")
    assert [meaning(t) for _, t in rows] == [("spans", "Ann sang", [(0, 3, "PER")]), ("spans", "Dan", [])]
    assert found == [
        f'{path}:5: expected token<TAB>tag, got "only-a-token"',
        f"{path}:4: the sentence starting here is left out (a line of it could not be read)",
        f"{path}:9: invalid UTF-8 at byte 0",
        f"{path}:8: the sentence starting here is left out (a line of it could not be read)",
    ]


def test_prodigy_records_are_kept_as_they_are_and_what_is_no_task_is_named(tmp_path: Path) -> None:
    task = {"text": "Hi", "label": "POS", "answer": "accept", "_input_hash": 1, "meta": {"a": 1}}
    path = write_lines(tmp_path / "p.jsonl", [task, {"image": "cat.jpg", "answer": "reject"}, {"foo": 1}, "[1"])
    rows, found = collect(path, "prodigy")
    assert rows == [(1, task), (2, {"image": "cat.jpg", "answer": "reject"})]
    assert found[0] == f"{path}:3: no input field (text, image, html, audio, video) and no _input_hash: not a task"
    assert found[1].startswith(f"{path}:4: invalid JSON") and len(found) == 2


# -- nothing read is an error, never an empty success -----------------------------------------------------------------
@pytest.mark.parametrize("fmt,other", [("doccano", "label-studio"), ("label-studio", "doccano"),
                                       ("conll", "doccano"), ("spacy", "label-studio"), ("prodigy", "label-studio")])
def test_a_file_read_as_the_wrong_format_is_an_error(exported: Exports, fmt: str,
                                                     other: str) -> None:
    path = exported["news", {"label-studio": "label-studio", "doccano": "doccano"}[other]]
    found: list[str] = []
    with pytest.raises(UserError, match=rf"^no records of {fmt} in {path}: \d+ warnings?, the first {path}:"):
        list(read(path, fmt, warn=found.append))
    assert found


def test_a_label_studio_export_without_annotations_is_an_error(tmp_path: Path) -> None:
    path = write_ls(tmp_path / "ls.json", [{"id": 1, "data": {"text": "a"}, "predictions": [{"result": []}]}])
    with pytest.raises(UserError, match="no records of label-studio in"):
        collect(path)


def test_unknown_format_missing_file_and_a_file_that_is_not_a_docbin(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown import format 'brat'"):
        read(tmp_path / "x", "brat")
    with pytest.raises(UserError, match="no such file"):
        read(tmp_path / "missing.jsonl", "doccano")  # at once, before the first record is asked for
    with pytest.raises(UserError, match="unknown language code 'zz'"):
        collect(write_lines(tmp_path / "d.jsonl", [{"text": "a b", "label": [[0, 1, "X"]]}]), lang="zz")
    junk = tmp_path / "junk.spacy"
    junk.write_bytes(b"\x00\x01not a docbin")
    with pytest.raises(UserError, match="not a spaCy DocBin"):
        collect(junk)


@pytest.mark.parametrize("name,content,message", [
    ("empty.jsonl", "", "the file is empty"),
    ("blank.jsonl", "\n  \n", "the file is empty"),
    ("object.json", '{\n  "tasks": [1]\n}\n', "no JSON object in its first records"),
    ("other.jsonl", '{"foo": 1, "bar": 2}\n', "the first record (keys: foo, bar) is no format tuiannot reads"),
    ("numbers.json", "[1, 2]", ":1: not a JSON object"),
    ("both.jsonl", '{"text": "a", "label": ["A"], "cats": {"A": 1}}\n', "fits doccano and spacy: cannot tell which"),
    ("prose.txt", "Once upon a time\nthere was a parser.\n", "neither JSON records nor token<TAB>tag lines"),
    ("image.png", "\x89PNG\r\n\x1a\n\x00\x00", "a binary file of no format tuiannot reads"),
])
def test_detect_refuses_unknown_and_ambiguous_shapes(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(UserError) as info:
        detect(path)
    assert message in str(info.value) and str(path) in str(info.value)
    assert "pass --format (prodigy, label-studio, doccano, spacy, conll)" in str(info.value) or "empty" in message


@pytest.mark.parametrize("name,rows,fmt", [
    ("a.jsonl", [{"text": "a", "label": [[0, 1, "X"]]}], "doccano"),
    ("a.jsonl", [{"text": "a", "label": []}], "doccano"),
    ("a.jsonl", [{"text": "a", "label": ["POS"]}], "doccano"),
    ("a.jsonl", [{"text": "a", "labels": [[0, 1, "X"]]}], "doccano"),
    ("a.jsonl", [{"text": "a", "entities": [{"start_offset": 0, "end_offset": 1, "label": "X"}]}], "doccano"),
    ("a.jsonl", [{"text": "a", "cats": {"POS": 1.0}}], "spacy"),
    ("a.jsonl", ["not json", {"text": "a", "label": "POS", "answer": "accept"}], "prodigy"),
    ("a.jsonl", [{"text": "a", "spans": [{"start": 0, "end": 1, "label": "X"}]}], "prodigy"),
    ("a.jsonl", [{"_input_hash": 5, "answer": "accept"}], "prodigy"),
    ("a.json", "[" + json.dumps({"text": "a"}) + "]", "prodigy"),
    ("a.json", "[" + json.dumps({"data": {"text": "a"}, "annotations": []}) + "]", "label-studio"),
    ("a.json", "[" + json.dumps({"data": {"text": "a"}}) + "]", "label-studio"),
    ("a.json", "[" + json.dumps({"data": {"text": "a"}, "completions": []}) + "]", "label-studio"),
    ("a.txt", "EU\tB-ORG\nrejects\tO\n", "conll"),
    ("a.iob", "-DOCSTART- -X- O O\n\nEU NNP B-NP B-ORG\n", "conll"),
    ("a", "# id 1\n#\tO\nEU\tU-ORG\n", "conll"),
])
def test_detect(tmp_path: Path, name: str, rows: Any, fmt: str) -> None:
    path = tmp_path / name
    if isinstance(rows, list):
        write_lines(path, rows)
    else:
        path.write_text(rows, encoding="utf-8")
    assert detect(path) == fmt


def test_detect_knows_every_export_of_db_out(exported: Exports) -> None:
    assert {key: detect(path) for key, path in exported.all().items()} == {key: IMPORT_FORMAT[key[1]] for key in KEYS}
    assert set(IMPORT_FORMAT.values()) == set(FORMATS)


def test_standard_input_is_read_once_and_not_detected(monkeypatch: pytest.MonkeyPatch,
                                                      exported: Exports) -> None:
    with pytest.raises(UserError, match="cannot be detected.*pass --format"):
        detect("-")
    data = exported["reviews", "doccano"].read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    rows, found = collect("-", "doccano")  # two passes (the labels, then the records) over one read
    assert found == [] and [meaning(t) for _, t in rows] == [meaning(a) for a in REVIEWS]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"foo": 1}\n')))
    with pytest.raises(UserError, match="^no records of doccano in <stdin>"):
        collect("-", "doccano")


def test_the_module_is_headless_and_imports_spacy_only_when_reading() -> None:
    code = ("import sys, tuiannot.data.imports; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'rich', 'spacy', 'sqlite3'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- WNUT-17 from ../shared: its own CoNLL files, and a slice through every format ----------------------------------
WNUT = SHARED / "ner" / "wnut17"


def wnut_dev() -> list[dict[str, Any]]:
    path = WNUT / "dev.jsonl"
    if not path.exists() or not (WNUT / "original" / "emerging.dev.conll").exists():
        pytest.skip(f"shared data missing: {WNUT} (../shared is not beside the repository)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_wnut17_conll_as_published_reads_as_its_jsonl() -> None:
    rows = wnut_dev()
    path = WNUT / "original" / "emerging.dev.conll"
    assert detect(path) == "conll"
    read_back, found = collect(path)
    assert found == []
    assert [(t["text"], spans3(t)) for _, t in read_back] == [
        (r["text"], sorted((s["start"], s["end"], s["label"]) for s in r["spans"])) for r in rows]
    assert [[tok["text"] for tok in t["tokens"]] for _, t in read_back] == [r["tokens"] for r in rows]


@pytest.mark.parametrize("fmt", ["jsonl", "doccano", "label-studio", "spacy", "conll"])
def test_wnut17_slice_round_trip(capsys: pytest.CaptureFixture[str], db_path: Path, tmp_path: Path, fmt: str) -> None:
    rows = wnut_dev()[:300]
    seed(db_path, "wnut", [{"text": r["text"], "tokens": r["tokens"], "spans": r["spans"], "answer": "accept",
                            "_view_id": "ner_manual"} for r in rows])
    path = export(capsys, db_path, "wnut", fmt, tmp_path / f"wnut.{EXTENSION[fmt]}")
    read_back, found = collect(path)
    assert found == []
    # the texts are WNUT's tokens joined by single spaces, so even CoNLL brings back the same text
    assert [meaning(t) for _, t in read_back] == [
        ("spans", r["text"], sorted((s["start"], s["end"], s["label"]) for s in r["spans"])) for r in rows]


def test_db_in_reads_other_tools_exports(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The issue's three: a Label Studio export imported 0 records with exit 0; doccano and spaCy cats imported
    "successfully" but exported as nothing."""
    db_path = tmp_path / "t.db"
    studio = tmp_path / "studio.json"
    studio.write_text(json.dumps([{"id": 1, "data": {"text": "Ann works at Acme"}, "annotations": [
        {"completed_by": 7, "result": [{"type": "labels", "from_name": "label", "to_name": "text",
                                        "value": {"start": 0, "end": 3, "text": "Ann", "labels": ["PERSON"]}}]}]}]))
    doccano = tmp_path / "doccano.jsonl"
    doccano.write_text(json.dumps({"text": "Acme hired Bob", "label": [[0, 4, "ORG"], [11, 14, "PERSON"]]}) + "\n")
    cats = tmp_path / "cats.jsonl"
    cats.write_text(json.dumps({"text": "great film", "cats": {"POS": 1.0, "NEG": 0.0}}) + "\n")
    for path, dataset in ((studio, "ls"), (doccano, "dc"), (cats, "sc")):
        code, out, err = run(capsys, "db-in", dataset, path, "--db", db_path)
        assert code == 0, err
        assert "Imported 1 answer from " in out, out
    code, out, err = run(capsys, "db-out", "ls", "--format", "conll", "--db", db_path)
    assert code == 0 and out.splitlines()[0] == "Ann\tB-PERSON", (out, err)
    code, out, err = run(capsys, "db-out", "dc", "--format", "doccano", "--db", db_path)
    assert json.loads(out)["label"] == [[0, 4, "ORG"], [11, 14, "PERSON"]]
    code, out, err = run(capsys, "db-out", "sc", "--format", "doccano", "--db", db_path)
    assert json.loads(out)["label"] == ["POS"]


def test_db_in_of_an_unknown_shape_is_an_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps([{"what": "no text here"}]))
    code, out, err = run(capsys, "db-in", "ds", odd, "--db", tmp_path / "t.db")
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1 and "--format" in err


# -- relations: what db-out writes of rel answers, read back; and what cannot be read, named -------------------------
def relation_answer(text: str, spans: list[tuple[int, int, str]],
                    relations: list[tuple[int, int, str]]) -> dict[str, Any]:
    """A stored ``tuiannot rel`` answer: ``relations`` are (head, child, label), head and child indices in
    ``spans``."""
    answer = span_answer(text, spans, view="relations")
    answer["relations"] = [make_relation(answer["spans"][h], answer["spans"][c], label) for h, c, label in relations]
    return answer


RELS = [
    relation_answer("Ann Lee works for Acme in Berlin.", [(0, 7, "PER"), (18, 22, "ORG"), (26, 32, "LOC")],
                    [(0, 1, "WORKS_FOR"), (1, 2, "LOCATED_IN"), (2, 1, "HOME_OF")]),
    relation_answer("Bob met Carl.", [(0, 3, "PER"), (8, 12, "PER")], []),  # spans, no relation between them
    relation_answer("Acme bought Initech.", [(0, 4, "ORG"), (12, 19, "ORG")], [(0, 1, "ACQUIRED"), (0, 1, "OWNS")]),
]


def relations3(task: dict[str, Any]) -> list[tuple[tuple[int, int], tuple[int, int], str]]:
    return sorted(((r["head_span"]["start"], r["head_span"]["end"]), (r["child_span"]["start"],
                   r["child_span"]["end"]), r["label"]) for r in task.get("relations", []))


@pytest.mark.parametrize("fmt", ["doccano", "label-studio"])
def test_relation_answers_come_back_through_doccano_and_label_studio(capsys: pytest.CaptureFixture[str],
                                                                     db_path: Path, tmp_path: Path,
                                                                     fmt: str) -> None:
    """``rel`` answers → ``db-out`` doccano (its relation export) or Label Studio (relation results between
    regions) → ``db-in`` → the same texts, spans and relations, stored as relation answers. (An answer without
    relations is, in Label Studio, one of spans only: it comes back as such.)"""
    views = ["relations", "ner_manual" if fmt == "label-studio" else "relations", "relations"]
    seed(db_path, "rel", RELS)
    path = export(capsys, db_path, "rel", fmt, tmp_path / f"rel.{EXTENSION[fmt]}")
    assert detect(path) == fmt
    rows, found = collect(path)
    assert found == []
    assert [(meaning(t), relations3(t)) for _, t in rows] == [(meaning(t), relations3(t)) for t in RELS]
    for _, task in rows:
        assert_stored_shape(task)
    assert [t["_view_id"] for _, t in rows] == views
    code, out, err = run(capsys, "db-in", "again", path, "--db", db_path)
    assert code == 0 and f"Imported 3 answers from {fmt} into 'again'" in out and err == "", (out, err)
    again = stored(db_path, "again")
    assert [(meaning(t), relations3(t)) for t in again] == [(meaning(t), relations3(t)) for t in RELS]
    assert [r.get("relations", []) for r in again] == [r["relations"] for r in RELS]  # as rel stores them
    code, out, _ = run(capsys, "db-out", "again", "--format", fmt, "--db", db_path)
    assert code == 0 and out == path.read_text(encoding="utf-8")  # and written again: the same file


def test_doccano_relations_that_cannot_be_read_are_named_and_the_rest_imported(tmp_path: Path) -> None:
    entities = [{"id": 1, "label": "PER", "start_offset": 0, "end_offset": 3},
                {"id": 2, "label": "ORG", "start_offset": 13, "end_offset": 17},
                {"id": 3, "label": "ORG", "start_offset": 12, "end_offset": 14}]  # not on token boundaries
    path = write_lines(tmp_path / "rel.jsonl", [
        {"text": "Ann works at Acme.", "entities": entities, "relations": [
            {"id": 1, "from_id": 1, "to_id": 2, "type": "WORKS_AT"},
            {"id": 2, "from_id": 1, "to_id": 9, "type": "WORKS_AT"},   # no entity 9
            {"id": 3, "from_id": 2, "to_id": 1},                       # no type
            {"id": 4, "from_id": 2, "to_id": 2, "type": "SAME"},       # to itself
            {"id": 5, "from_id": 1, "to_id": 3, "type": "WORKS_AT"},   # to an entity left out
            {"id": 6, "from_id": [1], "to_id": {}, "type": "X"}, 7]},
        {"text": "Ann left.", "label": [[0, 3, "PER"]], "relations": [{"from_id": 1, "to_id": 2, "type": "X"}]},
    ])
    rows, found = collect(path)
    assert [(meaning(t), relations3(t), t["_view_id"]) for _, t in rows] == [
        (("spans", "Ann works at Acme.", [(0, 3, "PER"), (13, 17, "ORG")]), [((0, 3), (13, 17), "WORKS_AT")],
         "relations"),
        (("spans", "Ann left.", [(0, 3, "PER")]), [], "ner_manual"),  # spans as [start, end, label]: no ids
    ]
    assert found == [
        f"{path}:1: relation WORKS_AT: its to_id names no entity with offsets; left out",
        f'{path}:1: relation {{"id": 3, "from_id": 2, "to_id": 1}} has no type (its label); left out',
        f"{path}:1: relation X: its from_id and to_id name no entity with offsets; left out",
        f"{path}:1: relation 7 is not an object (from_id, to_id, type); left out",
        f"{path}:1: span [12, 14) ORG does not align with the tokens; left out",
        f"{path}:1: relation SAME: from a span to itself ([13, 17)); left out",
        f"{path}:1: relation WORKS_AT: its child span [12, 14) is not one of the task's spans; left out",
        f"{path}:2: 1 relation(s) not read ('relations' must be a list beside 'entities' with ids, as doccano's "
        "relation export writes them)",
    ]


def test_label_studio_relations_that_cannot_be_read_are_named_and_the_rest_imported(tmp_path: Path) -> None:
    def region(rid: str, start: int, end: int, label: str) -> dict[str, Any]:
        return {"id": rid, "from_name": "label", "to_name": "text", "type": "labels",
                "value": {"start": start, "end": end, "text": TEXT[start:end], "labels": [label]}}

    def link(a: Any, b: Any, *labels: Any, direction: str = "right") -> dict[str, Any]:
        return {"from_id": a, "to_id": b, "type": "relation", "direction": direction, "labels": list(labels)}

    path = write_ls(tmp_path / "rel.json", [{"id": 1, "data": {"text": TEXT}, "annotations": [{"result": [
        link("a", "b", "WORKS_AT"),  # before its regions: read once every region is known
        region("a", 0, 3, "PER"), region("b", 9, 13, "ORG"), region("c", 14, 19, "DATE"),
        link("c", "a", "WHEN", direction="left"),  # the arrow from to_id to from_id
        link("a", "zz", "X"), link("a", "c"), link("b", "b", "SAME"), link("a", "c", "BOTH", direction="bi")]}]}])
    rows, found = collect(path)
    assert [(meaning(t), relations3(t), t["_view_id"]) for _, t in rows] == [
        (("spans", TEXT, [(0, 3, "PER"), (9, 13, "ORG"), (14, 19, "DATE")]),
         [((0, 3), (9, 13), "WORKS_AT"), ((0, 3), (14, 19), "BOTH"), ((0, 3), (14, 19), "WHEN")], "relations")]
    assert found == [
        f"{path}:2: annotation 1: relation a → zz: its to_id names no labels region (or one left out); left out",
        f"{path}:2: annotation 1: relation a → c: no label (a relation's 'labels' must be a non-empty list of "
        "strings); left out",
        f"{path}:2: annotation 1: relation a → c: bidirectional, read as from_id → to_id (a relation has one "
        "direction)",
        f"{path}:2: annotation 1: relation SAME: from a span to itself ([9, 13)); left out",
    ]


# -- Prodigy's compare answers ---------------------------------------------------------------------------------------
PRODIGY_COMPARE = {"id": 7, "input": {"text": "FedEx von Cyberattacke getroffen"},
                   "accept": {"text": "FedEx hit by cyberattack"}, "reject": {"text": "FedEx attacked by cyber"},
                   "mapping": {"A": "accept", "B": "reject"}, "answer": "accept", "_session_id": "ds-ann"}


def test_a_prodigy_compare_answer_is_read_as_a_compare_answer(capsys: pytest.CaptureFixture[str], db_path: Path,
                                                             tmp_path: Path) -> None:
    """Prodigy's shape (the outputs under ``accept``/``reject``, a ``mapping``) was refused as "no input field";
    it is a compare answer in tuiannot's shape, which says which system won. One that is not a compare answer
    after all is named with its line."""
    not_one = {**PRODIGY_COMPARE, "mapping": {"A": "accept", "B": "accept"}}
    odd = {**PRODIGY_COMPARE, "mapping": {"A": 1, "B": "reject"}}
    path = write_lines(tmp_path / "compare.jsonl", [PRODIGY_COMPARE, not_one, odd])
    rows, found = collect(path, "prodigy")
    assert len(rows) == 1 and rows[0][0] == 1
    task = rows[0][1]
    assert task["outputs"] == {"A": {"text": "FedEx hit by cyberattack"}, "B": {"text": "FedEx attacked by cyber"}}
    assert (task["text"], task["_sides"], task["winner"], task["choice"], task["_view_id"]) == (
        "FedEx von Cyberattacke getroffen", ["B", "A"], "A", "right", "compare")
    reason = "not a Prodigy compare answer: no mapping of A and B to accept and reject"
    assert found == [f"{path}:2: {reason}", f"{path}:3: {reason}"]
    code, out, err = run(capsys, "db-in", "cmp", path, "--db", db_path)
    assert code == 0 and "Imported 1 answer into 'cmp' (accept 1); 2 invalid records skipped." in out, (out, err)
    assert err.splitlines() == [f"warning: {path}:2: {reason}", f"warning: {path}:3: {reason}"]
    [kept] = stored(db_path, "cmp")
    assert (kept["winner"], kept["outputs"]["A"], kept["_view_id"]) == ("A", task["outputs"]["A"], "compare")
    assert "reject" not in kept and not isinstance(kept.get("accept"), dict)  # the outputs live under outputs


# -- a file's shapes are never trusted -----------------------------------------------------------------------------
TEXT = "Ann left Acme today."
CANONICAL: dict[str, tuple[str, dict[str, Any]]] = {  # a record as each tool writes it, with every field it has
    "label-studio": ("label-studio", {
        "id": 7, "data": {"title": "A day", "body": TEXT}, "predictions": [], "annotations": [{
            "id": 1, "completed_by": {"id": 2, "email": "ann@example.org"}, "updated_at": "2024-01-01T00:00:00Z",
            "lead_time": 3.5, "was_cancelled": False, "result": [
                {"type": "labels", "from_name": "label", "to_name": "body",
                 "value": {"start": 0, "end": 3, "text": "Ann", "labels": ["PER"]}},
                {"type": "choices", "from_name": "mood", "to_name": "body", "value": {"choices": ["POS"]}}]}]}),
    "doccano": ("doccano", {"id": 3, "text": TEXT, "label": [[0, 3, "PER"], [9, 13, "ORG"]], "meta": {"by": "x"}}),
    "doccano entities": ("doccano", {"id": 4, "text": TEXT, "entities": [
        {"id": 1, "label": "PER", "start_offset": 0, "end_offset": 3},
        {"id": 2, "label": "ORG", "start_offset": 9, "end_offset": 13}],
        "relations": [{"id": 1, "from_id": 1, "to_id": 2, "type": "left"}]}),
    "doccano text labels": ("doccano", {"text": TEXT, "label": ["POS", "NEG"]}),
    "spacy": ("spacy", {"text": TEXT, "cats": {"POS": 0.9, "NEG": 0.1}, "meta": {"by": "x"}}),
    "prodigy": ("prodigy", {
        **span_answer(TEXT, [(0, 3, "PER")]), "_input_hash": 1, "_task_hash": 2, "_seconds": 2.5, "meta": {"a": 1},
        "label": "X", "accept": ["POS"], "options": [{"id": "POS", "text": "POS"}]}),
}
ODD = [5, -1, 2.5, True, None, "", "x", [], [1, "a"], {}, {"a": 1}, 1 << 70, "\x1b[2J\u202e"]
"""What a value may be in a file written by hand or by another version: every JSON type, and hostile text."""


def places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value inside a JSON value (itself first)."""
    inner = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    return [path, *(p for key, v in inner for p in places(v, (*path, key)))]


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


@pytest.mark.parametrize("shape", list(CANONICAL))
def test_any_value_anywhere_in_a_record_is_an_answer_or_a_warning_with_its_line(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: str) -> None:
    """Every place of a record (a field, an entry, a whole list) holding every JSON type in turn: each such
    record gives answers or warnings naming its line, never an exception; the good record after them is
    imported; ``--strict`` imports nothing. (Label Studio's ``result`` as a number gave "internal error".)"""
    monkeypatch.setattr("tuiannot.data.imports_common.blank", blank_nlp)  # one tokenizer for the thousands of records
    fmt, record = CANONICAL[shape]
    records = [replaced(record, place, odd) for place in places(record) for odd in ODD]
    good = {"data": {"text": "the good one"}, "annotations": [{"result": [
        {"type": "choices", "value": {"choices": ["POS"]}}]}]} if fmt == "label-studio" \
        else {"text": "the good one", "cats": {"POS": 1.0}} if fmt == "spacy" \
        else {"text": "the good one", "answer": "accept"} if fmt == "prodigy" \
        else {"text": "the good one", "label": ["POS"] if shape == "doccano text labels" else [[0, 3, "ORG"]]}
    path = write_ls(tmp_path / "in.json", [*records, good]) if fmt == "label-studio" \
        else write_lines(tmp_path / "in.jsonl", [json.dumps(r) for r in [*records, good]])
    first = 2 if fmt == "label-studio" else 1  # the line of records[0]
    answers, found = collect(path, fmt)
    named = {int(w.split(":")[1]) for w in found if w.startswith(f"{path}:")}
    assert all(w.startswith(f"{path}:") for w in found), found
    given = {line for line, _ in answers}
    assert all(first + i in given | named for i in range(len(records))), [  # nothing left out silently
        records[i] for i in range(len(records)) if first + i not in given | named][:3]
    assert answers[-1][1]["text"] == "the good one"

    db_path = tmp_path / "t.db"
    code, out, err = run(capsys, "db-in", "ds", path, "--format", fmt, "--db", db_path)
    assert code == 0 and out.startswith("Imported "), err
    assert "internal error" not in err and stored(db_path, "ds")[-1]["text"] == "the good one"
    code, out, err = run(capsys, "db-in", "strict", path, "--format", fmt, "--strict", "--db", db_path)
    assert (code, out) == (1, "") and err.startswith("error: ") and err.count("\n") == 1 and "--strict" in err
    assert "strict" not in {row["dataset"] for row in json.loads(run(capsys, "stats", "--json", "--db",
                                                                     db_path)[1])["datasets"]}


@pytest.mark.parametrize("tasks,reason", [
    ([{"data": {"title": "A", "body": "B"}, "annotations": [{"result": 5}]}], "no text in 'data'"),
    ([{"data": {"text": None}, "annotations": [{"result": True}]}], "no text in 'data'"),
    ([{"data": {"text": "Ann"}, "annotations": [{"result": 5}]}], "annotation 1: not an object with a 'result' list"),
    ([{"data": {"text": "Ann"}, "annotations": [{"result": [{"type": "labels", "value": {
        "start": 0, "end": 3, "labels": [{"x": 1}]}}]}]}], "the label must be a non-empty string"),
    ([{"data": {"text": "Ann"}, "annotations": [{"result": [{"type": "labels", "value": {
        "start": "0", "end": 3, "labels": ["PER"]}}]}]}], "start and end must be integers"),
    ([{"data": {"text": "Ann"}, "annotations": [{"result": [{"type": "choices", "value": {
        "choices": [" "]}}]}]}], "'choices' is not a list of labels"),
])
def test_label_studio_records_of_the_wrong_shape_are_named(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                          tasks: list[dict[str, Any]], reason: str) -> None:
    """The verifier's repro (``"result": 5`` where ``data`` has no ``text``) and its siblings: a warning naming the
    element's line, and the good task after it imported."""
    path = write_ls(tmp_path / "ls.json", [*tasks, {"data": {"text": "good"}, "annotations": [{"result": []}]}])
    code, out, err = run(capsys, "db-in", "ds", path, "--format", "label-studio", "--db", tmp_path / "t.db")
    assert code == 0 and out.startswith("Imported "), err
    assert stored(tmp_path / "t.db", "ds")[-1]["text"] == "good"  # a task with a span left out keeps the others
    assert err.startswith(f"warning: {path}:2: ") and reason in err, err


@pytest.mark.parametrize("record,reason", [
    ({"text": "Ann left.", "label": [[0, 3, "PER"]], "relations": 5}, "its relation(s) not read"),
    ({"text": "Ann left.", "label": [[0, 3, 7]]}, "the label must be a non-empty string"),
    ({"text": "Ann left.", "label": ["POS", " "]}, "a text label in 'label' is blank"),
    ({"text": "Ann \ud800 left.", "label": ["POS"]}, "a lone surrogate"),  # no text: UTF-8 cannot hold it
])
def test_doccano_records_of_the_wrong_shape_are_named(tmp_path: Path, record: dict[str, Any], reason: str) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes((json.dumps(record) + "\n" + json.dumps({"text": "good", "label": ["POS"]}) + "\n").encode())
    answers, found = collect(path, "doccano")
    assert answers[-1][1]["text"] == "good"
    assert found and found[0].startswith(f"{path}:1: ") and reason in found[0], found


def test_spacy_categories_that_are_no_scores_or_no_labels_are_named(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "cats.jsonl", [{"text": "a film", "cats": {"POS": "high", "": 0.7, "NEG": 0.2}}])
    answers, found = collect(path, "spacy")
    assert [(a["accept"], [o["id"] for o in a["options"]]) for _, a in answers] == [([], ["NEG"])]
    assert found == [f"{path}:1: category POS: 'high' is not a score from 0 to 1; left out",
                     f"{path}:1: category : no label; left out"]


@pytest.mark.parametrize("key,value", [
    ("strings", []), ("flags", [5]), ("span_groups", [b"x"]),
    ("strings", ["", ".", "Acme", "Ann", "PER", "acme", "ann", "left", "today"]),  # no span label: found reading
])
def test_a_damaged_docbin_is_one_line_and_imports_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                          key: str, value: Any) -> None:
    """A DocBin that unpacks but whose documents cannot be made or read (arrays of the wrong size, strings
    missing): spaCy's own exceptions were "internal error"."""
    import zlib

    import srsly

    doc = Doc(blank_nlp().vocab, words=["Ann", "left", "Acme", "today", "."], ents=["B-PER", "O", "O", "O", "O"])
    doc.spans["sc"] = [doc.char_span(9, 13, label="SQUAD")]  # not one of spaCy's own strings, as ORG is
    content = srsly.msgpack_loads(zlib.decompress(DocBin(docs=[doc]).to_bytes()))
    path = tmp_path / "bad.spacy"
    path.write_bytes(zlib.compress(srsly.msgpack_dumps({**content, key: value})))
    code, out, err = run(capsys, "db-in", "ds", path, "--db", tmp_path / "t.db")
    assert (code, out) == (1, "") and err.startswith(f"error: {path}: document 1: a damaged DocBin ("), err
    assert err.count("\n") == 1


def test_docbin_categories_that_are_no_scores_are_named(tmp_path: Path) -> None:
    import numpy

    doc = Doc(blank_nlp().vocab, words=["great", "film"])
    doc.cats = {"POS": numpy.float32(0.9), "NEG": "low"}  # a model's score; spaCy stores whatever it is given
    docs = DocBin(docs=[doc])
    path = tmp_path / "cats.spacy"
    path.write_bytes(docs.to_bytes())
    answers, found = collect(path, "spacy")
    assert [a["accept"] for _, a in answers] == [["POS"]]
    assert found == [f"{path}:document 1: category NEG: 'low' is not a score from 0 to 1; left out"]


def test_odd_relation_offsets_and_compare_mappings_are_warnings_not_crashes() -> None:
    from tuiannot.data.answers import align_relations
    from tuiannot.data.compare import compare_outcome

    spans = [{"start": 0, "end": 3, "label": "PER", "token_start": 0, "token_end": 0}]
    said: list[str] = []
    kept = align_relations([{"head_span": {"start": [0], "end": 3}, "child_span": {"start": 0, "end": 3},
                             "label": "X"}], spans, None, said.append)
    assert kept == [] and said
    assert compare_outcome({"answer": "accept", "mapping": {"A": 1, "B": "reject"}}) is None

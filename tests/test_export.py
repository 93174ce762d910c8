"""``tuiannot db-out --format spacy|conll|doccano|label-studio``: every field of every format, every span
a format cannot hold reported on stderr (never dropped silently), accepted answers with no spans kept as
"no entities", and the output read back by peers' own readers (seqeval; Label Studio's task shape, and
label-studio-sdk's Converter where it is installed), on hand-made answers and on WNUT-17 from ../shared."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from seqeval.metrics.sequence_labeling import get_entities
from spacy.tokens import DocBin

import tuiannot
from tuiannot.data.answers import Problems, Where, answer_kind
from tuiannot.data.export import MAX_TASK_ID, _words_from_tokens, export, label_studio_id, make_doc

from .helpers import SHARED, binary_answer, blank_nlp, choice_answer, run, seed, span_answer, warnings

NLP = blank_nlp("en")
pytestmark = pytest.mark.usefixtures("cli_env")


# The NER dataset: 1 clean, 1 misaligned span, 1 overlap, 1 rejected, 1 without tokens, 1 ignored.
NEWS = [
    span_answer("Acme Corp hired Ann Lee.", [(0, 9, "ORG"), (16, 23, "PERSON")]),
    span_answer("Ann left Acme.", [(0, 3, "PERSON"), (9, 12, "ORG")]),  # "Acm": not a token boundary
    span_answer("Bob met Carl in Paris.", [(0, 3, "PERSON"), (0, 7, "PERSON"), (16, 21, "GPE")]),
    span_answer("Rejected Corp here.", [(0, 13, "ORG")], answer="reject"),
    span_answer("We flew to Berlin today.", [(11, 17, "GPE")], with_tokens=False),
    span_answer("Ignored text.", [], answer="ignore"),
]


@pytest.fixture
def news_db(db_path: Path) -> Path:
    seed(db_path, "news", [dict(a) for a in NEWS])
    return db_path


# -- conll -----------------------------------------------------------------------------------
def test_conll_iob2_lines_and_reports(capsys: pytest.CaptureFixture[str], news_db: Path) -> None:
    code, out, err = run(capsys, "db-out", "news", "--format", "conll", "--db", news_db)
    assert code == 0
    blocks = [[tuple(line.split("\t")) for line in block.splitlines()] for block in out.strip("\n").split("\n\n")]
    assert blocks[0] == [("Acme", "B-ORG"), ("Corp", "I-ORG"), ("hired", "O"), ("Ann", "B-PERSON"),
                         ("Lee", "I-PERSON"), (".", "O")]
    assert blocks[1] == [("Ann", "B-PERSON"), ("left", "O"), ("Acme", "O"), (".", "O")]  # misaligned: reported
    # overlapping [0, 3) with [0, 7): the longer one is kept, the other reported
    assert blocks[2] == [("Bob", "B-PERSON"), ("met", "I-PERSON"), ("Carl", "O"), ("in", "O"), ("Paris", "B-GPE"),
                         (".", "O")]
    assert blocks[3] == [("We", "O"), ("flew", "O"), ("to", "O"), ("Berlin", "B-GPE"), ("today", "O"), (".", "O")]
    assert len(blocks) == 4  # the reject and the ignore are not exported by default
    assert out.endswith(".\tO\n") and "\n\n\n" not in out
    with tuiannot.connect(news_db) as db:
        hashes = [a["_input_hash"] for a in db.answers("news")]
    assert warnings(err) == [
        f"warning: news answer 2 (input hash {hashes[1]}): span [9, 12) ORG: does not align with the token "
        'boundaries ("Acm")',
        f"warning: news answer 3 (input hash {hashes[2]}): span [0, 3) PERSON: overlaps [0, 7) PERSON; IOB tags "
        "cannot represent overlapping spans",
    ]
    summary = err.splitlines()[-1]
    assert summary.startswith("Exported 4 records (conll) from 'news' to standard output")
    assert "not included: 1 ignore, 1 reject answers" in summary
    assert "2 spans could not be represented" in summary


def test_conll_to_a_file_and_textcat_answers_reported(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                      db_path: Path) -> None:
    seed(db_path, "mixed", [span_answer("Ann sang.", [(0, 3, "PERSON")]), choice_answer("Great.", ["POS"])])
    target = tmp_path / "out.conll"
    code, out, err = run(capsys, "db-out", "mixed", target, "--format", "conll", "--db", db_path)
    assert (code, out) == (0, "")
    assert target.read_text() == "Ann\tB-PERSON\nsang\tO\n.\tO\n"
    assert len(warnings(err)) == 1 and "mixed answer 2" in err and "IOB tags hold spans only" in err
    assert "1 answer not exported" in err.splitlines()[-1]
    assert not list(tmp_path.glob(".out.conll.tmp-*"))


def test_conll_skips_whitespace_tokens(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    text = "New\n\nYork  is big."
    seed(db_path, "ws", [span_answer(text, [(0, 9, "GPE")], with_tokens=False)])
    code, out, err = run(capsys, "db-out", "ws", "--format", "conll", "--db", db_path)
    assert code == 0 and warnings(err) == []
    assert out == "New\tB-GPE\nYork\tI-GPE\nis\tO\nbig\tO\n.\tO\n"


# -- doccano ---------------------------------------------------------------------------------
def test_doccano_spans_and_text_labels(capsys: pytest.CaptureFixture[str], news_db: Path) -> None:
    code, out, err = run(capsys, "db-out", "news", "--format", "doccano", "--db", news_db)
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert records[0] == {"text": "Acme Corp hired Ann Lee.", "label": [[0, 9, "ORG"], [16, 23, "PERSON"]]}
    # character offsets need no tokens: the misaligned and overlapping spans are representable here
    assert records[1]["label"] == [[0, 3, "PERSON"], [9, 12, "ORG"]]
    assert records[2]["label"] == [[0, 7, "PERSON"], [0, 3, "PERSON"], [16, 21, "GPE"]]
    assert len(records) == 4 and warnings(err) == []
    seed(news_db, "tc", [choice_answer("Good.", ["POS"]), choice_answer("Both.", ["POS", "NEU"]),
                         binary_answer("Fine.", "POS")])
    code, out, _ = run(capsys, "db-out", "tc", "--format", "doccano", "--db", news_db)
    assert [json.loads(line) for line in out.splitlines()] == [
        {"text": "Good.", "label": ["POS"]}, {"text": "Both.", "label": ["POS", "NEU"]},
        {"text": "Fine.", "label": ["POS"]}]


def test_invalid_offsets_are_reported_in_every_format(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    bad = span_answer("Short text.", [(0, 5, "X")])
    bad["spans"] += [{"start": 3, "end": 99, "label": "FAR"}, {"start": 4, "end": 2, "label": "BACK"},
                     {"start": 0, "end": 5}, {"start": "0", "end": 5, "label": "STR"}]
    seed(db_path, "bad", [bad])
    for fmt in ("doccano", "label-studio", "conll"):
        code, out, err = run(capsys, "db-out", "bad", "--format", fmt, "--db", db_path)
        assert code == 0, err
        lines = warnings(err)
        assert len(lines) == 4, lines
        assert "span [3, 99) FAR: offsets outside the text (length 11)" in lines[0]
        assert "span [4, 2) BACK: offsets outside the text" in lines[1]
        assert "span [0, 5) None: no label" in lines[2]
        assert "span [0, 5) STR: start and end must be integers" in lines[3]
        assert "4 spans could not be represented" in err.splitlines()[-1]


# -- Label Studio ----------------------------------------------------------------------------
def test_label_studio_tasks(capsys: pytest.CaptureFixture[str], news_db: Path) -> None:
    code, out, err = run(capsys, "db-out", "news", "--format", "label-studio", "--db", news_db)
    assert code == 0
    tasks = json.loads(out)
    assert len(tasks) == 4
    first = tasks[0]
    assert first["data"] == {"text": "Acme Corp hired Ann Lee."}
    results = first["annotations"][0]["result"]
    assert [{k: r[k] for k in ("from_name", "to_name", "type", "value")} for r in results] == [
        {"from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": 0, "end": 9, "text": "Acme Corp", "labels": ["ORG"]}},
        {"from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": 16, "end": 23, "text": "Ann Lee", "labels": ["PERSON"]}}]
    assert len({r["id"] for t in tasks for r in t["annotations"][0]["result"]}) == sum(
        len(t["annotations"][0]["result"]) for t in tasks)  # region ids are unique
    seed(news_db, "tc", [choice_answer("Good.", ["POS"]), binary_answer("Meh.", "POS", answer="reject")])
    code, out, err = run(capsys, "db-out", "tc", "--format", "label-studio", "--db", news_db)
    tasks = json.loads(out)
    with tuiannot.connect(news_db) as db:
        good_hash = next(iter(db.answers("tc")))["_input_hash"]
    assert tasks == [{"id": label_studio_id({"_input_hash": good_hash}, set()), "data": {"text": "Good."},
                      "annotations": [{"result": [{"id": "1-0", "from_name": "label", "to_name": "text",
                                                   "type": "choices", "value": {"choices": ["POS"]}}]}]}]
    assert "not included: 1 reject answers" in err


def test_label_studio_empty_selection_is_an_empty_array(capsys: pytest.CaptureFixture[str], news_db: Path) -> None:
    seed(news_db, "only-ignored", [span_answer("Nothing.", [], answer="ignore")])
    code, out, _ = run(capsys, "db-out", "only-ignored", "--format", "label-studio", "--db", news_db)
    assert code == 0 and json.loads(out) == []


# -- spaCy DocBin ----------------------------------------------------------------------------
def test_spacy_docbin_entities(capsys: pytest.CaptureFixture[str], tmp_path: Path, news_db: Path) -> None:
    target = tmp_path / "news.spacy"
    code, out, err = run(capsys, "db-out", "news", target, "--format", "spacy", "--db", news_db)
    assert (code, out) == (0, "")
    docs = list(DocBin().from_disk(target).get_docs(NLP.vocab))
    assert [d.text for d in docs] == [NEWS[i]["text"] for i in (0, 1, 2, 4)]
    assert [(e.text, e.label_) for e in docs[0].ents] == [("Acme Corp", "ORG"), ("Ann Lee", "PERSON")]
    assert [(e.text, e.label_) for e in docs[1].ents] == [("Ann", "PERSON")]  # "Acm" reported
    assert [(e.text, e.label_) for e in docs[2].ents] == [("Bob met", "PERSON"), ("Paris", "GPE")]
    assert [(e.text, e.label_) for e in docs[3].ents] == [("Berlin", "GPE")]
    # every token outside an entity is annotated O (a complete annotation, not missing)
    assert all(t.ent_iob_ in ("B", "I", "O") for d in docs for t in d)
    assert [w.split(": span ")[1] for w in warnings(err)] == [
        '[9, 12) ORG: does not align with the token boundaries ("Acm")',
        "[0, 3) PERSON: overlaps [0, 7) PERSON; entities cannot overlap"]
    assert "Exported 4 records (spacy)" in err and "2 spans could not be represented" in err


def test_spacy_docbin_spans_and_cats(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path) -> None:
    seed(db_path, "sc", [span_answer("Acme Corp hired Ann.", [(0, 9, "ORG"), (0, 4, "BRAND")], view="spans_manual")])
    seed(db_path, "tc", [choice_answer("Good.", ["POS"]), binary_answer("Fine.", "POS"),
                         binary_answer("Meh.", "POS", answer="reject"), choice_answer("Wrong.", [], answer="reject"),
                         binary_answer("Skip.", "POS", answer="ignore")])
    code, _, err = run(capsys, "db-out", "sc", tmp_path / "sc.spacy", "--format", "spacy", "--db", db_path)
    assert code == 0 and warnings(err) == []
    (doc,) = DocBin().from_disk(tmp_path / "sc.spacy").get_docs(NLP.vocab)
    assert [(s.text, s.label_) for s in doc.spans["sc"]] == [("Acme Corp", "ORG"), ("Acme", "BRAND")]
    assert doc.ents == ()
    code, _, err = run(capsys, "db-out", "tc", tmp_path / "tc.spacy", "--format", "spacy", "--db", db_path)
    assert code == 0
    docs = list(DocBin().from_disk(tmp_path / "tc.spacy").get_docs(NLP.vocab))
    # a rejected yes/no question is training data (the label does not apply); a rejected choice is not
    assert [(d.text, d.cats) for d in docs] == [("Good.", {"POS": 1.0, "NEG": 0.0, "NEU": 0.0}),
                                                ("Fine.", {"POS": 1.0}), ("Meh.", {"POS": 0.0})]
    assert "not included: 1 ignore, 1 reject answers" in err
    code, _, err = run(capsys, "db-out", "tc", tmp_path / "acc.spacy", "--format", "spacy", "--answer", "accept",
                       "--db", db_path)
    assert [d.text for d in DocBin().from_disk(tmp_path / "acc.spacy").get_docs(NLP.vocab)] == ["Good.", "Fine."]


def test_spacy_docbin_keeps_the_stored_tokens(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              db_path: Path) -> None:
    text = "Visit U.S.A.-based Acme"
    custom = [{"text": "Visit", "start": 0, "end": 5, "id": 0, "ws": True},
              {"text": "U.S.A.", "start": 6, "end": 12, "id": 1, "ws": False},
              {"text": "-", "start": 12, "end": 13, "id": 2, "ws": False},
              {"text": "based", "start": 13, "end": 18, "id": 3, "ws": True},
              {"text": "Acme", "start": 19, "end": 23, "id": 4, "ws": False}]
    task = span_answer(text, [(6, 12, "GPE"), (19, 23, "ORG")], with_tokens=False)
    task["tokens"] = custom
    seed(db_path, "tok", [task])
    code, _, err = run(capsys, "db-out", "tok", tmp_path / "t.spacy", "--format", "spacy", "--db", db_path)
    assert code == 0 and warnings(err) == []
    (doc,) = DocBin().from_disk(tmp_path / "t.spacy").get_docs(NLP.vocab)
    assert [t.text for t in doc] == ["Visit", "U.S.A.", "-", "based", "Acme"]
    assert [(e.text, e.label_) for e in doc.ents] == [("U.S.A.", "GPE"), ("Acme", "ORG")]


def test_tokens_that_do_not_fit_the_text_are_reported_and_retokenised(capsys: pytest.CaptureFixture[str],
                                                                      tmp_path: Path, db_path: Path) -> None:
    task = span_answer("Ann sang.", [(0, 3, "PERSON")])
    task["tokens"] = [{"text": "Bob", "start": 0, "end": 3}, {"text": "x", "start": 5, "end": 99}]
    seed(db_path, "t", [task])
    code, _, err = run(capsys, "db-out", "t", tmp_path / "t.spacy", "--format", "spacy", "--db", db_path)
    assert code == 0
    assert warnings(err)[0].endswith("its tokens do not match its text; tokenised again (spans may not align)")
    assert "1 answer tokenised again" in err
    (doc,) = DocBin().from_disk(tmp_path / "t.spacy").get_docs(NLP.vocab)
    assert [(e.text, e.label_) for e in doc.ents] == [("Ann", "PERSON")]


@pytest.mark.parametrize("text,words,spaces", [
    ("a b", ["a", "b"], [True, False]),
    ("a  b ", ["a", " ", "b"], [True, False, True]),
    ("\na\n\nb", ["\n", "a", "\n\n", "b"], [False, False, False, False]),
])
def test_words_from_offsets_rebuild_the_text_exactly(text: str, words: list[str], spaces: list[bool]) -> None:
    toks = [{"text": m.group(), "start": m.start(), "end": m.end()} for m in re.finditer(r"\S+", text)]
    assert _words_from_tokens(text, toks) == (words, spaces)
    doc = make_doc(NLP, {"text": text, "tokens": toks}, Where("d", 1, 0), Problems(write=lambda line: None))
    assert doc.text == text


# -- errors ----------------------------------------------------------------------------------
def test_db_out_format_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path, news_db: Path) -> None:
    code, out, err = run(capsys, "db-out", "news", "--format", "spacy", "--db", news_db)
    assert code == 2 and "give OUTPUT" in err and out == ""
    code, _, err = run(capsys, "db-out", "news", "--format", "xml", "--db", news_db)
    assert code == 2 and "'xml' is not one of jsonl, spacy, conll, doccano, label-studio" in err
    code, _, err = run(capsys, "db-out", "nope", "--format", "conll", "--db", news_db)
    assert code == 1 and err.startswith("error: no dataset named 'nope'") and err.count("\n") == 1
    code, _, err = run(capsys, "db-out", "news", tmp_path, "--format", "doccano", "--db", news_db)
    assert code == 1 and err == f"error: {tmp_path}: is a directory; give a file name\n"
    code, _, err = run(capsys, "db-out", "news", "--format", "conll", "--lang", "zz", "--db", news_db)
    assert code == 1 and err.startswith("error: unknown language code 'zz'") and err.count("\n") == 1


def test_jsonl_stays_the_default_and_unchanged(capsys: pytest.CaptureFixture[str], news_db: Path) -> None:
    code, out, err = run(capsys, "db-out", "news", "--db", news_db)
    assert (code, err) == (0, "")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == len(NEWS) and [r["text"] for r in rows] == [a["text"] for a in NEWS]
    assert all("_answer_id" not in r for r in rows)


# -- helpers of the tests below --------------------------------------------------------------
WNUT = SHARED / "ner" / "wnut17"


def conll_blocks(out: str) -> list[list[tuple[str, ...]]]:
    return [[tuple(line.split("\t")) for line in block.splitlines()] for block in out.strip("\n").split("\n\n")]


def token_spans(text: str, words: list[str], spans: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    """``(label, first token, last token)`` of character spans over ``words`` (found in ``text`` in order):
    what seqeval's ``get_entities`` returns for correct IOB2 tags."""
    starts, ends, position = {}, {}, 0
    for i, word in enumerate(words):
        position = text.index(word, position)
        starts[position], ends[position + len(word)] = i, i
        position += len(word)
    return [(s["label"], starts[s["start"]], ends[s["end"]]) for s in spans]


def wnut(part: str) -> list[dict[str, Any]]:
    path = WNUT / f"{part}.jsonl"
    if not path.exists():
        pytest.skip(f"shared data missing: {path} (../shared is not beside the repository)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def prodigy_style(record: dict[str, Any]) -> dict[str, Any]:
    """A WNUT-17 sentence as an accepted answer imported from Prodigy: tokens as plain strings, and no
    ``spans`` key where nothing was marked (as in explosion's ner_drugs set)."""
    answer = {"text": record["text"], "tokens": record["tokens"], "answer": "accept"}
    if record["spans"]:
        answer["spans"] = record["spans"]
    return answer


def check_label_studio_shape(tasks: list[dict[str, Any]]) -> None:
    """What label_studio_sdk's Converter reads from each task (``annotation_result_from_task``, ``get_data``):
    ``id`` (KeyError without it), ``data``, ``annotations[].result[]`` with from_name, to_name, type, value.
    The SDK itself is not a test dependency (it needs numpy 2 and OpenCV): where it is installed,
    test_label_studio_sdks_converter_reads_our_export_in_every_format runs its Converter on our exports."""
    ids = [t["id"] for t in tasks]
    assert all(isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_TASK_ID for i in ids)
    assert len(set(ids)) == len(ids)
    for task in tasks:
        assert isinstance(task["data"]["text"], str) and len(task["annotations"]) == 1
        for result in task["annotations"][0]["result"]:
            assert {"id", "from_name", "to_name", "type", "value"} <= set(result)
            if result["type"] == "labels":
                value = result["value"]
                assert task["data"]["text"][value["start"]:value["end"]] == value["text"]


# -- accepted answers that mark nothing -------------------------------------------------------
@pytest.mark.parametrize("task,kind", [
    ({"_view_id": "ner_manual", "tokens": [{"text": "Hi", "start": 0, "end": 2}]}, "spans"),  # no spans key
    ({"_view_id": "spans_manual"}, "spans"),  # a manual span view: spans even without tokens
    ({"tokens": ["Hi", "there"]}, "spans"),  # imported without a view: tokens and nothing else
    ({"spans": []}, "spans"),
    ({"tokens": ["Hi"], "label": "POS"}, "textcat"),  # a yes/no question that shows tokens
    ({"tokens": ["Hi"], "options": [{"id": "A"}], "accept": ["A"]}, "textcat"),
    ({"_view_id": "classification", "label": "POS", "spans": []}, "textcat"),
    ({"_view_id": "choice", "tokens": ["Hi"], "options": [{"id": "A"}], "accept": []}, "textcat"),
    ({"_view_id": "classification", "tokens": ["Hi"]}, None),  # a question with no label: nothing to train on
    ({"_view_id": "ner", "spans": [{"start": 0, "end": 2, "label": "X"}], "tokens": ["Hi"]}, None),  # binary
    ({"_view_id": "ner", "tokens": ["Hi"]}, None),
    ({}, None),
    ({"tokens": []}, None),
])
def test_answer_kind_span_answers_need_no_spans_key(task: dict[str, Any], kind: str | None) -> None:
    assert answer_kind({"text": "Hi there", "answer": "accept", **task}) == kind
    assert answer_kind({"image": "x.png", **task}) is None


def test_accepted_answers_without_spans_mean_no_entities(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                         db_path: Path) -> None:
    def marked_nothing(text: str, **fields: Any) -> dict[str, Any]:
        answer = span_answer(text, [], **fields)
        del answer["spans"]
        return answer

    without_view = marked_nothing("No view either.")
    del without_view["_view_id"]
    seed(db_path, "quiet", [
        span_answer("Ann sang.", [(0, 3, "PERSON")]),
        marked_nothing("Nothing here."),  # ner_manual with tokens, no spans key
        without_view,  # imported: tokens only
        marked_nothing("No tokens at all.", with_tokens=False),  # ner_manual, tokenised by spaCy
        marked_nothing("Also rejected.", answer="reject"),
    ])
    code, out, err = run(capsys, "db-out", "quiet", "--format", "conll", "--db", db_path)
    assert code == 0 and warnings(err) == [], err
    assert conll_blocks(out) == [[("Ann", "B-PERSON"), ("sang", "O"), (".", "O")],
                                 [("Nothing", "O"), ("here", "O"), (".", "O")],
                                 [("No", "O"), ("view", "O"), ("either", "O"), (".", "O")],
                                 [("No", "O"), ("tokens", "O"), ("at", "O"), ("all", "O"), (".", "O")]]
    assert err.splitlines()[-1].startswith("Exported 4 records (conll)")
    code, _, err = run(capsys, "db-out", "quiet", tmp_path / "q.spacy", "--format", "spacy", "--db", db_path)
    assert code == 0 and warnings(err) == []
    docs = list(DocBin().from_disk(tmp_path / "q.spacy").get_docs(NLP.vocab))
    assert len(docs) == 4 and [len(d.ents) for d in docs] == [1, 0, 0, 0]
    assert all(d.has_annotation("ENT_IOB") and all(t.ent_iob_ in "BIO" for t in d) for d in docs)  # O, not missing
    code, out, _ = run(capsys, "db-out", "quiet", "--format", "doccano", "--db", db_path)
    assert [json.loads(line)["label"] for line in out.splitlines()] == [[[0, 3, "PERSON"]], [], [], []]
    code, out, _ = run(capsys, "db-out", "quiet", "--format", "label-studio", "--db", db_path)
    assert [len(t["annotations"][0]["result"]) for t in json.loads(out)] == [1, 0, 0, 0]
    seed(db_path, "sc", [marked_nothing("Plain words.", view="spans_manual")])
    code, _, err = run(capsys, "db-out", "sc", tmp_path / "sc.spacy", "--format", "spacy", "--db", db_path)
    (doc,) = DocBin().from_disk(tmp_path / "sc.spacy").get_docs(NLP.vocab)
    assert code == 0 and "sc" in doc.spans and len(doc.spans["sc"]) == 0 and doc.ents == ()


# -- tokens given as strings, whitespace inside a token ---------------------------------------
def test_tokens_given_as_strings_are_used(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path) -> None:
    text = "Visit U.S.A.-based Acme  now"
    words = ["Visit", "U.S.A.", "-", "based", "Acme", "now"]
    assert [t.text for t in NLP.make_doc(text)] != words  # spaCy would tokenise it otherwise
    task = span_answer(text, [(6, 12, "GPE"), (19, 23, "ORG")], with_tokens=False, tokens=words)
    bad = span_answer("Ann sang.", [(0, 3, "PERSON")], with_tokens=False, tokens=["Bob", "sang", "."])
    seed(db_path, "tok", [task, bad])
    code, _, err = run(capsys, "db-out", "tok", tmp_path / "t.spacy", "--format", "spacy", "--db", db_path)
    assert code == 0
    doc, again = DocBin().from_disk(tmp_path / "t.spacy").get_docs(NLP.vocab)
    assert [t.text for t in doc] == ["Visit", "U.S.A.", "-", "based", "Acme", " ", "now"] and doc.text == text
    assert [(e.text, e.label_) for e in doc.ents] == [("U.S.A.", "GPE"), ("Acme", "ORG")]
    # strings that are not the text's words: re-tokenised, and said so for that answer only
    assert [line.split(": ", 1)[1] for line in warnings(err)] == [
        f"tok answer 2 (input hash {_input_hashes(db_path, 'tok')[1]}): its tokens do not match its text; "
        "tokenised again (spans may not align)"]
    assert [(e.text, e.label_) for e in again.ents] == [("Ann", "PERSON")]
    code, out, err = run(capsys, "db-out", "tok", "--format", "conll", "--db", db_path)
    assert conll_blocks(out)[0] == [("Visit", "O"), ("U.S.A.", "B-GPE"), ("-", "O"), ("based", "O"),
                                    ("Acme", "B-ORG"), ("now", "O")]


def _input_hashes(db_path: Path, dataset: str) -> list[int]:
    with tuiannot.connect(db_path) as db:
        return [a["_input_hash"] for a in db.answers(dataset)]


def test_conll_notes_whitespace_inside_a_token(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    seed(db_path, "ws", [
        span_answer("I love New York.", [(7, 15, "GPE")], with_tokens=False, tokens=["I", "love", "New York", "."]),
        span_answer("Plain one.", [], with_tokens=False, tokens=["Plain", "one", "."]),
        span_answer("Pay 10\u00a0000 now", [], with_tokens=False, tokens=["Pay", "10\u00a0000", "now"])])
    code, out, err = run(capsys, "db-out", "ws", "--format", "conll", "--db", db_path)
    assert code == 0
    assert conll_blocks(out) == [[("I", "O"), ("love", "O"), ("New_York", "B-GPE"), (".", "O")],
                                 [("Plain", "O"), ("one", "O"), (".", "O")],
                                 [("Pay", "O"), ("10_000", "O"), ("now", "O")]]
    hashes = _input_hashes(db_path, "ws")
    assert warnings(err) == [
        f'warning: ws answer 1 (input hash {hashes[0]}): 1 token has whitespace inside (first "New York"): '
        "written with _ in its place",
        f'warning: ws answer 3 (input hash {hashes[2]}): 1 token has whitespace inside (first "10\u00a0000"): '
        "written with _ in its place"]
    problems = Problems(write=lambda line: None)
    with tuiannot.connect(db_path) as db:
        export(db, "ws", "conll", io.StringIO(), answer=None, lang="en", problems=problems)
    assert problems.notes == 2 and problems.summary() == ["2 answers with whitespace in a token written as _"]


# -- Label Studio task ids --------------------------------------------------------------------
@pytest.mark.parametrize("input_hash,taken,expected", [
    (4711, set(), 4711),  # a positive hash that fits is the id itself
    (MAX_TASK_ID, set(), MAX_TASK_ID),
    (MAX_TASK_ID + 1, set(), 2),  # wrapped into 1..MAX_TASK_ID
    (-1, set(), MAX_TASK_ID),
    (0, set(), 1),
    (4711, {4711, 4712}, 4713),  # the same input again: the next free number
    (MAX_TASK_ID, {MAX_TASK_ID}, 1),
])
def test_label_studio_id(input_hash: int, taken: set[int], expected: int) -> None:
    before = set(taken)
    assert label_studio_id({"_input_hash": input_hash}, taken) == expected
    assert taken == before | {expected}


def test_label_studio_tasks_have_stable_unique_ids(capsys: pytest.CaptureFixture[str], news_db: Path) -> None:
    seed(news_db, "news", [span_answer("Acme Corp hired Ann Lee.", [(0, 9, "ORG")], session="bob")])  # input 1 again
    code, out, _ = run(capsys, "db-out", "news", "--format", "label-studio", "--db", news_db)
    tasks = json.loads(out)
    check_label_studio_shape(tasks)
    hashes = _input_hashes(news_db, "news")
    first = label_studio_id({"_input_hash": hashes[0]}, set())
    assert [t["id"] for t in tasks][0] == first and tasks[-1]["id"] == first % MAX_TASK_ID + 1
    assert tasks[-1]["data"] == tasks[0]["data"]
    assert json.loads(run(capsys, "db-out", "news", "--format", "label-studio", "--db", news_db)[1]) == tasks  # stable


# -- warnings: the first 20, then a count --------------------------------------------------------
def test_problems_write_the_first_warnings_and_count_the_rest() -> None:
    lines: list[str] = []
    problems = Problems(write=lines.append)
    for i in range(25):
        problems.span(Where("d", i + 1, 7), 0, 1, "X", "a reason")
    assert len(lines) == 20 and lines[-1] == "warning: d answer 20 (input hash 7): span [0, 1) X: a reason"
    problems.finish()
    assert lines[20:] == ["… and 5 more warnings"] and problems.spans == 25
    problems.finish()  # nothing new
    problems.answer(Where("d", 26, 7), "another")
    problems.finish()
    assert lines[21:] == ["… and 1 more warning"] and (problems.spans, problems.answers) == (25, 1)
    everything: list[str] = []
    unlimited = Problems(write=everything.append, limit=None)
    for i in range(25):
        unlimited.note(Where("d", i + 1, 7), "a note")
    unlimited.finish()
    assert len(everything) == 25 and unlimited.summary() == ["25 answers tokenised again"]


def test_db_out_shows_20_warnings_and_counts_all(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                 db_path: Path) -> None:
    seed(db_path, "many", [span_answer(f"Ann left Acme {i}.", [(9, 12, "ORG")]) for i in range(1_234 + 20)])
    for fmt, target in (("conll", None), ("spacy", tmp_path / "many.spacy")):
        code, _, err = run(capsys, "db-out", "many", *([target] if target else []), "--format", fmt, "--db", db_path)
        assert code == 0
        lines = err.splitlines()
        assert len(warnings(err)) == 20 and all("does not align" in line for line in warnings(err))
        assert lines[20] == "… and 1,234 more warnings"
        assert f"Exported 1254 records ({fmt})" in lines[21] and "1254 spans could not be represented" in lines[21]


# -- read back by peers' readers: seqeval, and WNUT-17 through every format --------------------
def test_seqeval_reads_the_stored_spans_from_the_conll_tags(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    answers = [span_answer("Acme Corp hired Ann Lee in New York City.", [(0, 9, "ORG"), (16, 23, "PERSON"),
                                                                          (27, 40, "GPE")]),
               span_answer("Ann met Bob Lee and Carla.", [(0, 3, "PERSON"), (8, 15, "PERSON"), (20, 25, "PERSON")]),
               span_answer("Nothing to see.", [])]
    seed(db_path, "ner", answers)
    code, out, err = run(capsys, "db-out", "ner", "--format", "conll", "--db", db_path)
    assert code == 0 and warnings(err) == []
    for answer, block in zip(answers, conll_blocks(out), strict=True):
        words, tags = [w for w, _ in block], [t for _, t in block]
        assert words == [t["text"] for t in answer["tokens"]]
        assert get_entities(tags) == token_spans(answer["text"], words, answer["spans"])


def test_wnut17_round_trip_through_every_format(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                db_path: Path) -> None:
    rows = wnut("dev")
    seed(db_path, "wnut", [prodigy_style(r) for r in rows])
    assert sum(1 for r in rows if not r["spans"]) == 381  # accepted, no entities: data, not missing
    code, out, err = run(capsys, "db-out", "wnut", "--format", "conll", "--db", db_path)
    assert code == 0 and warnings(err) == [], err[:2000]
    assert err.splitlines()[-1] == "Exported 1009 records (conll) from 'wnut' to standard output."
    blocks = conll_blocks(out)
    assert blocks == [list(zip(r["tokens"], r["tags"], strict=True)) for r in rows]  # WNUT-17's own CoNLL
    for r, block in zip(rows, blocks, strict=True):
        assert get_entities([tag for _, tag in block]) == token_spans(r["text"], r["tokens"], r["spans"])
    code, _, err = run(capsys, "db-out", "wnut", tmp_path / "w.spacy", "--format", "spacy", "--db", db_path)
    assert code == 0 and warnings(err) == []
    docs = list(DocBin().from_disk(tmp_path / "w.spacy").get_docs(NLP.vocab))
    assert [[t.text for t in d] for d in docs] == [r["tokens"] for r in rows]  # the given tokens, none re-made
    assert [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in docs] == [
        [(s["start"], s["end"], s["label"]) for s in r["spans"]] for r in rows]
    code, out, err = run(capsys, "db-out", "wnut", "--format", "label-studio", "--db", db_path)
    tasks = json.loads(out)
    check_label_studio_shape(tasks)
    assert [[(x["value"]["start"], x["value"]["end"], x["value"]["labels"][0]) for x in t["annotations"][0]["result"]]
            for t in tasks] == [[(s["start"], s["end"], s["label"]) for s in r["spans"]] for r in rows]


# -- label-studio-sdk's own Converter (opt-in) --------------------------------------------------------------------
LS_SPANS = [span_answer("Acme Corp hired Ann Lee.", [(0, 9, "ORG"), (16, 23, "PERSON")]),
            span_answer("Nothing to see here.", []),  # accepted, no entities
            span_answer("Zoë met Carl in New York City.", [(0, 3, "PERSON"), (8, 12, "PERSON"), (16, 29, "GPE")])]
LS_CHOICES = [choice_answer("Great film.", ["POS"]), choice_answer("Meh.", []),
              choice_answer("Funny and sad.", ["POS", "NEG"])]
LS_PROJECTS = {  # a Label Studio project's labeling config for each kind of export, and the tag of a label in it
    "spans": ('<View><Labels name="label" toName="text">{}</Labels><Text name="text" value="$text"/></View>',
              "Label"),
    "choices": ('<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="multiple">{}'
                "</Choices></View>", "Choice")}


def ls_marks(label: Any) -> list[Any]:
    """What one task of the SDK's JSON_MIN or CSV output marks: ``(start, end, label)`` spans or labels."""
    if isinstance(label, str):
        label = json.loads(label) if label.startswith(("[", "{")) else [label] if label else []
    if isinstance(label, dict):
        return list(label.get("choices", []))
    return [(x["start"], x["end"], x["labels"][0]) if isinstance(x, dict) else x for x in label or []]


def test_label_studio_sdks_converter_reads_our_export_in_every_format(capsys: pytest.CaptureFixture[str],
                                                                     tmp_path: Path, db_path: Path) -> None:
    """label_studio_sdk's Converter on our NER and choices exports, to every format it offers for such a project
    (it failed with ``KeyError: 'id'`` on each): what each output holds is our texts, spans and labels.

    Opt-in: the SDK is not in the test extra (509 MB: numpy 2, OpenCV, pandas); install ``label-studio-sdk`` to
    run it. ``CSV_OLD``, which the SDK lists, is left out: ``Converter.convert`` does nothing for it (only its
    command line does, from Label Studio 0.x's folders of completions)."""
    import csv
    from xml.sax.saxutils import quoteattr

    converter = pytest.importorskip("label_studio_sdk.converter", reason="label-studio-sdk is not installed (not "
                                    "in the test extra: 509 MB with numpy 2, OpenCV and pandas); pip install "
                                    "label-studio-sdk to check our export with its Converter")
    seed(db_path, "spans", [dict(a) for a in LS_SPANS])
    seed(db_path, "choices", [dict(a) for a in LS_CHOICES])
    for kind, (template, tag) in LS_PROJECTS.items():
        export_file = tmp_path / f"{kind}.json"
        code, _, err = run(capsys, "db-out", kind, export_file, "--format", "label-studio", "--db", db_path)
        assert code == 0, err
        tasks = json.loads(export_file.read_text(encoding="utf-8"))
        ours = [ls_marks([r["value"] for r in t["annotations"][0]["result"]] if kind == "spans" else
                         {"choices": [c for r in t["annotations"][0]["result"] for c in r["value"]["choices"]]})
                for t in tasks]
        assert ours == ([[(s["start"], s["end"], s["label"]) for s in a["spans"]] for a in LS_SPANS]
                        if kind == "spans" else [a["accept"] for a in LS_CHOICES])
        labels = sorted({m[2] if kind == "spans" else m for marks in ours for m in marks})
        config = template.format("".join(f"<{tag} value={quoteattr(label)}/>" for label in labels))
        sdk = converter.Converter(config=config, project_dir=str(tmp_path), download_resources=False)
        formats = [f for f in sdk.supported_formats if f != "CSV_OLD"]
        assert set(formats) >= {"JSON", "JSON_MIN", "CSV", "TSV", *(["CONLL2003"] if kind == "spans" else [])}
        for fmt in formats:
            out = tmp_path / f"{kind}-{fmt}"
            sdk.convert(str(export_file), str(out), fmt, is_dir=False)
            [written] = list(out.iterdir())
            text = written.read_text(encoding="utf-8")
            if fmt == "JSON":
                assert json.loads(text) == tasks
            elif fmt == "JSON_MIN":
                rows = json.loads(text)
                assert [r["id"] for r in rows] == [t["id"] for t in tasks]
                assert [ls_marks(r.get("label")) for r in rows] == ours, fmt
            elif fmt in ("CSV", "TSV"):
                rows = list(csv.DictReader(io.StringIO(text), delimiter="," if fmt == "CSV" else "\t"))
                assert [(int(r["id"]), r["text"]) for r in rows] == [(t["id"], t["data"]["text"]) for t in tasks]
                assert [ls_marks(r["label"]) for r in rows] == ours, fmt
            else:
                assert fmt == "CONLL2003", f"a format this test does not know how to read: {fmt}"
                blocks = [[line.split(" ") for line in block.splitlines()]
                          for block in text.split("-DOCSTART- -X- O\n", 1)[1].strip("\n").split("\n\n")]
                entities = [[(" ".join(w[0] for w in block[s:e + 1]), label)
                             for label, s, e in get_entities([w[-1] for w in block])] for block in blocks]
                assert entities == [[(t["data"]["text"][s:e], label) for s, e, label in marks]
                                    for t, marks in zip(tasks, ours, strict=True)]

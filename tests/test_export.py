"""``tuiannot db-out --format spacy|conll|doccano|label-studio``: every field of every format, and every span
a format cannot hold reported on stderr (never dropped silently)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from spacy.tokens import DocBin

import tuiannot
from tuiannot.data.answers import Problems, Where
from tuiannot.data.export import _words_from_tokens, make_doc

from .helpers import binary_answer, blank_nlp, choice_answer, run, seed, span_answer, warnings

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
    assert tasks == [{"data": {"text": "Good."}, "annotations": [{"result": [
        {"id": "1-0", "from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["POS"]}}]}]}]
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

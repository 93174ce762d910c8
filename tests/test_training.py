"""``tuiannot data-to-spacy`` and ``tuiannot train``: merged, split training data that spaCy's own training
accepts, and trained pipelines that ``spacy.load`` opens and that predict."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import spacy
from spacy.tokens import DocBin

import tuiannot
from tuiannot.data.answers import Problems
from tuiannot.data.corpus import build_corpus

from .helpers import SHARED, binary_answer, blank_nlp, choice_answer, run, seed, span_answer, warnings

NLP = blank_nlp("en")
pytestmark = pytest.mark.usefixtures("cli_env")
PEOPLE = ["Ann", "Bob", "Carla", "Dieter", "Eve", "Farid", "Gina", "Hugo", "Ines", "Jon"]
ORGS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Wonka", "Stark"]
TEMPLATES = ["{p} works at {o} .", "{o} hired {p} last week .", "Yesterday {p} left {o} for good .",
             "{p} and {o} signed a deal .", "Reports say {o} will promote {p} ."]


def synthetic_ner(n: int, seed_: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed_)
    answers = []
    for i in range(n):
        p, o = rng.choice(PEOPLE), rng.choice(ORGS)
        text = rng.choice(TEMPLATES).format(p=p, o=o) + f" ({i})"
        spans = [(text.index(p), text.index(p) + len(p), "PERSON"), (text.index(o), text.index(o) + len(o), "ORG")]
        answers.append(span_answer(text, spans))
    return answers


def synthetic_textcat(n: int) -> list[dict[str, Any]]:
    good, bad = ["great", "lovely", "excellent", "superb"], ["awful", "terrible", "bad", "horrible"]
    return [choice_answer(f"{(good if i % 2 else bad)[i // 2 % 4]} product number {i}", ["POS" if i % 2 else "NEG"])
            for i in range(n)]


def read_docs(path: Path) -> list[Any]:
    return list(DocBin().from_disk(path).get_docs(NLP.vocab))


def all_docs(out: Path) -> dict[str, Any]:
    return {d.text: d for d in read_docs(out / "train.spacy") + read_docs(out / "dev.spacy")}


# -- data-to-spacy: merging -----------------------------------------------------------------------
def test_data_to_spacy_merges_inputs_across_datasets(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                     db_path: Path) -> None:
    seed(db_path, "news", [
        span_answer("Acme hired Ann.", [(0, 4, "ORG"), (11, 14, "PERSON")], session="alice"),
        span_answer("Acme hired Ann.", [(0, 4, "ORG"), (11, 14, "PERSON")], session="bob"),  # agrees: no conflict
        span_answer("Bob left Globex.", [(0, 3, "PERSON")], session="alice", timestamp=1_700_000_000),
        span_answer("Bob left Globex.", [(0, 3, "PERSON"), (9, 15, "ORG")], session="bob", timestamp=1_700_000_500),
        span_answer("Eve is here.", [(0, 3, "ORG")], answer="reject"),
        span_answer("Jon is away.", [(0, 3, "PERSON")], answer="ignore"),
        span_answer("Ines met Acme.", [(0, 4, "PERSON"), (9, 13, "ORG")]),
        span_answer("Carla runs.", [(0, 5, "PERSON")]),
    ])
    seed(db_path, "news2", [span_answer("Ines met Acme.", [(0, 4, "PERSON")], timestamp=1_600_000_000)])  # older
    seed(db_path, "sentiment", [
        choice_answer("Acme hired Ann.", ["POS"]),
        binary_answer("Carla runs.", "NEG", answer="reject"),
        binary_answer("Bob left Globex.", "NEG"),
        choice_answer("Only text.", ["NEU"]),
    ])
    out = tmp_path / "corpus"
    code, stdout, err = run(capsys, "data-to-spacy", out, "--ner", "news,news2", "--textcat", "sentiment",
                            "--json", "--db", db_path)
    assert code == 0, err
    report = json.loads(stdout)
    assert sorted(p.name for p in out.iterdir()) == ["config.cfg", "dev.spacy", "train.spacy"]
    docs = all_docs(out)
    assert sorted(docs) == ["Acme hired Ann.", "Bob left Globex.", "Carla runs.", "Ines met Acme.", "Only text."]
    acme = docs["Acme hired Ann."]
    assert [(e.text, e.label_) for e in acme.ents] == [("Acme", "ORG"), ("Ann", "PERSON")]
    assert acme.cats == {"POS": 1.0, "NEG": 0.0, "NEU": 0.0}  # ner and textcat of one text in one Doc
    bob = docs["Bob left Globex."]
    assert [(e.text, e.label_) for e in bob.ents] == [("Bob", "PERSON"), ("Globex", "ORG")]  # the latest wins
    assert bob.cats == {"NEG": 1.0}  # a yes/no answer states only its label
    assert docs["Carla runs."].cats == {"NEG": 0.0}  # a rejected yes/no question: the label does not apply
    assert [(e.text, e.label_) for e in docs["Ines met Acme."].ents] == [("Ines", "PERSON"), ("Acme", "ORG")]
    assert docs["Only text."].has_annotation("ENT_IOB") is False  # no NER answer: missing, not "no entities"
    assert report["examples"]["train"] + report["examples"]["dev"] == 5
    assert report["components"] == ["ner", "textcat_multilabel"]
    assert report["textcat_exclusive"] is False
    assert report["left_out"] == {"reject": 1, "ignore": 1}
    assert report["contradictions"] == {"answers_overruled": 2, "inputs": 2, "resolution": "latest answer kept"}
    conflicts = warnings(err)
    assert len(conflicts) == 2
    assert conflicts[0].startswith("warning: ner answers of input hash ")
    assert conflicts[0].endswith("disagree: news answer 3 and news answer 4 mark different spans; keeping the "
                                 "latest (news answer 4)")
    assert conflicts[1].endswith("disagree: news2 answer 1 and news answer 7 mark different spans; keeping the "
                                 "latest (news answer 7)")
    ner_counts = report["labels"]["ner"]
    assert sum(v["train"] + v["dev"] for v in ner_counts.values()) == 7


def test_data_to_spacy_spans_and_exclusive_textcat(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                   db_path: Path) -> None:
    seed(db_path, "sc", [span_answer("New York City is big.", [(0, 13, "PLACE"), (0, 8, "STATE"), (4, 9, "BAD")],
                                     view="spans_manual"),
                         span_answer("Paris is old.", [(0, 5, "PLACE")], view="spans_manual")])
    seed(db_path, "tc", [choice_answer("New York City is big.", ["POS"]), choice_answer("Paris is old.", ["NEG"])])
    out = tmp_path / "c"
    code, stdout, err = run(capsys, "data-to-spacy", out, "--spans", "sc", "--textcat", "tc", "--db", db_path)
    assert code == 0, err
    docs = all_docs(out)
    ny = docs["New York City is big."]
    assert [(s.text, s.label_) for s in ny.spans["sc"]] == [("New York City", "PLACE"), ("New York", "STATE")]
    assert ny.cats == {"NEG": 0.0, "NEU": 0.0, "POS": 1.0}
    assert warnings(err) == [f"warning: sc answer 1 (input hash {_hash(db_path, 'sc', 0)}): span [4, 9) BAD: does "
                             'not align with the token boundaries ("York ")']
    assert "Components: spancat, textcat." in stdout
    assert "exclusive (textcat)" in stdout
    assert "Spans not represented: 1" in stdout
    assert "python -m spacy train" in stdout
    config = spacy.util.load_config(out / "config.cfg")
    assert config["nlp"]["pipeline"] == ["tok2vec", "spancat", "textcat"]
    assert config["components"]["spancat"]["spans_key"] == "sc"
    assert config["components"]["spancat"]["suggester"]["sizes"] == [1, 2, 3]
    assert config["components"]["textcat"]["model"]["exclusive_classes"] is True


def test_data_to_spacy_keeps_accepted_answers_without_spans(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                             db_path: Path) -> None:
    def marked_nothing(text: str, **fields: Any) -> dict[str, Any]:
        answer = span_answer(text, [], **fields)
        del answer["spans"]  # as Prodigy data sets store "nothing to mark here"
        return answer

    seed(db_path, "news", [span_answer("Ann works at Acme.", [(0, 3, "PERSON"), (13, 17, "ORG")]),
                           marked_nothing("It rained all day."),
                           marked_nothing("Nobody came."),
                           {"text": "Tokens only here.", "tokens": ["Tokens", "only", "here", "."], "answer": "accept"},
                           marked_nothing("Not this one.", answer="reject"),
                           span_answer("Eve left Globex.", [(0, 3, "PERSON")])])
    out = tmp_path / "c"
    code, stdout, err = run(capsys, "data-to-spacy", out, "--ner", "news", "--json", "--db", db_path)
    assert code == 0 and warnings(err) == [], err
    report = json.loads(stdout)
    assert report["examples"]["train"] + report["examples"]["dev"] == 5 and report["left_out"] == {"reject": 1}
    docs = all_docs(out)
    for text in ("It rained all day.", "Nobody came.", "Tokens only here."):
        assert docs[text].ents == () and docs[text].has_annotation("ENT_IOB"), text  # every token O: no entities
        assert all(t.ent_iob_ == "O" for t in docs[text])
    assert [t.text for t in docs["Tokens only here."]] == ["Tokens", "only", "here", "."]
    # an input marked with nothing by one annotator and with an entity by another is a contradiction now
    seed(db_path, "later", [span_answer("Nobody came.", [(0, 6, "PERSON")], session="bob", timestamp=1_800_000_000)])
    code, stdout, err = run(capsys, "data-to-spacy", out, "--ner", "news,later", "--json", "--db", db_path)
    assert code == 0 and json.loads(stdout)["contradictions"]["answers_overruled"] == 1
    assert warnings(err)[0].endswith("disagree: news answer 3 and later answer 1 mark different spans; keeping the "
                                     "latest (later answer 1)")


def test_data_to_spacy_and_train_show_20_warnings_and_count_all(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                                db_path: Path) -> None:
    texts = [f"Ann met Bob {i}." for i in range(25)]
    seed(db_path, "a", [span_answer(t, [(0, 3, "PERSON")], session="alice", timestamp=100) for t in texts])
    seed(db_path, "b", [span_answer(t, [(8, 11, "PERSON")], session="bob", timestamp=200) for t in texts])
    code, stdout, err = run(capsys, "data-to-spacy", tmp_path / "c", "--ner", "a,b", "--json", "--db", db_path)
    assert code == 0
    assert len(warnings(err)) == 20 and all("mark different spans" in line for line in warnings(err))
    assert err.splitlines()[20] == "… and 5 more warnings"
    assert json.loads(stdout)["contradictions"]["answers_overruled"] == 25  # the counts cover every one
    every = json.loads(stdout)["warnings"]  # --json carries all of them
    assert len(every) == 25 and all("mark different spans" in w for w in every)
    assert every[:20] == [line.removeprefix("warning: ") for line in warnings(err)]
    code, stdout, err = run(capsys, "train", "ner", "a,b", "--output", tmp_path / "m", "--max-steps", "1", "--json",
                            "--db", db_path)
    assert code == 0, err
    assert len(warnings(err)) == 20 and "… and 5 more warnings" in err.splitlines()
    assert json.loads(stdout)["contradictions"]["answers_overruled"] == 25 and len(json.loads(stdout)["warnings"]) == 25


WNUT = SHARED / "ner" / "wnut17"


def test_wnut17_sentences_without_entities_are_training_examples(db_path: Path) -> None:
    path = WNUT / "dev.jsonl"
    if not path.exists():
        pytest.skip(f"shared data missing: {path} (../shared is not beside the repository)")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    # as a Prodigy data set stores them: tokens as plain strings, no "spans" key where nothing was marked
    seed(db_path, "wnut", [{"text": r["text"], "tokens": r["tokens"], "answer": "accept",
                            **({"spans": r["spans"]} if r["spans"] else {})} for r in rows])
    lines: list[str] = []
    with tuiannot.connect(db_path) as db:
        corpus = build_corpus(db, {"ner": ["wnut"]}, problems=Problems(write=lines.append))
    docs = corpus.train + corpus.dev
    by_text = {r["text"]: r for r in rows}
    assert len(rows) == 1009 and len(by_text) == len(docs) == 1006  # 3 sentences occur twice
    assert sum(1 for d in docs if not d.ents) == 380  # were left out before: only 626 examples
    assert all([t.text for t in d] == by_text[d.text]["tokens"] for d in docs)  # the given tokens, not spaCy's
    assert corpus.problems.notes == 0 and corpus.problems.spans == 0
    # the one sentence that occurs twice with different entities is a contradiction, resolved and named
    assert corpus.conflicts == 1 and len(lines) == 1 and "mark different spans" in lines[0]
    assert sum(v["train"] + v["dev"] for v in corpus.labels["ner"].values()) == sum(len(d.ents) for d in docs)


def _hash(db_path: Path, dataset: str, index: int) -> int:
    with tuiannot.connect(db_path) as db:
        return list(db.answers(dataset))[index]["_input_hash"]


@pytest.mark.parametrize("answers,exclusive,component", [
    ([choice_answer("a", ["POS"]), choice_answer("b", ["NEG"])], True, "textcat"),
    ([choice_answer("a", ["POS"]), choice_answer("b", ["NEG", "NEU"])], False, "textcat_multilabel"),
    ([choice_answer("a", ["POS"]), choice_answer("b", [])], False, "textcat_multilabel"),
    ([binary_answer("a", "POS"), binary_answer("b", "POS", answer="reject")], False, "textcat_multilabel"),
])
def test_exclusivity_is_decided_from_the_data(db_path: Path, answers: list[dict[str, Any]], exclusive: bool,
                                              component: str) -> None:
    seed(db_path, "tc", answers)
    with tuiannot.connect(db_path) as db:
        corpus = build_corpus(db, {"textcat": ["tc"]}, problems=Problems(write=lambda line: None))
    assert corpus.exclusive is exclusive and corpus.components == [component]


def test_contradictory_exclusive_labels_keep_the_latest(db_path: Path) -> None:
    seed(db_path, "tc", [choice_answer("same text", ["POS"], session="alice", timestamp=200),
                         choice_answer("same text", ["NEG"], session="bob", timestamp=100),
                         choice_answer("other text", ["NEU"])])
    lines: list[str] = []
    with tuiannot.connect(db_path) as db:
        corpus = build_corpus(db, {"textcat": ["tc"]}, problems=Problems(write=lines.append))
    doc = next(d for d in corpus.train + corpus.dev if d.text == "same text")
    assert doc.cats == {"NEG": 0.0, "NEU": 0.0, "POS": 1.0}  # alice answered later
    assert corpus.conflicted_inputs == 1 and corpus.conflicts == 1  # one answer overruled
    assert lines == [f"warning: textcat answers of input hash {_hash(db_path, 'tc', 0)} disagree on POS, NEG: "
                     "tc answer 1 and tc answer 2; keeping the latest (tc answer 1)"]


def test_split_is_seeded_by_input_and_keeps_documents_together(db_path: Path) -> None:
    answers = []
    for d in range(10):
        for s in range(3):
            answers.append(span_answer(f"Ann {d} said {s}.", [(0, 3, "PERSON")],
                                       meta={"doc_hash": 1000 + d, "doc_offset": s * 20, "sent_index": s}))
    seed(db_path, "sents", answers)

    def split(seed_: int) -> tuple[list[str], list[str]]:
        with tuiannot.connect(db_path) as db:
            corpus = build_corpus(db, {"ner": ["sents"]}, eval_split=0.2, seed=seed_)
        return [d.text for d in corpus.train], [d.text for d in corpus.dev]

    train, dev = split(0)
    assert (len(train), len(dev)) == (24, 6)  # 2 of 10 documents, all their sentences
    dev_docs = {t.split()[1] for t in dev}
    assert len(dev_docs) == 2 and not dev_docs & {t.split()[1] for t in train}
    assert split(0) == (train, dev)  # deterministic
    assert len({tuple(split(s)[1]) for s in range(4)}) > 1  # other seeds, other splits


# -- data-to-spacy: errors -----------------------------------------------------------------------------
def test_data_to_spacy_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path) -> None:
    seed(db_path, "tc", [choice_answer("a", ["POS"]), choice_answer("b", ["NEG"])])
    seed(db_path, "rejected", [span_answer("Ann.", [(0, 3, "PERSON")], answer="reject"),
                               span_answer("Bob.", [(0, 3, "PERSON")], answer="ignore")])
    seed(db_path, "one", [span_answer("Ann.", [(0, 3, "PERSON")])])
    out = tmp_path / "out"
    cases = [
        (["--ner", "nope"], "error: no dataset named 'nope'"),
        (["--ner", "tc"], "error: dataset 'tc' has no span answers (ner_manual) to train ner on"),
        (["--textcat", "rejected"], "error: dataset 'rejected' has no text classification answers"),
        (["--ner", "rejected"], "error: no training data: no accepted answers in rejected (1 ignore, 1 reject "
                                "answers left out)"),
        (["--ner", "one"], "error: too little data: 1 example"),
        (["--ner", "tc", "--eval-split", "1.5"], "error: --eval-split must be between 0 and 1"),
    ]
    for args, message in cases:
        code, stdout, err = run(capsys, "data-to-spacy", out, *args, "--db", db_path)
        assert (code, stdout) == (1, ""), (args, err)
        assert err.startswith(message) and err.count("\n") == 1, (args, err)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    code, _, err = run(capsys, "data-to-spacy", a_file, "--textcat", "tc", "--db", db_path)
    assert code == 1 and err == f"error: {a_file}: is a file, not a directory\n"
    code, _, err = run(capsys, "data-to-spacy", out, "--db", db_path)
    assert code == 2 and "name at least one dataset" in err
    assert not out.exists()


# -- spaCy's own training on data-to-spacy's output --------------------------------------------------
@pytest.mark.slow
def test_generated_config_trains_with_spacy_train(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  db_path: Path) -> None:
    from spacy.cli.train import train as spacy_train

    seed(db_path, "ner", synthetic_ner(40))
    seed(db_path, "tc", synthetic_textcat(40))
    out = tmp_path / "corpus"
    code, _, err = run(capsys, "data-to-spacy", out, "--ner", "ner", "--textcat", "tc", "--db", db_path)
    assert code == 0, err
    spacy_train(out / "config.cfg", tmp_path / "trained", overrides={
        "paths.train": str(out / "train.spacy"), "paths.dev": str(out / "dev.spacy"), "training.max_steps": 20,
        "training.eval_frequency": 10})
    nlp = spacy.load(tmp_path / "trained" / "model-best")
    assert nlp.pipe_names == ["tok2vec", "ner", "textcat"]
    assert set(nlp.get_pipe("ner").labels) == {"ORG", "PERSON"}
    assert set(nlp("a text").cats) == {"NEG", "NEU", "POS"}  # every option is a label


# -- tuiannot train ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_train_ner_saves_a_model_that_predicts(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               db_path: Path) -> None:
    seed(db_path, "ner", synthetic_ner(100))
    model = tmp_path / "model"
    code, stdout, err = run(capsys, "train", "ner", "ner", "--output", model, "--max-epochs", "6", "--json",
                            "--db", db_path)
    assert code == 0, err
    report = json.loads(stdout)
    assert report["examples"] == {"train": 80, "dev": 20}
    assert set(report["scores"]["per_label"]) == {"ORG", "PERSON"}
    assert report["scores"]["per_label"]["ORG"]["support"] == 20
    assert report["scores"]["f"] > 0.8, report["scores"]
    nlp = spacy.load(model)
    doc = nlp("Yesterday Gina left Hooli for good .")
    assert [(e.text, e.label_) for e in doc.ents] == [("Gina", "PERSON"), ("Hooli", "ORG")]
    assert not list(tmp_path.glob(".tuiannot-train-*"))  # the work directory is gone
    # the trained pipeline works as `ner --model`: its entities come as suggestions to correct
    from tuiannot.recipes import Components, get_recipe

    source = tmp_path / "new.jsonl"
    source.write_text(json.dumps({"text": "Yesterday Gina left Hooli for good ."}) + "\n")
    task = next(iter(Components.from_value(get_recipe("ner")(str(source), label="ORG,PERSON",
                                                              model=str(model))).stream))
    assert [(task["text"][s["start"]:s["end"]], s["label"], s["source"]) for s in task["spans"]] == [
        ("Gina", "PERSON", "model"), ("Hooli", "ORG", "model")]
    # human output: the per-label table with an overall row; training again replaces the pipeline
    code, stdout, err = run(capsys, "train", "ner", "ner", "--output", model, "--max-steps", "3", "--db", db_path)
    assert code == 0, err
    assert "Held-out evaluation (20 examples)" in stdout
    assert [line.split()[1] for line in stdout.splitlines() if line.split()[1:2] in (["ORG"], ["overall"])
            and "│" in line][-2:] == ["ORG", "overall"]
    spacy.load(model)


@pytest.mark.slow
def test_train_textcat_reports_accuracy_and_macro_f(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                    db_path: Path) -> None:
    seed(db_path, "tc", synthetic_textcat(80))
    model = tmp_path / "tc-model"
    code, stdout, err = run(capsys, "train", "textcat", "tc", "--output", model, "--max-epochs", "15", "--json",
                            "--db", db_path)
    assert code == 0, err
    scores = json.loads(stdout)["scores"]
    assert scores["exclusive"] is True
    assert scores["accuracy"] >= 0.8 and scores["macro_f"] >= 0.8, scores
    assert set(scores["per_label"]) == {"NEG", "NEU", "POS"}
    assert scores["per_label"]["NEU"]["support"] == 0  # an option nobody chose: not in the macro average
    nlp = spacy.load(model)
    assert nlp.pipe_names == ["textcat"]
    cats = nlp("an excellent product").cats
    assert cats["POS"] > cats["NEG"]


@pytest.mark.slow
def test_train_from_a_base_model(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path) -> None:
    seed(db_path, "ner", synthetic_ner(40))
    seed(db_path, "tc", synthetic_textcat(40))
    base = tmp_path / "base"
    assert run(capsys, "train", "ner", "ner", "--output", base, "--max-steps", "10", "--db", db_path)[0] == 0
    code, stdout, err = run(capsys, "train", "textcat", "tc", "--output", tmp_path / "both", "--base-model", base,
                            "--max-steps", "10", "--json", "--db", db_path)
    assert code == 0, err
    nlp = spacy.load(tmp_path / "both")
    assert nlp.pipe_names == ["tok2vec", "ner", "textcat"]  # the base's components kept (frozen), textcat added
    assert set(nlp.get_pipe("ner").labels) == {"ORG", "PERSON"}
    code, _, err = run(capsys, "train", "ner", "ner", "--output", tmp_path / "again", "--base-model", base,
                       "--max-steps", "5", "--db", db_path)
    assert code == 0, err
    assert spacy.load(tmp_path / "again").pipe_names == ["tok2vec", "ner"]


def test_train_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path) -> None:
    seed(db_path, "tc", synthetic_textcat(10))
    a_file = tmp_path / "file"
    a_file.write_text("x")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    cases = [
        (["ner", "tc", "--output", tmp_path / "m"], "error: dataset 'tc' has no span answers"),
        (["textcat", "nope", "--output", tmp_path / "m"], "error: no dataset named 'nope'"),
        (["textcat", "tc", "--output", a_file], f"error: {a_file}: is a file, not a directory"),
        (["textcat", "tc", "--output", busy], f"error: {busy}: not empty and not a spaCy pipeline"),
        (["textcat", "tc", "--output", tmp_path / "m", "--base-model", "xx_no_such_pipeline"],
         "error: --base-model xx_no_such_pipeline: no such directory, and no installed spaCy pipeline package"),
        (["textcat", "tc", "--output", tmp_path / "m", "--base-model", a_file],
         f"error: --base-model {a_file}: not a spaCy pipeline directory"),
    ]
    for args, message in cases:
        code, stdout, err = run(capsys, "train", *args, "--db", db_path)
        assert (code, stdout) == (1, ""), (args, err)
        assert err.startswith(message) and err.count("\n") == 1, (args, err)
    assert (busy / "notes.txt").read_text() == "mine"
    code, _, err = run(capsys, "train", "pos", "tc", "--output", tmp_path / "m", "--db", db_path)
    assert code == 2 and "'pos' is not one of ner, spans, textcat" in err
    assert not (tmp_path / "m").exists()


def test_ctrl_c_keeps_the_best_model_so_far(tmp_path: Path, db_path: Path) -> None:
    from tuiannot.data.training import train

    seed(db_path, "ner", synthetic_ner(30))
    with tuiannot.connect(db_path) as db:
        corpus = build_corpus(db, {"ner": ["ner"]})
    seen: list[Any] = []

    def interrupt(info: Any) -> None:
        seen.append(info)
        if len(seen) == 4:
            raise KeyboardInterrupt

    result = train(corpus, tmp_path / "model", max_epochs=50, on_step=interrupt)
    assert result.interrupted and result.steps == 4
    assert seen[0] is not None and seen[0]["step"] == 0  # step 0 is scored: there is a best model from the start
    assert spacy.load(tmp_path / "model").pipe_names == ["tok2vec", "ner"]
    assert not list(tmp_path.glob(".tuiannot-train-*"))


@pytest.mark.slow
def test_train_spans_with_overlaps(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path) -> None:
    rng = random.Random(3)
    answers = []
    for i in range(60):
        place = rng.choice(["New York City", "San Francisco", "Rio de Janeiro de Sul", "Paris"])
        text = f"I flew to {place} on day {i} ."
        start = text.index(place)
        answers.append(span_answer(text, [(start, start + len(place), "PLACE"),
                                          (start, start + len(place.split()[0]), "FIRST")], view="spans_manual"))
    seed(db_path, "sc", answers)
    model = tmp_path / "sc-model"
    code, stdout, err = run(capsys, "train", "spans", "sc", "--output", model, "--max-epochs", "8", "--json",
                            "--db", db_path)
    assert code == 0, err
    scores = json.loads(stdout)["scores"]
    assert set(scores["per_label"]) == {"FIRST", "PLACE"} and scores["f"] > 0.5, scores
    nlp = spacy.load(model)
    assert nlp.get_pipe("spancat").cfg["spans_key"] == "sc"
    assert nlp.config["components"]["spancat"]["suggester"]["sizes"] == [1, 2, 3, 4, 5]  # the longest span
    doc = nlp("I flew to Paris on day 3 .")
    assert ("Paris", "PLACE") in [(s.text, s.label_) for s in doc.spans["sc"]]


# -- how long a run lasts: a schedule sized to the corpus, the time left, why it stopped ------------------------
@pytest.mark.slow
def test_a_small_corpus_stops_on_a_plateau_and_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                       db_path: Path) -> None:
    # 45 texts of a few words: an epoch is 4 steps; spaCy's patience of 1600 steps ran 1,621 (85 s here) after
    # the held-out F reached 1.000 at step 20
    seed(db_path, "ner", synthetic_ner(45))
    code, stdout, err = run(capsys, "train", "ner", "ner", "--output", tmp_path / "m", "--json", "--db", db_path)
    assert code == 0, err
    assert ("Training ner on 36 examples. Scoring the held-out part every 4 steps (about an epoch), stopping when the "
            "held-out score has not improved for 40 steps (10 evaluations), or at step 20,000. Change with "
            "--patience, cap with --max-epochs or --max-steps.") in err
    report = json.loads(stdout)
    assert report["schedule"] == {"eval_frequency": 4, "patience": 40, "max_steps": 20_000, "max_epochs": 0}
    assert report["stopped"] == "plateau"
    assert report["steps"] == report["best_step"] + 40 + 1 < 200  # spaCy counts steps from 0
    assert report["scores"]["f"] == 1.0
    # --patience is obeyed, and the human report says why it stopped and how to change that
    code, stdout, err = run(capsys, "train", "ner", "ner", "--output", tmp_path / "m", "--patience", "8",
                            "--db", db_path)
    assert code == 0, err
    assert "not improved for 8 steps (2 evaluations)" in err
    stop = [line for line in stdout.splitlines() if line.startswith("Stopped")]
    assert len(stop) == 1 and stop[0].startswith("Stopped: the held-out score has not improved for 8 steps since "
                                                 "its best, ") and stop[0].endswith(
        ". Wait longer with --patience; cap a run with --max-epochs or --max-steps."), stdout
    steps = int(stdout.split("Trained ner in ")[1].split("(")[1].split()[0])
    best_step = int(stop[0].split(" at step ")[1].split(".")[0])
    assert steps == best_step + 8 + 1


@pytest.mark.slow
def test_the_step_limit_is_said(capsys: pytest.CaptureFixture[str], tmp_path: Path, db_path: Path) -> None:
    seed(db_path, "ner", synthetic_ner(20))
    code, stdout, err = run(capsys, "train", "ner", "ner", "--output", tmp_path / "m", "--max-steps", "3",
                            "--db", db_path)
    assert code == 0, err
    assert "Stopped at step 3, the step limit (--max-steps); the best held-out score was " in stdout
    code, stdout, err = run(capsys, "train", "ner", "ner", "--output", tmp_path / "m", "--max-epochs", "2",
                            "--patience", "0", "--json", "--db", db_path)
    assert code == 0, err
    assert "never stopping" not in err and "after 2 epochs, or at step 20,000" in err
    assert json.loads(stdout)["stopped"] == "max_epochs"


def test_the_schedule_follows_the_corpus_size() -> None:
    from types import SimpleNamespace

    from tuiannot.data.training import schedule

    def corpus(texts: int, words: int) -> Any:
        return SimpleNamespace(train=[[0] * words] * texts)

    assert schedule(corpus(36, 10)).as_dict() == {"eval_frequency": 4, "patience": 40, "max_steps": 20_000,
                                                   "max_epochs": 0}
    big = schedule(corpus(5_000, 30))
    assert (big.eval_frequency, big.patience) == (200, 1600)  # spaCy's own defaults, for a corpus they suit
    assert schedule(corpus(36, 10), max_epochs=3, max_steps=50, patience=0).as_dict() == {
        "eval_frequency": 4, "patience": 0, "max_steps": 50, "max_epochs": 3}
    assert "never stopping by itself" in schedule(corpus(3, 3), max_steps=0, patience=0).describe()


def test_data_to_spacy_config_stops_on_a_plateau(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                 db_path: Path) -> None:
    seed(db_path, "ner", synthetic_ner(45))
    code, stdout, err = run(capsys, "data-to-spacy", tmp_path / "out", "--ner", "ner", "--db", db_path)
    assert code == 0, err
    config = spacy.util.load_config(tmp_path / "out" / "config.cfg")
    assert (config["training"]["eval_frequency"], config["training"]["patience"]) == (4, 40)
    assert "stops when the score has not improved for 40 (training.eval_frequency, training.patience)" in stdout


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def scored(step: int, epoch: int, score: float, checkpoints: list[Any]) -> dict[str, Any]:
    checkpoints.append((score, step))
    return {"step": step, "epoch": epoch, "score": score, "losses": {"ner": 2.5}, "checkpoints": checkpoints}


def test_tracker_knows_the_step_a_run_ends_at_and_the_time_left() -> None:
    from tuiannot.data.training import Schedule, Tracker

    clock = Clock()
    tracker = Tracker(Schedule(eval_frequency=4, patience=40, max_steps=20_000, max_epochs=0), clock=clock)
    assert tracker.limit() == (20_000, "max_steps") and tracker.seconds_left() is None
    checkpoints: list[Any] = []
    for step in range(21):  # a second a step; scored every 4 steps, the best (0.9) at step 8
        clock.now += 1.0
        tracker.step(scored(step, step // 4, [0.1, 0.5, 0.9, 0.9, 0.8, 0.9][step // 4], checkpoints)
                     if step % 4 == 0 else None)
    assert tracker.best == (0.9, 8)  # the earliest of equal scores, as spaCy counts patience from
    assert tracker.limit() == (48, "plateau")
    assert tracker.seconds_left() == pytest.approx(48 + 1 - 21)  # steps left at a second each
    assert tracker.stopped() == "max_epochs"  # had the data run out here
    for step in range(21, 49):
        clock.now += 1.0
        tracker.step(scored(step, step // 4, 0.5, checkpoints) if step % 4 == 0 else None)
    assert tracker.seconds_left() == 0.0
    assert tracker.stopped() == "plateau"
    assert tracker.stopped(interrupted=True) == "interrupted"
    steps = Tracker(Schedule(eval_frequency=1, patience=0, max_steps=3, max_epochs=0))
    for step in range(4):
        steps.step(scored(step, 0, 0.5, []))
    assert steps.stopped() == "max_steps"


def test_tracker_estimates_the_last_epoch_from_the_latest_ones() -> None:
    from tuiannot.data.training import Schedule, Tracker

    tracker = Tracker(Schedule(eval_frequency=5, patience=0, max_steps=20_000, max_epochs=10), clock=Clock())
    checkpoints: list[Any] = []
    tracker.step(scored(0, 0, 0.1, checkpoints))
    assert tracker.limit() == (20_000, "max_steps")  # one epoch seen: its length is not known yet
    tracker.step(scored(5, 1, 0.2, checkpoints))
    tracker.step(scored(9, 2, 0.3, checkpoints))  # epochs get shorter as batches grow: the latest counts
    assert tracker.limit() == (9 + 8 * 4 - 1, "max_epochs")


def test_the_progress_line_shows_the_time_left() -> None:
    from tuiannot.cli.train import TrainingProgress, duration
    from tuiannot.data.training import Schedule, Tracker

    plan = Schedule(eval_frequency=4, patience=40, max_steps=20_000, max_epochs=0)
    display = TrainingProgress("ner", plan)
    clock = Clock()
    display.tracker = Tracker(plan, clock=clock)
    checkpoints: list[Any] = []
    for step in range(10):
        clock.now += 0.5
        display.step(scored(step, step // 4, 0.25, checkpoints) if step % 4 == 0 else None)
    assert display.status() == "epoch 3 · step 10 · loss 2.50 · best 0.250 at step 0 · ~16 s left unless it improves"
    task = display.progress.tasks[0]
    assert (task.completed, task.total) == (10, 41)
    assert [duration(s) for s in (0.2, 45, 185, 3720)] == ["<1 s", "45 s", "3 min 05 s", "1 h 02 min"]

"""`tuiannot aggregate PEOPLE --from MODELS` (issue 16): the final dataset of humans where models disagree, from
the people's answers where they gave some and the model annotators' where they agree; what is still open and
what people differ on are counted and listed, never guessed. Model answers come from real `model-annotate` runs
against the test LLM server (tests/llm_server.py) or are stored with `_llm`/`_model` provenance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


from .helpers import assert_one_line_error, choice_answer, ignore_all, recipe_controller, run, seed, span_answer, \
    stored, write_jsonl
from .llm_server import LLMServer

pytestmark = pytest.mark.usefixtures("cli_env", "quick_llm_retries")

CHOICE = ("great phone", "awful screen", "it is a phone", "battery died", "so so", "no idea")
SMALL = {"great phone": ["POS"], "awful screen": ["NEG"], "it is a phone": ["NEU"], "battery died": ["NEG"],
         "so so": ["NEU"], "no idea": ["POS"]}
LARGE = {**SMALL, "it is a phone": ["POS"], "battery died": [], "so so": ["NEG"], "no idea": ["NEG"]}


def model_annotate(capsys: pytest.CaptureFixture[str], db_path: Path, source: Path, task: str, labels: str,
                   replies: dict[str, Any], name: str) -> None:
    with LLMServer(replies, models=(name,)) as server:
        code, _, err = run(capsys, "model-annotate", "models", source, "--task", task, "--label", labels,
                           "--llm", server.url, "--db", db_path)
    assert code == 0, err


def person(answer: dict[str, Any], who: str) -> dict[str, Any]:
    """An answer of ``who`` in the people's dataset."""
    return {**answer, "_session_id": f"people-{who}", "_annotator_id": f"people-{who}"}


def aggregate(capsys: pytest.CaptureFixture[str], db_path: Path, *more: str) -> dict[str, Any]:
    code, out, err = run(capsys, "aggregate", "people", "--from", "models", "-o", "final", *more, "--json",
                         "--db", db_path)
    assert code == 0, err
    report: dict[str, Any] = json.loads(out)
    return report


def by_text(db_path: Path, dataset: str = "final") -> dict[str, dict[str, Any]]:
    answers = stored(db_path, dataset)
    assert len({a["text"] for a in answers}) == len(answers)  # one final answer per input
    return {a["text"]: a for a in answers}


def test_textcat_people_where_they_answered_models_where_they_agree(
        tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tuiannot.controller import answer_all

    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": t} for t in CHOICE])
    for name, said in (("small", SMALL), ("large", LARGE)):
        model_annotate(capsys, db_path, source, "textcat", "POS,NEG,NEU",
                       {text: {"labels": labels} for text, labels in said.items()}, name)
    # the real stream asks alice about the inputs the models disagree on; she answers three of the four
    mine = {"it is a phone": "NEU", "battery died": "NEG", "so so": "POS"}
    controller = recipe_controller("textcat", db_path, str(source), label="POS,NEG,NEU", dataset="people",
                                   ask_humans="disagree", from_dataset="models", db=str(db_path))
    try:
        asked: list[str] = []
        answer_all(controller, lambda task: asked.append(task["text"]) or ("accept", [mine[task["text"]]]), limit=3)
        controller.close()
    finally:
        controller.db.close()
    assert asked == ["it is a phone", "battery died", "so so"]
    # two more people: a majority on "battery died", a tie on "so so"; an ignore says nothing
    options = stored(db_path, "people")[0]["options"]
    seed(db_path, "people", [person(choice_answer("battery died", ["NEG"], options=options), "bob"),
                             person(choice_answer("battery died", ["POS"], options=options), "carol"),
                             person(choice_answer("so so", ["NEG"], options=options), "bob"),
                             person(choice_answer("no idea", [], answer="ignore", options=options), "carol")])

    report = aggregate(capsys, db_path)
    assert (report["inputs"], report["from_models"], report["from_people"], report["still_open"],
            report["conflicts"], report["already_final"], report["written"]) == (6, 2, 2, 1, 1, 0, 4)
    assert report["model_annotators"] == ["llm-large", "llm-small"] and report["min_agree"] == 2
    final = by_text(db_path)
    assert {t: (a["_aggregate"]["from"], a["accept"]) for t, a in final.items()} == {
        "great phone": ("models", ["POS"]), "awful screen": ("models", ["NEG"]),
        "it is a phone": ("people", ["NEU"]), "battery died": ("people", ["NEG"])}
    models = final["great phone"]["_aggregate"]
    assert models["sessions"] == ["llm-large", "llm-small"] and models["others"] == [] and models["min_agree"] == 2
    assert {who: m["model"] for who, m in models["models"].items()} == {"llm-large": "large", "llm-small": "small"}
    assert all(m["prompt"] and m["url"].startswith("http://127.0.0.1:") for m in models["models"].values())
    assert final["great phone"]["_session_id"] == "final-models" and "_llm" not in final["great phone"]
    assert final["it is a phone"]["_aggregate"] == {"from": "people", "method": "one person", "sessions": ["alice"],
                                                    "votes": {"alice": "NEU"}}
    assert final["battery died"]["_aggregate"] == {
        "from": "people", "method": "majority", "sessions": ["alice", "bob", "carol"],
        "votes": {"alice": "NEG", "bob": "NEG", "carol": "POS"}}
    assert {a["_session_id"] for t, a in final.items() if a["_aggregate"]["from"] == "people"} == {"final-people"}
    conflict, = report["conflict_inputs"]
    assert conflict["text"] == "so so" and [(v["sessions"], v["accept"]) for v in conflict["versions"]] == [
        (["alice"], ["POS"]), (["bob"], ["NEG"])]
    hashes = {a["text"]: a["_input_hash"] for a in stored(db_path, "models")}
    assert report["open_inputs"] == [str(hashes["no idea"])]

    # the final dataset exports as any answers do
    code, _, err = run(capsys, "db-out", "final", tmp_path / "final.jsonl", "--db", db_path)
    assert code == 0, err
    exported = [json.loads(line) for line in (tmp_path / "final.jsonl").read_text().splitlines()]
    assert {r["text"]: r["accept"] for r in exported} == {t: a["accept"] for t, a in final.items()}
    code, _, err = run(capsys, "db-out", "final", tmp_path / "final.spacy", "--format", "spacy", "--db", db_path)
    assert code == 0, err
    cats = {doc.text: doc.cats for doc in docs(tmp_path / "final.spacy")}
    assert cats == {"great phone": {"POS": 1.0, "NEG": 0.0, "NEU": 0.0},
                    "awful screen": {"POS": 0.0, "NEG": 1.0, "NEU": 0.0},
                    "it is a phone": {"POS": 0.0, "NEG": 0.0, "NEU": 1.0},
                    "battery died": {"POS": 0.0, "NEG": 1.0, "NEU": 0.0}}

    # again: nothing written twice; a review into the final dataset is offered the conflict alone, and kept
    again = aggregate(capsys, db_path)
    assert (again["written"], again["already_final"], again["conflicts"], again["still_open"]) == (0, 4, 1, 1)
    review = recipe_controller("review", db_path, "people", output="final", only_conflicts=True, db=str(db_path))
    try:
        shown = review.next_task(timeout=10)
        assert shown is not None and shown["text"] == "so so"  # "battery died" (2 to 1) is in the final dataset
    finally:
        review.close()
        review.db.close()
    seed(db_path, "final", [{**choice_answer("so so", ["NEU"], options=options), "_session_id": "final-lead"}])
    after = aggregate(capsys, db_path)
    assert (after["written"], after["already_final"], after["conflicts"], after["still_open"]) == (0, 5, 0, 1)
    assert len(stored(db_path, "final")) == 5


def docs(path: Path) -> list[Any]:
    from spacy.tokens import DocBin

    from .helpers import blank_nlp

    return list(DocBin().from_disk(path).get_docs(blank_nlp().vocab))


SPANS = {
    "Ann Lee joined Acme Corp today.": ([(0, 7, "PERSON"), (15, 24, "ORG")], [(0, 7, "PERSON"), (15, 24, "ORG")]),
    "Bob Smith left Initech.": ([(0, 9, "PERSON")], [(0, 9, "PERSON"), (15, 22, "ORG")]),
    "Carol met Dave.": ([(0, 5, "PERSON")], [(10, 14, "PERSON")]),
    "Eve runs Globex.": ([(9, 15, "ORG")], []),
    "Frank and Grace.": ([(0, 5, "PERSON")], [(10, 15, "PERSON")]),
    "Nothing here.": ([], []),
}


def test_spans_agree_when_their_spans_do_and_people_who_differ_are_listed(
        tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_jsonl(tmp_path / "ents.jsonl", [{"text": t} for t in SPANS])
    for i, name in enumerate(("small", "large")):
        replies = {text: {"spans": [{"text": text[s:e], "label": label} for s, e, label in said[i]]}
                   for text, said in SPANS.items()}
        model_annotate(capsys, db_path, source, "ner", "PERSON,ORG", replies, name)
    seed(db_path, "people", [
        person(span_answer("Bob Smith left Initech.", [(0, 9, "PERSON"), (15, 22, "ORG")]), "alice"),
        person(span_answer("Carol met Dave.", [(0, 5, "PERSON"), (10, 14, "PERSON")]), "alice"),
        person(span_answer("Carol met Dave.", [(0, 5, "PERSON")]), "bob"),
        person(span_answer("Frank and Grace.", [(0, 5, "PERSON"), (10, 15, "PERSON")]), "alice"),
        person(span_answer("Frank and Grace.", [(10, 15, "PERSON"), (0, 5, "PERSON")]), "bob"),
        person(span_answer("Nothing here.", [(0, 7, "ORG")]), "carol"),  # people first, even where models agree
    ])
    report = aggregate(capsys, db_path)
    assert report["kind"] == "spans"
    assert (report["inputs"], report["from_models"], report["from_people"], report["still_open"],
            report["conflicts"], report["written"]) == (6, 1, 3, 1, 1, 4)
    final = by_text(db_path)
    spans = {t: (a["_aggregate"]["from"], sorted((s["start"], s["end"], s["label"]) for s in a["spans"]))
             for t, a in final.items()}  # (two people's spans are the same whatever their order)
    assert spans == {"Ann Lee joined Acme Corp today.": ("models", [(0, 7, "PERSON"), (15, 24, "ORG")]),
                     "Nothing here.": ("people", [(0, 7, "ORG")]),
                     "Bob Smith left Initech.": ("people", [(0, 9, "PERSON"), (15, 22, "ORG")]),
                     "Frank and Grace.": ("people", [(0, 5, "PERSON"), (10, 15, "PERSON")])}
    assert final["Frank and Grace."]["_aggregate"] == {
        "from": "people", "method": "unanimous", "sessions": ["alice", "bob"],
        "votes": {"alice": "accept", "bob": "accept"}}
    assert {a["_view_id"] for a in final.values()} == {"ner_manual"}
    assert all(a["tokens"] and "_llm" not in a for a in final.values())
    conflict, = report["conflict_inputs"]
    assert conflict["text"] == "Carol met Dave." and [(v["sessions"], v["spans"]) for v in conflict["versions"]] == [
        (["alice"], [[0, 5, "PERSON"], [10, 14, "PERSON"]]), (["bob"], [[0, 5, "PERSON"]])]
    hashes = {a["text"]: a["_input_hash"] for a in stored(db_path, "models")}
    assert report["open_inputs"] == [str(hashes["Eve runs Globex."])]

    code, _, err = run(capsys, "db-out", "final", tmp_path / "final.spacy", "--format", "spacy", "--db", db_path)
    assert code == 0, err
    ents = {doc.text: [(e.start_char, e.end_char, e.label_) for e in doc.ents]
            for doc in docs(tmp_path / "final.spacy")}
    assert ents == {t: s for t, (_, s) in spans.items()}

    # what people read: the figures, plural forms right, the conflict and how to settle it
    code, out, err = run(capsys, "aggregate", "people", "--from", "models", "-o", "final2", "--db", db_path)
    assert code == 0, err
    assert "Wrote 4 final answers to 'final2'" in out and "(llm-large, llm-small; unanimous) over 6 inputs" in out
    assert "1 input still open" in out and "1 conflict (people differ" in out
    assert "alice: accept [0, 5) PERSON, [10, 14) PERSON; bob: accept [0, 5) PERSON" in out
    assert "tuiannot review people --output final2 --only-conflicts" in out


def model_vote(text: str, who: str, labels: list[str]) -> dict[str, Any]:
    return {"text": text, "answer": "accept", "accept": labels, "options": [{"id": x} for x in "XYZ"],
            "_session_id": f"models-{who}", "_view_id": "choice",
            "_model": {"pipeline": f"/models/{who}", "name": who, "version": "1.0.0", "threshold": 0.5}}


def test_min_agree_is_the_streams_rule_and_an_even_split_settles_nothing(
        tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    votes = {"one": "XXYZ", "two": "XXYY", "three": "XXXY", "four": "XXXX"}
    seed(db_path, "models", [model_vote(text, who, [label]) for text, said in votes.items()
                             for who, label in zip("abcd", said, strict=True)])
    seed(db_path, "people", [])
    source = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in votes])

    def asked(min_agree: int | None) -> list[str]:
        controller = recipe_controller("textcat", db_path, str(source), label="X,Y,Z", dataset=f"asked-{min_agree}",
                                       ask_humans="disagree", from_dataset="models", min_agree=min_agree,
                                       db=str(db_path))
        return ignore_all(controller)

    for k, from_models in ((None, {"four"}), (3, {"three", "four"}), (2, {"one", "three", "four"})):
        code, out, err = run(capsys, "aggregate", "people", "--from", "models", "-o", f"final-{k}", "--json",
                             *(["--min-agree", str(k)] if k else []), "--db", db_path)
        assert code == 0, err
        report = json.loads(out)
        final = by_text(db_path, f"final-{k}")
        assert set(final) == from_models and report["still_open"] == 4 - len(from_models)
        assert all(a["accept"] == ["X"] for a in final.values())
        # the inputs still open are those the stream asks people about (an even split, 2-2, among them)
        assert sorted(asked(k)) == sorted(set(votes) - from_models)
    three = by_text(db_path, "final-2")["three"]["_aggregate"]
    assert three["sessions"] == ["a", "b", "c"] and three["others"] == ["d"] and three["min_agree"] == 2
    assert three["models"]["a"] == {"pipeline": "/models/a", "name": "a", "version": "1.0.0"}


def test_dawid_skene_decides_where_people_differ(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(db_path, "models", [model_vote(f"item {i}", who, [label]) for i in range(6)
                             for who, label in zip("ab", "XY", strict=True)])
    truth = ["X", "Y", "X", "X", "Y", "X"]
    people = []
    for i, right in enumerate(truth):  # alice and bob right, carol says X whatever the text
        for who in ("alice", "bob", "carol"):
            said = right if who != "bob" or i != 2 else "Y"
            people.append(person(choice_answer(f"item {i}", [said if who != "carol" else "X"],
                                               options=[{"id": x} for x in "XYZ"]), who))
    seed(db_path, "people", people)
    report = aggregate(capsys, db_path, "--method", "dawid-skene")
    assert (report["from_people"], report["from_models"], report["still_open"], report["conflicts"]) == (6, 0, 0, 0)
    assert set(report["annotator_accuracy"]) == {"alice", "bob", "carol"}
    final = by_text(db_path)
    assert {t: a["accept"][0] for t, a in final.items()} == {f"item {i}": label for i, label in enumerate(truth)}
    decided = final["item 1"]["_aggregate"]
    assert decided["method"] == "dawid-skene" and decided["votes"] == {"alice": "Y", "bob": "Y", "carol": "X"}
    assert max(decided["posterior"], key=decided["posterior"].get) == "Y"
    assert final["item 0"]["_aggregate"]["method"] == "unanimous"  # all three said X: no method needed
    code, out, _ = run(capsys, "aggregate", "people", "--from", "models", "-o", "again", "--method", "dawid-skene",
                       "--db", db_path)
    assert code == 0 and "Dawid-Skene (people)" in out and "from people (dawid-skene where several differ)" in out


@pytest.mark.parametrize("args, said", [
    (["nobody", "--from", "models", "-o", "final"], "no dataset named 'nobody'"),
    (["people", "--from", "nothing", "-o", "final"], "no dataset named 'nothing'"),
    (["people", "--from", "solo", "-o", "final"], "--from: dataset 'solo' has 1 model annotator; it needs two"),
    (["people", "--from", "models", "-o", "final", "--min-agree", "3"],
     "--min-agree must be between 2 and the 2 model annotators of 'models', not 3"),
    (["people", "--from", "models", "-o", "final", "--min-agree", "1"], "--min-agree must be between 2"),
    (["people", "--from", "models", "-o", "people"], "--output must be another dataset than 'people' and 'models'"),
    (["people", "--from", "models", "-o", "models"], "--output must be another dataset than"),
    (["people", "--from", "people", "-o", "final"], "people answer into a dataset of their own"),
    (["people", "--from", "models", "-o", "final", "--method", "vote"], "--method must be majority or dawid-skene"),
    (["people", "-o", "final", "--min-agree", "2"], "--min-agree goes with --from MODELS"),
])
def test_errors_are_one_line(db_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], said: str) -> None:
    seed(db_path, "models", [model_vote("one", who, ["X"]) for who in "ab"])
    seed(db_path, "solo", [model_vote("one", "a", ["X"])])
    seed(db_path, "people", [person(choice_answer("one", ["Y"]), "alice")])
    code, out, err = run(capsys, "aggregate", *args, "--db", db_path)
    assert code == 1 and out == ""
    assert_one_line_error(err, said)
    assert not any(name in err for name in ("Traceback",))

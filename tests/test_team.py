"""The team lead's figures: agreement, progress (with gold), aggregation; gold questions in the stream. The tests
that take ``database`` run on SQLite and on PostgreSQL (see conftest.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import tuiannot
from tuiannot.controller import Controller, answer_all
from tuiannot.errors import UserError
from tuiannot.team.gold import gold_correct, load_gold
from tuiannot.recipes import Components, get_recipe
from tuiannot.team.routing import Routing
from tuiannot.team.reports import agreement_report, aggregate, progress_report, read_ratings_csv

from .helpers import seed_votes, texts, vote, write_jsonl


def entities(who: str, spans: list[tuple[int, int, str]]) -> dict:
    """One annotator's entities in 'Acme hired Ann', dataset 'ds'."""
    return {"text": "Acme hired Ann", "answer": "accept", "_view_id": "ner_manual", "_session_id": f"ds-{who}",
            "spans": [{"start": s, "end": e, "label": label} for s, e, label in spans]}


def test_agreement_report_for_yes_no_questions(database: str) -> None:
    seed_votes(database)
    with tuiannot.connect(database) as db:
        report = agreement_report(db, "ds")
    docs = report["documents"]
    assert report["kind"] == "binary" and docs["items"] == 6 and docs["annotators"] == ["alice", "bob", "carol"]
    assert docs["fleiss_kappa"] is not None and 0 < docs["percent_agreement"] < 1
    assert {(p["a"], p["b"]) for p in docs["pairs"]} == {("alice", "bob"), ("alice", "carol"), ("bob", "carol")}


def test_agreement_report_for_spans(database: str) -> None:
    with tuiannot.connect(database) as db:
        db.add_answers("ds", [entities("alice", [(0, 4, "ORG"), (11, 14, "PERSON")]),
                              entities("bob", [(0, 4, "ORG")])])
        report = agreement_report(db, "ds")
    assert report["kind"] == "spans"
    assert report["spans"]["strict"]["f"] == pytest.approx(2 / 3)


def test_majority_and_dawid_skene_write_the_final_labels(database: str) -> None:
    seed_votes(database)
    with tuiannot.connect(database) as db:
        result = aggregate(db, "ds", "majority", "final")
        final = {r["text"]: r for r in db.answers("final")}
        assert result["written"] == 6 and result["ties"] == {}
        assert final["item 1"]["answer"] == "reject" and final["item 2"]["answer"] == "accept"
        assert final["item 2"]["_aggregate"]["votes"] == {"alice": "accept", "bob": "reject", "carol": "accept"}
        ds = aggregate(db, "ds", "dawid-skene", "final_ds")
        assert set(ds["annotator_accuracy"]) == {"alice", "bob", "carol"}
        assert ds["annotator_accuracy"]["alice"] >= ds["annotator_accuracy"]["carol"]
        with pytest.raises(UserError, match="--output must be another dataset"):
            aggregate(db, "ds", "majority", "ds")
        with pytest.raises(UserError, match="--method"):
            aggregate(db, "ds", "vote", "x")


def test_ties_are_reported_not_written(database: str) -> None:
    with tuiannot.connect(database) as db:
        db.add_answers("ds", [vote("split", "alice", "accept"), vote("split", "bob", "reject")])
        result = aggregate(db, "ds", "majority", "final")
    assert result["written"] == 0 and list(result["ties"].values()) == [["accept", "reject"]]


def test_read_ratings_csv(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("item,annotator,label\n1,a,yes\n1,b,no\n2,a,\n")
    assert read_ratings_csv(path) == [("1", "a", "yes"), ("1", "b", "no")]
    path.write_text("1,a\n")
    with pytest.raises(UserError, match=r"r.csv:1: expected item,annotator,label"):
        read_ratings_csv(path)
    with pytest.raises(UserError, match="no such file"):
        read_ratings_csv(tmp_path / "none.csv")


def test_gold_is_mixed_in_hidden_scored_and_reported(tmp_path: Path, database: str) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(40))
    gold_file = write_jsonl(tmp_path / "gold.jsonl", [
        {"text": "gold one", "answer": "accept", "accept": ["POS"]},
        {"text": "gold two", "answer": "accept", "accept": ["NEG"]},
        {"text": "gold three", "answer": "reject"}])
    components = Components.from_value(get_recipe("textcat")(str(source), label="POS,NEG", dataset="ds"))
    gold = load_gold(gold_file, components.stream)
    assert [g["_gold"] for g in gold] == [{"answer": "accept", "accept": ["POS"]},
                                          {"answer": "accept", "accept": ["NEG"]}, {"answer": "reject"}]
    assert all("accept" not in g and g["options"] for g in gold)  # the question, not the answer
    seen = []

    def decide(task):
        seen.append(task)
        return ("accept", ["POS"])

    c = Controller(components, tuiannot.connect(database), "alice", routing=Routing(overlap=1), gold=gold,
                   gold_rate=0.5)
    c.start()
    assert answer_all(c, decide) == 43  # 40 tasks and the three gold questions, each once
    c.close()
    assert sum(1 for t in seen if "_gold" in t) == 3
    with tuiannot.connect(database) as db:
        rows = list(db.answers("ds"))
        assert [gold_correct(r) for r in rows if "_gold" in r] == [True, False, False]
        report = progress_report(db, "ds")
    alice = report["annotators"][0]
    assert alice["annotator"] == "alice" and alice["gold_answered"] == 3
    assert alice["gold_accuracy"] == pytest.approx(1 / 3, abs=1e-4)
    assert alice["answers"] == 43 and alice["share"] == 1.0 and report["inputs_answered"] == 40


def test_bad_gold_files(tmp_path: Path) -> None:
    components = Components.from_value(get_recipe("textcat")(str(write_jsonl(tmp_path / "d.jsonl", texts(2))),
                                                             label="POS"))
    bad = write_jsonl(tmp_path / "gold.jsonl", [{"text": "g", "answer": "maybe"}])
    with pytest.raises(UserError, match="bad gold task: .*gold.jsonl:1: 'answer' must be"):
        load_gold(bad, components.stream)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(UserError, match="no gold tasks"):
        load_gold(empty, components.stream)


def test_progress_of_a_team(tmp_path: Path, database: str) -> None:
    seed_votes(database)
    with tuiannot.connect(database) as db:
        report = progress_report(db, "ds")
        assert [p["annotator"] for p in report["annotators"]] == ["alice", "bob", "carol"]
        alice = report["annotators"][0]
        assert alice["answers"] == 6 and alice["share"] == pytest.approx(1 / 3, abs=1e-4)
        assert alice["answers_per_hour"] == 1800.0 and alice["median_seconds"] == 2.0
        assert 0 < alice["agreement_with_others"] < 1
        assert report["annotations_per_input"] == 3.0
        with pytest.raises(UserError, match="no dataset named"):
            progress_report(db, "nope")


def test_progress_of_span_annotators_uses_strict_span_f(database: str) -> None:
    with tuiannot.connect(database) as db:
        db.add_answers("ds", [entities("alice", [(0, 4, "ORG"), (11, 14, "PERSON")]),
                              entities("bob", [(0, 4, "ORG")])])
        report = progress_report(db, "ds")
    assert [p["agreement_with_others"] for p in report["annotators"]] == [pytest.approx(2 / 3, abs=1e-4)] * 2


def test_progress_counts_only_unexpired_claims_as_held(database: str) -> None:
    """A claim whose lease ran out is free for others: progress no longer says it is held."""
    with tuiannot.connect(database) as db:
        db.add_answers("ds", [{"text": "a", "answer": "accept", "_session_id": "ds-alice"}])
        assert db.claim("ds", "alice", 4711, 2, 0.2, json.dumps({"text": "b"}))
        assert progress_report(db, "ds")["inputs_in_progress"] == 1
        time.sleep(0.3)
        report = progress_report(db, "ds")
        assert report["inputs_in_progress"] == 0
        assert [p["holding"] for p in report["annotators"] if p["annotator"] == "alice"] == [0]


def test_undo_then_quit_leaves_no_claim(tmp_path: Path, database: str) -> None:
    """Keys 1 a 2 a 2 a, undo twice, a a 1 a, quit: every claim is answered or given back."""
    source = tmp_path / "reviews.jsonl"
    source.write_text("".join(json.dumps({"text": f"review {i}"}) + "\n" for i in range(30)))
    for run in range(3):
        components = Components.from_value(get_recipe("textcat")(str(source), label="POS,NEG", dataset="c"))
        db = tuiannot.connect(database)
        controller = Controller(components, db, "alice", routing=Routing(overlap=1)).start()
        for step in ["a", "a", "a", "undo", "undo", "a", "a", "a"]:
            if step == "undo":
                assert controller.undo() is not None
            else:
                assert controller.next_task(timeout=10) is not None
                controller.answer("accept", ["POS"])
        assert controller.next_task(timeout=10) is not None  # shown, not answered: then quit
        controller.close()
        assert db.claims("c") == [], run
        db.close()


def test_one_name_for_an_annotator_in_every_report(tmp_path: Path, database: str) -> None:
    """Issue 14: review named 'ds-alice' (the stored session id) whom progress, stats and iaa name 'alice'."""
    from tuiannot.recipes.review import review_tasks

    source = write_jsonl(tmp_path / "films.jsonl", texts(3, "film"))
    for who, answer in (("alice", "accept"), ("bob", "reject")):  # tuiannot textcat ... --session alice
        components = Components.from_value(get_recipe("textcat")(str(source), label="POS", dataset="ds"))
        controller = Controller(components, tuiannot.connect(database), who, routing=Routing(overlap="all")).start()
        assert answer_all(controller, lambda task, answer=answer: (answer, None)) == 3
        controller.close()
    names = ["alice", "bob"]
    with tuiannot.connect(database) as db:
        assert {a["_session_id"] for a in db.answers("ds")} == {"ds-alice", "ds-bob"}  # as Prodigy stores them
        assert sorted(db.dataset_counts("ds").sessions) == names  # stats
        assert [p["annotator"] for p in progress_report(db, "ds")["annotators"]] == names
        assert agreement_report(db, "ds")["documents"]["annotators"] == names  # iaa
        assert sorted(aggregate(db, "ds", "dawid-skene", "final")["annotator_accuracy"]) == names
        assert [sorted(a["_aggregate"]["votes"]) for a in db.answers("final")] == [names] * 3
        reviews = list(review_tasks((("ds", a) for a in db.answers("ds")), only_conflicts=False))
    assert len(reviews) == 3
    for task in reviews:
        assert task["_review"]["annotators"] == names
        assert sorted(who for v in task["_review"]["versions"] for who in v["sessions"]) == names


def test_review_takes_an_annotators_latest_answer_across_datasets() -> None:
    """One person in two reviewed datasets is one annotator, their newest answer counting."""
    from tuiannot.recipes.review import review_tasks
    from tuiannot.tasks import set_hashes

    older = set_hashes({**vote("item", "alice", "accept"), "_timestamp": 1_700_000_100})
    newer = set_hashes({**vote("item", "alice", "reject"), "_session_id": "ds2-alice", "_timestamp": 1_700_000_200})
    bob = set_hashes(vote("item", "bob", "reject"))
    tasks = list(review_tasks([("ds2", newer), ("ds", older), ("ds", bob)], only_conflicts=False))
    assert tasks[0]["_review"]["annotators"] == ["alice", "bob"]
    assert [(v["answer"], v["sessions"]) for v in tasks[0]["_review"]["versions"]] == [("reject", ["alice", "bob"])]

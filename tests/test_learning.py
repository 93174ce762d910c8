"""Active learning: updates change scores, strategies order the stream, the screen never waits."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tuiannot.controller import Controller, answer_all
from tuiannot.errors import UserError
from tuiannot.nlp.learning import Learner, TextcatLearner, informativeness, select
from tuiannot.recipes import Components, get_recipe
from tuiannot.tasks import set_hashes

from .helpers import recipe_app, recipe_controller, stored, tokens, wait_for_task, write_jsonl

POS = ["a great wonderful film", "loved it, great acting", "wonderful story and great cast", "great fun"]
NEG = ["a terrible boring film", "hated it, awful acting", "boring story and awful cast", "awful mess"]


class FixedLearner(Learner):
    """Scores from a table: lets the ordering be checked exactly."""

    def __init__(self, probs: dict[str, float]) -> None:
        self.probs, self.version, self.labels = probs, 0, ["X"]
        self.texts_read = self.texts_passed = 0
        self.cold_hint = ""

    def candidates(self, tasks, strategy):
        return [(informativeness([self.probs[t["text"]], 1 - self.probs[t["text"]]], strategy),
                 set_hashes({**t, "label": "X", "score": self.probs[t["text"]]})) for t in tasks]

    def example(self, answer):
        return None


def run_select(probs: dict[str, float], strategy: str, learner: Learner | None = None, **kwargs) -> list[str]:
    tasks = [set_hashes({"text": t}) for t in probs]
    return [t["text"] for t in select(learner or FixedLearner(probs), strategy, **kwargs)(iter(tasks))]


def test_informativeness_measures() -> None:
    for strategy in ("uncertainty", "margin", "entropy"):
        assert informativeness([0.5, 0.5], strategy) == pytest.approx(1.0)
        assert informativeness([1.0, 0.0], strategy) == pytest.approx(0.0)
        assert informativeness([0.3, 0.7], strategy) > informativeness([0.1, 0.9], strategy)
    assert informativeness([0.5, 0.3, 0.2], "margin") == pytest.approx(0.8)
    assert informativeness([0.5, 0.3, 0.2], "uncertainty") == pytest.approx(0.75)
    with pytest.raises(UserError):
        informativeness([0.5, 0.5], "nope")


def test_strategies_order_a_fixed_scored_stream() -> None:
    probs = {"sure yes": 0.99, "coin": 0.5, "leaning": 0.7, "sure no": 0.02, "close": 0.45}
    # the most informative first; those below the moving average of the window (0.598 here:
    # informativeness 0.02, 1.0, 0.6, 0.04, 0.9 in source order, alpha 0.5) are dropped
    assert run_select(probs, "uncertainty", alpha=0.5) == ["coin", "close", "leaning"]
    assert run_select(probs, "uncertainty", alpha=0.5, bias=0.5) == ["coin", "close"]  # more selective
    assert run_select(probs, "random") == list(probs)  # the baseline: source order, nothing dropped
    big = {f"t{i}": i / 100 for i in range(100)}
    served = run_select(big, "entropy", lookahead=100)
    assert served[0] == "t50" and len(served) < 100  # the stream keeps moving past the uninformative
    assert all(abs(big[t] - 0.5) <= 0.5 for t in served)


@pytest.mark.slow
def test_updates_change_scores_and_rejects_teach_too() -> None:
    learner = TextcatLearner.blank("en", ["POS"])
    before = learner.scores(["great film", "awful film"])
    for _ in range(15):
        learner.update([{"text": t, "label": "POS", "answer": "accept"} for t in POS]
                       + [{"text": t, "label": "POS", "answer": "reject"} for t in NEG])
    after = learner.scores(["great film", "awful film"])
    assert learner.version == 15
    assert after[0]["POS"] > before[0]["POS"] + 0.05  # accepts pull up
    assert after[1]["POS"] < before[1]["POS"] - 0.05  # rejects push down
    only_rejects = TextcatLearner.blank("en", ["POS"])
    base = only_rejects.scores(["awful film"])[0]["POS"]
    for _ in range(5):
        only_rejects.update([{"text": t, "label": "POS", "answer": "reject"} for t in NEG])
    assert only_rejects.scores(["awful film"])[0]["POS"] < base


@pytest.mark.slow
def test_saving_and_reloading_the_model(tmp_path: Path) -> None:
    import spacy

    learner = TextcatLearner.blank("en", ["POS"])
    for _ in range(5):
        learner.update([{"text": t, "label": "POS", "answer": "accept"} for t in POS])
    learner.save(tmp_path / "model")
    again = TextcatLearner(spacy.load(tmp_path / "model"), ["POS"])
    assert again.scores(["great fun"])[0]["POS"] == pytest.approx(learner.scores(["great fun"])[0]["POS"])


def teach_controller(tmp_path: Path, db_path: Path, **extra: Any) -> Controller:
    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": t, "label": lab} for t, lab in
                                                      [(t, "POS") for t in POS * 3] + [(t, "NEG") for t in NEG * 3]])
    extra.setdefault("encoder", "none")  # a bag of words: fast, and what these tests are about
    return recipe_controller("textcat", db_path, str(source), label="POS", teach=True, **extra)


def test_teach_stores_score_and_model_version(tmp_path: Path, db_path: Path) -> None:
    c = teach_controller(tmp_path, db_path, batch_size=2, output=str(tmp_path / "out"))
    answered = answer_all(c, lambda t: ("accept" if t["meta"]["label"] == "POS" else "reject", None), limit=6)
    c.close()
    rows = stored(db_path, "reviews")
    assert answered == 6 and len(rows) == 6
    assert all(isinstance(r["_model_version"], int) for r in rows)
    for r in rows:  # the model's score, or None while it has no opinion (a new classifier says 0.5 to everything)
        assert isinstance(r["score"], float) or (r["score"] is None and r["meta"]["score"] == "no opinion yet")
    assert all(r["label"] == "POS" and r["_view_id"] == "classification" for r in rows)
    assert (tmp_path / "out" / "meta.json").exists()  # saved on exit


@pytest.mark.slow
async def test_the_screen_does_not_wait_for_a_slow_update(tmp_path: Path, db_path: Path) -> None:
    from tuiannot.screens.app import AnnotationApp

    c = teach_controller(tmp_path, db_path, batch_size=1, strategy="random")
    real = c.components.update

    def slow_update(batch):
        time.sleep(1.5)
        real(batch)

    c.components.update = slow_update
    app = AnnotationApp(c)
    async with app.run_test() as pilot:
        await wait_for_task(pilot)
        first = app.annotation_screen.current_task["text"]
        started = time.monotonic()
        await pilot.press("a")  # an update starts now and takes 1.5 s
        await wait_for_task(pilot, predicate=lambda s: s.current_task["_task_hash"] != c.history[-1].task["_task_hash"])
        assert time.monotonic() - started < 1.0  # the next task came while the model was busy
        assert "model:" in str(app.annotation_screen.query_one("#progress").render())
    c.close()
    assert first


def test_a_short_simulated_run_improves_accuracy(tmp_path: Path, db_path: Path) -> None:
    c = teach_controller(tmp_path, db_path, batch_size=4)
    learner = c.components.model

    def accuracy() -> float:
        tests = [("great wonderful acting", True), ("awful boring cast", False), ("loved the great story", True),
                 ("hated the awful film", False)]
        scores = learner.scores([t for t, _ in tests])
        return sum((s["POS"] >= 0.5) == gold for s, (_, gold) in zip(scores, tests, strict=True)) / len(tests)

    before = accuracy()
    answer_all(c, lambda t: ("accept" if t["meta"]["label"] == "POS" else "reject", None))
    c.close()  # waits for the last updates
    assert accuracy() > before or accuracy() == 1.0
    assert accuracy() >= 0.75


def test_teach_options_are_checked(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "d.jsonl", [{"text": "x"}])
    with pytest.raises(UserError, match="--strategy"):
        get_recipe("textcat")(str(source), label="POS", teach=True, strategy="best")
    with pytest.raises(UserError, match="go with --teach"):
        get_recipe("textcat")(str(source), label="POS", output=str(tmp_path / "m"))


# -- ner --teach -------------------------------------------------------------------------------------------
NAMES = ["Anna", "Boris", "Chen", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kofi", "Lena"]
CITIES = ["Berlin", "Paris", "Lagos", "Osaka", "Quito", "Rome", "Oslo", "Cairo", "Delhi", "Lima", "Seoul", "Tunis"]
TEMPLATES = ["I met {p} in {c} yesterday .", "{p} flew to {c} last week .", "We saw {p} at the station in {c} .",
             "{p} lives in {c} now .", "Yesterday {p} called from {c} ."]


def people_and_places(n: int, names: list[str], cities: list[str], seed: int) -> list[dict[str, Any]]:
    import random

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        p, c = rng.choice(names), rng.choice(cities)
        text = rng.choice(TEMPLATES).format(p=p, c=c)
        ps, cs = text.index(p), text.index(c)
        rows.append({"text": text, "meta": {"gold": [[ps, ps + len(p), "PERSON"], [cs, cs + len(c), "LOC"]]}})
    return rows


def entity_f(learner: Any, rows: list[dict[str, Any]]) -> float:
    tp = fp = fn = 0
    for doc, r in zip(learner.nlp.pipe([r["text"] for r in rows]), rows, strict=True):
        predicted = {(e.start_char, e.end_char, e.label_) for e in doc.ents}
        gold = {tuple(g) for g in r["meta"]["gold"]}
        tp, fp, fn = tp + len(predicted & gold), fp + len(predicted - gold), fn + len(gold - predicted)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def gold_span_answer(task: dict[str, Any]) -> tuple[str, None]:
    """The simulated annotator: right when the suggested span is one of the gold entities."""
    s = task["spans"][0]
    return ("accept" if [s["start"], s["end"], s["label"]] in task["meta"]["gold"] else "reject"), None


def span_question(learner: Any, text: str, start: int, end: int, label: str) -> float:
    """The model's score for the entity text[start:end] as ``label`` (0 when it is not a candidate)."""
    doc = learner.nlp.make_doc(text)
    task = set_hashes({"text": text, "tokens": [{"text": t.text, "start": t.idx, "end": t.idx + len(t.text),
                                                 "id": t.i} for t in doc]})
    for _, q in learner.candidates([task], "uncertainty"):
        s = q["spans"][0]
        if (s["start"], s["end"], s["label"]) == (start, end, label):
            return s["score"]
    return 0.0


def ner_answer(text: str, word: str, label: str, answer: str) -> dict[str, Any]:
    """A --teach answer about one word (tokens from spaCy's blank English tokenizer, the recogniser's own)."""
    question_tokens = tokens(text, ws=False)
    i = [t["text"] for t in question_tokens].index(word)
    span = {"start": question_tokens[i]["start"], "end": question_tokens[i]["end"], "token_start": i, "token_end": i,
            "label": label}
    return {"text": text, "tokens": question_tokens, "spans": [span], "answer": answer}


@pytest.mark.slow
def test_ner_updates_change_span_scores_and_rejects_teach_too() -> None:
    import spacy

    from tuiannot.nlp.learning import NerLearner

    spacy.util.fix_random_seed(0)
    text = "Yesterday Anna called from Berlin ."
    start = text.index("Berlin")
    accepts = NerLearner.blank("en", ["PERSON", "LOC"])
    before = span_question(accepts, text, start, start + 6, "LOC")
    for _ in range(10):
        accepts.update([ner_answer(f"{w} is far from {c} .", c, "LOC", "accept")
                        for w, c in zip(NAMES, CITIES, strict=True)])
    assert accepts.version == 10
    assert span_question(accepts, text, start, start + 6, "LOC") > max(0.5, before)

    rejects = NerLearner.blank("en", ["PERSON", "LOC"])
    for _ in range(10):
        rejects.update([ner_answer(text, "Berlin", "LOC", "reject")])
    assert rejects.version == 10  # a reject alone is an update
    assert span_question(rejects, text, start, start + 6, "LOC") < max(0.001, before)


@pytest.mark.slow
def test_ner_teach_learns_from_patterns_and_answers(tmp_path: Path, db_path: Path) -> None:
    import spacy

    spacy.util.fix_random_seed(0)
    source = write_jsonl(tmp_path / "people.jsonl", people_and_places(300, NAMES[:8], CITIES[:8], seed=1))
    patterns = write_jsonl(tmp_path / "patterns.jsonl", [{"label": "PERSON", "pattern": "Anna"},
                                                         {"label": "LOC", "pattern": "Berlin"},
                                                         {"label": "LOC", "pattern": "Paris"}])
    c = recipe_controller("ner", db_path, str(source), label="PERSON,LOC", teach=True, batch_size=5,
                          patterns=str(patterns), output=str(tmp_path / "model"))
    learner = c.components.model
    unseen = people_and_places(60, NAMES[8:], CITIES[8:], seed=2)  # names and places never answered about
    assert entity_f(learner, unseen) == 0.0
    first = c.next_task()
    assert first["meta"].get("pattern") in ("Anna", "Berlin", "Paris")  # cold start: a pattern match comes first

    answered = answer_all(c, gold_span_answer, limit=150)
    c.close()
    assert answered == 150
    assert entity_f(learner, unseen) > 0.25  # 0.38 here; 0 before
    rows = stored(db_path, "people")
    assert len(rows) == 150 and {r["answer"] for r in rows} == {"accept", "reject"}
    assert all(len(r["spans"]) == 1 and isinstance(r["spans"][0].get("score", 0.0), float) for r in rows)
    assert all(isinstance(r["_model_version"], int) for r in rows)
    assert any("pattern" in r["meta"] for r in rows) and any("score" in r["spans"][0] for r in rows)
    assert learner.version >= 20

    again = spacy.load(tmp_path / "model")  # saved on exit, loadable, and usable as --model
    assert [p for p in again.pipe_names] == ["ner"]
    components = Components.from_value(get_recipe("ner")(str(source), label="PERSON,LOC", teach=True,
                                                         model=str(tmp_path / "model")))
    assert entity_f(components.model, unseen) == pytest.approx(entity_f(learner, unseen))


@pytest.mark.slow
def test_a_teach_stream_says_why_it_ended(tmp_path: Path, db_path: Path) -> None:
    probs = {"sure yes": 0.99, "sure no": 0.01, "unsure": 0.5, "fairly unsure": 0.4, "sure too": 0.98}
    learner = FixedLearner(probs)
    asked = run_select(probs, "uncertainty", learner=learner)
    assert asked == ["unsure", "fairly unsure"]
    assert (learner.texts_read, learner.texts_passed) == (5, 3)
    assert "passed over 3 of the 5 texts it read" in learner.finished_note()
    assert "save it with --output" in learner.finished_note()
    assert "Run again with --model out/m" in learner.finished_note("uncertainty", "out/m")
    assert "--strategy random" not in learner.finished_note()  # only a text classifier asks about every text
    learner.kind = "textcat"
    assert "--strategy random asks about every text" in learner.finished_note()
    assert "--strategy random" not in learner.finished_note("random")

    source = write_jsonl(tmp_path / "people.jsonl", people_and_places(40, NAMES, CITIES, seed=3))
    c = recipe_controller("ner", db_path, str(source), label="PERSON,LOC", teach=True)
    answer_all(c, lambda t: ("reject", None))
    note = c.close().note
    assert "with no --patterns starts with no idea" in note

    random_order = teach_controller(tmp_path, tmp_path / "random.db", strategy="random")
    answer_all(random_order, lambda t: ("accept", None))
    assert random_order.close().note is None  # it asked about every text: nothing to explain


async def test_the_summary_screen_says_why_a_teach_stream_ended(tmp_path: Path, db_path: Path) -> None:
    from tuiannot.screens.done import DoneScreen

    source = write_jsonl(tmp_path / "one.jsonl", [{"text": "Anna lives in Oslo ."}])
    app = recipe_app("ner", db_path, str(source), label="PERSON,LOC", teach=True)
    async with app.run_test() as pilot:
        await wait_for_task(pilot)  # a question, or the summary
        while not isinstance(app.screen, DoneScreen):  # every question rejected
            await pilot.press("x")
            await wait_for_task(pilot)
        assert isinstance(app.screen, DoneScreen)
        summary = str(app.screen.query_one("#summary").render())
        assert "No more tasks." in summary and "with no --patterns" in summary
        await pilot.press("q")
    app.controller.close()


@pytest.mark.slow
def test_ner_teach_refines_a_trained_model_instead_of_undoing_it(tmp_path: Path, db_path: Path) -> None:
    import spacy
    from spacy.training import Example

    from tuiannot.nlp.learning import NerLearner

    spacy.util.fix_random_seed(0)
    seed = NerLearner.blank("en", ["PERSON", "LOC"])  # a model trained on a manual round of annotation
    optimizer = seed.nlp.resume_training()
    rows = people_and_places(80, NAMES[:8], CITIES[:8], seed=4)
    examples = [Example.from_dict(seed.nlp.make_doc(r["text"]), {"entities": [tuple(g) for g in r["meta"]["gold"]]})
                for r in rows]
    for _ in range(15):
        for start in range(0, len(examples), 8):
            seed.nlp.update(examples[start:start + 8], sgd=optimizer)
    seed.nlp.to_disk(tmp_path / "seed")
    unseen = people_and_places(60, NAMES[8:], CITIES[8:], seed=5)
    start_f = entity_f(seed, unseen)
    assert start_f > 0.8

    source = write_jsonl(tmp_path / "more.jsonl", people_and_places(200, NAMES, CITIES, seed=6))
    c = recipe_controller("ner", db_path, str(source), label="PERSON,LOC", teach=True, strategy="random",
                          model=str(tmp_path / "seed"))
    learner = c.components.model

    assert answer_all(c, gold_span_answer, limit=200) == 200
    c.close()
    assert learner.version >= 19
    weights = learner.nlp.get_pipe("ner").model.get_ref("lower").get_param("W")
    seed_weights = spacy.load(tmp_path / "seed").get_pipe("ner").model.get_ref("lower").get_param("W")
    assert abs(weights - seed_weights).max() > 1e-4  # it did learn (a model that never moved keeps its F too)
    assert entity_f(learner, unseen) >= start_f - 0.05


def test_ner_teach_learns_every_span_of_an_accepted_answer_and_skips_bad_ones() -> None:
    from tuiannot.nlp.learning import NerLearner

    learner = NerLearner.blank("en", ["PERSON", "LOC"])
    answer = ner_answer("Anna lives in Oslo .", "Oslo", "LOC", "accept")
    answer["spans"].append({"start": 0, "end": 4, "token_start": 0, "token_end": 0, "label": "PERSON"})
    example = learner.example(answer)
    assert [(e.text, e.label_) for e in example.reference.ents] == [("Anna", "PERSON"), ("Oslo", "LOC")]
    answer["spans"] = [{"start": 0, "end": 4, "token_start": 0, "token_end": 9, "label": "PERSON"},
                       {"start": 0, "end": 4, "token_start": 0, "token_end": 0, "label": "ORG"}]
    assert learner.example(answer) is None  # out of range, unknown label: nothing to learn
    rejected = learner.example(ner_answer("Anna lives in Oslo .", "Oslo", "LOC", "reject"))
    assert [s.text for s in rejected.reference.spans["incorrect_spans"]] == ["Oslo"]
    assert list(rejected.reference.ents) == []


def test_a_span_question_keeps_its_hash_across_model_versions_and_sources() -> None:
    """The hash covers the span (offsets and label), not the score or source shown with it: a question is
    neither asked twice nor lost from the look-ahead when the model changes."""
    from tuiannot.nlp.learning import NerLearner
    from tuiannot.nlp.spans import make_span

    learner = NerLearner.blank("en", ["PERSON", "LOC"])
    answer = ner_answer("Anna lives in Oslo .", "Oslo", "LOC", "accept")
    task = set_hashes({"text": answer["text"], "tokens": answer["tokens"]})

    def questions() -> dict[tuple[int, int, str], dict[str, Any]]:
        return {(q["spans"][0]["start"], q["spans"][0]["end"], q["spans"][0]["label"]): q
                for _, q in learner.candidates([task], "uncertainty")}

    before = questions()
    for _ in range(3):
        learner.update([answer])
    after = questions()
    common = set(before) & set(after)
    assert (14, 18, "LOC") in common
    assert all(before[k]["_task_hash"] == after[k]["_task_hash"] for k in common)
    assert before[14, 18, "LOC"]["spans"][0]["score"] != after[14, 18, "LOC"]["spans"][0]["score"]
    from_pattern = set_hashes({"text": task["text"], "tokens": task["tokens"],
                               "spans": [make_span(task["tokens"], 3, 3, "LOC", source="pattern")]})
    assert from_pattern["_task_hash"] == after[14, 18, "LOC"]["_task_hash"]


@pytest.mark.slow
def test_questions_are_chosen_by_a_recent_model(tmp_path: Path, db_path: Path) -> None:
    """The controller takes questions from a --teach stream only as it has room for them (a batch ahead), so
    each is chosen by a model at most about three updates old, not by the one of 64 questions before."""
    import random

    rng = random.Random(0)
    words = ["great", "awful", "film", "plot", "cast", "long", "fine", "story", "music", "ending", "odd", "slow"]
    source = write_jsonl(tmp_path / "many.jsonl", [{"text": " ".join(rng.choices(words, k=6))} for _ in range(2000)])
    c = recipe_controller("textcat", db_path, str(source), label="POS", teach=True, batch_size=10, encoder="none")
    learner = c.components.model
    lags = []
    for n in range(1, 101):
        task = c.next_task(timeout=30)
        assert task is not None
        lags.append(learner.version - task["_model_version"])
        c.answer("accept" if "great" in task["text"] else "reject")
        if n % 10 == 0:
            c.sync_updates()
    c.close()
    assert learner.version == 10
    assert max(lags[30:]) <= 3, lags  # the queue (10) and the batch waiting for room in it (10); 6-13 before
    assert not c._thread.is_alive()  # closed: the prefetch thread has stopped, not left inside the stream

"""What ``--teach`` tells the annotator about its model: the model's real score of a question, or that it has no
opinion yet, and, at the end, where the model was saved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tuiannot.nlp.learning import NO_OPINION, NerLearner, TextcatLearner
from tuiannot.tasks import set_hashes

from .helpers import recipe_app, wait_for_task, write_jsonl

POS = ["a great wonderful film", "loved it, great acting", "wonderful story and great cast", "great fun"]
NEG = ["a terrible boring film", "hated it, awful acting", "boring story and awful cast", "awful mess"]


def questions(learner: Any, texts: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(q["text"], q["label"]): q for _, q in learner.candidates([set_hashes({"text": t}) for t in texts],
                                                                       "uncertainty")}


def question_line(app: Any) -> str:
    return str(app.annotation_screen.query_one("#question").render())


def test_a_new_classifier_has_no_opinion_until_it_learns_about_a_label() -> None:
    learner = TextcatLearner.blank("en", ["POS", "NEG"])
    assert learner.scores(["great fun"]) == [{"POS": 0.5, "NEG": 0.5}]  # zero weights: 0.5 for every text
    before = questions(learner, POS[:2])
    assert len(before) == 4
    assert all(q["score"] is None and q["meta"]["score"] == NO_OPINION for q in before.values())
    learner.update([{"text": t, "label": "POS", "answer": "accept"} for t in POS]
                   + [{"text": t, "label": "POS", "answer": "reject"} for t in NEG])
    after = questions(learner, POS[:2])
    for text in POS[:2]:
        pos, neg = after[text, "POS"], after[text, "NEG"]
        assert isinstance(pos["score"], float) and pos["score"] > 0.5 and pos["meta"]["score"] == pos["score"]
        assert neg["score"] is None and neg["meta"]["score"] == NO_OPINION  # nothing was said about NEG


def test_an_exclusive_classifier_that_learnt_nothing_has_no_opinion() -> None:
    import spacy
    from spacy.training import Example

    def exclusive(steps: int) -> TextcatLearner:
        nlp = spacy.blank("en")
        nlp.add_pipe("textcat", config={"model": {"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": True,
                                                  "ngram_size": 1, "no_output_layer": False}})
        examples = [Example.from_dict(nlp.make_doc(t), {"cats": {"POS": 1.0, "NEG": 0.0}}) for t in POS] + [
            Example.from_dict(nlp.make_doc(t), {"cats": {"POS": 0.0, "NEG": 1.0}}) for t in NEG]
        optimizer = nlp.initialize(lambda: examples)
        for _ in range(steps):
            nlp.update(examples, sgd=optimizer)
        return TextcatLearner(nlp, ["POS", "NEG"])

    blank = exclusive(0)
    assert blank.scores(["great fun"]) == [{"POS": 0.5, "NEG": 0.5}]  # a softmax of equal logits
    assert [q["score"] for q in questions(blank, ["great fun"]).values()] == [None]
    trained = questions(exclusive(10), ["great fun", "awful mess"])  # the label it is surest of is asked
    assert trained["great fun", "POS"]["score"] > 0.5 and trained["awful mess", "NEG"]["score"] > 0.5


def test_a_question_carries_the_version_of_the_model_that_scored_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """While an update copies the trained weights for scoring, questions are still scored by the old model: they
    say so (the version was counted before the new model was in, and the first updated questions showed 0.50)."""
    learner = TextcatLearner.blank("en", ["POS"])
    copy = learner._copy
    during: list[dict[str, Any]] = []

    def copy_and_ask(nlp: Any) -> Any:
        if learner._train_nlp is not None:  # publishing: the snapshot is being made, the old model still scores
            during.extend(questions(learner, ["great fun"]).values())
        return copy(nlp)

    monkeypatch.setattr(learner, "_copy", copy_and_ask)
    learner.update([{"text": t, "label": "POS", "answer": "accept"} for t in POS])
    assert [(q["_model_version"], q["score"]) for q in during] == [(0, None)]
    after = questions(learner, ["great fun"])["great fun", "POS"]
    assert after["_model_version"] == learner.version == 1 and after["score"] > 0.5


def test_a_new_recogniser_has_no_opinion_until_its_first_update() -> None:
    learner = NerLearner.blank("en", ["PERSON", "LOC"])
    text = "Anna lives in Oslo ."
    tokens = [{"text": w, "start": text.index(w), "end": text.index(w) + len(w), "id": i}
              for i, w in enumerate(text.split())]
    task = set_hashes({"text": text, "tokens": tokens})
    first = [q for _, q in learner.candidates([task], "uncertainty")]
    assert first and all(q["score"] is None and q["meta"]["score"] == NO_OPINION for q in first)
    assert all(isinstance(q["spans"][0]["score"], float) for q in first)  # the raw probability stays, for analysis
    span = {"start": 14, "end": 18, "token_start": 3, "token_end": 3, "label": "LOC"}
    learner.update([{"text": text, "tokens": tokens, "spans": [span], "answer": "accept"}])
    later = [q for _, q in learner.candidates([task], "uncertainty")]
    assert later and all(isinstance(q["score"], float) and q["meta"]["score"] == q["score"] for q in later)


async def test_the_screen_says_the_model_has_no_opinion_or_shows_its_score(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "films.jsonl", [{"text": t} for t in POS + NEG])
    app = recipe_app("textcat", db_path, str(source), label="POS", teach=True, encoder="none")
    async with app.run_test() as pilot:
        screen = await wait_for_task(pilot)
        assert screen.current_task["score"] is None
        assert "model has no opinion yet" in question_line(app) and "model score" not in question_line(app)
        await pilot.press("q")
    app.controller.close()

    trained = TextcatLearner.blank("en", ["POS"])  # a model that has learnt something: its own score is shown
    for _ in range(5):
        trained.update([{"text": t, "label": "POS", "answer": "accept"} for t in POS]
                       + [{"text": t, "label": "POS", "answer": "reject"} for t in NEG])
    trained.save(tmp_path / "model")
    app = recipe_app("textcat", tmp_path / "again.db", str(source), label="POS", teach=True, encoder="none",
                     model=str(tmp_path / "model"))
    async with app.run_test() as pilot:
        screen = await wait_for_task(pilot)
        score = screen.current_task["score"]
        assert isinstance(score, float) and score != 0.5
        assert f"model score {score:.2f}" in question_line(app) and "no opinion" not in question_line(app)
        await pilot.press("q")
    app.controller.close()


async def test_the_end_of_a_session_says_where_the_model_was_saved(tmp_path: Path, db_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from tuiannot.cli.show import print_summary
    from tuiannot.screens.done import DoneScreen

    source = write_jsonl(tmp_path / "films.jsonl", [{"text": t} for t in POS[:3]])
    out = tmp_path / "model"
    app = recipe_app("textcat", db_path, str(source), label="POS", teach=True, encoder="none", strategy="random",
                     output=str(out))
    async with app.run_test() as pilot:
        await wait_for_task(pilot)
        while not isinstance(app.screen, DoneScreen):
            await pilot.press("a")
            await wait_for_task(pilot)
        # the session has not ended yet: the model is saved when the annotator quits
        assert f"The model is saved to {out} when you quit." in str(app.screen.query_one("#summary").render())
        await pilot.press("q")
    summary = app.controller.close()
    assert summary.note == f"Model saved to {out} (1 update from 3 answers)."
    assert (out / "meta.json").exists()
    assert print_summary(summary, None) == 0
    assert f"Model saved to {out} (1 update from 3 answers).\n" in capsys.readouterr().out


def test_quitting_saves_the_model_and_a_failed_save_says_why(tmp_path: Path, db_path: Path) -> None:
    from tests.helpers import recipe_controller

    source = write_jsonl(tmp_path / "films.jsonl", [{"text": t} for t in POS + NEG])
    out = tmp_path / "model"
    c = recipe_controller("textcat", db_path, str(source), label="POS", teach=True, encoder="none", output=str(out))
    task = c.next_task()
    assert task is not None
    c.answer("accept")
    c.close()  # quit with the stream not done
    learner = c.components.model
    assert learner.saved_note == f"Model saved to {out} (1 update from 1 answer)." and (out / "meta.json").exists()
    (tmp_path / "a-file").write_text("x")
    note = learner.save_note(tmp_path / "a-file" / "model")
    assert note.startswith(f"The model was NOT saved to {tmp_path / 'a-file' / 'model'}: ")

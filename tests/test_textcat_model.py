"""`textcat --model`: a spaCy text classifier preselects the labels it is sure of."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tuiannot.errors import UserError
from tuiannot.recipes import Components, get_recipe

from .helpers import make_app, stored, wait_for_task, write_jsonl

POSITIVE = ["great film, loved it", "wonderful and moving", "brilliant acting, great story", "loved every minute"]
NEGATIVE = ["awful film, hated it", "boring and dull", "terrible acting, bad story", "hated every minute"]


@pytest.fixture(scope="module")
def tiny_textcat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import spacy
    from spacy.training import Example

    nlp = spacy.blank("en")
    textcat = nlp.add_pipe("textcat")
    for label in ("POS", "NEG"):
        textcat.add_label(label)
    examples = [Example.from_dict(nlp.make_doc(t), {"cats": {"POS": 1.0, "NEG": 0.0}}) for t in POSITIVE]
    examples += [Example.from_dict(nlp.make_doc(t), {"cats": {"POS": 0.0, "NEG": 1.0}}) for t in NEGATIVE]
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(0)
    for _ in range(30):
        rng.shuffle(examples)
        nlp.update(examples, sgd=optimizer)
    path = tmp_path_factory.mktemp("textcat") / "model"
    nlp.to_disk(path)
    return path


def test_scores_and_preselection(tmp_path: Path, tiny_textcat: Path) -> None:
    source = write_jsonl(tmp_path / "r.jsonl", [{"text": "great film, loved it"}, {"text": "boring and dull"}])
    c = Components.from_value(get_recipe("textcat")(str(source), label="POS,NEG", model=str(tiny_textcat)))
    first, second = list(c.stream)
    assert first["accept"] == ["POS"] and second["accept"] == ["NEG"]
    assert first["meta"]["scores"]["POS"] > 0.5 > first["meta"]["scores"]["NEG"]
    c = Components.from_value(get_recipe("textcat")(str(source), label="POS,NEG", model=str(tiny_textcat),
                                                    threshold=1.0))
    assert [t["accept"] for t in c.stream] == [[], []]  # nothing is that sure


async def test_the_annotator_corrects_a_preselection(tmp_path: Path, db_path: Path, tiny_textcat: Path) -> None:
    source = write_jsonl(tmp_path / "r.jsonl", [{"text": "great film, loved it"}, {"text": "x"}])
    app = make_app(source, db_path, labels="POS,NEG", model=str(tiny_textcat))
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="great film, loved it")
        assert app.annotation_screen.selected == ["POS"]
        await pilot.press("1", "2", "a")  # POS off, NEG on
        await wait_for_task(pilot, text="x")
    assert stored(db_path, "r")[0]["accept"] == ["NEG"]


def test_a_model_without_a_classifier_is_refused(tmp_path: Path) -> None:
    import spacy

    blank = tmp_path / "blank"
    spacy.blank("en").to_disk(blank)
    source = write_jsonl(tmp_path / "r.jsonl", [{"text": "a"}])
    with pytest.raises(UserError, match="has no text classifier"):
        get_recipe("textcat")(str(source), label="POS,NEG", model=str(blank))


def test_labels_the_model_does_not_know_are_refused(tmp_path: Path, tiny_textcat: Path) -> None:
    source = write_jsonl(tmp_path / "r.jsonl", [{"text": "a"}])
    with pytest.raises(UserError, match="does not know the labels MAYBE"):
        get_recipe("textcat")(str(source), label="POS,MAYBE", model=str(tiny_textcat))

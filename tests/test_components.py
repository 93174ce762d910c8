"""What a recipe may return: typed components, checked with one-line errors, and the one table of views."""

from __future__ import annotations

from pathlib import Path

import pytest

import tuiannot
from tuiannot.components import RECIPE_VIEWS, VIEWS, Components, stored_view, stored_views, views
from tuiannot.controller import Controller
from tuiannot.errors import UserError
from tuiannot.storage import UnknownDataset
from tuiannot.tasks import set_hashes


def minimal(**extra: object) -> dict[str, object]:
    return {"dataset": "d", "stream": [{"text": "a"}], "view_id": "classification", **extra}


def test_an_unknown_component_is_named() -> None:
    with pytest.raises(UserError, match=r"^mine: unknown components lables \(known: .*labels"):
        Components.from_value(minimal(lables=["X"]), "mine")


@pytest.mark.parametrize(("key", "component"), [("prefetch", "prefetch"), ("exclude_by", "exclude_by"),
                                                ("stored_view_id", "stored_view"), ("review_view", "review_view"),
                                                ("finished_note", "finished_note"), ("learner", "status")])
def test_a_config_key_that_became_a_component_is_named_with_its_replacement(key: str, component: str) -> None:
    with pytest.raises(UserError, match=rf"config\['{key}'\] is a component now: return '{component}'"):
        Components.from_value(minimal(config={key: 1}), "mine")


@pytest.mark.parametrize(("extra", "message"), [
    ({"view_id": "nope"}, "unknown view_id 'nope'"),
    ({"view_id": "ner"}, "unknown view_id 'ner'"),  # a stored view id, not a view a screen shows
    ({"dataset": ""}, "dataset name must be a non-empty string"),
    ({"exclude_by": "text"}, "exclude_by must be 'task' or 'input'"),
    ({"prefetch": 0}, "prefetch must be a whole number"),
    ({"review_view": "image_manual"}, "review_view 'image_manual' cannot be reviewed"),
    ({"config": ["x"]}, "config must be a dict"),
])
def test_components_the_controller_could_not_act_on_are_one_line_errors(extra: dict[str, object],
                                                                         message: str) -> None:
    with pytest.raises(UserError, match=message):
        Components.from_value(minimal(**extra), "mine")


def test_the_stored_view_is_decided_once() -> None:
    assert Components.from_value(minimal()).stored_view_id() == "classification"
    assert Components.from_value(minimal(view_id="image_choice")).stored_view_id() == "choice"
    assert Components.from_value(minimal(view_id="image_manual")).stored_view_id() == "image_manual"
    assert Components.from_value(minimal(view_id="ner_manual", stored_view="ner")).stored_view_id() == "ner"
    assert Components.from_value(minimal(view_id="review", review_view="spans_manual")).stored_view_id() == \
        "spans_manual"


def test_the_view_table() -> None:
    assert set(RECIPE_VIEWS) == {"classification", "choice", "ner_manual", "spans_manual", "review",
                                 "image_classification", "image_choice", "image_manual", "feedback", "relations",
                                 "compare", "rank"}
    assert stored_views(kind="feedback") == {"feedback"}
    assert stored_views(kind="compare") == {"compare"} and stored_views(kind="rank") == {"rank"}
    assert stored_views(kind="textcat") == {"classification", "choice"}
    assert stored_views(kind="spans") == {"ner_manual", "spans_manual", "relations"}  # relation answers hold spans
    assert stored_views(relations=True) == {"relations"} and stored_views(kind="spans", overlapping=False,
                                                                          relations=False) == {"ner_manual"}
    assert stored_views(kind="spans", overlapping=True) == {"spans_manual"}
    assert stored_views(kind="binary_spans") == {"ner", "spans"}
    assert views(reviewable=True) == {"classification", "choice", "ner_manual", "spans_manual", "relations"}
    assert stored_view("image_classification") == "classification" and stored_view("review") is None
    assert all(v.stored is None or v.stored in VIEWS for v in VIEWS.values())  # every stored id is a view too


def test_prefetch_exclude_by_status_and_the_note_reach_the_controller(tmp_path: Path) -> None:
    asked = []
    components = Components.from_value(minimal(
        stream=[set_hashes({"text": t}) for t in ("a", "b", "c")], prefetch=1, exclude_by="input",
        status=lambda: "model: v3", finished_note=lambda: asked.append(1) or "no more texts"))
    with tuiannot.connect(tmp_path / "t.db") as db:
        controller = Controller(components, db, "alice").start()
        assert controller._queue.maxsize == 1 and controller.by == "input"  # noqa: SLF001
        assert controller.model_status == "model: v3"
        while controller.next_task() is not None:
            controller.answer("accept")
        summary = controller.close()
    assert summary.note == "no more texts" and asked == [1]
    assert summary.answers == 3


def test_an_unknown_dataset_names_the_database(tmp_path: Path) -> None:
    """The storage says which database it looked in, so no caller checks first."""
    with tuiannot.connect(tmp_path / "t.db") as db:
        with pytest.raises(UnknownDataset, match=rf"^no dataset named 'nope' in {tmp_path / 't.db'}$"):
            list(db.answers("nope"))
        with pytest.raises(UnknownDataset, match="in "):
            db.dataset_counts("nope")

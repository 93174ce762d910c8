"""Screenshots of each kind of screen at a fixed terminal size, compared with the SVGs in __snapshots__/.

The real app, built from a recipe as the other tests build it, on fixed data and a fixed session: nothing on
screen depends on the clock, the machine or the temporary folder. A change to what a screen shows fails here
until the new picture is looked at and accepted with ``python -m pytest tests/test_snapshots.py
--snapshot-update`` (the failure report, snapshot_report.html, shows both side by side).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from PIL import Image

from .helpers import image_drawn, recipe_app, seed, stored, wait_done, wait_for_task, write_jsonl

SIZE = (100, 30)
REVIEWS = [{"text": "A quiet, patient film about a lighthouse keeper and the sea.", "meta": {"id": 1}},
           {"text": "Two hours of noise; the plot never arrives.", "meta": {"id": 2}}]


@pytest.fixture(autouse=True)
def _same_terminal_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """The colours images are drawn in (half-cells read $COLORTERM) and no NO_COLOR, whoever runs the tests."""
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def snap(snap_compare: Callable[..., bool]) -> Callable[..., bool]:
    """``snap(app, run_before, size)``: the app's screenshot matches the stored one; the controller is closed after."""
    def compare(app: Any, run_before: Callable[[Any], Any], terminal_size: tuple[int, int] = SIZE) -> bool:
        app.animation_level = "none"  # nothing in motion when the picture is taken
        try:
            return snap_compare(app, terminal_size=terminal_size, run_before=run_before)
        finally:
            app.controller.close()

    return compare


def test_yes_no_question(snap: Callable[..., bool], tmp_path: Path, db_path: Path) -> None:
    """The binary view: the text, its meta, the one label asked about, progress and keys."""
    source = write_jsonl(tmp_path / "reviews.jsonl", REVIEWS)
    app = recipe_app("textcat", db_path, str(source), label="POSITIVE")

    async def first_task(pilot: Any) -> None:
        await wait_for_task(pilot, text=REVIEWS[0]["text"])

    assert snap(app, first_task)


def test_choice_with_a_label_selected(snap: Callable[..., bool], tmp_path: Path, db_path: Path) -> None:
    """The choice view: numbered labels, the second toggled on, after one answer (progress counts it)."""
    source = write_jsonl(tmp_path / "reviews.jsonl", REVIEWS)
    app = recipe_app("textcat", db_path, str(source), label="POS,NEG,MIXED")

    async def second_task_one_label_on(pilot: Any) -> None:
        await wait_for_task(pilot, text=REVIEWS[0]["text"])
        await pilot.press("1", "a")
        screen = await wait_for_task(pilot, text=REVIEWS[1]["text"])
        await pilot.press("2")
        assert screen.selected == ["NEG"]

    assert snap(app, second_task_one_label_on)


def test_choice_in_a_40_by_15_terminal(snap: Callable[..., bool], tmp_path: Path, db_path: Path) -> None:
    """A small terminal: the text first (six lines, and how many more), the labels wrapped between items, the
    title down to the names, the keys on two lines; no hint line, no blank margins."""
    text = ("The trainers are knowledgeable and never pushy. My deadlift form has improved massively in two "
            "months, the showers are clean, and the early classes start on time even in winter. The staff "
            "remember your name and nobody hogs the squat rack.")
    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": text, "meta": {"source": "gym", "id": "r0001"}}])
    app = recipe_app("textcat", db_path, str(source), label="POS,NEG,NEUTRAL,MIXED")

    async def first_task(pilot: Any) -> None:
        screen = await wait_for_task(pilot, text=text)
        await pilot.pause()
        more = screen.query_one("#task").border_subtitle
        assert more is not None and more.endswith("more lines ↓"), more

    assert snap(app, first_task, terminal_size=(40, 15))


SPANS_TEXT = "Bank of New York Mellon hired Ann Lee near New York City Hall."


def test_nested_and_overlapping_spans(snap: Callable[..., bool], tmp_path: Path, db_path: Path) -> None:
    """The spans view: a span inside another (New York in the bank's name) and two that cross (New York City,
    City Hall), each with its label beside it."""
    spans = [(0, 23, "ORG"), (8, 16, "LOC"), (30, 37, "PERSON"), (43, 56, "LOC"), (52, 61, "FAC")]
    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": SPANS_TEXT, "spans": [
        {"start": s, "end": e, "label": label} for s, e, label in spans]}])
    app = recipe_app("spans", db_path, str(source), label="PERSON,ORG,LOC,FAC")

    async def spans_shown(pilot: Any) -> None:
        screen = await wait_for_task(pilot, text=SPANS_TEXT)
        assert [(s["start"], s["end"], s["label"]) for s in screen.spans] == sorted(spans)

    assert snap(app, spans_shown)


def test_a_box_on_an_image(snap: Callable[..., bool], tmp_path: Path, db_path: Path) -> None:
    """The image box view in half-cell graphics: the picture, a new box over it, the labels and keys."""
    folder = tmp_path / "shots"
    folder.mkdir()
    image = Image.new("RGB", (160, 90), (40, 90, 160))
    image.paste((240, 200, 60), (20, 15, 70, 60))
    image.paste((250, 250, 250), (100, 40, 140, 80))
    image.save(folder / "scene.png")
    app = recipe_app("image", db_path, str(folder), label="SUN,CLOUD", boxes=True, graphics="halfcell")

    async def box_drawn(pilot: Any) -> None:
        screen = await wait_for_task(pilot, predicate=image_drawn)
        await pilot.press("n")
        assert [b.label for b in screen.boxes] == ["SUN"]

    assert snap(app, box_drawn)


def test_review_of_disagreeing_annotators(snap: Callable[..., bool], db_path: Path) -> None:
    """The review view: the versions side by side with who gave them, the majority preselected."""
    options = [{"id": "POS", "text": "POS"}, {"id": "NEG", "text": "NEG"}]

    def vote(who: str, accept: list[str]) -> dict[str, Any]:
        return {"text": "Good acting, thin story.", "options": options, "accept": accept, "answer": "accept",
                "_view_id": "choice", "_session_id": f"votes-{who}", "_annotator_id": f"votes-{who}",
                "_timestamp": 1_700_000_000}

    seed(db_path, "votes", [vote("alice", ["POS"]), vote("bob", ["POS"]), vote("carol", ["NEG"])])
    app = recipe_app("review", db_path, "votes", output="final", db=str(db_path), session="lead")

    async def versions_shown(pilot: Any) -> None:
        screen = await wait_for_task(pilot, text="Good acting, thin story.")
        assert screen.chosen == 0

    assert snap(app, versions_shown)


def test_the_summary_when_done(snap: Callable[..., bool], tmp_path: Path, db_path: Path) -> None:
    """The done screen in a small (80x24) terminal: what this session answered, and the way out."""
    source = write_jsonl(tmp_path / "reviews.jsonl", REVIEWS)
    app = recipe_app("textcat", db_path, str(source), label="POSITIVE")

    async def all_answered(pilot: Any) -> None:
        await wait_for_task(pilot, text=REVIEWS[0]["text"])
        await pilot.press("a")
        await wait_for_task(pilot, text=REVIEWS[1]["text"])
        await pilot.press("x")
        await wait_done(pilot)

    assert snap(app, all_answered, terminal_size=(80, 24))
    assert [r["answer"] for r in stored(db_path, "reviews")] == ["accept", "reject"]


def test_feedback_questions_on_a_reply(snap: Callable[..., bool], tmp_path: Path, db_path: Path) -> None:
    """The feedback view: the prompt and the reply above, a rating given, a label chosen and the text question
    focused (▶ and the bar), prefilled from the reply."""
    source = write_jsonl(tmp_path / "pairs.jsonl", [{"prompt": "What is the capital of Australia?",
                                                     "response": "Sydney, its largest city.",
                                                     "meta": {"id": "fb002"}}])
    questions = tmp_path / "questions.toml"
    questions.write_text('[[question]]\nname = "quality"\ntype = "rating"\nscale = 5\nrequired = true\n'
                         '[[question]]\nname = "problems"\ntype = "label"\nlabels = ["wrong facts", "rude"]\n'
                         'multiple = true\n'
                         '[[question]]\nname = "fix"\ntitle = "The reply it should have given"\ntype = "text"\n'
                         'field = "response"\n', encoding="utf-8")
    app = recipe_app("feedback", db_path, str(source), questions=str(questions))

    async def answered_in_part(pilot: Any) -> None:
        screen = await wait_for_task(pilot)
        await pilot.press("2", "tab", "1", "tab")
        assert [w.value() for w in screen.questions] == [2, ["wrong facts"], "Sydney, its largest city."]

    assert snap(app, answered_in_part)

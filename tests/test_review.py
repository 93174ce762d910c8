"""The review screen: versions side by side, majority preselected, pick, edit, provenance."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuiannot.errors import UserError
from tuiannot.recipes import get_recipe
from tuiannot.screens.choice import ChoiceScreen
from tuiannot.screens.review import ReviewScreen
from tuiannot.screens.spans import SpanScreen
from tuiannot.screens.widgets.span_text import SpanText

from .helpers import recipe_app, seed, stored, tokens, wait_done, wait_for_task

OPTIONS = [{"id": "POS", "text": "POS"}, {"id": "NEG", "text": "NEG"}]


def choice(text: str, who: str, accept: list[str], answer: str = "accept") -> dict:
    return {"text": text, "options": OPTIONS, "accept": accept, "answer": answer, "_view_id": "choice",
            "_session_id": f"votes-{who}", "_annotator_id": f"votes-{who}"}


def seed_choices(db_path: Path) -> None:
    seed(db_path, "votes", [
        choice("good film", "alice", ["POS"]), choice("good film", "bob", ["POS"]),
        choice("good film", "carol", ["NEG"]),
        choice("all agree", "alice", ["NEG"]), choice("all agree", "bob", ["NEG"]),
        choice("meh film", "alice", ["POS"]), choice("meh film", "bob", ["NEG"]),
        choice("meh film", "carol", [], "reject"),
    ])


def review_app(db_path: Path, datasets: str = "votes", **args):
    return recipe_app("review", db_path, datasets, output="final", db=str(db_path), session="lead", **args)


async def test_majority_preselected_pick_another_and_provenance(db_path: Path) -> None:
    seed_choices(db_path)
    app = review_app(db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text="good film")
        assert [v["sessions"] for v in screen.versions] == [["votes-alice", "votes-bob"], ["votes-carol"]]
        assert screen.chosen == 0
        panel = str(screen.query_one("#question").render())
        assert "2× [votes-alice, votes-bob] ACCEPT: POS" in panel and "1× [votes-carol] ACCEPT: NEG" in panel
        await pilot.press("a")  # keep the majority
        await wait_for_task(pilot, text="all agree")
        await pilot.press("a")
        screen = await wait_for_task(pilot, text="meh film")
        await pilot.press("2", "a")  # pick bob's NEG
        await wait_done(pilot)
    rows = {r["text"]: r for r in stored(db_path, "final")}
    assert rows["good film"]["accept"] == ["POS"] and rows["good film"]["answer"] == "accept"
    assert rows["good film"]["_review"]["chosen"] == 0 and rows["good film"]["_review"]["reviewer"] == "lead"
    assert rows["good film"]["_review"]["annotators"] == ["votes-alice", "votes-bob", "votes-carol"]
    assert rows["good film"]["_view_id"] == "choice" and rows["good film"]["_session_id"] == "final-lead"
    assert rows["meh film"]["accept"] == ["NEG"] and rows["meh film"]["_review"]["chosen"] == 1
    assert len(rows) == 3


async def test_edit_a_version_in_the_normal_view(db_path: Path) -> None:
    seed_choices(db_path)
    app = review_app(db_path, only_conflicts=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_task(pilot, text="good film")
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await wait_for_task(pilot, app.screen)
        assert app.screen.selected == ["POS"]  # the picked version, ready to edit
        await pilot.press("2", "a")  # POS and NEG
        screen = await wait_for_task(pilot, text="meh film")  # "all agree" is skipped with --only-conflicts
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("e", "backspace")  # leaving the editor changes nothing
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen) and screen.current_task["text"] == "meh film"
    rows = {r["text"]: r for r in stored(db_path, "final")}
    assert rows["good film"]["accept"] == ["POS", "NEG"] and rows["good film"]["_review"]["chosen"] == "edited"
    assert "all agree" not in rows


def span_answer(text: str, who: str, spans: list[tuple[int, int, str]]) -> dict:
    return {"text": text, "tokens": tokens(text), "answer": "accept", "_view_id": "ner_manual",
            "_session_id": f"ents-{who}", "spans": [{"start": s, "end": e, "label": label} for s, e, label in spans]}


async def test_span_versions_mark_the_differences(db_path: Path) -> None:
    text = "Acme Corp hired Ann Lee."
    seed(db_path, "ents", [span_answer(text, "alice", [(0, 9, "ORG"), (16, 23, "PERSON")]),
                           span_answer(text, "bob", [(0, 4, "ORG"), (16, 23, "PERSON")])])
    app = review_app(db_path, datasets="ents")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text=text)
        panel = str(screen.query_one("#question").render())
        assert "≠Acme Corp▕ORG" in panel and "≠Acme▕ORG" in panel and "Ann Lee▕PERSON" in panel
        assert "≠Ann Lee" not in panel  # both versions have it
        widget = screen.query_one("#text", SpanText)
        assert "Acme Corp▕ORG" in widget.visible_text()
        await pilot.press("2")
        assert "Acme▕ORG Corp" in widget.visible_text()
        await pilot.press("e")
        await wait_for_task(pilot, SpanScreen)
        assert app.screen.labels == ["ORG", "PERSON"]
        await pilot.press("home", "d", "shift+right", "1", "a")  # fix it: Acme Corp is the ORG
        await wait_done(pilot)
    row = stored(db_path, "final")[0]
    assert [(text[s["start"]:s["end"]], s["label"]) for s in row["spans"]] == [
        ("Acme Corp", "ORG"), ("Ann Lee", "PERSON")]
    assert row["_view_id"] == "ner_manual" and row["_review"]["chosen"] == "edited"


def test_review_errors(db_path: Path) -> None:
    seed_choices(db_path)
    with pytest.raises(UserError, match="no dataset named 'nope'"):
        get_recipe("review")("nope", output="final", db=str(db_path))
    with pytest.raises(UserError, match="must be a new dataset"):
        get_recipe("review")("votes", output="votes", db=str(db_path))
    seed(db_path, "calm", [choice("x", "alice", ["POS"]), choice("x", "bob", ["POS"])])
    with pytest.raises(UserError, match="no conflicts"):
        get_recipe("review")("calm", output="final", db=str(db_path), only_conflicts=True)

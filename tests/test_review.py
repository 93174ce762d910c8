"""The review screen: versions side by side, majority preselected, pick, edit, provenance."""

from __future__ import annotations

from pathlib import Path

import pytest

import tuiannot
from tuiannot.controller import Controller
from tuiannot.errors import UserError
from tuiannot.recipes import Components, get_recipe
from tuiannot.screens.choice import ChoiceScreen
from tuiannot.screens.done import DoneScreen
from tuiannot.screens.review import ReviewScreen
from tuiannot.screens.spans import SpanScreen
from tuiannot.screens.widgets.span_text import SpanText
from tuiannot.nlp.spans import doc_tokens

OPTIONS = [{"id": "POS", "text": "POS"}, {"id": "NEG", "text": "NEG"}]


def choice(text: str, who: str, accept: list[str], answer: str = "accept") -> dict:
    return {"text": text, "options": OPTIONS, "accept": accept, "answer": answer, "_view_id": "choice",
            "_session_id": f"votes-{who}", "_annotator_id": f"votes-{who}"}


def seed_choices(db_path: Path) -> None:
    with tuiannot.connect(db_path) as db:
        db.add_answers("votes", [
            choice("good film", "alice", ["POS"]), choice("good film", "bob", ["POS"]),
            choice("good film", "carol", ["NEG"]),
            choice("all agree", "alice", ["NEG"]), choice("all agree", "bob", ["NEG"]),
            choice("meh film", "alice", ["POS"]), choice("meh film", "bob", ["NEG"]),
            choice("meh film", "carol", [], "reject"),
        ])


def review_app(db_path: Path, datasets: str = "votes", **args):
    from tuiannot.screens.app import AnnotationApp

    components = Components.from_value(get_recipe("review")(datasets, output="final", db=str(db_path), **args))
    return AnnotationApp(Controller(components, tuiannot.connect(db_path), "lead").start())


async def shown(pilot, text: str) -> ReviewScreen:
    for _ in range(300):
        await pilot.pause()
        screen = pilot.app.annotation_screen
        if not screen.waiting and screen.current_task is not None and screen.current_task["text"] == text:
            return screen
    raise AssertionError(f"{text!r} not shown")


async def test_majority_preselected_pick_another_and_provenance(db_path: Path) -> None:
    seed_choices(db_path)
    app = review_app(db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await shown(pilot, "good film")
        assert [v["sessions"] for v in screen.versions] == [["votes-alice", "votes-bob"], ["votes-carol"]]
        assert screen.chosen == 0
        panel = str(screen.query_one("#question").render())
        assert "2× [votes-alice, votes-bob] ACCEPT: POS" in panel and "1× [votes-carol] ACCEPT: NEG" in panel
        await pilot.press("a")  # keep the majority
        await shown(pilot, "all agree")
        await pilot.press("a")
        screen = await shown(pilot, "meh film")
        await pilot.press("2", "a")  # pick bob's NEG
        for _ in range(100):
            await pilot.pause()
            if isinstance(app.screen, DoneScreen):
                break
    rows = {r["text"]: r for r in tuiannot.connect(db_path).answers("final")}
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
        await shown(pilot, "good film")
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        for _ in range(50):
            await pilot.pause()
            if app.screen.current_task is not None:
                break
        assert app.screen.selected == ["POS"]  # the picked version, ready to edit
        await pilot.press("2", "a")  # POS and NEG
        screen = await shown(pilot, "meh film")  # "all agree" is skipped with --only-conflicts
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("e", "backspace")  # leaving the editor changes nothing
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen) and screen.current_task["text"] == "meh film"
    rows = {r["text"]: r for r in tuiannot.connect(db_path).answers("final")}
    assert rows["good film"]["accept"] == ["POS", "NEG"] and rows["good film"]["_review"]["chosen"] == "edited"
    assert "all agree" not in rows


def span_answer(text: str, who: str, spans: list[tuple[int, int, str]]) -> dict:
    import spacy

    tokens = doc_tokens(spacy.blank("en").make_doc(text))
    return {"text": text, "tokens": tokens, "answer": "accept", "_view_id": "ner_manual",
            "_session_id": f"ents-{who}", "spans": [{"start": s, "end": e, "label": l} for s, e, l in spans]}


async def test_span_versions_mark_the_differences(db_path: Path) -> None:
    text = "Acme Corp hired Ann Lee."
    with tuiannot.connect(db_path) as db:
        db.add_answers("ents", [span_answer(text, "alice", [(0, 9, "ORG"), (16, 23, "PERSON")]),
                                span_answer(text, "bob", [(0, 4, "ORG"), (16, 23, "PERSON")])])
    app = review_app(db_path, datasets="ents")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await shown(pilot, text)
        panel = str(screen.query_one("#question").render())
        assert "≠Acme Corp▕ORG" in panel and "≠Acme▕ORG" in panel and "Ann Lee▕PERSON" in panel
        assert "≠Ann Lee" not in panel  # both versions have it
        widget = screen.query_one("#text", SpanText)
        assert "Acme Corp▕ORG" in widget.visible_text()
        await pilot.press("2")
        assert "Acme▕ORG Corp" in widget.visible_text()
        await pilot.press("e")
        for _ in range(50):
            await pilot.pause()
            if isinstance(app.screen, SpanScreen) and app.screen.current_task is not None:
                break
        assert app.screen.labels == ["ORG", "PERSON"]
        await pilot.press("home", "d", "shift+right", "1", "a")  # fix it: Acme Corp is the ORG
        for _ in range(100):
            await pilot.pause()
            if isinstance(app.screen, DoneScreen):
                break
    row = next(tuiannot.connect(db_path).answers("final"))
    assert [(text[s["start"]:s["end"]], s["label"]) for s in row["spans"]] == [
        ("Acme Corp", "ORG"), ("Ann Lee", "PERSON")]
    assert row["_view_id"] == "ner_manual" and row["_review"]["chosen"] == "edited"


def test_review_errors(db_path: Path) -> None:
    seed_choices(db_path)
    with pytest.raises(UserError, match="no dataset named 'nope'"):
        get_recipe("review")("nope", output="final", db=str(db_path))
    with pytest.raises(UserError, match="must be a new dataset"):
        get_recipe("review")("votes", output="votes", db=str(db_path))
    with tuiannot.connect(db_path) as db:
        db.add_answers("calm", [choice("x", "alice", ["POS"]), choice("x", "bob", ["POS"])])
    with pytest.raises(UserError, match="no conflicts"):
        get_recipe("review")("calm", output="final", db=str(db_path), only_conflicts=True)

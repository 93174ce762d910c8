"""``f`` flags the task on screen and ``c`` comments on it (issue 19): the real app, headless, and what the database
holds afterwards (``_flagged``, ``_comment``), on both backends; undo brings them back; every view has the keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tuiannot.screens.annotate import AnnotationScreen
from tuiannot.screens.comment import CommentScreen
from tuiannot.screens.help import HelpScreen

from .helpers import make_app, recipe_app, stored, texts, wait_for_task, wait_until, write_jsonl


def marks(screen: AnnotationScreen) -> str:
    line = screen.query_one("#marks")
    return str(line.render()) if line.display else ""


async def comment(pilot: Any, text: str, key: str = "c") -> None:
    """Open the comment box, type ``text`` and keep it with enter."""
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, CommentScreen), "the comment box")
    await pilot.press(*text, "enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, AnnotationScreen), "back to the task")


async def test_a_flag_and_a_comment_are_stored_with_the_answer_and_reset_for_the_next(tmp_path: Path,
                                                                                      database: str) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(3))
    app = make_app(source, database, labels="POS")  # type: ignore[arg-type]  # a path or a URL
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text="text number 0")
        assert marks(screen) == ""  # nothing said: no room taken
        await pilot.press("f")
        await comment(pilot, "sarcasm? [red]not markup")  # typed keys answer nothing while the box is open
        assert screen.current_task["text"] == "text number 0"
        shown = marks(screen)
        assert "flagged" in shown and "sarcasm? [red]not markup" in shown
        await pilot.press("a")
        await wait_for_task(pilot, text="text number 1")
        assert marks(screen) == "" and not screen.flagged and screen.comment is None  # the next task starts clean
        await pilot.press("f", "f")  # flagged, then not
        await pilot.press("x")
        await wait_for_task(pilot, text="text number 2")
        await comment(pilot, "   ")  # only spaces: no comment
        await pilot.press("space")
        await wait_for_task(pilot)
    rows = stored(database, "data")  # type: ignore[arg-type]
    assert [(r["text"], r.get("_flagged"), r.get("_comment")) for r in rows] == [
        ("text number 0", True, "sarcasm? [red]not markup"), ("text number 1", None, None),
        ("text number 2", None, None)]
    assert "_flagged" not in rows[1] and "_comment" not in rows[1]  # absent, not false or empty
    assert "_guidelines" not in rows[0]  # no guidelines given


async def test_undo_brings_the_flag_and_comment_back_and_escape_cancels_a_comment(tmp_path: Path,
                                                                                   db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(3))
    app = make_app(source, db_path, labels="POS,NEG")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text="text number 0")
        await pilot.press("1", "f")
        await comment(pilot, "check the second sentence")
        await pilot.press("a")
        await wait_for_task(pilot, text="text number 1")
        await pilot.press("backspace")
        await wait_for_task(pilot, text="text number 0")
        assert screen.flagged and screen.comment == "check the second sentence"
        assert "flagged" in marks(screen) and "check the second sentence" in marks(screen)
        await pilot.press("c")  # the box holds the comment; escape leaves it as it was
        await wait_until(pilot, lambda: isinstance(app.screen, CommentScreen), "the comment box")
        await pilot.press("backspace", "backspace", "escape")
        await wait_until(pilot, lambda: app.screen is screen, "back to the task")
        assert screen.comment == "check the second sentence"
        await pilot.press("f", "a")  # unflagged, answered again: the stored answer replaced
        await wait_for_task(pilot, text="text number 1")
    rows = stored(db_path, "data")
    assert len(rows) == 1
    assert rows[0]["accept"] == ["POS"] and "_flagged" not in rows[0]
    assert rows[0]["_comment"] == "check the second sentence"


@pytest.mark.parametrize("recipe", ["ner", "spans"])
async def test_the_span_views_store_the_flag_and_comment_with_the_spans(tmp_path: Path, db_path: Path,
                                                                        recipe: str) -> None:
    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": "Ada Lovelace wrote notes."}, {"text": "Second."}])
    app = recipe_app(recipe, db_path, str(source), label="PERSON,ORG", dataset="sc")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_task(pilot, text="Ada Lovelace wrote notes.")
        await pilot.press("1", "F")  # a span on the first token; F flags as f does
        await comment(pilot, "is this a person?", key="C")
        await pilot.press("a")
        await wait_for_task(pilot, text="Second.")
    row = stored(db_path, "sc")[0]
    assert [s["label"] for s in row["spans"]] == ["PERSON"]
    assert row["_flagged"] is True and row["_comment"] == "is this a person?"


async def test_the_help_lists_the_flag_comment_and_guidelines_keys(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(2))
    app = make_app(source, db_path, labels="POS")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_task(pilot)
        bar = str(app.annotation_screen.query_one("KeyBar").render())
        assert "Guidelines" not in bar  # none given: g is in the help only
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        assert isinstance(app.screen, HelpScreen)
        rows = dict(app.screen.rows)
        assert "flag this task" in rows["f,F"] and "comment" in rows["c,C"] and "guidelines" in rows["g"]


def test_every_view_can_flag_comment_and_open_the_guidelines() -> None:
    """A view that keeps f or c for itself (the image's fine steps, the feedback's and the ranking's clear) still
    flags with F and comments with C: every view has a key for each, and no key does two things."""
    from tuiannot.screens.app import SCREENS
    from tuiannot.screens.review import version_editor

    for view_id in SCREENS:
        screen = SCREENS[view_id]
        for cls in [screen, version_editor(screen)]:
            by_key = {key: [b.id for b in bindings] for key, bindings in cls._merge_bindings().key_to_bindings.items()}
            for binding_id in ("flag", "comment", "guidelines"):
                assert any(ids == [binding_id] for ids in by_key.values()), (cls.__name__, binding_id, by_key)


@pytest.mark.parametrize(("keymap", "problem"), [
    ({"flag": "d"}, "the key 'd' would do both"),  # d removes a span
    ({"comment": "m"}, "the key 'm' would do both"),  # m is the feedback view's Markdown
    ({"flag": "!", "comment": "#"}, None),
])
def test_a_keymap_moves_the_flag_and_comment_keys_and_a_clash_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keymap: dict[str, str], problem: str | None) -> None:
    import json

    from tuiannot.screens.app import keymap_problem

    path = tmp_path / "keys.json"
    path.write_text(json.dumps(keymap))
    monkeypatch.setenv("TUIANNOT_KEYMAP", str(path))
    found = keymap_problem()
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


async def test_a_moved_flag_key_flags(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"flag": "exclamation_mark"}))
    monkeypatch.setenv("TUIANNOT_KEYMAP", str(path))
    source = write_jsonl(tmp_path / "data.jsonl", texts(2))
    app = make_app(source, db_path, labels="POS")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text="text number 0")
        await pilot.press("f")  # moved away: f does nothing now
        assert not screen.flagged
        await pilot.press("exclamation_mark")
        assert screen.flagged and "! unflags" in marks(screen)
        await pilot.press("a")
        await wait_for_task(pilot, text="text number 1")
    assert stored(db_path, "data")[0]["_flagged"] is True

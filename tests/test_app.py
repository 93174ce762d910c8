"""The real app, headless: press keys with Pilot, then check what the database holds."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tuiannot.screens.annotate import AnnotationScreen
from tuiannot.screens.app import AnnotationApp
from tuiannot.screens.done import DoneScreen
from tuiannot.screens.help import HelpScreen
from tuiannot.screens.widgets.task_text import TaskText

from .helpers import make_app, seed, stored, texts, wait_done, wait_for_task, wait_until, write_jsonl


async def test_binary_accept_reject_ignore(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(4))
    app = make_app(source, db_path, labels="POS")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="text number 0")
        await pilot.press("a")
        await wait_for_task(pilot, text="text number 1")
        await pilot.press("x")
        await wait_for_task(pilot, text="text number 2")
        await pilot.press("space")
        await wait_for_task(pilot, text="text number 3")
    rows = stored(db_path, "data")
    assert [(r["text"], r["answer"], r["label"]) for r in rows] == [
        ("text number 0", "accept", "POS"), ("text number 1", "reject", "POS"), ("text number 2", "ignore", "POS")]
    first = rows[0]
    assert first["_view_id"] == "classification"
    assert first["_session_id"] == "data-alice" and first["_annotator_id"] == "data-alice"
    assert isinstance(first["_timestamp"], int) and first["_seconds"] >= 0
    assert isinstance(first["_input_hash"], int) and isinstance(first["_task_hash"], int)
    assert "accept" not in first  # a binary question stores the label, not a choice


async def test_choice_toggles_and_submits(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(3))
    app = make_app(source, db_path, labels="POS,NEG,NEUTRAL")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="text number 0")
        await pilot.press("1", "3", "a")
        await wait_for_task(pilot, text="text number 1")
        await pilot.press("2", "2", "1", "a")  # 2 on, 2 off, 1 on
        await wait_for_task(pilot, text="text number 2")
        await pilot.press("9")  # no ninth label: nothing happens
        await pilot.press("x")
        await wait_done(pilot)
    rows = stored(db_path, "data")
    assert [(r["answer"], r["accept"]) for r in rows] == [
        ("accept", ["POS", "NEUTRAL"]), ("accept", ["POS"]), ("reject", [])]
    assert rows[0]["options"] == [{"id": "POS", "text": "POS"}, {"id": "NEG", "text": "NEG"},
                                  {"id": "NEUTRAL", "text": "NEUTRAL"}]
    assert all(r["_view_id"] == "choice" for r in rows)


async def test_exclusive_one_key_per_decision(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(3))
    app = make_app(source, db_path, labels="POS,NEG", exclusive=True)
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="text number 0")
        await pilot.press("2")
        await wait_for_task(pilot, text="text number 1")
        await pilot.press("1")
        await wait_for_task(pilot, text="text number 2")
        await pilot.press("2")
        await wait_done(pilot)
    assert [(r["answer"], r["accept"]) for r in stored(db_path, "data")] == [
        ("accept", ["NEG"]), ("accept", ["POS"]), ("accept", ["NEG"])]


async def test_undo_restores_the_answer_and_replaces_it(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(5))
    app = make_app(source, db_path, labels="POS,NEG")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="text number 0")
        await pilot.press("1", "a")
        await wait_for_task(pilot, text="text number 1")
        await pilot.press("backspace")
        await wait_for_task(pilot, text="text number 0")
        screen = app.annotation_screen
        assert screen.selected == ["POS"]  # the earlier answer is restored on screen
        assert "earlier answer" in str(screen.query_one("#previous").render())
        await pilot.press("1", "2", "a")  # POS off, NEG on
        await wait_for_task(pilot, text="text number 1")
        assert app.annotation_screen.selected == []
    rows = stored(db_path, "data")
    assert [(r["text"], r["accept"]) for r in rows] == [("text number 0", ["NEG"])]


async def test_undo_several_steps_then_new_answers(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(6))
    app = make_app(source, db_path, labels="POS")
    async with app.run_test() as pilot:
        for i in range(4):
            await wait_for_task(pilot, text=f"text number {i}")
            await pilot.press("a")
        await wait_for_task(pilot, text="text number 4")
        for i in (3, 2, 1):
            await pilot.press("backspace")
            await wait_for_task(pilot, text=f"text number {i}")
        await pilot.press("x")  # 1 changes to reject
        await wait_for_task(pilot, text="text number 2")  # the tasks stepped back over come again, in order
        await pilot.press("a")
        await wait_for_task(pilot, text="text number 3")
        await pilot.press("space")  # 3 changes to ignore
        await wait_for_task(pilot, text="text number 4")  # then new tasks
        await pilot.press("a")
        await wait_for_task(pilot, text="text number 5")
        assert app.controller.session_answers == 5
    rows = stored(db_path, "data")
    assert [(r["text"], r["answer"]) for r in rows] == [
        ("text number 0", "accept"), ("text number 1", "reject"), ("text number 2", "accept"),
        ("text number 3", "ignore"), ("text number 4", "accept")]
    assert len({r["_task_hash"] for r in rows}) == len(rows)  # no duplicates


async def test_undo_with_nothing_to_undo_and_from_the_summary(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(1))
    app = make_app(source, db_path, labels="POS")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="text number 0")
        await pilot.press("backspace")  # nothing to undo: still the same task
        await wait_for_task(pilot, text="text number 0")
        await pilot.press("a")
        await wait_done(pilot)
        await pilot.press("backspace")  # back from the summary to the last answer
        await wait_for_task(pilot, text="text number 0")
        assert isinstance(app.screen, AnnotationScreen)
        await pilot.press("x")
        await wait_done(pilot)
    assert [r["answer"] for r in stored(db_path, "data")] == ["reject"]


async def test_resume_after_restart_skips_answered(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(4))
    app = make_app(source, db_path, labels="POS")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="text number 0")
        await pilot.press("a")
        await wait_for_task(pilot, text="text number 1")
        await pilot.press("x")
        await wait_for_task(pilot, text="text number 2")
        await pilot.press("q")
    app.controller.close()
    app = make_app(source, db_path, labels="POS")
    async with app.run_test() as pilot:
        await wait_for_task(pilot)
        assert app.annotation_screen.current_task["text"] == "text number 2"
        assert app.controller.dataset_answers == 2
        await pilot.press("a")
        await wait_for_task(pilot, text="text number 3")
    assert [r["text"] for r in stored(db_path, "data")] == ["text number 0", "text number 1", "text number 2"]


async def test_duplicates_in_the_source_are_skipped(tmp_path: Path, db_path: Path) -> None:
    rows = [{"text": "same"}, {"text": "other"}, {"text": "same"}, {"text": "same", "meta": {"x": 1}}]
    source = write_jsonl(tmp_path / "data.jsonl", rows)
    app = make_app(source, db_path, labels="POS")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="same")
        await pilot.press("a")
        await wait_for_task(pilot, text="other")
        await pilot.press("a")
        await wait_done(pilot)
    assert [r["text"] for r in stored(db_path, "data")] == ["same", "other"]


async def test_exclude_skips_tasks_answered_in_other_datasets(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(3))
    app = make_app(source, db_path, labels="POS", dataset="first")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="text number 0")
        await pilot.press("a")
        await wait_for_task(pilot, text="text number 1")
    app = make_app(source, db_path, labels="POS", dataset="second", exclude="first,missing")
    async with app.run_test() as pilot:
        await wait_for_task(pilot)
        assert app.annotation_screen.current_task["text"] == "text number 1"


async def test_invalid_lines_are_skipped_counted_and_shown(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", [
        {"text": "good one"}, "{not json", {"txt": "no text"}, {"text": 5}, {"text": "good two"}])
    app = make_app(source, db_path, labels="POS")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="good one")
        await pilot.press("a")
        await wait_for_task(pilot, text="good two")
        assert app.controller.invalid == 3
        warning = str(app.annotation_screen.query_one("#warning").render())
        assert "data.jsonl:4" in warning and "'text' must be a string" in warning
        assert "3 invalid skipped" in str(app.annotation_screen.query_one("#progress").render())
        await pilot.press("a")
        await wait_done(pilot)
    summary = app.controller.close()
    assert summary.invalid == 3
    assert [w.split(": ", 1)[0].rsplit(":", 1)[1] for w in summary.warnings] == ["2", "3", "4"]
    assert [r["text"] for r in stored(db_path, "data")] == ["good one", "good two"]


async def test_strict_ends_the_session_at_the_first_invalid_record(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", [{"text": "good one"}, {"text": "good two"}, "{bad", {"text": "x"}])
    app = make_app(source, db_path, labels="POS", strict=True)
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="good one")
        await pilot.press("a")
        await wait_for_task(pilot, text="good two")
        await pilot.press("x")
        await wait_until(pilot, lambda: app.return_code is not None, "the app's exit")
    assert app.return_code == 1
    assert app.failure is not None and "data.jsonl:3: invalid JSON" in app.failure
    assert [r["answer"] for r in stored(db_path, "data")] == ["accept", "reject"]


async def test_escape_sequences_and_markup_are_shown_literally(tmp_path: Path, db_path: Path) -> None:
    nasty = "\x1b[31mred\x1b[0m \x1b]0;title\x07 [bold]not bold[/bold] \x9b2J \u202eevil\x00end"
    source = write_jsonl(tmp_path / "data.jsonl", [{"text": nasty, "meta": {"[b]k[/b]": "\x1b[5m"}}])
    app = make_app(source, db_path, labels="[red]LABEL[/red]")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text=nasty)
        screen = app.annotation_screen
        widget = screen.query_one("#text", TaskText)
        shown = widget.visible_text()
        assert "\x1b" not in shown and "\x9b" not in shown and "\x07" not in shown and "\x00" not in shown
        assert "␛[31mred␛[0m" in shown and "[bold]not bold[/bold]" in shown and "␀end" in shown
        rendered = "".join(seg.text for y in range(3) for seg in widget.render_line(y))
        assert "\x1b" not in rendered and "[bold]not bold[/bold]" in rendered
        question = str(screen.query_one("#question").render())
        assert "[red]LABEL[/red]" in question
        meta = str(screen.query_one("#meta").render())
        assert "[b]k[/b]" in meta and "\x1b" not in meta
        await pilot.press("a")
        await wait_done(pilot)
    assert stored(db_path, "data")[0]["text"] == nasty  # stored exactly as given


async def test_empty_source_shows_the_summary(tmp_path: Path, db_path: Path) -> None:
    source = tmp_path / "empty.jsonl"
    source.write_text("\n\n")
    app = make_app(source, db_path, labels="POS")
    async with app.run_test() as pilot:
        await wait_done(pilot)
        box = app.screen.query_one("#done")
        assert box.region.width >= 40 and box.region.height >= 5  # drawn, not collapsed
        assert "No more tasks." in str(app.screen.query_one("#summary").render())
        await pilot.press("backspace")  # nothing to undo: stays on the summary
        await pilot.pause()
        assert isinstance(app.screen, DoneScreen)
        await pilot.press("q")
    assert app.return_code == 0
    assert stored(db_path, "empty") == []


async def test_a_one_megabyte_text_is_shown_and_scrolls(tmp_path: Path, db_path: Path) -> None:
    big = " ".join(f"word{i}" for i in range(150_000))[:1_000_000]
    source = write_jsonl(tmp_path / "data.jsonl", [{"text": big}, {"text": "small"}])
    app = make_app(source, db_path, labels="POS")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_task(pilot, text=big)
        widget = app.annotation_screen.query_one("#text", TaskText)
        assert widget.line_count > 10_000
        assert widget.visible_text().startswith("word0 word1")
        await pilot.press("pagedown")
        await pilot.pause()
        assert widget.scroll_offset.y > 0
        await pilot.press("a")
        await wait_for_task(pilot, text="small")
    assert len(stored(db_path, "data")[0]["text"]) == len(big)


async def test_help_screen_lists_every_key(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(2))
    app = make_app(source, db_path, labels="POS,NEG")
    async with app.run_test() as pilot:
        await wait_for_task(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = {key for key, _ in app.screen.rows}
        assert {"a", "x", "space", "backspace", "question_mark", "q", "1", "2"} <= keys
        assert "3" not in keys  # only the labels in use
        box = app.screen.query_one("#help")
        assert box.region.width >= 40 and box.region.height >= 10  # drawn, not collapsed
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, AnnotationScreen)
        await pilot.press("1", "a")  # keys work again after the help
        await wait_for_task(pilot, text="text number 1")
    assert len(stored(db_path, "data")) == 1


@pytest.mark.parametrize("accept_empty", [False, True])
async def test_submitting_no_label_is_refused_unless_asked_for(tmp_path: Path, db_path: Path,
                                                               accept_empty: bool) -> None:
    """a with nothing chosen stored accept: [] silently; now it says so (issue 14), unless --accept-empty."""
    from .helpers import recipe_app

    source = write_jsonl(tmp_path / "data.jsonl", texts(2))
    app = recipe_app("textcat", db_path, str(source), label="POS,NEG", accept_empty=accept_empty)
    async with app.run_test() as pilot:
        await wait_for_task(pilot)
        await pilot.press("a")
        await pilot.pause()
        if accept_empty:
            await wait_for_task(pilot, text="text number 1")
        else:
            assert app.annotation_screen.current_task["text"] == "text number 0"
            assert any("No label chosen" in n.message for n in app._notifications)  # noqa: SLF001
            await pilot.press("x")  # none fits: a real answer
            await wait_for_task(pilot, text="text number 1")
    rows = stored(db_path, "data")
    assert [(r["answer"], r["accept"]) for r in rows] == [("accept" if accept_empty else "reject", [])]


async def test_keymap_moves_keys(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keymap = tmp_path / "keymap.json"
    keymap.write_text(json.dumps({"accept": "y", "reject": "n"}))
    monkeypatch.setenv("TUIANNOT_KEYMAP", str(keymap))
    source = write_jsonl(tmp_path / "data.jsonl", texts(3))
    app = make_app(source, db_path, labels="POS")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="text number 0")
        await pilot.press("y")
        await wait_for_task(pilot, text="text number 1")
        await pilot.press("n")
        await wait_for_task(pilot, text="text number 2")
    assert [r["answer"] for r in stored(db_path, "data")] == ["accept", "reject"]
    # the hints name the keys the keymap gives: they said "a submits · x rejects" whatever it was (issue 14)
    app = make_app(source, db_path, labels="POS,NEG", dataset="choices")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="text number 0")
        await pilot.pause()
        hint = str(app.annotation_screen.query_one("#question").render())
        assert "y submits · n rejects · space skips" in hint, hint


async def test_progress_counts_session_dataset_and_source(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(4))
    app = make_app(source, db_path, labels="POS")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="text number 0")
        await pilot.press("a")
        await wait_for_task(pilot, text="text number 1")
        progress = str(app.annotation_screen.query_one("#progress").render())
        assert "1 this session" in progress and "1 in the dataset" in progress
        assert "source line 2 of 4" in progress  # where the task shown was read


async def test_source_progress_is_the_place_of_the_task_shown_not_the_reading(tmp_path: Path, db_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # issue 14: "source 10%" before any answer on a 10-line file, and 98% with 0 of 3 answered (read-ahead)
    source = write_jsonl(tmp_path / "data.jsonl", texts(10))
    app = make_app(source, db_path, labels="POS")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="text number 0")
        await pilot.pause()
        progress = str(app.annotation_screen.query_one("#progress").render())
        assert "source line 1 of 10" in progress and "%" not in progress, progress
        for i in range(3):
            await pilot.press("a")
            await wait_for_task(pilot, text=f"text number {i + 1}")
        progress = str(app.annotation_screen.query_one("#progress").render())
        assert "source line 4 of 10" in progress, progress
        await pilot.press("backspace")  # undo: the place of the task shown again
        await wait_for_task(pilot, text="text number 2")
        assert "source line 3 of 10" in str(app.annotation_screen.query_one("#progress").render())
    # a file too big to count lines in: the share of the file before the task, said so
    monkeypatch.setattr("tuiannot.sources.COUNT_LINES_LIMIT", 10)
    app = make_app(source, tmp_path / "other.db", labels="POS")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="text number 0")
        await pilot.pause()
        progress = str(app.annotation_screen.query_one("#progress").render())
        assert "source line 1 (0% of the file before it)" in progress, progress
        for i in range(5):
            await pilot.press("a")
            await wait_for_task(pilot, text=f"text number {i + 1}")
        progress = str(app.annotation_screen.query_one("#progress").render())
        assert "source line 6 (50% of the file before it)" in progress, progress


async def test_target_shows_how_far_the_dataset_is_and_says_when_it_is_reached(tmp_path: Path,
                                                                                db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(6))
    seed(db_path, "data", [{"text": "answered before", "answer": "accept"}])
    app = make_app(source, db_path, labels="POS", target=3)
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="text number 0")
        await pilot.pause()
        progress = str(app.annotation_screen.query_one("#progress").render())
        assert "target 1 of 3 (33%)" in progress, progress
        await pilot.press("a")
        await wait_for_task(pilot, text="text number 1")
        assert not any(n.title == "Target reached" for n in app._notifications)
        await pilot.press("a")
        await wait_for_task(pilot, text="text number 2")
        assert "target 3 of 3 ✓" in str(app.annotation_screen.query_one("#progress").render())
        assert [n.message for n in app._notifications if n.title == "Target reached"] == [
            "3 answers in the dataset: the target is reached. Go on, or press q to quit."]
        await pilot.press("a")  # going on is allowed
        await wait_for_task(pilot, text="text number 3")
    assert len(stored(db_path, "data")) == 4


# -- small terminals (issue 14, section 6) ---------------------------------------------------------------------
def screen_lines(app: AnnotationApp) -> list[str]:
    """What the terminal shows, a string per row."""
    return ["".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips()]


LONG = " ".join(f"w{i}" for i in range(120))


async def test_a_40_by_15_terminal_shows_the_text_first_and_cuts_nothing(tmp_path: Path, db_path: Path) -> None:
    """At 40x15 one line of the text showed, with no sign of more; the labels wrapped between a key and its
    label; the keys at the bottom and the session's name were cut off."""
    source = write_jsonl(tmp_path / "data.jsonl", [{"text": LONG, "meta": {"source": "gym", "id": 7}}])
    app = make_app(source, db_path, labels="POS,NEG,NEUTRAL,MIXED", session="carol-the-2nd")
    async with app.run_test(size=(40, 15)) as pilot:
        screen = await wait_for_task(pilot, text=LONG)
        await pilot.pause()
        text = screen.query_one("#text", TaskText)
        assert text.size.height >= 5, text.size
        await wait_until(pilot, lambda: screen.query_one("#task").border_subtitle
                         == f"{text.line_count - text.size.height} more lines ↓", "the lines below, once laid out")
        lines = screen_lines(app)
        assert all(len(line) == 40 for line in lines)
        assert "session carol-the-2nd" in lines[0]
        assert any("w0 w1 w2" in line for line in lines) and any("lines ↓" in line for line in lines)
        labels = [line for line in lines if "☐" in line]
        for key, label in enumerate(("POS", "NEG", "NEUTRAL", "MIXED"), start=1):  # each with its key
            assert sum(f"{key}  ☐ {label}" in line for line in labels) == 1, labels
        keys = " ".join(lines[-2:])
        for what in ("a Accept", "x Reject", "space Ignore", "⌫ Undo", "? Help", "q Quit"):
            assert what in keys, lines[-2:]
        await pilot.press("j", "j")
        await wait_until(pilot, lambda: screen.query_one("#task").border_title == "↑ 2 lines above", "scrolled")
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        await pilot.pause()
        assert "esc closes" in screen_lines(app)[-1]  # the help scrolls; the way out stays in sight
        await pilot.press("escape")
        await pilot.press("1", "a")
        await wait_done(pilot)
    assert stored(db_path, "data")[0]["accept"] == ["POS"]


async def test_a_short_terminal_leaves_the_hint_out_and_blank_lines_take_no_room(tmp_path: Path,
                                                                                 db_path: Path) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(2))
    app = make_app(source, db_path, labels="POS,NEG")
    async with app.run_test(size=(80, 30)) as pilot:
        screen = await wait_for_task(pilot, text="text number 0")
        await pilot.pause()
        assert "numbers toggle labels" in str(screen.query_one("#question").render())
        assert not screen.query_one("#previous").display and not screen.query_one("#warning").display
        assert screen.query_one("#task").border_subtitle is None  # all of the text is shown
        tall = screen.query_one("#text").size.height
        await pilot.resize_terminal(80, 16)
        await wait_until(pilot, lambda: "numbers toggle" not in str(screen.query_one("#question").render()),
                         "the hint left out")
        assert screen.has_class("-short") and 5 <= screen.query_one("#text").size.height < tall
        await pilot.resize_terminal(80, 30)
        await wait_until(pilot, lambda: "numbers toggle" in str(screen.query_one("#question").render()),
                         "the hint back")


async def test_the_title_drops_words_before_the_session_name(tmp_path: Path, db_path: Path) -> None:
    source = write_jsonl(tmp_path / "a-rather-long-dataset-name.jsonl", texts(1))
    app = make_app(source, db_path, session="bartholomew")
    async with app.run_test(size=(100, 20)) as pilot:
        await wait_for_task(pilot, text="text number 0")
        assert "tuiannot   dataset a-rather-long-dataset-name  ·  session bartholomew" in screen_lines(app)[0]
        for width in (60, 40, 30):
            await pilot.resize_terminal(width, 20)
            await wait_until(pilot, lambda w=width: len(screen_lines(app)[0]) == w, "resized")
            await pilot.pause()
            assert "session bartholomew" in screen_lines(app)[0], (width, screen_lines(app)[0])


async def test_a_click_on_a_key_at_the_bottom_presses_it(tmp_path: Path, db_path: Path) -> None:
    from tuiannot.screens.annotate import KeyBar

    source = write_jsonl(tmp_path / "data.jsonl", texts(2))
    app = make_app(source, db_path, labels="POS")
    async with app.run_test(size=(40, 15)) as pilot:
        await wait_for_task(pilot, text="text number 0")
        await pilot.pause()
        bar = app.screen.query_one(KeyBar)
        assert bar.size.height == 2  # six keys do not fit on one line of 40
        line, start, _, _ = next(k for k in bar._keys if k[3] == "x")
        await pilot.click(KeyBar, offset=(start + 1, line))
        await wait_for_task(pilot, text="text number 1")
    assert [r["answer"] for r in stored(db_path, "data")] == ["reject"]


def test_a_session_imports_only_its_own_screen(tmp_path: Path) -> None:
    """SCREENS imports a view's screen on first use: a textcat start pays nothing for the feedback screen's Markdown
    or the image view (issue 15, start time)."""
    import subprocess
    import sys

    code = ("import sys; from tuiannot.screens.app import SCREENS, keymap_problem; "
            "assert keymap_problem(['classification']) is None; SCREENS['classification']; "
            "print(' '.join(sorted(m for m in sys.modules\n"
            "                      if m.startswith('tuiannot.screens.') and 'widgets' not in m)))")
    env = {**os.environ, "TUIANNOT_KEYMAP": str(tmp_path / "none.json")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.split() == ["tuiannot.screens.annotate", "tuiannot.screens.app", "tuiannot.screens.binary",
                           "tuiannot.screens.done"]


async def test_the_light_theme(tmp_path: Path, db_path: Path) -> None:
    """--theme light (or a configuration's theme) gives Textual's light theme: the task's border, $primary, is
    another colour than under the dark default."""
    from tuiannot.recipes.options import THEMES
    from tuiannot.screens.app import AnnotationApp

    source = write_jsonl(tmp_path / "t.jsonl", [{"text": "one"}])
    borders = {}
    for theme in ("dark", "light"):
        app = make_app(source, tmp_path / f"{theme}.db")
        app = AnnotationApp(app.controller, theme=theme)
        async with app.run_test() as pilot:
            await wait_for_task(pilot, text="one")
            assert app.theme == THEMES[theme]
            borders[theme] = app.screen.query_one("#task").styles.border_top[1]
        app.controller.close()
    assert borders["dark"] != borders["light"]

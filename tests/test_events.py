"""Custom events (issue 19): keys a recipe binds to its own functions, in the real app driven with Pilot.

The example recipe ``sample_data/recipes/lookup.py`` (``e`` looks the marked spans up in a knowledge base) is
loaded as ``-F`` loads it; the other events are recipes' components built here, run by the real controller and
app, and checked in what the database holds."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

import pytest

import tuiannot
from tuiannot.components import Components
from tuiannot.controller import Controller
from tuiannot.errors import UserError
from tuiannot.recipes import load_recipe_file
from tuiannot.stream import Stream
from tuiannot.tasks import input_hash

from .helpers import ROOT, recipe_app, run, stored, wait_done, wait_for_task, wait_until, write_jsonl

pytestmark = pytest.mark.usefixtures("cli_env")

LOOKUP = ROOT / "sample_data" / "recipes" / "lookup.py"
ADA = "Ada Lovelace met Charles Babbage in London."
HOPPER = "Hopper joined the Navy."


def messages(app: Any) -> list[tuple[str, str, str]]:
    """The notifications shown so far: (title, message, severity)."""
    return [(str(n.title), str(n.message), n.severity) for n in app._notifications]  # noqa: SLF001


def events_app(db: Path | str, tasks: list[dict[str, Any]], events: dict[str, Any], view_id: str = "classification",
               dataset: str = "ev") -> Any:
    """The real app over a recipe's components with ``events`` (its tasks labelled POS for the yes/no view)."""
    from tuiannot.screens.app import AnnotationApp

    stream = Stream(iter([{**t, "label": "POS"} for t in tasks]))
    components = Components.from_value({"dataset": dataset, "stream": stream, "view_id": view_id,
                                        "events": events}, "events-test")
    controller = Controller(components, tuiannot.connect(db), "alice").start()
    try:
        return AnnotationApp(controller)
    except BaseException:
        controller.close()
        raise


async def test_the_lookup_key_changes_the_task_on_screen_and_the_answer_stores_it(
        tmp_path: Path, database: Any) -> None:
    assert load_recipe_file(LOOKUP) == ["ner-lookup"]
    source = write_jsonl(tmp_path / "people.jsonl", [
        {"text": ADA, "spans": [{"start": 0, "end": 12, "label": "PERSON"}]}, {"text": HOPPER}, {"text": "Nobody."}])
    app = recipe_app("ner-lookup", database, str(source), label="PERSON,ORG,LOC")
    async with app.run_test(size=(110, 30)) as pilot:
        screen = await wait_for_task(pilot, text=ADA)
        await pilot.press("e")
        ada_kb = "Ada Lovelace: Ada Lovelace (1815-1852), mathematician; wrote the first published program"
        await wait_until(pilot, lambda: (screen.current_task.get("meta") or {}).get("kb") == ada_kb, "the look-up")
        assert ada_kb[:40] in str(screen.query_one("#meta").render())  # shown under the text
        await pilot.press("a")
        await wait_for_task(pilot, text=HOPPER)
        await pilot.press("1", "e")  # marks "Hopper" (the token under the cursor) PERSON, then looks it up
        hopper_kb = "Hopper: Grace Hopper (1906-1992), computer scientist; COBOL"
        await wait_until(pilot, lambda: (screen.current_task.get("meta") or {}).get("kb") == hopper_kb,
                         "the look-up of a span just marked")
        assert screen.spans and screen.spans[0]["label"] == "PERSON"  # the edit went through the event and back
        await pilot.press("a")
        await wait_for_task(pilot, text="Nobody.")
        await pilot.press("e")  # no span: the function raises; the notification names the event
        await wait_until(pilot, lambda: any(t == "Look it up" for t, _, _ in messages(app)), "the error")
        assert ("Look it up", "ValueError: no span marked: mark a name first (a number key), then press e",
                "error") in messages(app)
        await pilot.press("x")  # the session goes on: the next answer is stored
        await wait_done(pilot)
    rows = stored(database, "ner_lookup")
    assert [(r["text"], r["answer"], (r.get("meta") or {}).get("kb")) for r in rows] == [
        (ADA, "accept", ada_kb), (HOPPER, "accept", hopper_kb), ("Nobody.", "reject", None)]
    assert [(s["start"], s["end"], s["label"]) for s in rows[1]["spans"]] == [(0, 6, "PERSON")]
    assert all(r["_view_id"] == "ner_manual" for r in rows)
    assert rows[0]["_input_hash"] == input_hash({"text": ADA})  # the same question, its hashes kept


async def test_the_events_are_in_the_key_bar_and_the_help(tmp_path: Path, db_path: Path) -> None:
    from tuiannot.screens.annotate import KeyBar
    from tuiannot.screens.help import HelpScreen

    app = events_app(db_path, [{"text": "one"}], {"e": ("Look it up", lambda t: t),
                                                   "ctrl+e": ("Ask [b]again[/b]", lambda t: t)})
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await wait_for_task(pilot, text="one")
        shown = [(key, what) for key, _, what in screen.query_one(KeyBar).keys()]
        assert ("e", "Look it up") in shown and ("ctrl+e", "Ask [b]again[/b]") in shown  # literal, not markup
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        rows = dict(app.screen.rows)
        assert rows["e"] == "Look it up (the recipe's own key)"
        assert rows["ctrl+e"] == "Ask [b]again[/b] (the recipe's own key)"
        assert rows["a"].startswith("accept")  # the view's own keys are still there
        await pilot.press("escape")
    app.controller.close()


async def test_a_slow_event_blocks_no_key_and_a_late_result_is_dropped(tmp_path: Path, database: Any) -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow(task: dict[str, Any]) -> dict[str, Any]:
        calls.append(task["text"])
        started.set()
        assert release.wait(30), "never released"
        return {**task, "meta": {"asked": "again"}}

    app = events_app(database, [{"text": "one"}, {"text": "two"}, {"text": "three"}], {"s": ("Ask again", slow)})
    async with app.run_test() as pilot:
        screen = await wait_for_task(pilot, text="one")
        await pilot.press("s")
        await wait_until(pilot, started.is_set, "the slow event started")
        await pilot.press("a")  # while the function runs: the answer is stored, the next task shown
        await wait_for_task(pilot, text="two")
        assert [r["text"] for r in stored(database, "ev")] == ["one"]
        await pilot.press("s")  # one event at a time: says so, calls nothing
        await wait_until(pilot, lambda: any("still running" in m for _, m, _ in messages(app)), "still running")
        release.set()
        await wait_until(pilot, lambda: any("after you moved on" in m for _, m, _ in messages(app)), "dropped")
        assert screen.current_task["text"] == "two" and "meta" not in screen.current_task
        started.clear()
        await pilot.press("s")  # now on this task, released at once: it changes it
        await wait_until(pilot, lambda: (screen.current_task.get("meta") or {}).get("asked") == "again", "updated")
        await pilot.press("a")
        await wait_for_task(pilot, text="three")
        await pilot.press("x")
        await wait_done(pilot)
    assert calls == ["one", "two"]
    assert [(r["text"], r["answer"], r.get("meta")) for r in stored(database, "ev")] == [
        ("one", "accept", None), ("two", "accept", {"asked": "again"}), ("three", "reject", None)]


async def test_none_a_wrong_result_and_markup_in_an_error_are_said_and_the_session_goes_on(
        tmp_path: Path, db_path: Path) -> None:
    def fails(task: dict[str, Any]) -> None:
        raise RuntimeError("[bold red]no model[/] at http://localhost:1")

    events = {"f5": ("Nothing", lambda task: None), "f6": ("Wrong", lambda task: ["not", "a", "task"]),
              "f7": ("Blank", lambda task: {**task, "text": "  "}), "f8": ("Fails", fails)}
    app = events_app(db_path, [{"text": "one"}, {"text": "two"}], events)
    async with app.run_test() as pilot:
        screen = await wait_for_task(pilot, text="one")
        def said(needle: str) -> Callable[[], bool]:
            return lambda: any(needle in m for _, m, _ in messages(app))

        for key, needle in (("f5", "Nothing: nothing changed."), ("f6", "returned list, not a task"),
                            ("f7", "returned a task that cannot be shown: empty 'text'"),
                            ("f8", "RuntimeError: [bold red]no model[/] at http://localhost:1")):
            await pilot.press(key)
            await wait_until(pilot, said(needle), needle)
        assert screen.current_task["text"] == "one"
        assert ("Fails", "RuntimeError: [bold red]no model[/] at http://localhost:1", "error") in messages(app)
        await pilot.press("a")
        await wait_for_task(pilot, text="two")
    app.controller.close()
    assert [(r["text"], r["answer"]) for r in stored(db_path, "ev")] == [("one", "accept")]


@pytest.mark.parametrize(("key", "problem"), [
    ("a", "events: the key 'a' (Mine) is already 'accept' in the view 'classification'; give the event another key"),
    ("?", "events: the key '?' (Mine) is already 'help' in the view 'classification'; give the event another key"),
    ("tab", "events: the key 'tab' (Mine) is already 'app.focus_next' in the view 'classification'; give the event "
            "another key"),
    ("ctrl+q", "events: the key 'ctrl+q' (Mine) is already the app's 'quit'; give the event another key"),
    ("hyper+z", "events: the key 'hyper+z' (Mine) is not a key Textual knows: give one character (e.g. 'e', '?') or "
                "a key's name (e.g. 'f5', 'ctrl+e', 'enter')"),
])
def test_a_key_taken_or_unknown_is_refused_before_the_app_runs(db_path: Path, key: str, problem: str) -> None:
    from tuiannot.screens.app import events_problem

    with pytest.raises(UserError) as info:
        events_app(db_path, [{"text": "one"}], {key: ("Mine", lambda task: task)})
    assert str(info.value) == problem
    assert events_problem("classification", {key: ("Mine", print)}) == problem  # what the command line may ask


def test_a_key_the_keymap_moves_onto_an_event_is_refused(db_path: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    keymap = write_jsonl(tmp_path / "keys.json", ['{"accept": "e"}'])
    monkeypatch.setenv("TUIANNOT_KEYMAP", str(keymap))
    with pytest.raises(UserError, match="the key 'e' \\(Mine\\) is already 'accept' in the view"):
        events_app(db_path, [{"text": "one"}], {"e": ("Mine", lambda task: task)})
    events_app(db_path, [{"text": "one"}], {"a": ("Mine", lambda task: task)}).controller.close()  # a is free now


@pytest.mark.parametrize(("events", "problem"), [
    ([("e", "x")], "r: events must be a dict of key to (description, function), not list"),
    ({"e,f": ("Two", print)}, "r: events key 'e,f' must be one key, e.g. 'e' or 'ctrl+e'"),
    ({"": ("None", print)}, "r: events key '' must be one key, e.g. 'e' or 'ctrl+e'"),
    ({"e": print}, "r: events['e'] must be (description, function), not <built-in function print>"),
    ({"e": ("", print)}, "r: events['e']: the description must be a non-empty string"),
    ({"e": ("Look", "look_up")}, "r: events['e'] (Look): the function is not callable (str)"),
])
def test_events_of_the_wrong_shape_are_one_line_errors(events: Any, problem: str) -> None:
    with pytest.raises(UserError) as info:
        Components.from_value({"dataset": "d", "stream": [], "view_id": "classification", "events": events}, "r")
    assert str(info.value) == problem


def test_the_command_line_says_a_wrong_event_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          db_path: Path) -> None:
    recipes = tmp_path / "mine.py"
    recipes.write_text('''from tuiannot import recipe


@recipe("mine")
def mine(source: str):
    return {"dataset": "d", "stream": [{"text": "x"}], "view_id": "classification",
            "events": {"e": ("Look it up", "not a function")}}
''', encoding="utf-8")
    code, out, err = run(capsys, "-F", recipes, "mine", "x.jsonl", "--db", db_path)
    assert code == 1 and out == ""
    assert err == "error: mine: events['e'] (Look it up): the function is not callable (str)\n"


async def test_an_event_sees_the_options_chosen_so_far_and_may_choose_others(tmp_path: Path, db_path: Path) -> None:
    seen: list[Any] = []

    def other(task: dict[str, Any]) -> dict[str, Any]:
        seen.append(task["accept"])
        return {**task, "accept": ["NEG"]}

    options = [{"id": "POS", "text": "POS"}, {"id": "NEG", "text": "NEG"}]
    app = events_app(db_path, [{"text": "one", "options": options}, {"text": "two", "options": options}],
                     {"o": ("The other one", other)}, view_id="choice")
    async with app.run_test() as pilot:
        screen = await wait_for_task(pilot, text="one")
        await pilot.press("1", "o")  # POS chosen, then the event: it sees POS and chooses NEG instead
        await wait_until(pilot, lambda: screen.selected == ["NEG"], "the event's choice on screen")
        await pilot.press("a")
        await wait_for_task(pilot, text="two")
    app.controller.close()
    assert seen == [["POS"]]
    assert [(r["text"], r["accept"]) for r in stored(db_path, "ev")] == [("one", ["NEG"])]


def test_a_key_the_view_has_is_refused_on_the_command_line_before_anything_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal(""))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # a terminal, as far as the check is concerned
    recipes = tmp_path / "mine.py"
    recipes.write_text('''from tuiannot import recipe


@recipe("mine")
def mine(source: str):
    return {"dataset": "d", "stream": [{"text": "x"}], "view_id": "classification",
            "events": {"a": ("Ask again", lambda task: task)}}
''', encoding="utf-8")
    (tmp_path / "x.jsonl").write_text('{"text": "x"}\n', encoding="utf-8")
    code, out, err = run(capsys, "-F", recipes, "mine", str(tmp_path / "x.jsonl"), "--db", db_path)
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1
    assert "'a'" in err
    assert not db_path.exists() or "d" not in tuiannot.connect(db_path).datasets()  # refused before the dataset

"""``tuiannot feedback``: the questions file, every question type and key on the real app, the stored form, a
restart that resumes, and ``db-out --format sft`` read back as TRL reads chat data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.widgets import Markdown

from tuiannot.errors import UserError
from tuiannot.recipes.questions import load_questions

from .helpers import (ROOT, assert_one_line_error, recipe_app, recipe_controller, run, seed, stored, wait_done,
                      wait_for_task, wait_until, warnings, write_jsonl)

QUESTIONS = """
[[question]]
name = "quality"
type = "rating"
scale = 5
required = true

[[question]]
name = "topic"
type = "label"
labels = ["billing", "technical", "other"]

[[question]]
name = "fix"
type = "text"
field = "response"
"""

PAIRS = [{"prompt": f"question {i}", "response": f"answer {i}", "meta": {"id": i}} for i in range(4)]


def questions_file(tmp_path: Path, text: str = QUESTIONS, name: str = "questions.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def feedback_app(tmp_path: Path, db_path: Path, rows: list[dict[str, Any]] = PAIRS, questions: str = QUESTIONS,
                 **options: Any) -> Any:
    source = write_jsonl(tmp_path / "pairs.jsonl", rows)
    return recipe_app("feedback", db_path, str(source), questions=str(questions_file(tmp_path, questions)),
                      **options)


def prompt_is(prompt: str) -> Any:
    return lambda screen: screen.current_task.get("prompt") == prompt


def notes(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications]  # noqa: SLF001


# -- the questions file ---------------------------------------------------------------------------------------
def test_the_sample_questions_are_read_as_written() -> None:
    questionnaire = load_questions(ROOT / "sample_data" / "questions.toml")
    assert [(q.name, q.type) for q in questionnaire.questions] == [
        ("quality", "rating"), ("problems", "label"), ("fix", "text")]
    quality, problems, fix = questionnaire.settings()
    assert quality == {"name": "quality", "type": "rating", "required": True, "title": "How good is the response?",
                       "scale": 5}
    assert problems["multiple"] is True and len(problems["labels"]) == 5
    assert fix["field"] == "response" and "required" not in fix
    assert questionnaire.fields == ("text", "prompt", "response")


BAD = [
    ('[[question]]\nname = "q"\ntype = "stars"\n', 'question 1 ("q"): unknown type \'stars\' (types: rating, label'),
    ('[[question]]\nname = "q"\n', 'question 1 ("q"): no type'),
    ('[[question]]\ntype = "text"\n', "question 1: needs a name"),
    ('[[question]]\nname = "  "\ntype = "text"\n', "question 1: needs a name"),
    ('[[question]]\nname = "a"\ntype = "text"\n[[question]]\nname = "a"\ntype = "rating"\nscale = 3\n',
     'question 2 ("a"): the name is already question 1\'s'),
    ('[[question]]\nname = "r"\ntype = "rating"\nscale = 11\n', 'question 1 ("r"): scale must be a whole number '
                                                                 'from 2 to 10'),
    ('[[question]]\nname = "r"\ntype = "rating"\nscale = 1\n', "scale must be a whole number from 2 to 10"),
    ('[[question]]\nname = "r"\ntype = "rating"\nscale = "5"\n', "scale must be a whole number"),
    ('[[question]]\nname = "r"\ntype = "rating"\n', "not missing"),
    ('[[question]]\nname = "t"\ntype = "label"\n', 'question 1 ("t"): needs labels'),
    ('[[question]]\nname = "t"\ntype = "label"\nlabels = ["a", "a"]\n', 'the label "a" is given twice'),
    ('[[question]]\nname = "t"\ntype = "span"\nlabels = ["1","2","3","4","5","6","7","8","9","10"]\n',
     "10 labels; at most 9 fit on the number keys 1-9"),
    ('[[question]]\nname = "t"\ntype = "label"\nlabels = ["a"]\nscale = 3\n',
     "unknown key 'scale' for a label question"),
    ('[[question]]\nname = "t"\ntype = "text"\nrequired = "yes"\n', "required must be true or false"),
    ('[[question]]\nname = "best"\ntype = "ranking"\n', 'question 1 ("best"): needs field'),
    ('[[question]]\nname = "t"\ntype = "text"\nfield = 3\n', "field must be the name of a task field"),
    ('fields = []\n[[question]]\nname = "t"\ntype = "text"\n', "'fields' must be a list of task field names"),
    ("title = 'x'\n", "unknown key 'title' (known: question, fields)"),
    ("", "no questions"),
    ('[[question]\nname = "q"\n', "not valid TOML"),
]


@pytest.mark.parametrize("text,message", BAD, ids=[m for _, m in BAD])
def test_a_bad_questions_file_is_one_line_naming_the_file_and_the_question(tmp_path: Path, text: str,
                                                                           message: str) -> None:
    path = questions_file(tmp_path, text)
    with pytest.raises(UserError) as info:
        load_questions(path)
    said = str(info.value)
    assert said.startswith(f"{path}: ") and message in said and "\n" not in said, said


def test_the_command_refuses_a_bad_questions_file_before_the_screen(tmp_path: Path, db_path: Path,
                                                                    capsys: pytest.CaptureFixture[str],
                                                                    cli_env: None) -> None:
    source = write_jsonl(tmp_path / "pairs.jsonl", PAIRS)
    path = questions_file(tmp_path, '[[question]]\nname = "quality"\ntype = "rating"\nscale = 12\n')
    code, out, err = run(capsys, "feedback", source, "--questions", path, "--db", db_path)
    assert code == 1 and out == ""
    assert_one_line_error(err, f'{path}: question 1 ("quality"): scale must be a whole number from 2 to 10')
    code, _, err = run(capsys, "feedback", source, "--questions", tmp_path / "missing.toml", "--db", db_path)
    assert code == 1
    assert_one_line_error(err, "missing.toml: no such file")


def test_records_the_questions_cannot_use_are_skipped_with_their_line(tmp_path: Path, db_path: Path) -> None:
    rows = [{"prompt": "p0", "response": "r0", "replies": ["x", "y"]},
            {"meta": {"id": 1}},  # nothing to show
            {"prompt": "p2", "response": "r2", "replies": ["only one"]},
            {"prompt": "p3", "response": 3, "replies": ["x", "y"]},
            {"prompt": "p4", "replies": ["x", "y"]},  # no response to mark spans in
            {"prompt": "p5", "response": "r5", "replies": ["a", "b", "c"]}]
    source = write_jsonl(tmp_path / "pairs.jsonl", rows)
    path = questions_file(tmp_path, '[[question]]\nname = "best"\ntype = "ranking"\nfield = "replies"\n'
                                    '[[question]]\nname = "bad"\ntype = "span"\nlabels = ["X"]\nfield = "response"\n')
    controller = recipe_controller("feedback", db_path, str(source), questions=str(path))
    seen = []
    while (task := controller.next_task()) is not None:
        seen.append(task["prompt"])
        controller.answer("accept", None, {"answers": {}})
    assert seen == ["p0", "p5"]
    assert controller.close().warnings == [
        f"{source}:2: nothing to show: no 'text', 'prompt', 'response', 'replies'",
        f"{source}:3: 'replies' (ranked by \"best\") has 1 items; a ranking takes 2 to 9 (the number keys)",
        f"{source}:4: 'response' must be a string",
        f"{source}:5: no text in 'response' for the span question \"bad\""]


# -- the screen ------------------------------------------------------------------------------------------------
async def test_a_rating_a_label_and_a_text_stored_with_the_task(tmp_path: Path, db_path: Path) -> None:
    app = feedback_app(tmp_path, db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, predicate=prompt_is("question 0"))
        assert screen.focus_index == 0 and screen.questions[0].has_class("-focused")
        await pilot.press("4", "tab", "2")
        assert screen.questions[1].has_class("-focused") and not screen.questions[0].has_class("-focused")
        await pilot.press("3")  # one label only: the latest
        assert screen.questions[1].value() == ["other"]
        await pilot.press("shift+tab", "right")  # left/right move a rating
        assert screen.questions[0].value() == 5
        await pilot.press("9")
        assert "quality is rated 1 to 5" in notes(app)
        await pilot.press("tab", "tab")
        assert screen.focus_index == 2
        assert screen.questions[2].value() == "answer 0"  # prefilled from the response
        await pilot.press("a")
        await wait_for_task(pilot, predicate=prompt_is("question 1"))
    answer = stored(db_path, "pairs")[0]
    assert answer["answers"] == {"quality": 5, "topic": ["other"], "fix": "answer 0"}
    assert answer["user_input"] == "answer 0"  # one text question: Prodigy's text_input field too
    assert answer["_view_id"] == "feedback" and answer["answer"] == "accept"
    assert answer["prompt"] == "question 0" and answer["meta"] == {"id": 0}
    assert [q["name"] for q in answer["_questions"]] == ["quality", "topic", "fix"]


async def test_a_submit_with_a_required_question_unanswered_is_refused_and_focuses_it(tmp_path: Path,
                                                                                     db_path: Path) -> None:
    app = feedback_app(tmp_path, db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, predicate=prompt_is("question 0"))
        await pilot.press("tab", "tab", "a")
        await pilot.pause()
        assert screen.current_task["prompt"] == "question 0"  # still there
        assert any(n.startswith("Not answered yet: quality (required)") for n in notes(app))
        assert screen.focus_index == 0 and screen.questions[0].has_class("-focused")
        assert stored(db_path, "pairs") == []
        await pilot.press("x")  # the task is wrong: a reject needs no answers
        await wait_for_task(pilot, predicate=prompt_is("question 1"))
        await pilot.press("space")
        await wait_for_task(pilot, predicate=prompt_is("question 2"))
    rows = stored(db_path, "pairs")
    assert [r["answer"] for r in rows] == ["reject", "ignore"]
    assert rows[0]["answers"] == {"quality": None, "topic": [], "fix": "answer 0"}


async def test_the_text_area_takes_every_key_while_editing_and_keeps_the_text(tmp_path: Path,
                                                                              db_path: Path) -> None:
    app = feedback_app(tmp_path, db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, predicate=prompt_is("question 0"))
        await pilot.press("3", "tab", "tab", "enter")
        area = screen.questions[2].area
        assert screen.focused is area and screen.editing
        await pilot.press("end", "space", *"x q a 1", "ctrl+left", "ctrl+left")  # letters type, keys move
        await pilot.press("backspace", "[", "home", "N", "e", "w", "space")
        assert area.text == "New answer 0 x q[a 1"
        await pilot.press("ctrl+z")  # the text area's undo
        assert area.text != "New answer 0 x q[a 1"
        await pilot.press("ctrl+y")
        assert area.text == "New answer 0 x q[a 1"
        await pilot.press("escape")  # ends editing; the keys are the screen's again
        assert screen.focused is None and area.text == "New answer 0 x q[a 1"
        assert screen.current_task["prompt"] == "question 0" and stored(db_path, "pairs") == []
        await pilot.press("enter", "end", "enter", *"two", "escape", "a")
        await wait_for_task(pilot, predicate=prompt_is("question 1"))
        assert screen.questions[2].area.text == "answer 1"  # the next task's own text
        await pilot.press("ctrl+z")  # nothing to undo into: the history went with the old text
        assert screen.questions[2].area.text == "answer 1"
    answer = stored(db_path, "pairs")[0]
    assert answer["answers"]["fix"] == answer["user_input"] == "New answer 0 x q[a 1\ntwo"


async def test_keys_typed_ahead_of_the_editing_switch_act_in_the_order_typed(tmp_path: Path,
                                                                           db_path: Path) -> None:
    """A burst (as a slow link delivers keys): enter, end and letters, then home, a letter, escape and a; none
    waits for the app. Letters typed where the cursor is when they come, and a submits once the editing ends."""
    app = feedback_app(tmp_path, db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, predicate=prompt_is("question 0"))
        await pilot.press("2", "tab", "tab")

        def burst(*keys: str) -> None:
            for key in keys:
                app.post_message(events.Key(key, key if len(key) == 1 else None))

        burst("enter", "end", "q", "x", "a", "1", "tab", "3")
        await wait_until(pilot, lambda: screen.questions[0].value() == 3, "the rating after the burst")
        assert screen.questions[2].area.text == "answer 0qxa1" and screen.focused is None
        assert screen.current_task["prompt"] == "question 0"  # q, x and a typed; nothing answered
        await pilot.press("tab", "tab", "enter")
        burst("home", "!", "escape", "a")
        await wait_for_task(pilot, predicate=prompt_is("question 1"))
    assert stored(db_path, "pairs")[0]["answers"]["fix"] == "!answer 0qxa1"


async def test_multiple_labels_toggle_and_c_clears(tmp_path: Path, db_path: Path) -> None:
    questions = '[[question]]\nname = "tags"\ntype = "label"\nlabels = ["a", "b", "c"]\nmultiple = true\n' \
                'required = true\n'
    app = feedback_app(tmp_path, db_path, questions=questions)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, predicate=prompt_is("question 0"))
        await pilot.press("3", "1", "2", "2")
        assert screen.questions[0].value() == ["a", "c"]  # in the file's order
        await pilot.press("c", "a")
        await pilot.pause()
        assert screen.current_task["prompt"] == "question 0"  # cleared: required again
        await pilot.press("2", "a")
        await wait_for_task(pilot, predicate=prompt_is("question 1"))
    assert stored(db_path, "pairs")[0]["answers"] == {"tags": ["b"]}


async def test_a_ten_point_rating_takes_0_for_10(tmp_path: Path, db_path: Path) -> None:
    app = feedback_app(tmp_path, db_path, questions='[[question]]\nname = "r"\ntype = "rating"\nscale = 10\n')
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, predicate=prompt_is("question 0"))
        await pilot.press("0")
        assert screen.questions[0].value() == 10
        await pilot.press("left", "left", "a")
        await wait_for_task(pilot, predicate=prompt_is("question 1"))
    assert stored(db_path, "pairs")[0]["answers"] == {"r": 8}
    assert "user_input" not in stored(db_path, "pairs")[0]  # no text question


RANKED = [{"prompt": "Which reply is best?", "replies": [{"id": "r1", "text": "first reply"},
                                                         {"id": "r2", "text": "second reply"},
                                                         {"id": "r3", "text": "third reply"}]},
          {"prompt": "And here?", "replies": ["plain one", "plain two"]}]


async def test_a_ranking_is_built_in_order_of_preference(tmp_path: Path, db_path: Path) -> None:
    questions = '[[question]]\nname = "best"\ntype = "ranking"\nfield = "replies"\nrequired = true\n'
    app = feedback_app(tmp_path, db_path, rows=RANKED, questions=questions)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, predicate=prompt_is("Which reply is best?"))
        ranking = screen.questions[0]
        assert screen.query_one("#text").shown["replies"] == "1. first reply\n2. second reply\n3. third reply"
        await pilot.press("2", "a")
        await pilot.pause()
        assert ranking.value() == ["r2"] and screen.current_task["prompt"] == "Which reply is best?"
        await pilot.press("3")  # one left: it is last
        assert ranking.value() == ["r2", "r3", "r1"] and ranking.answered()
        await pilot.press("3")  # placed already: it and those after it come out
        assert ranking.value() == ["r2"]
        await pilot.press("c")
        assert ranking.value() == []
        await pilot.press("3", "1", "a")
        screen = await wait_for_task(pilot, predicate=prompt_is("And here?"))
        await pilot.press("2", "a")
        await wait_done(pilot)
    assert [r["answers"]["best"] for r in stored(db_path, "pairs")] == [["r3", "r1", "r2"], [1, 0]]


async def test_spans_over_a_field_with_the_span_keys(tmp_path: Path, db_path: Path) -> None:
    questions = ('[[question]]\nname = "errors"\ntype = "span"\nlabels = ["WRONG", "RUDE"]\nfield = "response"\n'
                 '[[question]]\nname = "ok"\ntype = "rating"\nscale = 3\n')
    rows = [{"prompt": "Capital of Australia?", "response": "It is Sydney, obviously."}]
    app = feedback_app(tmp_path, db_path, rows=rows, questions=questions)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, predicate=prompt_is("Capital of Australia?"))
        spans = screen.questions[0]
        await pilot.press("right", "right", "1")  # "Sydney"; the cursor moves on to the comma
        assert [(s["start"], s["end"], s["label"]) for s in spans.value()] == [(6, 12, "WRONG")]
        await pilot.press("right", "2")  # "obviously"
        await pilot.press("left", "left", "left", "shift+left", "2")  # "is Sydney" replaces what it overlaps
        assert [(s["start"], s["end"], s["label"]) for s in spans.value()] == [(3, 12, "RUDE"), (14, 23, "RUDE")]
        await pilot.press("d")  # nothing under the cursor (the comma)
        assert "no span under the cursor" in notes(app) and len(spans.value()) == 2
        await pilot.press("left", "d")  # on "Sydney": removes "is Sydney"
        assert [(s["start"], s["end"]) for s in spans.value()] == [(14, 23)]
        await pilot.press("end", "escape", "tab", "2", "a")
        await wait_done(pilot)
    answer = stored(db_path, "pairs")[0]
    assert answer["answers"] == {"errors": [{"start": 14, "end": 23, "label": "RUDE", "token_start": 4,
                                             "token_end": 4}], "ok": 2}
    assert [t["text"] for t in answer["_tokens"]["response"]] == ["It", "is", "Sydney", ",", "obviously", "."]


async def test_undo_brings_the_task_back_with_its_answers_and_a_new_answer_replaces_it(tmp_path: Path,
                                                                                      db_path: Path) -> None:
    app = feedback_app(tmp_path, db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, predicate=prompt_is("question 0"))
        await pilot.press("2", "tab", "1", "tab", "enter", *"ok ", "escape", "a")
        await wait_for_task(pilot, predicate=prompt_is("question 1"))
        await pilot.press("backspace")
        await wait_for_task(pilot, predicate=prompt_is("question 0"))
        assert [w.value() for w in screen.questions] == [2, ["billing"], "ok answer 0"]
        await pilot.press("5", "a")
        await wait_for_task(pilot, predicate=prompt_is("question 1"))
    rows = stored(db_path, "pairs")
    assert len(rows) == 1 and rows[0]["answers"] == {"quality": 5, "topic": ["billing"], "fix": "ok answer 0"}


async def test_a_restart_resumes_after_the_tasks_answered(tmp_path: Path, db_path: Path) -> None:
    app = feedback_app(tmp_path, db_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_task(pilot, predicate=prompt_is("question 0"))
        await pilot.press("1", "a")
        await wait_for_task(pilot, predicate=prompt_is("question 1"))
        await pilot.press("2", "a")
        await wait_for_task(pilot, predicate=prompt_is("question 2"))
    app.controller.close()
    again = feedback_app(tmp_path, db_path)
    async with again.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot)
        assert screen.current_task["prompt"] == "question 2"
        await pilot.press("3", "a")
        await wait_for_task(pilot, predicate=prompt_is("question 3"))
    again.controller.close()
    assert [r["answers"]["quality"] for r in stored(db_path, "pairs")] == [1, 2, 3]
    changed = feedback_app(tmp_path, db_path, questions=QUESTIONS.replace("scale = 5", "scale = 7"))
    async with changed.run_test(size=(100, 30)) as pilot:  # other questions: every task is asked again
        await wait_for_task(pilot, predicate=prompt_is("question 0"))
    changed.controller.close()


async def test_fields_are_drawn_literally_and_markdown_never_reaches_the_terminal(tmp_path: Path,
                                                                                 db_path: Path) -> None:
    reply = "# Title\n\n[bold]not bold[/bold] and **bold**\x1b[31m red\x07\n\n- one\n- two"
    rows = [{"prompt": "[red]p[/red]", "response": reply, "meta": {"model": "m1"}}]
    app = feedback_app(tmp_path, db_path, rows=rows)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, predicate=prompt_is("[red]p[/red]"))
        fields = screen.query_one("#text")
        assert fields.shown["prompt"] == "[red]p[/red]"
        assert "\x1b" not in fields.shown["response"] and "␛[31m red␇" in fields.shown["response"]
        assert "\x1b" not in screen.questions[2].area.text  # the prefill too
        markdown = screen.query_one(Markdown)
        assert not markdown.display
        await pilot.press("m")
        await wait_until(pilot, lambda: markdown.display and markdown.source.startswith("# Title"), "markdown")
        assert "\x1b" not in markdown.source and "\x07" not in markdown.source
        await pilot.pause()
        drawn = "\n".join(strip.text for widget in markdown.walk_children() for strip in
                          [widget.render_line(y) for y in range(widget.size.height)]
                          if hasattr(widget, "render_line"))
        assert "[bold]not bold[/bold]" in drawn and "**bold**" not in drawn and "\x1b" not in drawn
        await pilot.press("m")
        assert not markdown.display
    app.controller.close()


async def test_the_help_lists_the_focused_questions_keys(tmp_path: Path, db_path: Path) -> None:
    from tuiannot.screens.help import HelpScreen

    app = feedback_app(tmp_path, db_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for_task(pilot, predicate=prompt_is("question 0"))
        await pilot.press("tab", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = dict(app.screen.rows)
        assert rows["1"] == "topic: choose billing" and "4" not in rows
        assert {"tab", "shift+tab", "enter", "escape", "c", "m", "a", "x", "space", "backspace"} <= set(rows)
        await pilot.press("escape")
    app.controller.close()


# -- what else sees feedback answers ----------------------------------------------------------------------------------
def feedback_answer(prompt: str | None, response: str | None, fix: Any, answer: str = "accept",
                    **extra: Any) -> dict[str, Any]:
    task: dict[str, Any] = {"answers": {"quality": 3, "fix": fix}, "answer": answer, "_view_id": "feedback",
                            "_questions": [{"name": "quality", "type": "rating", "scale": 5},
                                           {"name": "fix", "type": "text", "field": "response"}],
                            "_session_id": "fb-alice", "_timestamp": 1_700_000_000, **extra}
    if prompt is not None:
        task["prompt"] = prompt
    if response is not None:
        task["response"] = response
    return task


def read_chat(path: Path) -> list[list[dict[str, str]]]:
    """The file as TRL's SFT trainer reads chat data: ``datasets``' JSON loader where it is installed, else the
    same records read line by line; each must be a ``messages`` list of role/content turns."""
    try:
        from datasets import load_dataset  # type: ignore[import-not-found]
    except ImportError:
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    else:
        records = list(load_dataset("json", data_files=str(path), split="train"))
    for record in records:
        assert set(record) == {"messages"}
        assert all(set(turn) == {"role", "content"} and isinstance(turn["content"], str)
                   for turn in record["messages"])
        assert [turn["role"] for turn in record["messages"]] == ["user", "assistant"]
    return [record["messages"] for record in records]


def test_sft_export_writes_the_corrected_replies_as_chat(tmp_path: Path, db_path: Path,
                                                        capsys: pytest.CaptureFixture[str], cli_env: None) -> None:
    seed(db_path, "fb", [
        feedback_answer("What is 2+2?", "5", "4"),
        feedback_answer("Capital of France?", "Paris", ""),  # no correction: the reply as given
        feedback_answer("Rejected?", "x", "y", answer="reject"),
        feedback_answer("Skipped?", "x", "y", answer="ignore"),
        feedback_answer(None, "a reply", "fixed"),  # no prompt
        feedback_answer("No reply at all?", None, "  "),
    ])
    hashes = [a["_input_hash"] for a in stored(db_path, "fb")]
    out = tmp_path / "sft.jsonl"
    code, _, err = run(capsys, "db-out", "fb", out, "--format", "sft", "--db", db_path)
    assert code == 0
    assert read_chat(out) == [
        [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}],
        [{"role": "user", "content": "Capital of France?"}, {"role": "assistant", "content": "Paris"}]]
    assert warnings(err) == [
        f"warning: fb answer 5 (input hash {hashes[4]}): no prompt in \"prompt\" (choose the field with "
        "--prompt-field): not exported",
        f"warning: fb answer 6 (input hash {hashes[5]}): no answer to the text question \"fix\" and no 'response' "
        "to write as the reply: not exported"]
    assert "Exported 2 records (sft)" in err and "not included: 1 ignore, 1 reject answers" in err
    assert "2 answers not exported (warnings above)" in err
    code, _, err = run(capsys, "db-out", "fb", out, "--format", "sft", "--answer", "reject", "--prompt-field",
                       "response", "--response-question", "fix", "--db", db_path)
    assert code == 0 and read_chat(out) == [[{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]]


def test_sft_export_shows_the_first_20_warnings_and_counts_the_rest(tmp_path: Path, db_path: Path,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   cli_env: None) -> None:
    seed(db_path, "fb", [feedback_answer(f"p{i}", "r", "fixed") for i in range(25)])
    code, out, err = run(capsys, "db-out", "fb", "--format", "sft", "--response-question", "fx", "--db", db_path)
    assert code == 0 and out == ""
    shown = warnings(err)
    assert len(shown) == 20 and "no text question \"fx\" among its questions (text questions: \"fix\")" in shown[0]
    assert "… and 5 more warnings" in err and "25 answers not exported" in err


def test_sft_options_go_with_sft_and_other_formats_leave_feedback_out(tmp_path: Path, db_path: Path,
                                                                     capsys: pytest.CaptureFixture[str],
                                                                     cli_env: None) -> None:
    seed(db_path, "fb", [feedback_answer("p", "r", "fixed", text="a text too")])
    code, _, err = run(capsys, "db-out", "fb", "--format", "doccano", "--prompt-field", "q", "--db", db_path)
    assert code == 2 and "goes with --format sft only" in err
    code, out, err = run(capsys, "db-out", "fb", "--format", "doccano", "--db", db_path)
    assert code == 0 and out == ""
    assert "a feedback answer holds neither spans nor text labels: not exported (--format sft writes" in err
    code, out, _ = run(capsys, "db-out", "fb", "--db", db_path)  # jsonl: the answer as stored
    assert code == 0 and json.loads(out)["answers"] == {"quality": 3, "fix": "fixed"}


async def test_the_sample_works_out_of_the_box(db_path: Path) -> None:
    app = recipe_app("feedback", db_path, str(ROOT / "sample_data" / "feedback.jsonl"),
                     questions=str(ROOT / "sample_data" / "questions.toml"))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot)
        assert screen.current_task["prompt"] == "How do I reset my router to factory settings?"
        await pilot.press("4", "tab", "4", "a")
        await wait_for_task(pilot, predicate=prompt_is("What is the capital of Australia?"))
    app.controller.close()
    answer = stored(db_path, "feedback")[0]
    assert answer["answers"]["quality"] == 4 and answer["answers"]["problems"] == ["too long"]
    assert isinstance(answer["answers"]["fix"], str) and answer["answers"]["fix"].startswith("Find the small")

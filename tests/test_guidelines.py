"""Guidelines with provenance and the labels' descriptions (issue 19): ``--guidelines`` read once, its hash and
front-matter version stamped on every answer as ``_guidelines``; ``g`` shows them (searchable, markup literal) and
goes back to the same task; ``--labels-file`` descriptions beside the labels; bad files are one-line errors; a
configuration's ``guidelines`` (relative to the file) and ``[labels]`` reach a real start."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import tuiannot
from tuiannot.controller import Controller
from tuiannot.recipes import Components, get_recipe
from tuiannot.recipes.guidelines import attach, front_matter_version, load_guidelines, load_labels_file

from .helpers import (assert_one_line_error, read_until, run, seed, stored, texts, wait_done, wait_for_task, wait_until,
                      write_jsonl)

GUIDE = """---
title: Sentiment
version: "2.1"  # bumped when the sarcasm rule changed
---
# Sentiment guidelines

Mark a review **POS** when the reviewer is happy.

## Sarcasm

Sarcasm is NEG: [bold red]this is not markup[/] and \x1b[31m no escape reaches the terminal.
""" + "".join(f"\nFiller paragraph {i} about nothing.\n" for i in range(60)) + "\nThe last word on sarcasm.\n"


def sha12(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def guided_app(recipe: str, database: Any, *args: Any, guidelines: Path | None = None,
               labels: Path | None = None, session: str = "alice", **options: Any) -> Any:
    """The real app over a recipe's components, with the guidelines and labels file the command line would read."""
    from tuiannot.screens.app import AnnotationApp

    components = Components.from_value(get_recipe(recipe)(*args, **options), recipe)
    attach(components, load_guidelines(guidelines) if guidelines else None,
           load_labels_file(labels) if labels else None)
    return AnnotationApp(Controller(components, tuiannot.connect(database), session).start())


# -- the version of the guidelines ------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "version"), [
    ("---\nversion: 1.2\n---\n# G\n", "1.2"),
    ("---\ntitle: x\nversion: 'v3 draft'\n---\n", "v3 draft"),
    ('+++\nversion = "2024-05"\n+++\ntext\n', "2024-05"),
    ("# No front matter\nversion: 9\n", None),
    ("---\nversion: 4\n", None),  # never closed: not a front matter
    ("---\ntitle: x\n---\nversion: 5\n", None),  # after the front matter: text
])
def test_the_version_comes_from_the_front_matter_only(text: str, version: str | None) -> None:
    assert front_matter_version(text) == version


async def test_every_answer_stores_the_guidelines_hash_and_version(tmp_path: Path, database: str) -> None:
    guide = tmp_path / "guide.md"
    guide.write_text(GUIDE, encoding="utf-8")
    source = write_jsonl(tmp_path / "data.jsonl", texts(3))
    app = guided_app("textcat", database, str(source), label="POS", guidelines=guide)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_task(pilot, text="text number 0")
        await pilot.press("a")
        await wait_for_task(pilot, text="text number 1")
        await pilot.press("x")
        await wait_for_task(pilot, text="text number 2")
        await pilot.press("backspace")  # an answer replaced is stamped again
        await wait_for_task(pilot, text="text number 1")
        await pilot.press("a")
        await wait_for_task(pilot, text="text number 2")
    rows = stored(database, "data")  # type: ignore[arg-type]
    assert [r["answer"] for r in rows] == ["accept", "accept"]
    assert all(r["_guidelines"] == {"hash": sha12(guide), "version": "2.1"} for r in rows)
    # a file without a version: the hash alone; the hash follows the bytes
    guide.write_text("# Guidelines\n\nAnother rule.\n", encoding="utf-8")
    app = guided_app("textcat", database, str(source), label="POS", guidelines=guide, session="bob",
                     dataset="other")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_task(pilot, text="text number 0")
        await pilot.press("a")
        await wait_for_task(pilot, text="text number 1")
    (row,) = stored(database, "other")  # type: ignore[arg-type]
    assert row["_guidelines"] == {"hash": sha12(guide)} and row["_guidelines"]["hash"] != rows[0]["_guidelines"]


async def test_a_reviewers_final_answers_store_the_guidelines_too(tmp_path: Path, db_path: Path) -> None:
    guide = tmp_path / "guide.md"
    guide.write_text("---\nversion: 7\n---\nPick the majority unless it breaks a rule.\n", encoding="utf-8")
    options = [{"id": "POS", "text": "POS"}, {"id": "NEG", "text": "NEG"}]
    seed(db_path, "votes", [{"text": "good film", "options": options, "accept": [who], "answer": "accept",
                             "_view_id": "choice", "_session_id": f"votes-{name}", "_annotator_id": f"votes-{name}",
                             "_guidelines": {"hash": "000000000000"}}
                            for name, who in (("alice", "POS"), ("bob", "NEG"))])
    app = guided_app("review", db_path, "votes", output="final", db=str(db_path), session="lead", guidelines=guide)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_task(pilot, text="good film")
        await pilot.press("f", "e")  # flagged on the review; edit a version in the choice view
        await wait_until(pilot, lambda: app.screen is not app.annotation_screen, "the editor")
        editor = await wait_for_task(pilot, type(app.screen))
        await pilot.press("c")  # a comment made in the editor goes with the edited answer
        await wait_until(pilot, lambda: app.screen is not editor, "the comment box")
        await pilot.press(*"both apply", "enter")
        await wait_until(pilot, lambda: app.screen is editor, "back to the editor")
        await pilot.press("2", "a")
        await wait_done(pilot)
    (row,) = stored(db_path, "final")
    assert row["_review"]["chosen"] == "edited" and row["accept"] == ["POS", "NEG"]
    assert row["_flagged"] is True and row["_comment"] == "both apply"
    assert row["_guidelines"] == {"hash": sha12(guide), "version": "7"}  # the reviewer's, not the annotators'


# -- g: the guidelines on screen --------------------------------------------------------------------------------
async def test_g_shows_the_guidelines_searchable_and_goes_back_to_the_same_task(tmp_path: Path,
                                                                                db_path: Path) -> None:
    from tuiannot.screens.guidelines import GuidelinesScreen

    guide = tmp_path / "guide.md"
    guide.write_text(GUIDE, encoding="utf-8")
    source = write_jsonl(tmp_path / "data.jsonl", texts(2))
    app = guided_app("textcat", db_path, str(source), label="POS,NEG", guidelines=guide)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text="text number 0")
        bar = str(screen.query_one("KeyBar").render())
        assert "g Guidelines" in bar
        await pilot.press("2", "g")  # NEG chosen, then the guidelines
        await wait_until(pilot, lambda: isinstance(app.screen, GuidelinesScreen)
                         and "Sarcasm" in app.screen.rendered.plain, "the guidelines drawn")
        shown = app.screen
        plain = shown.rendered.plain
        assert "[bold red]this is not markup[/]" in plain  # Rich markup shown as written
        assert "\x1b" not in plain and "␛" in plain  # the escape made visible, never sent
        assert "title: Sentiment" not in plain  # the front matter is not text
        title = str(shown.query_one("#guidelines-title").render())
        assert "guide.md" in title and "version 2.1" in title and sha12(guide) in title
        scroll = shown.query_one("#guidelines-scroll")
        assert scroll.max_scroll_y > 0 and scroll.scroll_y == 0
        await pilot.press("slash", *"sarcasm", "enter")  # every match found, the first below the top
        await pilot.pause()
        assert len(shown.matches) == 3 and shown.current == 0
        await pilot.press("escape", "n", "n")  # escape closes the search box; n goes on, to the last match
        await pilot.pause()
        assert isinstance(app.screen, GuidelinesScreen) and shown.current == 2
        assert scroll.scroll_y > 0  # the last match is far down: scrolled to it
        line = shown.line_of(2)
        assert scroll.scroll_y <= line < scroll.scroll_y + scroll.scrollable_content_region.height
        assert "3 of 3 matches" in str(shown.query_one("#guidelines-status").render())
        await pilot.press("n")  # round to the first
        assert shown.current == 0
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "back to the task")
        assert screen.current_task["text"] == "text number 0" and screen.selected == ["NEG"]  # nothing lost
        await pilot.press("g")
        await wait_until(pilot, lambda: isinstance(app.screen, GuidelinesScreen), "the guidelines again")
        await pilot.press("q")  # q closes them, not the app
        await wait_until(pilot, lambda: app.screen is screen, "back to the task")
        await pilot.press("a")
        await wait_for_task(pilot, text="text number 1")
    (row,) = stored(db_path, "data")
    assert row["accept"] == ["NEG"] and row["_guidelines"]["version"] == "2.1"


async def test_g_without_guidelines_says_so(tmp_path: Path, db_path: Path) -> None:
    from .helpers import make_app

    source = write_jsonl(tmp_path / "data.jsonl", texts(2))
    app = make_app(source, db_path, labels="POS")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text="text number 0")
        await pilot.press("g")
        await pilot.pause()
        assert app.screen is screen
        assert any("No guidelines for this session" in n.message for n in app._notifications)  # noqa: SLF001


# -- the labels' descriptions -----------------------------------------------------------------------------------
LABELS_TOML = """# what each label means
[POS]
description = "The reviewer is happy [bold]really[/]"
example = "Loved every minute."

[NEG]
description = "The reviewer is unhappy, sarcasm included"
"""


async def test_label_descriptions_show_beside_the_labels_and_in_the_help(tmp_path: Path, db_path: Path) -> None:
    from tuiannot.screens.help import HelpScreen

    labels = tmp_path / "labels.toml"
    labels.write_text(LABELS_TOML, encoding="utf-8")
    source = write_jsonl(tmp_path / "data.jsonl", texts(2))
    app = guided_app("textcat", db_path, str(source), label="POS,NEG", labels=labels)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text="text number 0")
        bar = str(screen.query_one("#question").render())
        assert "POS – The reviewer is happy [bold]really[/]" in bar  # literal, not markup
        assert "NEG – The reviewer is unhappy" in bar
        assert screen.query_one("#text").region.height >= 10  # the task keeps the room at 100x30
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        described = dict(app.screen.labels)
        assert described["POS"] == "The reviewer is happy [bold]really[/] (e.g. Loved every minute.)"
        assert "toggle NEG: The reviewer is unhappy" in dict(app.screen.rows)["2"]
        await pilot.press("escape")
    # the yes/no question: the one label's description and example under it (a labels file names only labels
    # the command has: NEG is left out of this one)
    labels.write_text(LABELS_TOML.split("[NEG]")[0], encoding="utf-8")
    app = guided_app("textcat", db_path, str(source), label="POS", labels=labels, dataset="binary")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text="text number 0")
        question = str(screen.query_one("#question").render())
        assert "The reviewer is happy [bold]really[/] (e.g. Loved every minute.)" in question


async def test_the_span_view_describes_the_current_spans_label(tmp_path: Path, db_path: Path) -> None:
    labels = tmp_path / "labels.toml"
    labels.write_text('[labels.PERSON]\ndescription = "A named person"\nexample = "Ada Lovelace"\n\n'
                      '[labels.ORG]\ndescription = "A company or a body"\n', encoding="utf-8")
    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": "Ada Lovelace wrote notes."}])
    app = guided_app("ner", db_path, str(source), label="PERSON,ORG", labels=labels)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await wait_for_task(pilot, text="Ada Lovelace wrote notes.")
        question = str(screen.query_one("#question").render())  # no span yet: every label, in a line
        assert "PERSON: A named person · ORG: A company or a body" in question and "e.g." not in question
        await pilot.press("1", "left")  # Ada is a PERSON; the cursor back on it: the current span
        await pilot.pause()
        question = str(screen.query_one("#question").render())
        assert "PERSON: A named person (e.g. Ada Lovelace)" in question and "ORG: A company" not in question


# -- bad files: one line, exit 2, nothing run -------------------------------------------------------------------
@pytest.mark.parametrize(("name", "content", "option", "needles"), [
    ("missing.md", None, "--guidelines", ["missing.md: no such guidelines file"]),
    ("latin1.md", b"# Rules\n\ncaf\xe9\n", "--guidelines", ["latin1.md:3: not valid UTF-8"]),
    ("empty.md", b"  \n", "--guidelines", ["empty.md: is empty"]),
    ("missing.toml", None, "--labels-file", ["missing.toml: no such labels file"]),
    ("bad.toml", b'[POS]\ndescription = "x"\nexample = \n', "--labels-file", ["bad.toml:3: not valid TOML"]),
    ("unknown.toml", b'[POS]\ndescription = "x"\ncolour = "red"\n', "--labels-file",
     ["unknown.toml:3: POS.colour: unknown key (known: description, example)"]),
    ("type.toml", b'[POS]\n\ndescription = 3\n', "--labels-file", ["type.toml:3: POS.description: expected a string"]),
    ("other.toml", b'[POS]\ndescription = "x"\n\n[MIXED]\ndescription = "y"\n', "--labels-file",
     ["other.toml:4: MIXED: not among the labels (POS, NEG)"]),
    ("flat.toml", b'POS = "happy"\n', "--labels-file", ["flat.toml:1: POS: expected a table"]),
])
@pytest.mark.usefixtures("cli_env")
def test_a_bad_guidelines_or_labels_file_is_one_line_naming_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes | None, option: str,
        needles: list[str]) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    source = write_jsonl(tmp_path / "s.jsonl", texts(1))
    code, out, err = run(capsys, "textcat", source, "--label", "POS,NEG", option, path, "--db", tmp_path / "x.db")
    assert code == 2 and out == ""
    assert_one_line_error(err, str(tmp_path), *needles)
    assert not (tmp_path / "x.db").exists()  # nothing ran: no database was made


# -- the configuration: guidelines relative to the file, a [labels] table ---------------------------------------
@pytest.mark.usefixtures("cli_env")
def test_a_real_start_takes_the_guidelines_and_labels_from_the_projects_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "home" / "proj"
    (folder / "work").mkdir(parents=True)
    (folder / "docs").mkdir()
    guide = folder / "docs" / "guide.md"
    guide.write_text("+++\nversion = \"5\"\n+++\n# Sports desk rules\n\nA match report is SPORT.\n")
    (folder / "tuiannot.toml").write_text(
        'db = "answers.db"\nguidelines = "docs/guide.md"\n\n[textcat]\nlabel = ["SPORT"]\n\n'
        '[labels.SPORT]\ndescription = "Games, matches and athletes"\n\n'
        '[labels.PERSON]\ndescription = "for the ner command: left out here"\n')
    write_jsonl(folder / "work" / "news.jsonl", [{"text": "first story"}, {"text": "second story"}])
    env = {**os.environ, "TERM": "xterm-256color", "HOME": str(tmp_path / "home"), "USER": "carol",
           "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "COLUMNS": "100", "LINES": "30"}
    for name in ("TUIANNOT_DB", "TUIANNOT_KEYMAP", "NO_COLOR"):
        env.pop(name, None)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real command, in the project's sub-folder
        os.chdir(folder / "work")
        os.execvpe(sys.executable, [sys.executable, "-m", "tuiannot", "textcat", "news.jsonl"], env)
    seen = bytearray()
    try:
        read_until(fd, b"first story", seen)
        read_until(fd, b"Games, matches and athletes", seen)  # the [labels] table's description
        os.write(fd, b"g")
        read_until(fd, b"Sports desk rules", seen)  # the guidelines, found relative to the project's file
        os.write(fd, b"\x1b")
        time.sleep(0.3)
        os.write(fd, b"a")
        read_until(fd, b"second story", seen)
        os.write(fd, b"q")
        read_until(fd, b"Saved 1 answer", seen)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    with sqlite3.connect(folder / "answers.db") as conn:
        (content,) = [json.loads(c) for (c,) in conn.execute("SELECT content FROM answers")]
    assert content["_guidelines"] == {"hash": sha12(guide), "version": "5"}
    # tuiannot config says where the guidelines come from, and that a command takes them
    from tuiannot.recipes.config import ACTIVE

    monkeypatch.chdir(folder / "work")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    try:
        code, out, err = run(capsys, "config", "--json")
    finally:
        ACTIVE.clear()
    assert code == 0, err
    rows = {row["key"]: row for row in json.loads(out)["settings"]}
    assert rows["guidelines"]["value"] == str(guide) and rows["guidelines"]["origin"].endswith("tuiannot.toml:2")
    assert "note" not in rows["guidelines"]
    assert rows["labels"]["value"]["SPORT"] == "Games, matches and athletes"


@pytest.mark.usefixtures("cli_env")
def test_a_bad_labels_table_in_the_configuration_is_one_line_naming_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tuiannot.recipes.config import ACTIVE

    folder = tmp_path / "home" / "proj"
    folder.mkdir(parents=True)
    (folder / "tuiannot.toml").write_text('db = "a.db"\n\n[labels.POS]\ndescription = "happy"\ncolour = "red"\n')
    monkeypatch.chdir(folder)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    source = write_jsonl(tmp_path / "s.jsonl", texts(1))
    try:
        for argv in (["config"], ["textcat", str(source), "--label", "POS"]):
            code, out, err = run(capsys, *argv)
            assert code == 2 and out == ""
            assert_one_line_error(err, f"{folder / 'tuiannot.toml'}:5: POS.colour: unknown key")
    finally:
        ACTIVE.clear()
    assert not (folder / "a.db").exists()

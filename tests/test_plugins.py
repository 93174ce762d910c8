"""Plugins (issue 19): a real plugin package, built here as pip would install it (the package, and a
``.dist-info`` with ``METADATA`` and ``entry_points.txt``) in a folder put on ``sys.path``, or on ``PYTHONPATH``
for ``python -m tuiannot``. It adds a recipe, a loader and a view, and has entry points that are broken (a
missing dependency) or take a built-in command's name. Also ``tuiannot --version`` and shell completion."""

from __future__ import annotations

import importlib.metadata
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from tuiannot.errors import SourceError, UserError
from tuiannot.recipes import REGISTRY
from tuiannot.sources import Source
from tuiannot.stream import Stream

from .helpers import make_app, read_to_end, recipe_app, stored, wait_done, wait_for_task

pytestmark = pytest.mark.usefixtures("cli_env")

PACKAGE = "tuiannot_demo_plugin"
DIST, VERSION = "tuiannot-demo-plugin", "0.3.1"

FILES = {
    "__init__.py": '"""A tuiannot plugin, built by the tests."""\n',
    "recipes.py": '''"""The plugin's recipe: is this message spam?"""
import os

from tuiannot import recipe
from tuiannot.recipes.options import LoaderOpt
from tuiannot.sources import Source
from tuiannot.stream import Stream

if os.environ.get("TUIANNOT_DEMO_MARKER"):  # tells the tests when the plugin is imported
    with open(os.environ["TUIANNOT_DEMO_MARKER"], "a") as f:
        f.write("imported\\n")


@recipe("demo-spam", help="Is this message spam? (the demo plugin's recipe)")
def demo_spam(source: str, dataset: str = "spam", loader: LoaderOpt = None):
    stream = Stream(Source(source, loader=loader)).map(lambda task: {**task, "label": "SPAM"})
    return {"dataset": dataset, "stream": stream, "view_id": "classification"}
''',
    "loaders.py": '''"""The plugin's loader: a text and where it came from per line, 'text|origin'."""
from tuiannot.sources import Record


def load_pipes(path):
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\\n")
            if not line:
                continue
            if "|" not in line:
                yield Record(number, 0, error="expected 'text|origin'")
                continue
            text, origin = line.rsplit("|", 1)
            if origin == "explode":  # a bug in the plugin
                raise RuntimeError("no origin named 'explode'")
            yield Record(number, 0, task={"text": text, "meta": {"origin": origin}})
''',
    "views.py": '''"""The plugin's view: a yes/no screen of its own, the origin in the question (the README's)."""
from rich.text import Text
from textual.widgets import Static

from tuiannot.sanitize import one_line
from tuiannot.screens.binary import BinaryScreen


class DemoScreen(BinaryScreen):
    VIEW_ID = "demo_view"

    def show_question(self, task):
        origin = one_line(str((task.get("meta") or {}).get("origin", "?")), 40)
        self.query_one("#question", Static).update(Text(f"  Spam? (came by {origin})   a = yes   x = no"))
''',
    "broken.py": '"""Needs a package that is not installed."""\nimport tuiannot_demo_missing_dependency  # noqa\n',
    "clash.py": '''"""Takes a built-in command's name, beside a recipe of its own."""
from tuiannot import recipe


@recipe("textcat")
def not_textcat(source: str):
    raise AssertionError("a plugin must not replace a built-in command")


@recipe("demo-other", help="Another recipe of the demo plugin.")
def demo_other(source: str):
    raise AssertionError("not run by the tests")
''',
}
ENTRY_POINTS = f"""[tuiannot.recipes]
demo = {PACKAGE}.recipes
broken = {PACKAGE}.broken
clash = {PACKAGE}.clash

[tuiannot.loaders]
pipes = {PACKAGE}.loaders:load_pipes
broken_loader = {PACKAGE}.nothere:load

[tuiannot.views]
demo_view = {PACKAGE}.views:DemoScreen
broken_view = {PACKAGE}.broken:Screen
classification = {PACKAGE}.views:DemoScreen
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A folder holding the plugin as pip installs it: the package and its .dist-info."""
    root = tmp_path / "site"
    package = root / PACKAGE
    package.mkdir(parents=True)
    for name, text in FILES.items():
        (package / name).write_text(text, encoding="utf-8")
    info = root / f"{PACKAGE}-{VERSION}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DIST}\nVersion: {VERSION}\n"
                                   "Summary: A tuiannot plugin built by the tests\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(ENTRY_POINTS, encoding="utf-8")
    (info / "top_level.txt").write_text(PACKAGE + "\n", encoding="utf-8")
    return root


@pytest.fixture
def installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The plugin on this process's sys.path (forgotten afterwards, so that the next test imports it anew)."""
    monkeypatch.syspath_prepend(str(site))
    yield site
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def tuiannot(*argv: str, site: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m tuiannot ARGV`` in a fresh interpreter, the plugin's folder on PYTHONPATH when given."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("_TUIANNOT", "_TYPER", "PYTHONPATH"))}
    environ.update(COLUMNS="300", **env)
    if site is not None:
        environ["PYTHONPATH"] = str(site)
    return subprocess.run([sys.executable, "-m", "tuiannot", *argv], capture_output=True, text=True, timeout=300,
                          env=environ, stdin=subprocess.DEVNULL)


def test_plugins_lists_every_entry_point_with_where_it_comes_from(site: Path) -> None:
    result = tuiannot("plugins", "--json", site=site)
    assert result.returncode == 0, result.stderr
    found = {(p["group"], p["name"]): p for p in json.loads(result.stdout)["plugins"]}
    assert sorted(found) == [("tuiannot.loaders", "broken_loader"), ("tuiannot.loaders", "pipes"),
                             ("tuiannot.recipes", "broken"), ("tuiannot.recipes", "clash"),
                             ("tuiannot.recipes", "demo"), ("tuiannot.views", "broken_view"),
                             ("tuiannot.views", "classification"), ("tuiannot.views", "demo_view")]
    assert all(p["distribution"] == DIST and p["version"] == VERSION for p in found.values())
    demo = found["tuiannot.recipes", "demo"]
    assert demo["loads"] is True and demo["error"] is None and demo["provides"] == ["demo-spam"]
    assert demo["value"] == f"{PACKAGE}.recipes" and demo["location"] == str(site / PACKAGE / "recipes.py")
    broken = found["tuiannot.recipes", "broken"]
    assert broken["loads"] is False and broken["provides"] == []
    assert broken["error"] == "ModuleNotFoundError: No module named 'tuiannot_demo_missing_dependency'"
    assert broken["location"] == str(site)  # not imported: the folder it is installed in
    clash = found["tuiannot.recipes", "clash"]
    assert clash["loads"] is True and clash["provides"] == ["demo-other"]
    assert clash["error"] == "textcat: left out, the name of a command that exists"
    assert found["tuiannot.loaders", "pipes"]["provides"] == ["--loader pipes"]
    assert found["tuiannot.loaders", "broken_loader"]["loads"] is False
    assert found["tuiannot.views", "demo_view"]["loads"] is True
    assert found["tuiannot.views", "demo_view"]["provides"] == ["view_id demo_view"]
    assert found["tuiannot.views", "broken_view"]["loads"] is False
    shadowed = found["tuiannot.views", "classification"]  # a built-in view's id: the built-in view wins
    assert shadowed["loads"] is True and shadowed["provides"] == []
    assert shadowed["error"] == "shadowed by the built-in view 'classification'"
    table = tuiannot("plugins", site=site)
    assert table.returncode == 0, table.stderr
    assert f"{DIST} {VERSION}" in table.stdout and "no: ModuleNotFoundError" in table.stdout
    assert table.stdout.rstrip().endswith("8 plugins, 3 not loading")
    assert tuiannot("plugins").stdout.startswith("No plugins installed")


def test_a_plugins_recipe_is_a_command_a_broken_plugin_a_warning_and_built_in_commands_never_look(
        site: Path, tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    helped = tuiannot("--help", site=site, TUIANNOT_DEMO_MARKER=str(marker))
    assert helped.returncode == 0, helped.stderr
    assert "demo-spam" in helped.stdout and "demo-other" in helped.stdout
    assert helped.stderr.splitlines() == [
        f"warning: plugin 'broken' (tuiannot.recipes, from {DIST} {VERSION}) failed to load: ModuleNotFoundError: "
        "No module named 'tuiannot_demo_missing_dependency'; its commands are missing",
        f"warning: plugin 'clash' (tuiannot.recipes, from {DIST} {VERSION}): textcat: left out, the name of a "
        "command that exists"]
    assert marker.read_text() == "imported\n"
    own = tuiannot("demo-spam", "--help", site=site)  # not a built-in name: the plugins are looked at
    assert own.returncode == 0 and "Is this message spam? (the demo plugin's recipe)" in own.stdout
    marker.unlink()
    for argv in (["textcat", "--help"], ["stats", "--db", str(tmp_path / "a.db")], ["--version"]):
        result = tuiannot(*argv, site=site, TUIANNOT_DEMO_MARKER=str(marker))
        assert result.returncode == 0 and result.stderr == "", (argv, result.stderr)
        assert not marker.exists(), f"tuiannot {' '.join(argv)} imported the plugin"
    assert "--label" in tuiannot("textcat", "--help", site=site).stdout  # the built-in textcat, not the clash
    unknown = tuiannot("nosuch", site=site)
    assert unknown.returncode == 2 and "No such command 'nosuch'" in unknown.stderr


async def test_a_loader_plugin_reads_the_source_of_the_app(installed: Path, tmp_path: Path, db_path: Path) -> None:
    source = tmp_path / "msgs.txt"
    source.write_text("Win money now|sms\nno pipe here\nLunch at noon?|mail\n", encoding="utf-8")
    app = make_app(source, db_path, labels="POS", loader="pipes")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="Win money now")
        await pilot.press("a")
        await wait_for_task(pilot, text="Lunch at noon?")
        await pilot.press("x")
        await wait_done(pilot)
        stream = app.controller.stream
        assert isinstance(stream, Stream)
        warnings = list(stream.warnings)
    assert [(r["text"], r["meta"], r["answer"]) for r in stored(db_path, "msgs")] == [
        ("Win money now", {"origin": "sms"}, "accept"), ("Lunch at noon?", {"origin": "mail"}, "reject")]
    assert warnings == [f"{source}:2: expected 'text|origin'"]


async def test_a_plugins_recipe_runs_in_the_app(installed: Path, tmp_path: Path, db_path: Path) -> None:
    from tuiannot.recipes.plugins import load_recipes

    assert load_recipes(REGISTRY) == [
        f"plugin 'broken' (tuiannot.recipes, from {DIST} {VERSION}) failed to load: ModuleNotFoundError: No module "
        "named 'tuiannot_demo_missing_dependency'; its commands are missing",
        f"plugin 'clash' (tuiannot.recipes, from {DIST} {VERSION}): textcat: left out, the name of a command that "
        "exists"]
    assert REGISTRY["textcat"].__module__ == "tuiannot.recipes.textcat"
    source = tmp_path / "msgs.txt"
    source.write_text("Win money now|sms\n", encoding="utf-8")
    app = recipe_app("demo-spam", db_path, str(source), loader="pipes")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="Win money now")
        await pilot.press("a")
        await wait_done(pilot)
    assert [(r["text"], r["label"], r["answer"]) for r in stored(db_path, "spam")] == [
        ("Win money now", "SPAM", "accept")]


def test_a_broken_or_unknown_loader_is_one_line_naming_it(installed: Path, tmp_path: Path) -> None:
    source = tmp_path / "msgs.txt"
    source.write_text("a|b\n", encoding="utf-8")
    with pytest.raises(SourceError) as info:
        Source(source, loader="broken_loader")
    assert str(info.value) == (f"{source}: the loader plugin 'broken_loader' (from {DIST} {VERSION}) failed to "
                               f"import: ModuleNotFoundError: No module named '{PACKAGE}.nothere'")
    with pytest.raises(SourceError) as info:
        Source(source, loader="xml")
    assert str(info.value) == (f"{source}: unknown loader 'xml' (choose from jsonl, json, csv, tsv, txt, parquet; "
                               "from plugins: broken_loader, pipes)")


def test_a_failing_loader_ends_the_reading_in_one_line(installed: Path, tmp_path: Path) -> None:
    from tuiannot.stream import Stream

    source = tmp_path / "msgs.txt"
    source.write_text("first|sms\nsecond|explode\nthird|sms\n", encoding="utf-8")
    tasks, stream = [], Stream(Source(source, loader="pipes"))
    with pytest.raises(SourceError) as info:
        for task in stream:
            tasks.append(task["text"])
    assert tasks == ["first"]
    assert str(info.value) == (f"{source}: the loader 'pipes' failed after 1 record: RuntimeError: no origin named "
                               "'explode'")


def test_the_cli_says_a_broken_loader_in_one_line(site: Path, tmp_path: Path) -> None:
    source = tmp_path / "msgs.txt"
    source.write_text("a|b\n", encoding="utf-8")
    result = tuiannot("textcat", str(source), "--label", "POS", "--loader", "broken_loader",
                      "--db", str(tmp_path / "a.db"), site=site)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: {source}: the loader plugin 'broken_loader' (from {DIST} {VERSION})")


def test_a_view_plugin_is_found_by_its_view_id(installed: Path) -> None:
    from textual.screen import Screen

    from tuiannot.recipes.plugins import view_screen

    screen = view_screen("demo_view")
    assert screen is not None and issubclass(screen, Screen) and screen.VIEW_ID == "demo_view"  # type: ignore
    assert view_screen("no_such_view") is None
    with pytest.raises(UserError, match=f"the view plugin 'broken_view' \\(tuiannot.views, from {DIST} {VERSION}\\) "
                                        "failed to load: ModuleNotFoundError"):
        view_screen("broken_view")


def test_version() -> None:
    result = tuiannot("--version")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == f"tuiannot {importlib.metadata.version('tuiannot')}\n"


def test_shell_completion_lists_every_command(site: Path) -> None:
    """Typer's completion: the script for bash, and what the shell gets back completing the command's name (the
    whole app, though the program builds only the command named when there is one), the plugin's too."""
    script = tuiannot("--show-completion", "bash", _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
    assert script.returncode == 0, script.stderr
    assert "_TUIANNOT_COMPLETE=complete_bash" in script.stdout
    assert "complete -o default -F _tuiannot_completion tuiannot" in script.stdout
    completed = tuiannot(site=site, _TUIANNOT_COMPLETE="complete_bash", COMP_WORDS="tuiannot ", COMP_CWORD="1")
    assert completed.returncode == 0 and completed.stderr == ""  # no plugin warning in the middle of typing
    code = ("import json\nfrom tuiannot.cli.program import build_app, command_name\n"
            "print(json.dumps([command_name(c) for c in build_app([]).registered_commands]))")
    listed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    commands = set(json.loads(listed.stdout))  # the program's commands, as a fresh interpreter builds them
    assert {"textcat", "ner", "db-out", "plugins", "stats"} <= commands
    assert set(completed.stdout.split()) == commands | {"demo-spam", "demo-other"}
    partial = tuiannot(_TUIANNOT_COMPLETE="complete_bash", COMP_WORDS="tuiannot textcat --la", COMP_CWORD="2")
    assert {"--label", "--lang"} <= set(partial.stdout.split())  # (and any other option starting so)
    assert all(option.startswith("--la") for option in partial.stdout.split())


VIEW_RECIPES = '''from tuiannot import recipe
from tuiannot.sources import Source
from tuiannot.stream import Stream


@recipe("demo-view-spam")
def demo_view_spam(source: str, view: str = "demo_view"):
    stream = Stream(Source(source)).map(lambda task: {**task, "label": "SPAM"})
    return {"dataset": "spam", "stream": stream, "view_id": view}
'''


async def test_a_recipe_naming_a_view_plugins_id_runs_in_its_screen(installed: Path, tmp_path: Path,
                                                                     db_path: Path) -> None:
    from tuiannot.recipes import load_recipe_file

    recipes = tmp_path / "mine.py"
    recipes.write_text(VIEW_RECIPES, encoding="utf-8")
    assert load_recipe_file(recipes) == ["demo-view-spam"]
    source = tmp_path / "msgs.jsonl"
    source.write_text('{"text": "Win money now", "meta": {"origin": "[b]sms[/b]\\u001b[2J"}}\n'
                      '{"text": "Lunch at noon?"}\n', encoding="utf-8")
    app = recipe_app("demo-view-spam", db_path, str(source))
    async with app.run_test() as pilot:
        screen = await wait_for_task(pilot, text="Win money now")
        assert type(screen).__module__ == f"{PACKAGE}.views" and screen.VIEW_ID == "demo_view"
        question = str(screen.query_one("#question").render())
        assert question.startswith("  Spam? (came by [b]sms[/b]") and "\x1b" not in question  # its own, escaped
        assert screen.query_one("#question").region.height > 0  # the style sheet it inherits was found
        await pilot.press("a")
        await wait_for_task(pilot, text="Lunch at noon?")
        await pilot.press("x")
        await wait_done(pilot)
    assert [(r["text"], r["answer"], r["_view_id"]) for r in stored(db_path, "spam")] == [
        ("Win money now", "accept", "demo_view"), ("Lunch at noon?", "reject", "demo_view")]
    with pytest.raises(UserError) as info:
        recipe_app("demo-view-spam", db_path, str(source), view="no_such_view")
    assert str(info.value) == (
        "demo-view-spam: unknown view_id 'no_such_view' (available: classification, choice, ner_manual, "
        "spans_manual, relations, review, image_classification, image_choice, image_manual, feedback, compare, "
        "rank; from plugins: broken_view, demo_view)")
    app = recipe_app("demo-view-spam", db_path, str(source), view="classification")  # the built-in one
    assert type(app.annotation_screen).__module__ == "tuiannot.screens.binary"
    app.controller.close()


def test_a_view_plugin_that_fails_to_import_is_one_line_before_the_app(installed: Path, tmp_path: Path,
                                                                       db_path: Path) -> None:
    from tuiannot.recipes import Components, get_recipe, load_recipe_file
    from tuiannot.screens.app import keymap_problem

    recipes = tmp_path / "mine.py"
    recipes.write_text(VIEW_RECIPES, encoding="utf-8")
    load_recipe_file(recipes)
    source = tmp_path / "msgs.jsonl"
    source.write_text('{"text": "Win money now"}\n', encoding="utf-8")
    Components.from_value(get_recipe("demo-view-spam")(str(source), view="broken_view"))  # its name is known
    expected = (f"the view plugin 'broken_view' (tuiannot.views, from {DIST} {VERSION}) failed to load: "
                "ModuleNotFoundError: No module named 'tuiannot_demo_missing_dependency'")
    with pytest.raises(UserError) as info:
        keymap_problem(["broken_view"])  # what the command line asks before the app
    assert str(info.value) == expected
    with pytest.raises(UserError) as info:
        recipe_app("demo-view-spam", db_path, str(source), view="broken_view")
    assert str(info.value) == expected


def test_the_command_line_says_a_broken_view_plugin_in_one_line_before_the_screen(site: Path,
                                                                                  tmp_path: Path) -> None:
    """In a real terminal (annotating needs one): the error, one line, exit 1, and the screen never taken."""
    recipes = tmp_path / "mine.py"
    recipes.write_text(VIEW_RECIPES, encoding="utf-8")
    source = tmp_path / "msgs.jsonl"
    source.write_text('{"text": "Win money now"}\n', encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("_TUIANNOT", "_TYPER", "PYTHONPATH"))}
    environ.update(PYTHONPATH=str(site), COLUMNS="300", HOME=str(tmp_path / "home"), TERM="xterm-256color")
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real command, in the terminal
        os.execvpe(sys.executable, [sys.executable, "-m", "tuiannot", "-F", str(recipes), "demo-view-spam",
                                    str(source), "--view", "broken_view", "--db", str(tmp_path / "a.db")], environ)
    code, text = read_to_end(pid, fd)
    assert code == 1, text
    assert "\x1b[?1049h" not in text, "the screen was taken"  # no alternate screen: Textual never started
    shown = re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]", "", text).replace("\r", "")  # the start's spinner: erased
    assert "Traceback" not in shown
    lines = [line for line in shown.splitlines() if line.strip() and "Starting demo-view-spam" not in line]
    assert lines == [f"error: the view plugin 'broken_view' (tuiannot.views, from {DIST} {VERSION}) failed to load: "
                     "ModuleNotFoundError: No module named 'tuiannot_demo_missing_dependency'"], text


def test_get_recipe_finds_a_plugins_recipe_looking_only_on_a_miss(installed: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from tuiannot import get_recipe

    marker = tmp_path / "imported"
    monkeypatch.setenv("TUIANNOT_DEMO_MARKER", str(marker))
    assert get_recipe("textcat").__module__ == "tuiannot.recipes.textcat"
    assert not marker.exists()  # a built-in name: no plugin imported
    assert get_recipe("demo-spam").__module__ == f"{PACKAGE}.recipes"
    assert marker.read_text() == "imported\n"
    with pytest.raises(UserError) as info:
        get_recipe("nosuch")
    message = str(info.value)
    assert message.startswith("no recipe named 'nosuch' (known: ") and "demo-spam" in message
    assert message.endswith(f"; plugin 'broken' (tuiannot.recipes, from {DIST} {VERSION}) failed to load: "
                            "ModuleNotFoundError: No module named 'tuiannot_demo_missing_dependency'; its commands "
                            "are missing")

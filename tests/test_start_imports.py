"""What an annotation command's start imports (issue 15): only the recipe module it names, and no pydantic.

Every test runs ``tuiannot`` in a fresh interpreter (the test process has every recipe imported already) and
reads back which modules that process loaded by the time the command ended."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import read_to_end, write_jsonl

PROBE = """
import json, sys
from tuiannot.cli import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "modules": sorted(m for m in sys.modules
                                                  if m.startswith(("tuiannot.recipes.", "pydantic", "typer")))}))
"""


def start(tmp_path: Path, *argv: str, cwd: Path | None = None) -> tuple[int, list[str], str]:
    """Run the command line in a fresh interpreter (standard input not a terminal, so an annotation command
    stops before the app): its exit code, the recipe/pydantic/typer modules it imported, its stderr."""
    env = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env,
                          cwd=cwd or tmp_path, stdin=subprocess.DEVNULL, timeout=120)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["code"], report["modules"], done.stderr


def recipe_modules(modules: list[str]) -> set[str]:
    return {m.rsplit(".", 1)[1] for m in modules if m.count(".") == 2 and m.startswith("tuiannot.recipes.")}


def test_every_builtin_recipe_is_mapped_to_the_module_that_registers_it() -> None:
    from tuiannot.cli.program import BUILTIN_RECIPES
    from tuiannot.recipes import REGISTRY, get_recipe

    get_recipe("textcat")  # all of them
    builtin = {name for name, func in REGISTRY.items() if func.__module__.startswith("tuiannot.recipes.")}
    assert builtin == set(BUILTIN_RECIPES)
    for name in builtin:
        assert REGISTRY[name].__module__ == f"tuiannot.recipes.{BUILTIN_RECIPES[name]}", name


@pytest.mark.parametrize(("command", "module"), [("textcat", "textcat"), ("spans", "ner"), ("review", "review")])
def test_a_recipe_command_imports_its_own_recipe_module_only(tmp_path: Path, command: str, module: str) -> None:
    db = str(tmp_path / "db.sqlite")
    argv = ["review", "nothere", "--output", "final", "--db", db] if command == "review" else [
        command, str(tmp_path / "missing.jsonl"), "--label", "A", "--db", db]
    code, modules, err = start(tmp_path, *argv)
    assert code == 1 and ("missing.jsonl" in err or "nothere" in err), err  # its recipe ran: a user error
    others = {"textcat", "image", "ner", "review", "rank", "rel", "feedback", "compare"} - {module}
    assert module in recipe_modules(modules)
    assert not recipe_modules(modules) & others


def test_the_help_and_other_commands_still_know_every_recipe(tmp_path: Path) -> None:
    code, modules, _ = start(tmp_path, "--help")
    assert code == 0
    assert {"textcat", "image", "ner", "review", "rank", "rel", "feedback", "compare"} <= recipe_modules(modules)


def test_a_config_table_of_a_recipe_not_imported_is_still_a_command(tmp_path: Path) -> None:
    """The configuration files' check knows every built-in recipe, imported or not: a project's [ner] table does
    not stop textcat; a table naming no command still does."""
    project = tmp_path / "proj"
    project.mkdir()
    source = write_jsonl(tmp_path / "s.jsonl", [{"text": "one"}])
    (project / "tuiannot.toml").write_text('[ner]\nlang = "en"\n')
    code, modules, err = start(tmp_path, "textcat", str(source), "--label", "A", "--db", str(tmp_path / "db.sqlite"),
                               cwd=project)
    assert "not a command" not in err and code != 2
    assert "ner" not in recipe_modules(modules)
    (project / "tuiannot.toml").write_text('[nerr]\nlang = "en"\n')
    code, _, err = start(tmp_path, "textcat", str(source), "--label", "A", cwd=project)
    assert code == 2 and "[nerr]: not a command" in err and "ner, " in err


def test_parsing_an_annotation_command_imports_no_pydantic(tmp_path: Path) -> None:
    """typer 0.29 coerces every parameter through a pydantic TypeAdapter (~60-90 ms a start: bench/README.md);
    plain values skip it (tuiannot.cli.coercion)."""
    code, modules, err = start(tmp_path, "textcat", str(tmp_path / "missing.jsonl"), "--label", "A,B",
                               "--db", str(tmp_path / "db.sqlite"), "--batch-size", "20", "--threshold", "0.7",
                               "--exclusive")
    assert code == 1 and "missing.jsonl" in err
    assert not [m for m in modules if m.startswith("pydantic")]
    code, modules, err = start(tmp_path, "textcat", "x", "--label", "A", "--batch-size", "0")
    assert code == 2 and "Invalid value for '--batch-size'" in err  # a bad value: Typer's own coercion, its error
    typer_coerces = pytest.importorskip("typer._coercion")  # (before 0.29: no pydantic to skip)
    assert "pydantic" in " ".join(modules) or not hasattr(typer_coerces, "build_runtime_param")


SAMPLES = [None, "", "5", "0", "-3", "007", "+4", "1e3", "0.7", "-0.5", ".5", "abc", " 5", "1_000", "99999999999",
           5, 0, -2, 0.5, 2.0, True, False, ["a", "b"], ("a",), (), b"x"]


def outcome(coercion, value, param):  # type: ignore[no-untyped-def]
    try:
        result = coercion.coerce(value, param=param, ctx=None)
        return "value", type(result), result
    except Exception as e:  # noqa: BLE001 (the error is the outcome compared)
        return "error", type(e), getattr(e, "message", str(e))


@pytest.mark.parametrize("name", ["textcat", "ner", "image", "review", "db-in", "db-out", "train", "aggregate"])
def test_the_quick_coercion_gives_what_typers_own_gives(name: str) -> None:
    """Every parameter of the command, every sample value: the same value of the same type, or the same error."""
    typer_coerces = pytest.importorskip("typer._coercion")
    if not hasattr(typer_coerces, "build_runtime_param"):
        pytest.skip("this typer has no runtime coercion (no pydantic): nothing is replaced")
    import typer

    from tuiannot.cli.coercion import QuickCoercion, install
    from tuiannot.cli.program import build_app, command_for

    command = typer.main.get_command(command_for(build_app([], [name]), [name]))
    assert install(command) > 5
    assert isinstance(command, typer.core.TyperGroup)
    params = [*command.params, *command.commands[name].params]
    checked = 0
    for param in params:
        assert isinstance(param._runtime_param, QuickCoercion)  # type: ignore[attr-defined]
        own = typer_coerces.build_runtime_param(param.type_descriptor)  # type: ignore[attr-defined]
        for value in SAMPLES:
            assert outcome(QuickCoercion(), value, param) == outcome(own, value, param), (param.name, value)
            checked += 1
    assert checked >= 5 * len(SAMPLES)


SLOW_RECIPE = '''import time
from tuiannot import recipe
from tuiannot.errors import UserError


@recipe("nap")
def nap(seconds: float):
    time.sleep(seconds)
    raise UserError(f"napped {seconds}")
'''


def run_in_pty(tmp_path: Path, *argv: str) -> tuple[int, str]:
    """``tuiannot ARGV`` in a pseudo-terminal (stderr a terminal, as a user's is): its exit code and output."""
    import pty

    environ = {k: v for k, v in os.environ.items() if not k.startswith(("_TUIANNOT", "_TYPER"))}
    environ.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "xdg"), TERM="xterm-256color",
                   COLUMNS="200")
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real command line
        os.chdir(tmp_path)
        os.execvpe(sys.executable, [sys.executable, "-m", "tuiannot", *argv], environ)
    return read_to_end(pid, fd)


def test_the_start_spinner_shows_only_on_a_slow_start(tmp_path: Path) -> None:
    """A recipe that takes a second shows "Starting NAME…" (then erases it: the error line is all that stays);
    one that returns at once never draws it (Rich's Live cost ~8 ms of every start: cli.annotate.SlowStartSpinner)."""
    import re

    recipes = tmp_path / "nap.py"
    recipes.write_text(SLOW_RECIPE, encoding="utf-8")
    code, text = run_in_pty(tmp_path, "-F", str(recipes), "nap", "1.2")
    assert code == 1 and "napped 1.2" in text, text
    assert "Starting nap: reading the source" in text, text
    shown = re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]", "", text).replace("\r", "")
    assert [line for line in shown.splitlines() if line.strip() and "Starting nap" not in line] == [
        "error: napped 1.2"], text
    code, text = run_in_pty(tmp_path, "-F", str(recipes), "nap", "0")
    assert code == 1 and "napped 0" in text and "Starting" not in text, text

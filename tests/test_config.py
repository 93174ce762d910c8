"""The configuration files: tuiannot.toml found from the working directory up, the user's config.toml, their
precedence (flags > env > project > user > built-in), their errors, ``tuiannot config``, the keymap they give,
and a real start of the app that takes its labels and database from a project's file."""

from __future__ import annotations

import json
import os
import pty
import sqlite3
import sys
from pathlib import Path
from typing import Iterator

import pytest

from .helpers import accept_one_and_quit, assert_one_line_error, run, stored, texts, wait_for_task, write_jsonl

pytestmark = pytest.mark.usefixtures("cli_env")


@pytest.fixture(autouse=True)
def _forget_the_files() -> Iterator[None]:
    """The files a command read stay known to the process (for the app's keymap): forgotten after each test."""
    from tuiannot.recipes.config import ACTIVE

    yield
    ACTIVE.clear()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder under $HOME, the working directory one folder below it; an empty user config folder."""
    folder = tmp_path / "home" / "proj"
    (folder / "work").mkdir(parents=True)
    monkeypatch.chdir(folder / "work")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return folder


def user_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "xdg" / "tuiannot" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def settings(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, dict[str, object]]:
    code, out, err = run(capsys, "config", *argv, "--json")
    assert code == 0, err
    return {row["key"]: row for row in json.loads(out)["settings"]}


def test_a_projects_file_gives_a_commands_options_and_a_db_relative_to_it(
        capsys: pytest.CaptureFixture[str], project: Path) -> None:
    config = project / "tuiannot.toml"
    config.write_text('db = "data/answers.db"\n\n[textcat]\nlabel = ["POS", "NEG"]\nexclusive = true\n')
    shared = settings(capsys)
    assert shared["db"] == {"key": "db", "value": str(project / "data" / "answers.db"), "origin": f"{config}:1"}
    options = settings(capsys, "textcat")
    assert options["label"] == {"key": "label", "value": "POS,NEG", "origin": f"{config}:4"}
    assert options["exclusive"]["value"] is True and options["exclusive"]["origin"] == f"{config}:5"
    assert options["db"]["value"] == str(project / "data" / "answers.db")
    assert options["threshold"] == {"key": "threshold", "value": 0.5, "origin": "built-in"}
    code, out, _ = run(capsys, "config", "textcat")
    assert code == 0 and f"{config}:4" in out and "POS,NEG" in out


def test_precedence_flag_over_env_over_project_over_user(
        capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database db-in writes into: each layer in turn, the one above it then added."""
    answers = write_jsonl(tmp_path / "in.jsonl", [{"text": "one", "answer": "accept"}])
    user_config(tmp_path, 'db = "user.db"\nsession = "from-user"\n')
    user_db = tmp_path / "xdg" / "tuiannot" / "user.db"

    def imported_into(*argv: str) -> None:
        code, _, err = run(capsys, "db-in", "ds", answers, *argv)
        assert code == 0, err

    imported_into()
    assert len(stored(user_db, "ds")) == 1
    assert settings(capsys)["session"]["value"] == "from-user"
    (project / "tuiannot.toml").write_text('db = "project.db"\n')
    imported_into()
    assert len(stored(project / "project.db", "ds")) == 1
    assert settings(capsys)["db"]["origin"] == f"{project / 'tuiannot.toml'}:1"
    assert settings(capsys)["session"]["value"] == "from-user"  # a key the project's file leaves to the user's
    monkeypatch.setenv("TUIANNOT_DB", str(tmp_path / "env.db"))
    imported_into()
    assert len(stored(tmp_path / "env.db", "ds")) == 1
    assert settings(capsys)["db"]["origin"] == "env TUIANNOT_DB"
    imported_into("--db", str(tmp_path / "flag.db"))
    assert len(stored(tmp_path / "flag.db", "ds")) == 1
    assert [len(stored(p, "ds")) for p in (user_db, project / "project.db", tmp_path / "env.db")] == [1, 1, 1]


def test_a_commands_table_beats_the_top_level_and_a_flag_beats_both(
        capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path) -> None:
    (project / "tuiannot.toml").write_text('db = "shared.db"\n[db-in]\ndb = "only-db-in.db"\nanswer = "reject"\n')
    answers = write_jsonl(tmp_path / "in.jsonl", [{"text": "one"}])
    assert run(capsys, "db-in", "ds", answers)[0] == 0
    assert [a["answer"] for a in stored(project / "only-db-in.db", "ds")] == ["reject"]
    assert run(capsys, "db-in", "ds2", answers, "--answer", "accept")[0] == 0
    assert [a["answer"] for a in stored(project / "only-db-in.db", "ds2")] == ["accept"]
    assert not (project / "shared.db").exists()


def test_the_search_stops_at_home_and_the_user_file_follows_xdg(
        capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path) -> None:
    (tmp_path / "tuiannot.toml").write_text('db = "above-home.db"\n')  # $HOME's parent: never read
    assert settings(capsys)["db"]["origin"] == "built-in"
    path = user_config(tmp_path, 'llm = "http://127.0.0.1:8080/v1"\n')
    llm = settings(capsys)["llm"]
    assert llm == {"key": "llm", "value": "http://127.0.0.1:8080/v1", "origin": f"{path}:1"}


@pytest.mark.parametrize(("text", "needles"), [
    ("[textcat]\nexclusiv = true\n", [":2: [textcat] exclusiv: not an option of textcat (options: label, "]),
    ("db = 3\n", [":1: db: expected a string", "not 3"]),
    ("[textcat]\nbatch-size = \"10\"\n", [":2: [textcat] batch-size: expected an integer, not '10'"]),
    ("[textcat]\nexclusive = 1\n", [":2: [textcat] exclusive: expected a boolean"]),
    ("[textcat]\ntarget = 0\n", [":2: [textcat] target: ", "greater than or equal to 1"]),
    ("[textcats]\nlabel = \"A\"\n", [":1: [textcats]: not a command (tables name commands: "]),
    ("colour = \"red\"\n", [":1: colour: not a setting (settings: db, session, keymap"]),
    ("db = \"x\n", [": not valid TOML"]),
    ("[keymap]\naccept = 1\n", [":2: [keymap] accept: expected keys as a string"]),
])
def test_a_mistake_is_one_line_naming_the_file_key_and_what_is_allowed_and_exit_2(
        capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path, text: str, needles: list[str]) -> None:
    (project / "tuiannot.toml").write_text(text)
    source = write_jsonl(tmp_path / "s.jsonl", texts(1))
    for argv in (["textcat", str(source), "--label", "A"], ["config"]):
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == ""
        assert_one_line_error(err, str(project / "tuiannot.toml"), *needles)
    assert not (tmp_path / "home" / ".tuiannot").exists()  # nothing ran: no database was made


def test_config_checks_every_table_and_names_an_unknown_command(
        capsys: pytest.CaptureFixture[str], project: Path) -> None:
    (project / "tuiannot.toml").write_text("[ner]\nlabel = \"PER\"\n[textcat]\nthreshold = \"high\"\n")
    code, _, err = run(capsys, "config")
    assert code == 2
    assert_one_line_error(err, ":4: [textcat] threshold: expected a number")
    (project / "tuiannot.toml").write_text("[ner]\nlabel = \"PER\"\n")
    assert settings(capsys, "ner")["label"]["value"] == "PER"
    code, _, err = run(capsys, "config", "nosuch")
    assert code == 2
    assert_one_line_error(err, "no command named 'nosuch'")


def test_output_is_sanitised_and_a_urls_password_hidden(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    (project / "tuiannot.toml").write_text('db = "postgresql://ann:s3cret@host/db"\nsession = "e\\u001b[31mvil"\n')
    code, out, _ = run(capsys, "config")
    assert code == 0 and "s3cret" not in out and "\x1b" not in out
    assert "s3cret" not in run(capsys, "config", "--json")[1]


def test_the_readmes_example_is_a_valid_configuration(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    from .helpers import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("## Project configuration", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    (project / "tuiannot.toml").write_text(example)
    assert settings(capsys)["db"]["value"] == str(project / "annotations" / "tuiannot.db")
    assert settings(capsys, "ner")["label"]["value"] == "PERSON,ORG,PLACE"
    assert settings(capsys, "db-out")["format"]["value"] == "jsonl"


def test_no_command_reads_no_file(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    """--help and --version work beside a broken file (a command named is refused: see above)."""
    (project / "tuiannot.toml").write_text("db = 3\n")
    assert run(capsys, "--help")[0] == 0
    assert run(capsys, "--version")[0] == 0
    assert run(capsys, "stats")[0] == 2


# -- the keymap ---------------------------------------------------------------------------------------------------
def test_which_keymap_wins(capsys: pytest.CaptureFixture[str], project: Path, tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """$TUIANNOT_KEYMAP over the configuration's keymap over ~/.tuiannot/keymap.json; errors name the file."""
    from tuiannot.recipes.config import ACTIVE, config_keymap, load
    from tuiannot.screens import app as app_module

    home_json = tmp_path / "home" / ".tuiannot" / "keymap.json"
    home_json.parent.mkdir(parents=True)
    home_json.write_text('{"accept": "h"}')
    config = project / "tuiannot.toml"
    config.write_text('[keymap]\naccept = "y"\nreject = ["n", "N"]\n')

    def keymap() -> dict[str, str]:
        ACTIVE[:] = load()
        monkeypatch.setattr(app_module, "CONFIG_KEYMAP", config_keymap())
        loaded, problem = app_module.load_keymap()
        assert problem is None
        return loaded

    assert keymap() == {"accept": "y", "reject": "n,N"}
    assert settings(capsys)["keymap"]["origin"] == f"{config}:1"
    (project / "keys.json").write_text('{"accept": "k"}')
    config.write_text('keymap = "../keys.json"\n')  # relative to the file: the project's parent
    (project.parent / "keys.json").write_text('{"accept": "p"}')
    assert keymap() == {"accept": "p"}
    env_json = tmp_path / "env.json"
    env_json.write_text('{"accept": "e"}')
    monkeypatch.setenv("TUIANNOT_KEYMAP", str(env_json))
    assert keymap() == {"accept": "e"}
    assert settings(capsys)["keymap"]["origin"] == "env TUIANNOT_KEYMAP"
    monkeypatch.delenv("TUIANNOT_KEYMAP")
    config.unlink()
    assert keymap() == {"accept": "h"}  # no configuration: the JSON keymap, as ever
    config.write_text('[keymap]\nacept = "y"\n')
    ACTIVE[:] = load()
    monkeypatch.setattr(app_module, "CONFIG_KEYMAP", config_keymap())
    problem = app_module.keymap_problem(["classification"])
    assert problem is not None and problem.startswith(f"{config}:1: unknown binding id acept")


async def test_the_app_takes_the_configurations_keymap(project: Path, tmp_path: Path, db_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from tuiannot.recipes.config import ACTIVE, config_keymap, load
    from tuiannot.screens import app as app_module

    from .helpers import make_app

    (project / "tuiannot.toml").write_text('[keymap]\naccept = "y"\n')
    ACTIVE[:] = load()
    monkeypatch.setattr(app_module, "CONFIG_KEYMAP", config_keymap())
    app = make_app(write_jsonl(tmp_path / "s.jsonl", texts(2)), db_path, labels="POS")
    async with app.run_test() as pilot:
        await wait_for_task(pilot, text="text number 0")
        await pilot.press("a")  # moved away: does nothing
        await pilot.press("y")
        await wait_for_task(pilot, text="text number 1")
    assert [a["answer"] for a in stored(db_path, "s")] == ["accept"]


# -- a real start ---------------------------------------------------------------------------------------------------
def test_a_real_start_takes_its_label_and_database_from_the_projects_file(tmp_path: Path) -> None:
    folder = tmp_path / "home" / "proj"
    (folder / "work").mkdir(parents=True)
    (folder / "tuiannot.toml").write_text('db = "answers.db"\nsession = "dana"\n[textcat]\nlabel = ["SPORT"]\n')
    write_jsonl(folder / "work" / "news.jsonl", [{"text": "first story"}, {"text": "second story"}])
    env = {**os.environ, "TERM": "xterm-256color", "HOME": str(tmp_path / "home"), "USER": "carol",
           "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "COLUMNS": "100", "LINES": "30"}
    env.pop("TUIANNOT_DB", None)
    env.pop("TUIANNOT_KEYMAP", None)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real command, in the project's sub-folder
        os.chdir(folder / "work")
        os.execvpe(sys.executable, [sys.executable, "-m", "tuiannot", "textcat", "news.jsonl"], env)
    assert accept_one_and_quit(pid, fd, b"first story", b"second story") == 0
    with sqlite3.connect(folder / "answers.db") as conn:
        rows = list(conn.execute("SELECT answer, content FROM answers"))
    assert [(answer, json.loads(content)["label"], json.loads(content)["_session_id"])
            for answer, content in rows] == [("accept", "SPORT", "news-dana")]


def test_a_theme_out_of_the_list_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_jsonl(tmp_path / "t.jsonl", [{"text": "one"}])
    code, _, err = run(capsys, "textcat", source, "--label", "A", "--theme", "[red]blue", "--db", tmp_path / "x.db")
    assert code == 1
    assert_one_line_error(err, "--theme must be one of dark, light, not '[red]blue'")


def test_the_configuration_theme_reaches_the_annotation_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tuiannot.toml").write_text('theme = "light"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "config", "textcat", "--json")
    assert code == 0, err
    assert "light" in out and "not used by any command" not in out

"""Recipes: the registry, user recipe files, and every callback a recipe may return."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

import tuiannot
from tuiannot.controller import AnswerRejected, Controller, answer_all
from tuiannot.errors import UserError
from tuiannot.recipes import Components, get_recipe, load_recipe_file, parse_labels
from tuiannot.screens.widgets.task_text import wrap_offsets
from tuiannot.sources import Source
from tuiannot.stream import Stream

from .helpers import make_controller, stored, texts, write_jsonl

pytestmark = pytest.mark.usefixtures("cli_env")  # the recipes its -F files register are forgotten after each test


def components(source: Path, **extra) -> Components:
    stream = Stream(Source(source)).map(lambda t: {**t, "label": "SPAM"})
    return Components.from_value({"dataset": "ds", "stream": stream, "view_id": "classification", **extra})


def test_textcat_is_registered_and_builds_its_components(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "news.jsonl", texts(2))
    binary = Components.from_value(get_recipe("textcat")(str(source), label="SPORT"))
    assert (binary.dataset, binary.view_id, binary.labels) == ("news", "classification", ["SPORT"])
    choice = Components.from_value(get_recipe("textcat")(str(source), label="A,B", exclusive=True,
                                                          dataset="mine", exclude="x,y"))
    assert (choice.dataset, choice.view_id, choice.config["choice_style"], choice.exclude) == (
        "mine", "choice", "single", ["x", "y"])
    first = next(iter(choice.stream))
    assert first["options"] == [{"id": "A", "text": "A"}, {"id": "B", "text": "B"}]


def test_textcat_keeps_a_gold_label_in_meta(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "sst.jsonl", [{"text": "great", "label": "1"}])
    task = next(iter(Components.from_value(get_recipe("textcat")(str(source), label="POS,NEG")).stream))
    assert "label" not in task and task["meta"]["label"] == "1"


def test_bad_recipe_arguments_and_results(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "d.jsonl", texts(1))
    with pytest.raises(UserError, match="at least one label"):
        get_recipe("textcat")(str(source), label=" , ")
    with pytest.raises(UserError, match="at most 10"):
        get_recipe("textcat")(str(source), label=",".join(f"L{i}" for i in range(11)))
    with pytest.raises(UserError, match="no recipe named"):
        get_recipe("nope")
    with pytest.raises(UserError, match="unknown view_id"):
        Components.from_value({"dataset": "d", "stream": [], "view_id": "html"})
    with pytest.raises(UserError, match="returned no stream"):
        Components.from_value({"dataset": "d", "view_id": "choice"})
    with pytest.raises(UserError, match="unknown components"):
        Components.from_value({"dataset": "d", "stream": [], "view_id": "choice", "colour": 1})
    with pytest.raises(UserError, match="must return a dict"):
        Components.from_value(42)


def test_parse_labels(tmp_path: Path) -> None:
    assert parse_labels("POS, NEG,,POS") == ["POS", "NEG"]
    labels = tmp_path / "labels.txt"
    labels.write_text("A\nB\n\nA\n")
    assert parse_labels(str(labels)) == ["A", "B"]


def test_user_recipe_file_registers_and_runs(tmp_path: Path, db_path: Path) -> None:
    recipe_file = tmp_path / "my_recipes.py"
    recipe_file.write_text(textwrap.dedent('''
        from tuiannot import recipe
        from tuiannot.sources import Source
        from tuiannot.stream import Stream

        @recipe("spam-check", help="Is it spam?")
        def spam_check(source: str, dataset: str = "spam"):
            stream = Stream(Source(source)).map(lambda t: {**t, "label": "SPAM"})
            return {"dataset": dataset, "stream": stream, "view_id": "classification", "labels": ["SPAM"]}
    '''))
    assert load_recipe_file(recipe_file) == ["spam-check"]
    source = write_jsonl(tmp_path / "msgs.jsonl", texts(3))
    c = Components.from_value(get_recipe("spam-check")(str(source)))
    controller = Controller(c, tuiannot.connect(db_path), "bob").start()
    assert answer_all(controller, lambda task: ("accept", None)) == 3
    controller.close()
    assert [r["label"] for r in stored(db_path, "spam")] == ["SPAM"] * 3


def test_recipe_file_errors_are_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import nothing_by_this_name\n")
    with pytest.raises(UserError, match="broken.py: error while importing: ModuleNotFoundError"):
        load_recipe_file(broken)
    with pytest.raises(UserError, match="no such recipe file"):
        load_recipe_file(tmp_path / "absent.py")


def test_validate_answer_refuses_and_nothing_is_stored(tmp_path: Path, db_path: Path) -> None:
    def validate(task):
        if task["answer"] == "reject":
            raise ValueError("say why you reject it first")

    source = write_jsonl(tmp_path / "d.jsonl", texts(2))
    controller = Controller(components(source, validate_answer=validate), tuiannot.connect(db_path), "al").start()
    controller.next_task()
    with pytest.raises(AnswerRejected, match="say why"):
        controller.answer("reject")
    assert stored(db_path, "ds") == []
    controller.answer("accept")  # the same task can still be answered
    assert [r["answer"] for r in stored(db_path, "ds")] == ["accept"]


def test_before_db_changes_what_is_stored(tmp_path: Path, db_path: Path) -> None:
    def before_db(tasks):
        return [{**t, "meta": {"reviewed": True}} for t in tasks]

    source = write_jsonl(tmp_path / "d.jsonl", texts(1))
    controller = Controller(components(source, before_db=before_db), tuiannot.connect(db_path), "al").start()
    answer_all(controller, lambda t: ("accept", None))
    assert stored(db_path, "ds")[0]["meta"] == {"reviewed": True}


def test_update_gets_batches_off_the_key_path_and_on_exit_runs(tmp_path: Path, db_path: Path) -> None:
    batches: list[list[str]] = []
    exits: list[int] = []

    def update(tasks):
        time.sleep(0.3)  # a slow model must not delay answering
        batches.append([t["answer"] for t in tasks])

    source = write_jsonl(tmp_path / "d.jsonl", texts(5))
    controller = Controller(components(source, update=update, batch_size=2,
                                       on_exit=lambda c: exits.append(c.session_answers),
                                       progress=lambda c: 0.25),
                            tuiannot.connect(db_path), "al").start()
    started = time.monotonic()
    answer_all(controller, lambda t: ("reject", None))
    assert time.monotonic() - started < 0.3  # two batches went to the update without waiting for it
    assert controller.source_progress == 0.25
    controller.close()  # flushes the last, partial batch
    assert sorted(len(b) for b in batches) == [1, 2, 2]
    assert exits == [5]


def test_a_step_raising_valueerror_is_a_warning(tmp_path: Path, db_path: Path) -> None:
    def step(task):
        if "1" in task["text"]:
            raise ValueError("number one is not allowed")
        return {**task, "label": "X"}

    source = write_jsonl(tmp_path / "d.jsonl", texts(3))
    stream = Stream(Source(source)).map(step)
    c = Components.from_value({"dataset": "ds", "stream": stream, "view_id": "classification"})
    controller = Controller(c, tuiannot.connect(db_path), "al").start()
    assert answer_all(controller, lambda t: ("accept", None)) == 2
    assert controller.close().warnings == [f"{source}:2: number one is not allowed"]


def test_controller_undo_without_ui(tmp_path: Path, db_path: Path) -> None:
    controller = make_controller(write_jsonl(tmp_path / "d.jsonl", texts(3)), db_path, labels="A")
    assert controller.undo() is None
    controller.next_task()
    controller.answer("accept")
    controller.next_task()
    restored = controller.undo()
    assert restored["answer"] == "accept" and restored["text"] == "text number 0"
    controller.answer("reject")
    assert controller.next_task()["text"] == "text number 1"  # the task stepped back over
    controller.answer("accept")
    assert controller.next_task()["text"] == "text number 2"
    assert [r["answer"] for r in stored(db_path, "d")] == ["reject", "accept"]


def test_wrap_offsets_keeps_every_character_and_fits_the_width() -> None:
    from rich.cells import cell_len

    text = "short line\n\n" + "a" * 250 + " tail " + "日本語" * 60 + "\nend"
    for width in (2, 7, 40, 100):  # (one cell cannot hold a two-cell character)
        lines = wrap_offsets(text, width)
        assert all(cell_len(text[s:e].rstrip(" ")) <= width for s, e in lines)
        covered = "".join(text[s:e] for s, e in lines)
        assert covered == text.replace("\n", "")  # nothing lost, nothing repeated

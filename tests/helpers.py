"""What the test modules share: source files, answers written straight into a database, the real app built
from a recipe, the command line run in-process, and one way to wait for what the app shows.

Plain functions and constants; the fixtures are in conftest.py. No test module imports another.
"""

from __future__ import annotations

import functools
import json
import os
import select
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import pytest

import tuiannot
from tuiannot.controller import Controller
from tuiannot.recipes import Components, get_recipe

if TYPE_CHECKING:
    from spacy.language import Language
    from textual.pilot import Pilot
    from textual.screen import Screen

    from tuiannot.screens.app import AnnotationApp

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"

TIMEOUT = 15.0
"""Seconds a wait for the app gives up after: generous, the machines running the tests may be busy."""


# -- sources and databases --------------------------------------------------------------------------------------
def write_jsonl(path: Path, rows: Iterable[Any]) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n")
    return path


def texts(n: int, prefix: str = "text") -> list[dict[str, Any]]:
    return [{"text": f"{prefix} number {i}"} for i in range(n)]


def seed(db_path: Path, dataset: str, answers: Iterable[dict[str, Any]]) -> None:
    """Write answers into ``dataset`` as they are, without the app (a round of annotation already done)."""
    with tuiannot.connect(db_path) as db:
        db.add_answers(dataset, answers)


def stored(db_path: Path, dataset: str) -> list[dict[str, Any]]:
    with tuiannot.connect(db_path) as db:
        return list(db.answers(dataset))


def is_postgres(location: Path | str) -> bool:
    """Whether a test's ``database`` fixture is the PostgreSQL one (else a SQLite file)."""
    return str(location).startswith(("postgresql://", "postgres://"))


def raw_sql(location: Path | str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """A query straight to the database, around tuiannot (``?`` placeholders), on either backend."""
    if not is_postgres(location):
        import sqlite3

        conn = sqlite3.connect(location)
        try:
            rows = conn.execute(query, params).fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()
    import psycopg

    from tuiannot.storage.postgres_connect import parse_url

    url, _, extra = parse_url(str(location))
    with psycopg.connect(url.reveal(), **extra) as pg:
        cursor = pg.execute(query.replace("?", "%s"), params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description is not None else []


# -- answers as the recipes store them --------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def blank_nlp(lang: str = "en") -> "Language":
    """``spacy.blank(lang)``, made once: its tokenizer is what the tests need (a blank pipeline costs ~0.1 s)."""
    import spacy

    return spacy.blank(lang)


def tokens(text: str, ws: bool = True) -> list[dict[str, Any]]:
    """Prodigy token dicts, as the ner recipes store them (``ws`` left out as --teach questions leave it out)."""
    return [{"text": t.text, "start": t.idx, "end": t.idx + len(t.text), "id": t.i,
             **({"ws": bool(t.whitespace_)} if ws else {})} for t in blank_nlp().make_doc(text)]


CHOICE = [{"id": "POS", "text": "POS"}, {"id": "NEG", "text": "NEG"}, {"id": "NEU", "text": "NEU"}]


def span_answer(text: str, spans: list[tuple[int, int, str]], answer: str = "accept", view: str = "ner_manual",
                session: str = "alice", with_tokens: bool = True, timestamp: int = 1_700_000_000,
                **extra: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "text": text,
        "spans": [{"start": s, "end": e, "label": label} for s, e, label in spans],
        "answer": answer, "_view_id": view, "_session_id": f"ds-{session}", "_annotator_id": f"ds-{session}",
        "_timestamp": timestamp, **extra}
    if with_tokens:
        task["tokens"] = tokens(text)
        for span in task["spans"]:
            starts = {t["start"]: t["id"] for t in task["tokens"]}
            ends = {t["end"]: t["id"] for t in task["tokens"]}
            if span["start"] in starts and span["end"] in ends:
                span["token_start"], span["token_end"] = starts[span["start"]], ends[span["end"]]
    return task


def choice_answer(text: str, accept: list[str], answer: str = "accept", session: str = "alice",
                  timestamp: int = 1_700_000_000, options: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"text": text, "options": options or CHOICE, "accept": accept, "answer": answer, "_view_id": "choice",
            "_session_id": f"ds-{session}", "_annotator_id": f"ds-{session}", "_timestamp": timestamp,
            "config": {"choice_style": "multiple"}}


def binary_answer(text: str, label: str, answer: str = "accept", session: str = "alice",
                  timestamp: int = 1_700_000_000) -> dict[str, Any]:
    return {"text": text, "label": label, "answer": answer, "_view_id": "classification",
            "_session_id": f"ds-{session}", "_annotator_id": f"ds-{session}", "_timestamp": timestamp}


def vote(text: str, who: str, answer: str, label: str = "POS", **extra: Any) -> dict[str, Any]:
    """One annotator's yes/no answer in dataset 'ds', as the team reports read it."""
    return {"text": text, "label": label, "answer": answer, "_view_id": "classification",
            "_session_id": f"ds-{who}", "_seconds": 2.0, **extra}


def seed_votes(db_path: Path) -> None:
    """Dataset 'ds': 6 yes/no items; alice right, bob wrong on item 2, carol says yes to everything."""
    rows = []
    for i, truth in enumerate(["accept", "reject", "accept", "accept", "reject", "accept"]):
        text = f"item {i}"
        rows.append(vote(text, "alice", truth))
        rows.append(vote(text, "bob", truth if i != 2 else "reject"))
        rows.append(vote(text, "carol", "accept"))
    seed(db_path, "ds", rows)


# -- the app, built from a recipe -------------------------------------------------------------------------------
def recipe_controller(recipe: str, db_path: Path, *args: Any, session: str = "alice", strict: bool = False,
                      target: int | None = None, **recipe_args: Any) -> Controller:
    """A started controller over what ``recipe(*args, **recipe_args)`` returns, answering into ``db_path``."""
    components = Components.from_value(get_recipe(recipe)(*args, **recipe_args), recipe)
    return Controller(components, tuiannot.connect(db_path), session, strict=strict, target=target).start()


def ignore_all(controller: Controller) -> list[str]:
    """The texts ``controller`` serves, each answered "ignore", until its stream ends; then the controller and its
    database closed."""
    try:
        served = []
        while (task := controller.next_task(timeout=10)) is not None:
            served.append(task["text"])
            controller.answer("ignore")
        return served
    finally:
        controller.close()
        controller.db.close()


def recipe_app(recipe: str, db_path: Path, *args: Any, **options: Any) -> "AnnotationApp":
    """The real app over :func:`recipe_controller` (run it headless with ``app.run_test()``)."""
    from tuiannot.screens.app import AnnotationApp

    return AnnotationApp(recipe_controller(recipe, db_path, *args, **options))


def make_controller(source: Path, db_path: Path, labels: str = "POS,NEG", session: str = "alice",
                    strict: bool = False, **recipe_args: Any) -> Controller:
    return recipe_controller("textcat", db_path, str(source), session=session, strict=strict, label=labels,
                             **recipe_args)


def make_app(source: Path, db_path: Path, labels: str = "POS,NEG", session: str = "alice",
             strict: bool = False, **recipe_args: Any) -> "AnnotationApp":
    return recipe_app("textcat", db_path, str(source), session=session, strict=strict, label=labels, **recipe_args)


# -- waiting for the app ----------------------------------------------------------------------------------------
async def wait_until(pilot: "Pilot", condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    """Let the app settle until ``condition()`` holds (checked after each pause); fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")


async def wait_for_task(pilot: "Pilot", screen: "Screen | type[Screen] | None" = None, *, text: str | None = None,
                        predicate: Callable[[Any], bool] | None = None, timeout: float = TIMEOUT) -> Any:
    """Let the app settle until ``screen`` is on top and shows a task, and return the screen.

    ``screen`` is the app's annotation screen unless given; a screen class means whichever screen of that
    class is on top (an editor the app pushes). With ``text`` the task must have that text, with
    ``predicate`` ``predicate(screen)`` must hold too. With neither, the summary screen also ends the wait
    (there is nothing left to show): the caller checks which it expected.
    """
    from tuiannot.screens.done import DoneScreen

    app = pilot.app

    def target() -> Any:
        if screen is None:
            return app.annotation_screen
        if isinstance(screen, type):
            return app.screen if isinstance(app.screen, screen) else None
        return screen

    def shown() -> bool:
        s = target()
        if (s is not None and app.screen is s and not s.waiting and s.current_task is not None
                and (text is None or s.current_task["text"] == text) and (predicate is None or predicate(s))):
            return True
        return text is None and predicate is None and isinstance(app.screen, DoneScreen)

    where = "the annotation screen" if screen is None else getattr(screen, "__name__", type(screen).__name__)
    await wait_until(pilot, shown, f"{'a task' if text is None else repr(text)} on {where}", timeout)
    found = target()
    return found if found is not None else app.annotation_screen


def image_drawn(screen: Any) -> bool:
    """An image screen's picture is drawn (fitted to the view, no message in its place)."""
    from tuiannot.screens.widgets.image_view import ImageView

    view = screen.query_one(ImageView)
    return view._fit is not None and not view.message


async def wait_done(pilot: "Pilot", timeout: float = TIMEOUT) -> None:
    """Let the app settle until the summary screen is shown."""
    from tuiannot.screens.done import DoneScreen

    await wait_until(pilot, lambda: isinstance(pilot.app.screen, DoneScreen), "the summary screen", timeout)


# -- the command line -------------------------------------------------------------------------------------------
def run(capsys: pytest.CaptureFixture[str], *argv: Any) -> tuple[int, str, str]:
    """``tuiannot ARGV...`` in-process: the exit code (0 for success), stdout and stderr of this call only."""
    from tuiannot import cli

    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else code), out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: Any) -> Any:
    """:func:`run` of a command that must succeed (``--json`` in ``argv``): its report parsed."""
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    return json.loads(out)


def assert_one_line_error(err: str, *needles: str) -> None:
    assert err.endswith("\n") and err.count("\n") == 1, repr(err)
    assert err.startswith("error: "), repr(err)
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)


def warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning: ")]



# -- a real terminal (a pty) ------------------------------------------------------------------------------------
def readable(fd: int, timeout: float) -> bool:
    """Whether ``fd`` has something to read within ``timeout`` s: poll(), which, unlike select(), takes a
    descriptor past 1024 (a long test session has opened that many)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(poller.poll(timeout * 1000))


def read_until(fd: int, needle: bytes, seen: bytearray, timeout: float = 20.0) -> None:
    """Read the pty ``fd`` into ``seen`` until ``needle`` is in it (an AssertionError with the screen's end if it
    never comes; returns early when the child closed the terminal)."""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} never appeared; the screen had {bytes(seen[-2000:])!r}")
        if readable(fd, 0.1):
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            seen.extend(chunk)


def accept_one_and_quit(pid: int, fd: int, first: bytes, second: bytes) -> int:
    """In the annotation app the child ``pid`` runs on the pty ``fd``: wait for the first task's text, accept it
    (``a``), wait for the second's, quit (``q``) and wait for the summary; then reap the child (its exit code) and
    close the pty, whatever happened."""
    seen = bytearray()
    try:
        read_until(fd, first, seen)
        os.write(fd, b"a")
        read_until(fd, second, seen)
        os.write(fd, b"q")
        read_until(fd, b"Saved 1 answer", seen)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status)


def read_to_end(pid: int, fd: int, timeout: float = 60.0) -> tuple[int, str]:
    """Everything the child ``pid`` writes to its pty ``fd`` until it ends (killed after ``timeout`` s of
    silence), and its exit code; the pty is closed."""
    raw = b""
    while True:
        if not readable(fd, timeout):
            os.kill(pid, 9)
            raise AssertionError(f"no end; the terminal had {raw!r}")
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        raw += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), raw.decode("utf-8", errors="replace")


# -- how work grows (not how fast this machine is) -------------------------------------------------------------
def growth(run_small: Callable[[], Any], run_large: Callable[[], Any], tries: int = 3) -> float:
    """How many times longer ``run_large`` takes than ``run_small``, each the best of ``tries`` runs, measured one
    after the other: a ratio that holds on a slow or busy machine where a time would not (the project's speed goals
    live in bench/, not in timed tests). Linear work eight times larger gives ~8, quadratic ~64."""
    def best(run: Callable[[], Any]) -> float:
        times = []
        for _ in range(tries):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return min(times)

    return best(run_large) / max(best(run_small), 1e-6)

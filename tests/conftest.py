"""Shared fixtures: a fresh database file per test, small source files, the real app headless."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import pytest

import tuiannot
from tuiannot.controller import Controller
from tuiannot.recipes import Components, get_recipe

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the real ~/.tuiannot or picks up a user's keymap."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TUIANNOT_DB", raising=False)
    monkeypatch.delenv("TUIANNOT_KEYMAP", raising=False)
    monkeypatch.setenv("USER", "tester")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "answers.db"


def write_jsonl(path: Path, rows: Iterable[Any]) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n")
    return path


def texts(n: int, prefix: str = "text") -> list[dict[str, Any]]:
    return [{"text": f"{prefix} number {i}"} for i in range(n)]


def make_controller(source: Path, db_path: Path, labels: str = "POS,NEG", session: str = "alice",
                    strict: bool = False, **recipe_args: Any) -> Controller:
    components = Components.from_value(get_recipe("textcat")(str(source), label=labels, **recipe_args))
    return Controller(components, tuiannot.connect(db_path), session, strict=strict).start()


def make_app(source: Path, db_path: Path, labels: str = "POS,NEG", session: str = "alice",
             strict: bool = False, **recipe_args: Any):
    from tuiannot.screens.app import AnnotationApp

    return AnnotationApp(make_controller(source, db_path, labels, session, strict, **recipe_args))


def stored(db_path: Path, dataset: str) -> list[dict[str, Any]]:
    with tuiannot.connect(db_path) as db:
        return list(db.answers(dataset))

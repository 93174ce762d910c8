"""Shared fixtures: a fresh database file per test, no real home directory, the command line made quiet and wide.

Plain helpers (source files, seeded databases, the real app headless, waiting for it) are in helpers.py.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Iterator

import pytest


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


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """For modules that run the command line in-process (``pytestmark = pytest.mark.usefixtures("cli_env")``).

    User recipes loaded with -F register globally: forget them after each test. Rich wraps at 80 columns
    when not on a terminal; most tests look at content, not at wrapping, so the output is made wide. Standard
    input is not a terminal."""
    from tuiannot import cli
    from tuiannot.recipes import REGISTRY, get_recipe

    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a TTY
    get_recipe("textcat")  # the built-in recipes register on first use: keep them
    registry = dict(REGISTRY)
    commands = list(cli.app.registered_commands)
    yield
    REGISTRY.clear()
    REGISTRY.update(registry)
    cli.app.registered_commands[:] = commands

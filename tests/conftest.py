"""Shared fixtures: a fresh database file per test, no real home directory, the command line made quiet and wide.

``database`` is the storage contract's fixture: each test that takes it runs twice, on a SQLite file and on a
PostgreSQL schema of its own (made by the first connection, dropped afterwards), on the server
``$TUIANNOT_TEST_POSTGRES`` names (default: the one these machines run, ``postgresql://postgres@127.0.0.1:5432/
test``). Without a server (or psycopg) the PostgreSQL half is skipped with the reason, except under CI
(``CI=true``), where it fails: a green CI has run both.

Plain helpers (source files, seeded databases, the real app headless, waiting for it) are in helpers.py.
"""

from __future__ import annotations

import functools
import io
import os
import sys
import uuid
from pathlib import Path
from typing import Iterator

import pytest

POSTGRES = os.environ.get("TUIANNOT_TEST_POSTGRES") or "postgresql://postgres@127.0.0.1:5432/test"


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


@functools.lru_cache(maxsize=1)
def _postgres_missing() -> str | None:
    """Why the PostgreSQL half of the contract cannot run here (None: it can)."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    try:
        psycopg.connect(POSTGRES, connect_timeout=5).close()
    except psycopg.Error as e:
        from tuiannot.storage import shown_location

        return f"no PostgreSQL server at {shown_location(POSTGRES)} ({' '.join(str(e).split())})"
    return None


def _drop_schema(schema: str) -> None:
    import psycopg

    from tuiannot.storage.postgres_connect import close_all

    close_all()  # this process's idle connections (other processes of the test are gone)
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '20s'")
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose schema is this test's own (created by the first connection, dropped after)."""
    missing = _postgres_missing()
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs the storage contract on PostgreSQL too: {missing}")
        pytest.skip(missing)
    schema = f"test_{uuid.uuid4().hex[:16]}"
    yield f"{POSTGRES}{'&' if '?' in POSTGRES else '?'}schema={schema}"
    _drop_schema(schema)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a contract test's database is: a fresh SQLite file, then a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "answers.db")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def quick_llm_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """LLM client back-off of milliseconds: the retries are tested, not their waits."""
    from tuiannot.llm import client

    monkeypatch.setattr(client, "BACKOFF", 0.01)

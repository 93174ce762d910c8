"""End to end in a real pseudo-terminal: the installed command, real keys, the shell summary, kill -9."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import sqlite3
import struct
import sys
import termios
import fcntl
import json
import time
from pathlib import Path

import pytest

from .helpers import texts, write_jsonl

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


class Terminal:
    def __init__(self, args: list[str], env: dict[str, str], cols: int = 100, rows: int = 30) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the real command
            os.execvpe(sys.executable, [sys.executable, "-m", "tuiannot", *args], env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.raw = b""

    def read(self, timeout: float = 0.05) -> None:
        while True:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                return
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.raw += chunk

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw.decode("utf-8", errors="replace"))

    def wait_for(self, needle: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read()
            if needle in self.text:
                return
        raise AssertionError(f"{needle!r} never appeared; screen had: {self.text[-2000:]!r}")

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def wait_exit(self, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read()
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.read()
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError("the app did not exit")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "TERM": "xterm-256color", "HOME": str(tmp_path / "home"), "USER": "carol",
            "TUIANNOT_DB": str(tmp_path / "t.db"), "COLUMNS": "100", "LINES": "30"}


def answers(db: str) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT answer, json_extract(content, '$.text') FROM answers ORDER BY id"))


def test_annotate_quit_and_the_shell_summary(tmp_path: Path, env: dict[str, str]) -> None:
    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": "alpha first"}, "{broken", {"text": "beta second"}])
    term = Terminal(["textcat", str(source), "--label", "POS"], env)
    term.wait_for("alpha first")
    term.send("a")
    term.wait_for("beta second")
    term.send("q")
    assert term.wait_exit() == 0
    out = term.text
    assert "Saved 1 answer to dataset 'reviews' (session 'carol'): accept 1." in out
    assert f"Database: {env['TUIANNOT_DB']}" in out
    assert "reviews.jsonl:2: invalid JSON" in out
    assert answers(env["TUIANNOT_DB"]) == [("accept", "alpha first")]


def test_kill_9_loses_no_answer(tmp_path: Path, env: dict[str, str]) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", texts(20, "item"))
    term = Terminal(["textcat", str(source), "--label", "POS,NEG", "--exclusive"], env)
    term.wait_for("item number 0")
    for i, key in enumerate("1212"):
        term.send(key)
        term.wait_for(f"item number {i + 1}")
    os.kill(term.pid, signal.SIGKILL)
    os.waitpid(term.pid, 0)
    assert [a for a, _ in answers(env["TUIANNOT_DB"])] == ["accept"] * 4
    # and the next run resumes after them
    term = Terminal(["textcat", str(source), "--label", "POS,NEG", "--exclusive"], env)
    term.wait_for("item number 4")
    term.send("q")
    assert term.wait_exit() == 0


def test_strict_exits_1_with_the_reason(tmp_path: Path, env: dict[str, str]) -> None:
    source = write_jsonl(tmp_path / "data.jsonl", [{"text": "only good"}, {"text": 3}])
    term = Terminal(["textcat", str(source), "--label", "POS", "--strict"], env)
    term.wait_for("only good")
    term.send("x")
    assert term.wait_exit() == 1
    assert "error: " in term.text and "data.jsonl:2: 'text' must be a string, not a number" in term.text
    assert answers(env["TUIANNOT_DB"]) == [("reject", "only good")]


@pytest.mark.parametrize(("keymap", "message"), [
    ({"accept": "y", "reject": "y", "bogus": "z"}, "unknown binding id bogus (known: "),
    ({"accept": "y", "reject": "y"}, "the key 'y' would do both 'accept' and 'reject'"),
    ({"accept": "x"}, "the key 'x' would do both 'reject' and 'accept'"),
])
def test_a_keymap_with_unknown_ids_or_clashing_keys_is_refused_before_the_screen(
        tmp_path: Path, env: dict[str, str], keymap: dict[str, str], message: str) -> None:
    """It started without a word and the reject key disappeared (issue 14)."""
    path = tmp_path / "keymap.json"
    path.write_text(json.dumps(keymap))
    source = write_jsonl(tmp_path / "data.jsonl", texts(2))
    term = Terminal(["textcat", str(source), "--label", "POS,NEG"], {**env, "TUIANNOT_KEYMAP": str(path)})
    assert term.wait_exit() == 1
    assert f"error: {path}: {message}" in term.text.replace("\r\n", "\n")
    assert not Path(env["TUIANNOT_DB"]).exists() or answers(env["TUIANNOT_DB"]) == []


def test_a_keymap_that_moves_keys_without_clashing_starts(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "keymap.json"
    path.write_text(json.dumps({"accept": "x", "reject": "a"}))  # swapped: no clash on the choice screen
    source = write_jsonl(tmp_path / "data.jsonl", texts(2))
    term = Terminal(["textcat", str(source), "--label", "POS"], {**env, "TUIANNOT_KEYMAP": str(path)})
    term.wait_for("text number 0")
    term.send("x")
    term.wait_for("text number 1")
    term.send("q")
    assert term.wait_exit() == 0
    assert answers(env["TUIANNOT_DB"]) == [("accept", "text number 0")]

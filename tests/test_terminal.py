"""End to end in a real pseudo-terminal: the installed command, real keys, the shell summary, kill -9."""

from __future__ import annotations

import os
import pty
import re
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

from .helpers import readable, texts, write_jsonl

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


class Terminal:
    def __init__(self, args: list[str], env: dict[str, str], cols: int = 100, rows: int = 30) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the real command
            os.execvpe(sys.executable, [sys.executable, "-m", "tuiannot", *args], env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.raw = b""

    def read(self, timeout: float = 0.05, budget: float = 1.0) -> None:
        """What the app wrote until it pauses ``timeout`` s, for ``budget`` s at most (an app that never stops
        drawing must not hold the test here)."""
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            if not readable(self.fd, timeout):
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


SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def sgr_parameters(raw: bytes) -> list[list[str]]:
    return [re.split("[;:]", m.group(1)) for m in SGR.finditer(raw.decode("utf-8", errors="replace"))]


def colours(parameters: list[list[str]]) -> list[str]:
    """The colour settings among SGR parameters: 30-38, 40-48, 90-97, 100-107 (39 and 49 reset to default)."""
    found = []
    for params in parameters:
        i = 0
        while i < len(params):
            p = int(params[i] or 0)
            if p in (38, 48):  # 38;5;N or 38;2;R;G;B
                found.append(";".join(params[i:i + (3 if params[i + 1:i + 2] == ["5"] else 5)]))
                i += 3 if params[i + 1:i + 2] == ["5"] else 5
                continue
            if 30 <= p <= 37 or 40 <= p <= 47 or 90 <= p <= 97 or 100 <= p <= 107:
                found.append(str(p))
            i += 1
    return found


@pytest.mark.parametrize("no_color", [False, True])
def test_no_color_sends_no_colour_but_keeps_bold_and_reverse(tmp_path: Path, env: dict[str, str],
                                                             no_color: bool) -> None:
    """NO_COLOR=1 still sent grey colour codes (Textual's monochrome filter) (issue 14)."""
    env = {k: v for k, v in env.items() if k != "NO_COLOR"} | ({"NO_COLOR": "1"} if no_color else {})
    source = write_jsonl(tmp_path / "data.jsonl", [{"text": "alpha first", "meta": {"id": 1}}, {"text": "beta"}])
    term = Terminal(["textcat", str(source), "--label", "POS,NEG"], env, cols=80, rows=24)
    term.wait_for("Quit")
    term.send("1")  # a chosen label: bold and underlined
    term.wait_for("☑ POS")
    term.send("a")
    term.wait_for("beta")
    term.send("q")
    assert term.wait_exit() == 0
    parameters = sgr_parameters(term.raw)
    if no_color:
        assert colours(parameters) == []
    else:
        assert colours(parameters)  # the check sees colours where there are some
    flat = [p for params in parameters for p in params]
    assert "1" in flat and "7" in flat and "4" in flat  # bold, reverse (the number keys), underline (chosen)


@pytest.mark.parametrize("argv", [["textcat", "{source}", "--label", "POS"], ["ner", "{source}", "--label", "PER"]])
def test_a_terminal_of_no_size_gets_one(tmp_path: Path, env: dict[str, str], argv: list[str]) -> None:
    """A pseudo-terminal that reports 0x0 (``script`` run without a terminal does) shows the task at 80x24 and
    quits on ``q``: the layout went back and forth between Textual's two fallback sizes without end."""
    source = write_jsonl(tmp_path / "data.jsonl", [{"text": "alpha first"}, {"text": "beta second"}])
    environ = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    term = Terminal([a.format(source=source) for a in argv], environ, cols=0, rows=0)
    term.wait_for("alpha first")
    term.send("a")
    term.wait_for("beta second")
    term.send("q")
    assert term.wait_exit() == 0
    cols_rows = struct.unpack("HHHH", fcntl.ioctl(term.fd, termios.TIOCGWINSZ, b"\0" * 8))[:2]
    assert cols_rows == (24, 80)
    assert len(answers(env["TUIANNOT_DB"])) == 1

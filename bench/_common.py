"""Shared helpers for the benchmark scripts (not a benchmark itself).

* :class:`PtyApp` runs a ``tuiannot`` command in a real pseudo-terminal and
  watches its output for text to appear.
* :func:`strip_ansi` removes terminal escape sequences, so that a marker is
  found even when Textual writes it in pieces with cursor moves or style
  changes in between.
* :func:`make_text` / :func:`ensure_jsonl` generate realistic, unique task texts.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import pty
import random
import re
import select
import signal
import statistics
import struct
import sys
import termios
import time
from pathlib import Path
from typing import Callable

BENCH_DIR = Path(os.environ.get("TUIANNOT_BENCH_DIR", "/tmp/tuiannot-bench"))

# ESC [ params intermediates final  (CSI), ESC ] ... BEL|ST (OSC), ESC P/X/^/_ ... ST (DCS, SOS, PM, APC),
# and two-character escapes (ESC =, ESC >, ESC 7, ...). The 8-bit C1 forms are never written by Textual.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[PX^_][^\x1b]*\x1b\\"
    r"|\x1b[ -/]*[0-~]"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def strip_ansi(text: str) -> str:
    """``text`` without escape sequences and control characters (CR/LF become nothing too)."""
    return _CONTROLS.sub("", _ANSI.sub("", text.replace("\r", "").replace("\n", "")))


def marker(i: int) -> str:
    """The unique token that starts task ``i``'s text."""
    return f"task {i:07d}:"


# -- data ---------------------------------------------------------------------------
_WORDS = (
    "the service was quick and friendly but the food arrived cold and the manager never apologised "
    "battery life is great screen is sharp yet the speakers sound tinny at high volume "
    "delivery took two weeks longer than promised and support kept closing my ticket "
    "absolutely love this product would buy again recommended to all my friends and family "
    "the plot drags in the middle but the ending makes up for it with a clever twist "
    "price is fair for what you get though the instructions were confusing and incomplete "
    "staff at the front desk were helpful room was clean and the view over the harbour lovely "
    "app crashes every time I open the settings page after the last update please fix "
    "not worth the money material feels cheap and the stitching came apart after one wash "
    "excellent value fast shipping packaging could be better but everything works as described"
).split()


def make_text(i: int, rng: random.Random) -> str:
    """A review-like text of about 100-200 bytes, starting with the unique marker of task ``i``."""
    target = rng.randint(100, 200)
    words = [marker(i)]
    size = len(words[0])
    while size < target - 8:
        w = rng.choice(_WORDS)
        words.append(w)
        size += len(w) + 1
    text = " ".join(words)
    return text[:target].rstrip() + "."


def write_jsonl(path: Path, lines: int, seed: int = 1234, meta: bool = True,
                progress: Callable[[int], None] | None = None) -> None:
    rng = random.Random(seed)
    tmp = path.with_name(path.name + ".tmp")
    sources = ("reviews-2023", "support-tickets", "app-store", "forum")
    with open(tmp, "w", encoding="utf-8") as f:
        buf: list[str] = []
        for i in range(lines):
            task: dict = {"text": make_text(i, rng)}
            if meta:
                task["meta"] = {"id": i, "source": sources[i % len(sources)]}
            buf.append(json.dumps(task))
            if len(buf) == 10_000:
                f.write("\n".join(buf) + "\n")
                buf.clear()
                if progress:
                    progress(i + 1)
        if buf:
            f.write("\n".join(buf) + "\n")
    os.replace(tmp, path)


def ensure_jsonl(path: Path, lines: int, **kwargs) -> tuple[Path, bool]:
    """Generate ``path`` with ``lines`` tasks unless it already exists with that many; (path, reused)."""
    stamp = path.with_name(path.name + ".lines")
    if path.exists() and stamp.exists() and stamp.read_text().strip() == str(lines):
        return path, True
    path.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(path, lines, **kwargs)
    stamp.write_text(str(lines))
    return path, False


# -- statistics -----------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"n={len(ms)} min={min(ms):.1f} median={statistics.median(ms):.1f} p90={percentile(ms, 90):.1f} "
            f"p99={percentile(ms, 99):.1f} max={max(ms):.1f} ms")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# -- a real pseudo-terminal -----------------------------------------------------------
class PtyTimeout(Exception):
    pass


DA1_QUERY = b"\x1b[c"
DA1_REPLY = b"\x1b[?64;1;2;6;9;15;16;17;18;21;22;28c"
"""What xterm (VT420 emulation, no Sixel) answers to Primary Device Attributes."""


class PtyApp:
    """A command running in a pseudo-terminal of ``columns`` x ``lines``, its output collected.

    With ``answer_da1`` the terminal answers Primary Device Attributes (``CSI c``) as xterm does, without
    Sixel, the moment the query is read; otherwise it never answers anything (a terminal that asks makes the
    app wait for its timeout)."""

    def __init__(self, argv: list[str], columns: int = 100, lines: int = 30, env: dict[str, str] | None = None,
                 cwd: str | None = None, answer_da1: bool = False) -> None:
        self.argv = argv
        self.answer_da1 = answer_da1
        environment = dict(os.environ if env is None else env)
        environment.update({"TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(lines)})
        environment.pop("NO_COLOR", None)
        environment.pop("TEXTUAL", None)
        self.output = bytearray()
        self.exit_status: int | None = None
        self.spawned_at = time.monotonic()
        pid, fd = pty.fork()
        if pid == 0:  # the child: the pty's slave is stdin/stdout/stderr and the controlling terminal
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
                if cwd:
                    os.chdir(cwd)
                os.execvpe(argv[0], argv, environment)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        self.eof = False

    def read_some(self, timeout: float) -> bytes:
        """What the app writes within ``timeout`` seconds: the first chunk, and those that are already there
        after it. A pty hands over ~4 KB a read: a frame of a photo (40 KB) is 10 reads, and a caller that
        looked for its marker in the whole output after each read counted its own looking (which grows with
        the frame) as the app's latency (several ms a photo, none for the bare app's 300 bytes)."""
        if self.eof:
            return b""
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not ready:
            return b""
        data = b""
        while ready:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except OSError:  # EIO: the child closed the terminal
                chunk = b""
            if not chunk:
                self.eof = True
                break
            data += chunk
            ready, _, _ = select.select([self.fd], [], [], 0)
        if not data:
            return b""
        seen = bytes(self.output[-(len(DA1_QUERY) - 1):]) + data  # a query split between two reads too
        if self.answer_da1 and DA1_QUERY in seen:
            os.write(self.fd, DA1_REPLY * seen.count(DA1_QUERY))
        self.output += data
        return data

    def wait_for(self, predicate: Callable[[bytes], bool], since: int, timeout: float) -> float:
        """Read until ``predicate(output[since:])`` holds; return the monotonic time it first did."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(bytes(self.output[since:])):
                return time.monotonic()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.eof:
                raise PtyTimeout(f"not seen within {timeout} s (eof={self.eof})")
            self.read_some(remaining)

    def wait_for_text(self, text: str, since: int = 0, timeout: float = 10.0) -> float:
        return self.wait_for(lambda out: text in strip_ansi(out.decode("utf-8", "replace")), since, timeout)

    def send(self, keys: bytes) -> float:
        t = time.monotonic()
        os.write(self.fd, keys)
        return t

    def drain(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.eof and time.monotonic() < end:
            self.read_some(end - time.monotonic())

    def wait_exit(self, timeout: float = 10.0) -> int:
        """Read until the child exits; its exit code (or -signal)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read_some(min(0.1, max(0.0, deadline - time.monotonic())))
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.drain(0.2)
                self.exit_status = os.waitstatus_to_exitcode(status)
                os.close(self.fd)
                return self.exit_status
        raise PtyTimeout(f"the app did not exit within {timeout} s")

    def kill(self) -> None:
        if self.exit_status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.exit_status = -9

    def text(self, since: int = 0) -> str:
        return strip_ansi(bytes(self.output[since:]).decode("utf-8", "replace"))


def tuiannot_argv() -> list[str]:
    """The console script next to this interpreter, else ``python -m tuiannot``."""
    script = Path(sys.executable).with_name("tuiannot")
    if script.exists():
        return [str(script)]
    import shutil

    found = shutil.which("tuiannot")
    return [found] if found else [sys.executable, "-m", "tuiannot"]


BYTECODE_CACHE = BENCH_DIR / "pycache"


def app_env(home: Path) -> dict[str, str]:
    """The environment for the app under test: no user keymap, a known session name, compiled bytecode.

    Under ``PYTHONDONTWRITEBYTECODE`` (set on some shared machines) Python compiles every module of tuiannot
    from its source at every start, ~80 ms a start that an installed tuiannot never pays (pip compiles it):
    the apps keep their bytecode in :data:`BYTECODE_CACHE` instead (``PYTHONPYCACHEPREFIX``, outside the
    repository), the bare app's too. The first start of a run fills it: benches warm up before measuring."""
    env = dict(os.environ)
    env["TUIANNOT_KEYMAP"] = str(home / "no-keymap.json")
    env["USER"] = "bench"
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        env["PYTHONPYCACHEPREFIX"] = str(BYTECODE_CACHE)
    return env


def bytecode_note() -> str:
    """How the apps' bytecode is kept (for a bench's header)."""
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return f"bytecode cached in {BYTECODE_CACHE} (PYTHONDONTWRITEBYTECODE is set here)"
    return "bytecode as Python keeps it (__pycache__)"


def self_test_strip() -> None:
    """The detector finds a marker written in pieces, and not one that was never written."""
    m = marker(123)
    pieces = [
        f"\x1b[3;2H\x1b[38;5;253;48;5;233m{m} rest\x1b[0m",
        f"\x1b[3;2H{m[:4]}\x1b[0m\x1b[38;5;253m{m[4:9]}\x1b[3;11H{m[9:]}\x1b[0m",
        f"\x1b]22;default\x07{m[:1]}\x1b[?2026h{m[1:]}\x1b[?2026l\r\n",
    ]
    for p in pieces:
        assert m in strip_ansi(p), repr(p)
    assert marker(124) not in strip_ansi(pieces[0])
    assert marker(12) not in strip_ansi(pieces[0])  # "task 0000012:" is not a prefix of "task 0000123:"

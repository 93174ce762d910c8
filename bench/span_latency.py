"""Key-to-screen latency of the span view (``tuiannot ner``) in a real pseudo-terminal (100x30, xterm-256color).

Goal (per key type and over all keys): median <= 16 ms, p99 <= 50 ms, on a
text of about 300 spaCy tokens that wraps over more lines than the text box
shows, so that moving the cursor also scrolls the view.

Each task's text mixes unique words (``w0001``, ``w0002``, ...; ``t1w0001`` in
the second task, ...) with realistic words (each once per text) and
punctuation. The script drives the view with a plan of keys, keeps its own
model of the cursor, selection and spans, and for every key waits until the
screen shows the result before sending the next one:

    right / left    cursor to the next / previous token (about half of the
                    keys; the walk crosses the whole text, so the view scrolls)
    shift+right     extend the selection
    label           1 / 2 / 3 (PERSON / ORG / LOC) on the selection or the
                    token under the cursor (the cursor then moves on)
    tab             cursor to the next span (the first one wraps back to the top)
    d               remove the span under the cursor (after a tab)

"Shows the result" means: the output written since the key, stripped of
escape sequences, holds the question line's new state (`` token: W   N spans``
or `` selection: W1 W2   N spans``, different after every key of the plan)
and, for a label key, the new span's last word glued to its label
(``w0006▕ORG``). The time is the arrival of the output chunk that completed it.
A small terminal emulator (cursor moves, SGR reverse, erase) also replays the
output, and at that moment (paced: once no output came for 3 ms more, the
rest of the frame) checks the text box: exactly one reverse-video
token outside the label badges, the one the model has under the cursor, and
the visible words a contiguous run of the text with the model's badges. In the
paced run it checks again after the pause (a later frame that changes the
screen would be a flicker or a late redraw). Then ``a`` accepts the task (timed
for information); afterwards the database must hold one ``accept`` per task
whose ``spans`` are exactly the model's (offsets, tokens, text and label), and
``q`` must end the app with exit code 0.

Measured twice, in two app runs:

    paced          the next key --pause seconds (default 0.05) after the screen
                   showed the result: judged against the goal;
    back-to-back   the next key as soon as it did (one every ~8 ms); shown
                   for information, with its own verdict.

In both, Textual paints on a timer ticking TEXTUAL_FPS (default 60) times a
second, so a frame waits up to ~16.7 ms for its tick after the key was
handled: part of every figure here is that wait, not tuiannot's work. The
slowest keys of each run are listed (a full garbage collection in the app
shows up as a key of ~90 ms).

    python bench/span_latency.py [--tokens 300] [--tasks 2] [--pause 0.05] [--no-back-to-back]
"""

from __future__ import annotations

import argparse
import codecs
import json
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from _common import (BENCH_DIR, PtyApp, PtyTimeout, app_env, percentile, self_test_strip, strip_ansi, tuiannot_argv,
                     verdict)

KEY_MEDIAN_GOAL = 0.016
KEY_P99_GOAL = 0.050
LABELS = ["PERSON", "ORG", "LOC"]
KEY_BYTES = {"right": b"\x1b[C", "left": b"\x1b[D", "shift+right": b"\x1b[1;2C", "tab": b"\t", "d": b"d",
             "1": b"1", "2": b"2", "3": b"3", "a": b"a", "q": b"q"}
KEY_TYPES = ["right", "left", "shift+right", "label", "tab", "d"]

# -- the texts ----------------------------------------------------------------------------------
_REAL = (
    "Angela Merkel visited Siemens in Berlin yesterday while Lufthansa officials met Nokia executives "
    "from Helsinki and Marie Curie was remembered in Warsaw by Renault engineers flying to Lisbon "
    "where Philips announced Eindhoven results as Mozart fans filled Salzburg and Ikea opened Stockholm "
    "stores near Volvo offices in Gothenburg whereas Novartis reported quarterly growth in Basel"
).split()


def word_prefix(task: int) -> str:
    return "w" if task == 0 else f"t{task}w"


def make_span_text(task: int, tokens: int, rng: random.Random) -> str:
    """About ``tokens`` spaCy tokens: unique words, realistic words (each once) and punctuation."""
    real = list(_REAL)
    rng.shuffle(real)
    prefix = word_prefix(task)
    sentences: list[str] = []
    count, number = 0, 0
    while count < tokens - 1:
        items: list[str] = []
        for _ in range(rng.randint(7, 16)):
            if real and rng.random() < 0.2:
                items.append(real.pop())
            else:
                number += 1
                items.append(f"{prefix}{number:04d}")
        count += len(items)
        if len(items) > 4 and rng.random() < 0.4:  # a comma somewhere in the middle
            k = rng.randint(1, len(items) - 3)
            items[k] += ","
            count += 1
        items[-1] += "."
        count += 1
        sentences.append(" ".join(items))
    return " ".join(sentences)


def tokenize(texts: list[str]) -> list[list[dict]]:
    """spaCy's tokens (a blank English pipeline, as ``tuiannot ner`` without --model uses)."""
    import spacy

    nlp = spacy.blank("en")
    return [[{"text": t.text, "start": t.idx, "end": t.idx + len(t.text)} for t in nlp.make_doc(text)]
            for text in texts]


def one_line(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


# -- a model of the span view -------------------------------------------------------------------
@dataclass
class Expect:
    question: str  # the question line's new state
    extra: list[str] = field(default_factory=list)  # more text that must appear (a new badge)


class Model:
    """What the view should show: cursor, selection anchor, spans (as tuiannot/screens/spans.py describes)."""

    def __init__(self, text: str, tokens: list[dict]) -> None:
        self.text, self.tokens = text, tokens
        self.cursor = self.next_word(-1, 1)
        self.anchor: int | None = None
        self.spans: list[dict] = []

    def copy(self) -> "Model":
        other = Model.__new__(Model)
        other.text, other.tokens, other.cursor, other.anchor = self.text, self.tokens, self.cursor, self.anchor
        other.spans = [dict(s) for s in self.spans]
        return other

    def is_word(self, i: int) -> bool:
        return not self.tokens[i]["text"].isspace()

    def is_punct(self, i: int) -> bool:
        return not any(ch.isalnum() for ch in self.tokens[i]["text"])

    def next_word(self, start: int, step: int) -> int:
        i = start + step
        while 0 <= i < len(self.tokens):
            if self.is_word(i):
                return i
            i += step
        return start if 0 <= start < len(self.tokens) else 0

    def range(self) -> tuple[int, int]:
        if self.anchor is None:
            return self.cursor, self.cursor
        return min(self.anchor, self.cursor), max(self.anchor, self.cursor)

    def question(self) -> str:
        ts, te = self.range()
        words = one_line(self.text[self.tokens[ts]["start"]:self.tokens[te]["end"]], 60)
        n = len(self.spans)
        what = "selection" if self.anchor is not None else "token"
        return f"{what}: {words}   {n} span{'s' if n != 1 else ''}"

    def shown(self) -> str:
        """The text with each span's label badge glued after it."""
        out, pos = [], 0
        for s in sorted(self.spans, key=lambda s: s["end"]):
            out.append(self.text[pos:s["end"]] + "▕" + s["label"])
            pos = s["end"]
        out.append(self.text[pos:])
        return "".join(out)

    def apply(self, action: str) -> Expect:
        extra: list[str] = []
        if action in ("right", "left"):
            self.anchor = None
            self.cursor = self.next_word(self.cursor, 1 if action == "right" else -1)
        elif action == "shift+right":
            if self.anchor is None:
                self.anchor = self.cursor
            self.cursor = self.next_word(self.cursor, 1)
        elif action in ("1", "2", "3"):
            label = LABELS[int(action) - 1]
            ts, te = self.range()
            start, end = self.tokens[ts]["start"], self.tokens[te]["end"]
            self.spans = [s for s in self.spans if s["end"] <= start or s["start"] >= end]
            self.spans.append({"start": start, "end": end, "label": label, "token_start": ts, "token_end": te})
            self.spans.sort(key=lambda s: (s["start"], s["end"]))
            self.anchor = None
            self.cursor = self.next_word(te, 1)
            extra.append(f"{self.tokens[te]['text']}▕{label}")
        elif action == "tab":
            starts = sorted({s["token_start"] for s in self.spans})
            after = [t for t in starts if t > self.cursor]
            self.cursor = after[0] if after else starts[0]
            self.anchor = None
        elif action == "d":
            ts, te = self.range()
            start, end = self.tokens[ts]["start"], self.tokens[te]["end"]
            covering = [s for s in self.spans if s["start"] < end and start < s["end"]]
            self.spans.remove(min(covering, key=lambda s: s["end"] - s["start"]))
        else:
            raise ValueError(action)
        return Expect(self.question(), extra)


def make_plan(model: Model, rng: random.Random, tabs: int) -> list[str]:
    """Keys that walk the whole text making spans, then tab through them removing some.

    Every key changes the question line (no key repeats the previous state), so
    each one has a marker of its own.
    """
    m = model.copy()
    plan: list[str] = []
    last = m.next_word(len(m.tokens), -1)

    def do(action: str) -> None:
        before = m.question()
        m.apply(action)
        assert m.question() != before, (action, before)
        plan.append(action)

    while True:
        for _ in range(rng.randint(1, 4)):  # a few moves right, sometimes one back
            if m.cursor >= last:
                break
            do("right")
            if m.cursor > 0 and rng.random() < 0.2:
                do("left")
        while m.is_punct(m.cursor) and m.cursor < last:
            do("right")
        if last - m.cursor < 6:
            break
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            do("shift+right")
        while m.is_punct(m.cursor):
            do("shift+right")
        do(rng.choice("123"))
    while m.cursor < last:
        do("right")
    for _ in range(tabs):  # the first tab wraps to the first span, at the top of the text
        if len(m.spans) < 3:
            break
        do("tab")
        if rng.random() < 0.4:
            do("d")
    return plan


# -- a small terminal emulator -------------------------------------------------------------------
_SEQUENCE = re.compile(
    r"\x1b\[([0-?]*)[ -/]*([@-~])"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[PX^_][^\x1b]*\x1b\\"
    r"|\x1b[ -/]*(?![\[\]PX^_])[0-~]"  # two characters (not the start of a longer one, cut by a read)
    r"|([\x00-\x1a\x1c-\x1f\x7f])"
    r"|([^\x00-\x1f\x7f]+)"
)
REVERSE, BOLD = 1, 2


class Terminal:
    """Enough of a terminal for Textual's output: cursor positioning, text, SGR bold/reverse, erase."""

    def __init__(self, columns: int, lines: int) -> None:
        self.columns, self.lines = columns, lines
        self.chars = [[" "] * columns for _ in range(lines)]
        self.attrs = [[0] * columns for _ in range(lines)]
        self.row = self.col = 0
        self.attr = 0
        self.pending = ""
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes) -> None:
        self.pending += self.decoder.decode(data)
        text, pos = self.pending, 0
        while pos < len(text):
            m = _SEQUENCE.match(text, pos)
            if m is None:  # an escape sequence cut by the read: wait for the rest
                if len(text) - pos > 64:  # or a stray ESC: skip it
                    pos += 1
                    continue
                break
            pos = m.end()
            if m.group(4) is not None:
                self._write(m.group(4))
            elif m.group(3) is not None:
                ch = m.group(3)
                if ch == "\r":
                    self.col = 0
                elif ch == "\n":
                    self.row = min(self.row + 1, self.lines - 1)
                elif ch == "\b":
                    self.col = max(0, self.col - 1)
            elif m.group(2) is not None:
                self._csi(m.group(1), m.group(2))
        self.pending = text[pos:]

    def _write(self, text: str) -> None:
        for ch in text:
            wide = unicodedata.east_asian_width(ch) in ("W", "F")
            if self.row < self.lines and self.col < self.columns:
                self.chars[self.row][self.col] = ch
                self.attrs[self.row][self.col] = self.attr
                if wide and self.col + 1 < self.columns:
                    self.chars[self.row][self.col + 1] = ""
                    self.attrs[self.row][self.col + 1] = self.attr
            self.col += 2 if wide else 1

    def _csi(self, params: str, final: str) -> None:
        if params.startswith(("?", ">", "<", "=")):
            return
        values = [int(p) if p.isdigit() else 0 for p in params.replace(":", ";").split(";")] if params else []

        def arg(i: int, default: int) -> int:
            return values[i] if len(values) > i and values[i] else default

        if final in "Hf":
            self.row = min(self.lines - 1, arg(0, 1) - 1)
            self.col = min(self.columns - 1, arg(1, 1) - 1)
        elif final == "m":
            self._sgr(values or [0])
        elif final == "A":
            self.row = max(0, self.row - arg(0, 1))
        elif final == "B":
            self.row = min(self.lines - 1, self.row + arg(0, 1))
        elif final == "C":
            self.col = min(self.columns - 1, self.col + arg(0, 1))
        elif final == "D":
            self.col = max(0, self.col - arg(0, 1))
        elif final == "G":
            self.col = min(self.columns - 1, arg(0, 1) - 1)
        elif final == "d":
            self.row = min(self.lines - 1, arg(0, 1) - 1)
        elif final == "J":
            mode = arg(0, 0)
            rows = range(self.lines) if mode in (2, 3) else (
                range(self.row + 1, self.lines) if mode == 0 else range(0, self.row))
            for r in rows:
                self.chars[r] = [" "] * self.columns
                self.attrs[r] = [0] * self.columns
            if mode in (0, 1):
                self._erase_line(0 if mode == 0 else 1)
        elif final == "K":
            self._erase_line(arg(0, 0))

    def _erase_line(self, mode: int) -> None:
        cols = range(self.col, self.columns) if mode == 0 else (
            range(0, self.col + 1) if mode == 1 else range(self.columns))
        for c in cols:
            self.chars[self.row][c] = " "
            self.attrs[self.row][c] = 0

    def _sgr(self, values: list[int]) -> None:
        i = 0
        while i < len(values):
            v = values[i]
            if v == 0:
                self.attr = 0
            elif v == 1:
                self.attr |= BOLD
            elif v == 22:
                self.attr &= ~BOLD
            elif v == 7:
                self.attr |= REVERSE
            elif v == 27:
                self.attr &= ~REVERSE
            elif v in (38, 48, 58):
                if i + 1 < len(values) and values[i + 1] == 5:
                    i += 2
                elif i + 1 < len(values) and values[i + 1] == 2:
                    i += 4
            i += 1

    def snapshot(self) -> tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]:
        return tuple("".join(r) for r in self.chars), tuple(tuple(a) for a in self.attrs)

    def row_text(self, r: int) -> str:
        return "".join(self.chars[r])


def text_box(term: Terminal) -> tuple[int, int] | None:
    """The rows of the task box's inside (between ╭ and ╰ in the first column)."""
    top = next((r for r in range(term.lines) if term.chars[r][0] == "╭"), None)
    if top is None:
        return None
    bottom = next((r for r in range(top + 1, term.lines) if term.chars[r][0] == "╰"), None)
    return (top + 1, bottom) if bottom is not None else None


def first_visible_word(term: Terminal) -> str:
    box = text_box(term)
    if box is None:
        return ""
    words = " ".join(term.row_text(r)[2:term.columns - 4] for r in range(*box)).split()
    return words[0].split("▕")[0] if words else ""  # a badge glued to it is no scroll


def check_text_box(term: Terminal, model: Model) -> str | None:
    """None if the text box shows the model's cursor and a contiguous run of its text; else what is wrong."""
    box = text_box(term)
    if box is None:
        return "no text box on screen"
    # inside the border: 1 column of padding each side, 2 of scrollbar on the right
    first, last = 2, term.columns - 4
    rows = []
    cursor_pieces = []
    badges = sorted((f"▕{label}" for label in LABELS), key=len, reverse=True)
    for r in range(*box):
        chars, attrs = term.chars[r][first:last], term.attrs[r][first:last]
        rows.append("".join(chars))
        run = ""
        for ch, a in zip(chars + [" "], attrs + [0], strict=True):
            if a & REVERSE:
                run += ch
                continue
            if run:
                for b in badges:
                    run = run.replace(b, " ")
                cursor_pieces += run.split()
                run = ""
    want = model.tokens[model.cursor]["text"]
    if cursor_pieces != [want]:
        return f"cursor shown on {cursor_pieces!r}, expected [{want!r}]"
    seen = " ".join(rows).split()
    expected = model.shown().split()
    if not seen:
        return "the text box is empty"
    n = len(seen)
    if not any(expected[i:i + n] == seen for i in range(len(expected) - n + 1)):
        return f"the text box does not show a run of the expected text (first words {seen[:4]!r})"
    return None


# -- running ------------------------------------------------------------------------------------
@dataclass
class Run:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KEY_TYPES})
    out_bytes: dict[str, list[int]] = field(default_factory=lambda: {k: [] for k in KEY_TYPES})
    accept: list[float] = field(default_factory=list)
    start: float | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # seen in the app, not a failure of what is measured
    slowest: list[tuple[float, str]] = field(default_factory=list)
    scrolled: list[float] = field(default_factory=list)  # keys after which the text box showed other lines
    late_screen: int = 0  # the text box was right only after the pause, not when the marker appeared
    changed_after: int = 0  # the screen changed during the pause after the marker
    keys: int = 0
    ok: bool = True

    def problem(self, text: str) -> None:
        self.ok = False
        if len(self.problems) < 12:
            self.problems.append(text)
        elif len(self.problems) == 12:
            self.problems.append("(more problems not shown)")


def key_type(action: str) -> str:
    return "label" if action in ("1", "2", "3") else action


class Driver:
    def __init__(self, app: PtyApp, columns: int, lines: int) -> None:
        self.app = app
        self.term = Terminal(columns, lines)
        self.fed = 0

    def feed(self) -> None:
        if len(self.app.output) > self.fed:
            self.term.feed(bytes(self.app.output[self.fed:]))
            self.fed = len(self.app.output)

    def wait(self, needles: list[str], since: int, timeout: float) -> float:
        """The arrival time of the output chunk after which every needle is in the output since ``since``."""
        deadline = time.monotonic() + timeout
        arrived = time.monotonic()
        while True:
            seen = strip_ansi(bytes(self.app.output[since:]).decode("utf-8", "replace"))
            if all(n in seen for n in needles):
                return arrived
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.app.eof:
                raise PtyTimeout(f"{needles!r} not seen within {timeout} s (eof={self.app.eof})")
            if self.app.read_some(remaining):
                arrived = time.monotonic()

    def drain(self, seconds: float) -> None:
        self.app.drain(seconds)
        self.feed()

    def settle(self, idle: float, limit: float) -> None:
        """Read until nothing came for ``idle`` seconds (at most ``limit`` seconds)."""
        end = time.monotonic() + limit
        while not self.app.eof and time.monotonic() < end:
            if not self.app.read_some(min(idle, end - time.monotonic())):
                break


def run_app(source: Path, texts: list[str], tokens: list[list[dict]], plans: list[list[str]], work: Path,
            args: argparse.Namespace, pause: float, name: str) -> Run:
    db = work / f"spans-{name}.db"
    argv = [*tuiannot_argv(), "ner", str(source), "--label", ",".join(LABELS), "--db", str(db),
            "--dataset", "bench"]
    app = PtyApp(argv, columns=args.columns, lines=args.lines, env=app_env(work))
    driver = Driver(app, args.columns, args.lines)
    run = Run()
    models = [Model(t, toks) for t, toks in zip(texts, tokens, strict=True)]
    try:
        try:
            seen = driver.wait([models[0].question()], 0, timeout=60)
        except PtyTimeout:
            run.problem(f"the first task never appeared; output tail: {app.text()[-300:]!r}")
            return run
        run.start = seen - app.spawned_at
        for t, (model, plan) in enumerate(zip(models, plans, strict=True)):
            driver.drain(0.3)  # let the first frame and any follow-up refresh settle
            problem = check_text_box(driver.term, model)
            if problem:
                run.problem(f"task {t}, before the first key: {problem}")
            top = first_visible_word(driver.term)
            for k, action in enumerate(plan):
                expect = model.apply(action)
                since = len(app.output)
                sent = app.send(KEY_BYTES[action])
                try:
                    seen = driver.wait([expect.question, *expect.extra], since, timeout=10)
                except PtyTimeout:
                    run.problem(f"task {t}, key {k} ({action}): {expect.question!r} never appeared; "
                                f"output tail: {app.text(since)[-300:]!r}")
                    return run
                kind = key_type(action)
                run.latencies[kind].append(seen - sent)
                run.slowest.append((seen - sent, f"task {t} key {k} {action} -> {expect.question!r}"))
                run.keys += 1
                if pause:  # the rest of the frame (the marker's line may end in the next chunk)
                    driver.settle(0.003, 0.03)
                driver.feed()
                at_marker = driver.term.snapshot()
                problem = check_text_box(driver.term, model)
                if first_visible_word(driver.term) != top:
                    run.scrolled.append(seen - sent)
                    top = first_visible_word(driver.term)
                if pause:
                    driver.drain(pause)
                    if driver.term.snapshot() != at_marker:
                        run.changed_after += 1
                        if run.changed_after <= 3:
                            now = driver.term.snapshot()
                            rows = [f"{r}: {at_marker[0][r].strip()[:40]!r} -> {now[0][r].strip()[:40]!r}"
                                    for r in range(args.lines) if now[0][r] != at_marker[0][r]
                                    or now[1][r] != at_marker[1][r]]
                            run.notes.append(f"task {t}, key {k} ({action}): the screen changed after the "
                                             f"marker ({'; '.join(rows[:3])})")
                    if problem and check_text_box(driver.term, model) is None:
                        run.late_screen += 1
                        problem = None
                if problem:
                    run.problem(f"task {t}, key {k} ({action}): {problem}")
                run.out_bytes[kind].append(len(app.output) - since)
            # accept: the next task (or the summary) must appear
            since = len(app.output)
            sent = app.send(KEY_BYTES["a"])
            # the summary screen's footer (its text is checked below, untimed)
            nxt = [models[t + 1].question()] if t + 1 < len(models) else ["Undo last answer"]
            try:
                seen = driver.wait(nxt, since, timeout=10)
                run.accept.append(seen - sent)
            except PtyTimeout:
                run.problem(f"task {t}: after 'a', {nxt[0]!r} never appeared; tail {app.text(since)[-300:]!r}")
                return run
            if t + 1 == len(models):
                driver.drain(0.5)
                if "No more tasks." not in app.text(since):
                    run.notes.append("after the last 'a' the summary screen came up without its text "
                                     "('No more tasks.' never drawn)")
        driver.drain(0.2)
        app.send(KEY_BYTES["q"])
        code = app.wait_exit(timeout=15)
        if code != 0:
            run.problem(f"q: exit code {code} (expected 0)")
    finally:
        app.kill()
    check_answers(db, models, run)
    return run


def check_answers(db: Path, models: list[Model], run: Run) -> None:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT answer, content FROM answers ORDER BY id").fetchall()
    if len(rows) != len(models):
        run.problem(f"database: {len(rows)} answers, expected {len(models)}")
    good = 0
    for t, ((answer, content), model) in enumerate(zip(rows, models, strict=False)):  # a mismatch is reported above
        task = json.loads(content)
        stored = task.get("spans") or []
        got = sorted((task["text"][s["start"]:s["end"]], s["label"]) for s in stored)
        want = sorted((model.text[s["start"]:s["end"]], s["label"]) for s in model.spans)
        exact = sorted((s["start"], s["end"], s["label"], s["token_start"], s["token_end"]) for s in stored)
        model_exact = sorted((s["start"], s["end"], s["label"], s["token_start"], s["token_end"])
                             for s in model.spans)
        if answer != "accept":
            run.problem(f"database, task {t}: answer {answer!r}, expected 'accept'")
        elif task["text"] != model.text:
            run.problem(f"database, task {t}: another text was stored")
        elif got != want:
            missing = [x for x in want if x not in got][:3]
            extra = [x for x in got if x not in want][:3]
            run.problem(f"database, task {t}: spans differ (missing {missing}, unexpected {extra})")
        elif exact != model_exact:
            run.problem(f"database, task {t}: span offsets or token indices differ")
        else:
            good += 1
    print(f"  database: {len(rows)} answers, {good} with exactly the spans made "
          f"({', '.join(str(len(m.spans)) for m in models)} spans)")


# -- reporting ----------------------------------------------------------------------------------
def line(title: str, values: list[float], judged: bool) -> list[bool]:
    if not values:
        print(f"  {title:<12} no measurement")
        return [False] if judged else []
    ms = [v * 1000 for v in values]
    median, p99 = statistics.median(ms), percentile(ms, 99)
    ok = [median <= KEY_MEDIAN_GOAL * 1000, p99 <= KEY_P99_GOAL * 1000]
    print(f"  {title:<12} n={len(ms):<4} min={min(ms):5.1f} median={median:5.1f} p90={percentile(ms, 90):5.1f} "
          f"p99={p99:5.1f} max={max(ms):6.1f} ms   median {verdict(ok[0])}, p99 {verdict(ok[1])}")
    return ok


def report(title: str, run: Run, judged: bool) -> bool:
    print(f"{title}:")
    results: list[bool] = []
    for kind in KEY_TYPES:
        results += line(kind, run.latencies[kind], judged)
    everything = [v for kind in KEY_TYPES for v in run.latencies[kind]]
    results += line("all keys", everything, judged)
    if run.scrolled:
        ms = [v * 1000 for v in run.scrolled]
        print(f"  (of all keys, those that scrolled the text: n={len(ms)} median={statistics.median(ms):.1f} "
              f"max={max(ms):.1f} ms)")
    if run.accept:
        ms = [v * 1000 for v in run.accept]
        print(f"  (a, accept to next task or summary, information: {', '.join(f'{v:.1f}' for v in ms)} ms)")
    return all(results) and bool(everything)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=300, help="spaCy tokens per text (default 300)")
    parser.add_argument("--tasks", type=int, default=2, help="tasks (texts) to annotate per run (default 2)")
    parser.add_argument("--tabs", type=int, default=30, help="tab jumps per task, ~40%% followed by d (default 30)")
    parser.add_argument("--columns", type=int, default=100)
    parser.add_argument("--lines", type=int, default=30)
    parser.add_argument("--pause", type=float, default=0.05,
                        help="paced run: seconds between the screen showing a key's result and the next key "
                             "(default 0.05)")
    parser.add_argument("--no-back-to-back", action="store_true", help="skip the back-to-back run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--slowest", type=int, default=5, help="list the N slowest keys of each run (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary databases")
    args = parser.parse_args()

    self_test_strip()
    term = Terminal(20, 3)  # the emulator's self-test: pieces, styles, a cut escape sequence
    term.feed(b"\x1b[2;3Hab\x1b[1;7")
    term.feed(b"mcd\x1b[0m e\x1b[3;1H\xe2\x96")
    term.feed(b"\x95x")
    assert term.row_text(1)[2:7] == "abcd " and term.attrs[1][4] == REVERSE | BOLD and term.attrs[1][3] == 0
    assert term.row_text(2)[:2] == "▕x", term.row_text(2)

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    texts = [make_span_text(t, args.tokens, rng) for t in range(args.tasks)]
    source = BENCH_DIR / f"spans-{args.tokens}x{args.tasks}-{args.seed}.jsonl"
    content = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    if not source.exists() or source.read_text(encoding="utf-8") != content:
        source.write_text(content, encoding="utf-8")
    tokens = tokenize(texts)
    plans = [make_plan(Model(t, toks), rng, args.tabs) for t, toks in zip(texts, tokens, strict=True)]
    work = Path(tempfile.mkdtemp(prefix="spans-", dir=BENCH_DIR))
    counts = {k: sum(key_type(a) == k for p in plans for a in p) for k in KEY_TYPES}
    print(f"tuiannot span view (ner, labels {','.join(LABELS)}) in a {args.columns}x{args.lines} pty "
          f"(TERM=xterm-256color)")
    print(f"source: {source} ({args.tasks} texts of {', '.join(str(len(t)) for t in tokens)} tokens, "
          f"{', '.join(str(len(t)) for t in texts)} characters); work dir: {work}")
    print("keys per run: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + f", a {args.tasks}")

    runs: dict[str, Run] = {}
    try:
        modes = [("paced", args.pause)] + ([] if args.no_back_to_back else [("back-to-back", 0.0)])
        for name, pause in modes:
            print(f"run '{name}'" + (f" ({pause * 1000:.0f} ms after each result):" if pause else ":"))
            t0 = time.monotonic()
            run = run_app(source, texts, tokens, plans, work, args, pause, name)
            runs[name] = run
            print(f"  {run.keys} keys in {time.monotonic() - t0:.1f} s; start to first task "
                  + (f"{run.start * 1000:.0f} ms" if run.start is not None else "-"))
            if pause:
                print(f"  text box right only after the pause (not when the question line changed): "
                      f"{run.late_screen} keys; screen changed during the pause: {run.changed_after} keys")
            sizes = {k: statistics.mean(v) for k, v in run.out_bytes.items() if v}
            print("  output per key (mean bytes): " + ", ".join(f"{k} {v:.0f}" for k, v in sizes.items()))
            for p in run.problems:
                print(f"  ! {p}")
            for n in run.notes:
                print(f"  note: {n}")
            print("  slowest keys: " + "; ".join(f"{s * 1000:.0f} ms {what}"
                                                 for s, what in sorted(run.slowest, reverse=True)[:args.slowest]))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print()
    paced = runs["paced"]
    goals_ok = report(f"key to screen, paced {args.pause * 1000:.0f} ms (judged)", paced, True)
    checks_ok = paced.ok
    if "back-to-back" in runs:
        fast = runs["back-to-back"]
        fast_ok = report("key to screen, back-to-back (information)", fast, False)
        print(f"  back-to-back verdict: {verdict(fast_ok)}")
        checks_ok = checks_ok and fast.ok
    print(f"checks (cursor and spans on screen, answers stored with the spans made, clean quit): "
          f"{verdict(checks_ok)}")
    print(f"overall: {verdict(goals_ok and checks_ok)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

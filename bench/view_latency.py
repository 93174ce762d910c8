"""Key to next task and start to first task in every view, against a bare Textual app, in one run (issue 15).

The floor for a terminal app is a bare Textual app that shows the next text on a key press (a ``Static`` and a
``Footer``, written below as :data:`BARE_APP`). Every app runs in a real pseudo-terminal of 120x36
(TERM=xterm-256color) over the same 500-task source where the view takes texts, and the bare app's figures are
measured in the same run, so that the ratios hold on a shared, noisy machine.

Views (``--views``, default all):

    bare              the bare app, key ``a``
    binary            ``textcat --label POS``, key ``a``
    choice-exclusive  ``textcat --label POS,NEG --exclusive``, key ``1``
    choice-multi      ``textcat --label POS,NEG``, keys ``1`` then ``a``: timed from the ``a`` (the ``1`` is
                      waited for on screen, ``☑ POS``, and shown for information)
    spans             ``ner --label PERSON,ORG --lang en`` on texts of ~300 spaCy tokens (two of them): a walk
                      over the text with ``right``/``left``/``shift+right`` (row ``spans move``) and a label key
                      ``1``/``2`` every few tokens (row ``spans label``), each seen when the question line shows
                      the new state and, for a label, the span's badge (the approach and the checks of
                      span_latency.py: the cursor and badges in the text box, the spans stored); ``a`` accepts
                      each text (information)
    boxes             ``image FOLDER --label CAT,DOG --boxes`` on ../shared/data/images/felix_cats (skipped with a
                      message if absent): ``n``, moves and resizes (arrows, shift+arrows) and label keys on the box,
                      each seen when the box list shows the box's new pixels (row ``boxes edit``); ``a`` after
                      about 10 of them, until the next photo is drawn (row ``boxes next``: its file name in the meta
                      line and, after a "Loading the image…", half-blocks)
    review            ``review votes --output final`` over a seeded dataset where two annotators answered the 500
                      texts (as a choice; they disagree on every third), key ``a`` (keep the majority version)

A task counts as visible when its unique text (``task NNNNNNN:``) is in the output since the key, stripped of
escape sequences; the time is the arrival of the output chunk that completed it. Each key is sent ``--pause``
seconds (default 0.12) after the previous result appeared. Start is from spawning the process to the first task
visible: the median over ``--runs`` start-only runs (interleaved over the views, so that drift in the machine's
load hits them alike) and the start of the key run, after one start of each view that is not counted (it fills
the bytecode cache, see ``_common.app_env``, and the page cache); ``--starts-only`` leaves out the key runs. Each
start opens a new database. The pty answers Primary Device Attributes (``CSI c``, which ``image --graphics
auto`` asks before it starts) as xterm does, without Sixel, so images are drawn in half-blocks as before;
``--silent-terminal`` answers nothing (the image views then wait out their 0.25 s timeout). Afterwards each
database must hold the answers the keys gave, in order, and ``q`` must end the app with exit code 0.

Goals: key p50 <= 3x the bare app's p50 and <= 16 ms, p99 <= 50 ms, for every judged row; start to first task
<= 1.5x the bare app's for textcat and image, and for ner <= the bare app's plus the time it takes to import spaCy
and make ``spacy.blank("en")`` (measured here, in a fresh interpreter); review's start is shown, not judged.

``--profile DIR`` runs each view's key run under cProfile, switched on once the first task is visible and off
after the last key (SIGUSR1/SIGUSR2 to a small wrapper around the app), and prints the functions with the most
cumulative time; its figures are inflated by the profiler and not judged.

    python bench/view_latency.py [--views binary,spans] [--keys 200] [--runs 3] [--pause 0.12] [--profile DIR]
                                 [--starts-only]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import span_latency as spans_bench
from _common import (BENCH_DIR, PtyApp, PtyTimeout, app_env, bytecode_note, ensure_jsonl, marker, percentile,
                     self_test_strip,
                     strip_ansi, tuiannot_argv, verdict)

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT.parent / "shared" / "data" / "images" / "felix_cats" / "images"
COLUMNS, LINES = 120, 36
SOURCE_TASKS = 500
KEY_P50_GOAL, KEY_P50_RATIO, KEY_P99_GOAL = 0.016, 3.0, 0.050
START_RATIO = 1.5
VIEWS = ("bare", "binary", "choice-exclusive", "choice-multi", "spans", "boxes", "review")
ARROWS = {"right": b"\x1b[C", "left": b"\x1b[D", "up": b"\x1b[A", "down": b"\x1b[B",
          "shift+right": b"\x1b[1;2C", "shift+left": b"\x1b[1;2D", "shift+up": b"\x1b[1;2A",
          "shift+down": b"\x1b[1;2B"}

BARE_APP = '''"""The floor: a bare Textual app that shows the next text of a JSONL file on a key press."""
import json
import sys

from rich.text import Text
from textual.app import App
from textual.binding import Binding
from textual.widgets import Footer, Static


class Bare(App):
    BINDINGS = [Binding("a", "next", "Next"), Binding("q", "quit", "Quit")]

    def __init__(self, path):
        super().__init__()
        self.source = open(path, encoding="utf-8")

    def compose(self):
        yield Static(id="text")
        yield Footer()

    def on_mount(self):
        self.action_next()

    def action_next(self):
        line = self.source.readline()
        if not line:
            self.exit(0)
            return
        self.query_one("#text", Static).update(Text(json.loads(line)["text"]))


if __name__ == "__main__":
    Bare(sys.argv[1]).run()
'''

PROFILER = '''import cProfile, runpy, signal, sys
out, target, *rest = sys.argv[1:]
profile = cProfile.Profile()
signal.signal(signal.SIGUSR1, lambda *_: profile.enable())
def stop(*_):
    profile.disable()
    profile.dump_stats(out)
signal.signal(signal.SIGUSR2, stop)
sys.argv = [target, *rest]
if target.endswith(".py"):
    runpy.run_path(target, run_name="__main__")
else:
    runpy.run_module(target, run_name="__main__", alter_sys=True)
'''


# -- results ------------------------------------------------------------------------------------------------------
@dataclass
class Result:
    view: str
    starts: list[float] = field(default_factory=list)
    start_cpu: list[float] = field(default_factory=list)  # the app's CPU time (all threads) when it was visible
    rows: dict[str, list[float]] = field(default_factory=dict)  # judged rows: name -> latencies (s)
    info: dict[str, list[float]] = field(default_factory=dict)  # information only
    out_bytes: dict[str, list[int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    def add(self, row: str, latency: float, size: int, judged: bool = True) -> None:
        (self.rows if judged else self.info).setdefault(row, []).append(latency)
        self.out_bytes.setdefault(row, []).append(size)

    def problem(self, text: str) -> None:
        if len(self.problems) < 8:
            self.problems.append(text)
        elif len(self.problems) == 8:
            self.problems.append("(more problems not shown)")


@dataclass
class Context:
    args: argparse.Namespace
    work: Path
    source: Path
    spans_source: Path | None = None
    span_texts: list[str] = field(default_factory=list)
    span_tokens: list[list[dict]] = field(default_factory=list)
    photos: list[str] = field(default_factory=list)
    photo_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    review_db: Path | None = None
    spawns: int = 0
    span_models: list[spans_bench.Model] = field(default_factory=list)  # what the span keys made, per text
    box_models: list[tuple[int, int, int, int]] = field(default_factory=list)  # the box made on each photo

    def db(self, view: str) -> Path:
        self.spawns += 1
        path = self.work / f"{view}-{self.spawns}.db"
        if view == "review":
            assert self.review_db is not None
            shutil.copyfile(self.review_db, path)
        return path


# -- spawning -------------------------------------------------------------------------------------------------------
def command(view: str, ctx: Context, db: Path) -> list[str]:
    """The app of ``view``: its argv (the bare app is a script in the work dir)."""
    if view == "bare":
        return [sys.executable, str(ctx.work / "bare_app.py"), str(ctx.source)]
    common = ["--db", str(db), "--dataset", "bench"]
    args = {
        "binary": ["textcat", str(ctx.source), "--label", "POS", *common],
        "choice-exclusive": ["textcat", str(ctx.source), "--label", "POS,NEG", "--exclusive", *common],
        "choice-multi": ["textcat", str(ctx.source), "--label", "POS,NEG", *common],
        "spans": ["ner", str(ctx.spans_source), "--label", "PERSON,ORG", "--lang", "en", *common],
        "boxes": ["image", str(ctx.args.folder), "--label", "CAT,DOG", "--boxes", *common],
        "review": ["review", "votes", "--output", "final", "--db", str(db)],
    }[view]
    return [*tuiannot_argv(), *args]


def spawn(view: str, ctx: Context, db: Path, profile: Path | None = None) -> PtyApp:
    argv = command(view, ctx, db)
    if profile is not None:  # the same program under the profiler wrapper
        target = argv[1] if view == "bare" else "tuiannot"
        rest = argv[2:] if view == "bare" else argv[len(tuiannot_argv()):]
        argv = [sys.executable, "-c", PROFILER, str(profile), target, *rest]
    return PtyApp(argv, columns=COLUMNS, lines=LINES, env=app_env(ctx.work), answer_da1=not ctx.args.silent_terminal)


def wait_needles(app: PtyApp, needles: list[str], since: int, timeout: float) -> float:
    """The arrival time of the output chunk after which every needle is in the output since ``since``."""
    deadline = time.monotonic() + timeout
    arrived = time.monotonic()
    while True:
        seen = strip_ansi(bytes(app.output[since:]).decode("utf-8", "replace"))
        if all(n in seen for n in needles):
            return arrived
        remaining = deadline - time.monotonic()
        if remaining <= 0 or app.eof:
            raise PtyTimeout(f"{needles!r} not seen within {timeout} s (eof={app.eof})")
        if app.read_some(remaining):
            arrived = time.monotonic()


def wait_photo(app: PtyApp, name: str, since: int, timeout: float) -> float:
    """The arrival of the chunk after which photo ``name`` is drawn: its file name in the meta line and, if the
    screen said "Loading the image…" after it, half-blocks after that (as image_latency.py)."""
    deadline = time.monotonic() + timeout
    target = f"file: {name}"
    arrived = time.monotonic()
    while True:
        text = strip_ansi(bytes(app.output[since:]).decode("utf-8", "replace"))
        if target in text:
            after = text[text.index(target):]
            if "Loading the image" not in after or "▀" in after.rsplit("Loading the image", 1)[1]:
                return arrived
        remaining = deadline - time.monotonic()
        if remaining <= 0 or app.eof:
            raise PtyTimeout(f"{name} not drawn within {timeout} s (eof={app.eof})")
        if app.read_some(remaining):
            arrived = time.monotonic()


def first_visible(view: str, ctx: Context) -> Callable[[PtyApp], float]:
    if view == "spans":
        question = spans_bench.Model(ctx.span_texts[0], ctx.span_tokens[0]).question()
        return lambda app: wait_needles(app, [question], 0, 60)
    if view == "boxes":
        return lambda app: wait_photo(app, ctx.photos[0], 0, 60)
    return lambda app: wait_needles(app, [marker(0)], 0, 60)


def quit_app(app: PtyApp, result: Result) -> None:
    app.drain(0.2)
    app.send(b"q")
    try:
        code = app.wait_exit(timeout=15)
    except PtyTimeout:
        result.problem("q did not end the app")
        return
    if code != 0:
        result.problem(f"q: exit code {code} (expected 0)")


def cpu_seconds(pid: int) -> float | None:
    """The CPU time process ``pid`` has run so far, all its threads (Linux's schedstat, in ns; None elsewhere).
    On a shared machine the steadier figure of a start: waiting for a CPU does not count."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9


def measure_start(view: str, ctx: Context, result: Result) -> None:
    app = spawn(view, ctx, ctx.db(view))
    try:
        result.starts.append(first_visible(view, ctx)(app) - app.spawned_at)
        cpu = cpu_seconds(app.pid)
        if cpu is not None:
            result.start_cpu.append(cpu)
        quit_app(app, result)
    except PtyTimeout as e:
        result.problem(f"start: the first task never appeared ({e}); output tail {app.text()[-200:]!r}")
    finally:
        app.kill()


def spacy_blank_seconds() -> float:
    """Importing spaCy and making ``spacy.blank("en")`` in a fresh interpreter (what ner adds to a start)."""
    code = ("import time; t = time.perf_counter(); import spacy; spacy.blank('en'); "
            "print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


# -- key runs -------------------------------------------------------------------------------------------------------
def key_run(view: str, ctx: Context, result: Result) -> None:
    """Spawn ``view``, measure its start and its keys, quit, check what was stored."""
    db = ctx.db(view)
    profile = ctx.args.profile / f"{view}.prof" if ctx.args.profile else None
    app = spawn(view, ctx, db, profile)
    try:
        try:
            result.starts.append(first_visible(view, ctx)(app) - app.spawned_at)
        except PtyTimeout as e:
            result.problem(f"the first task never appeared ({e}); output tail {app.text()[-300:]!r}")
            return
        app.drain(0.3)  # the first frame's follow-ups
        if profile is not None:
            os.kill(app.pid, signal.SIGUSR1)
            app.drain(0.05)
        try:
            done = {"spans": span_keys, "boxes": box_keys}.get(view, text_keys)(view, app, ctx, result)
        finally:
            if profile is not None and not app.eof:
                os.kill(app.pid, signal.SIGUSR2)
                app.drain(0.5)
        quit_app(app, result)
    finally:
        app.kill()
    check_stored(view, db, ctx, result, done)


def text_keys(view: str, app: PtyApp, ctx: Context, result: Result) -> int:
    """bare, binary, choice and review: one key (after ``1`` for choice-multi) to the next task's text."""
    key = b"1" if view == "choice-exclusive" else b"a"
    done = 0
    for i in range(1, ctx.args.keys + 1):
        if view == "choice-multi":
            since = len(app.output)
            sent = app.send(b"1")
            try:
                result.add("1 (toggle)", wait_needles(app, ["☑ POS"], since, 10) - sent, len(app.output) - since,
                           judged=False)
            except PtyTimeout:
                result.problem(f"key {i}: '1' never showed ☑ POS; output tail {app.text(since)[-200:]!r}")
                break
            app.drain(0.03)
        since = len(app.output)
        sent = app.send(key)
        try:
            seen = wait_needles(app, [marker(i)], since, 10)
        except PtyTimeout:
            result.problem(f"key {i}: task {i} never appeared; output tail {app.text(since)[-300:]!r}")
            break
        result.add(view, seen - sent, len(app.output) - since)
        done += 1
        if marker(i + 1) in app.text(since):
            result.problem(f"key {i}: task {i + 1} appeared too: one key answered two tasks")
        app.drain(ctx.args.pause)
    return done


def span_plan(model: spans_bench.Model, rng: random.Random, keys: int) -> list[str]:
    """A walk over the text making spans with labels 1-2 (as span_latency.py's plan), at most ``keys`` keys; every
    key changes the question line."""
    m = model.copy()
    plan: list[str] = []
    last = m.next_word(len(m.tokens), -1)

    def do(action: str) -> None:
        before = m.question()
        m.apply(action)
        assert m.question() != before, (action, before)
        plan.append(action)

    while len(plan) < keys:
        for _ in range(rng.randint(1, 4)):
            if m.cursor >= last:
                break
            do("right")
            if m.cursor > 0 and rng.random() < 0.2:
                do("left")
        while m.is_punct(m.cursor) and m.cursor < last:
            do("right")
        if last - m.cursor < 6:
            break
        for _ in range(rng.choice([0, 1, 1, 2])):
            do("shift+right")
        while m.is_punct(m.cursor):
            do("shift+right")
        do(rng.choice("12"))
    return plan[:keys]


def span_keys(view: str, app: PtyApp, ctx: Context, result: Result) -> int:
    driver = spans_bench.Driver(app, COLUMNS, LINES)
    rng = random.Random(ctx.args.seed)
    models = [spans_bench.Model(t, toks) for t, toks in zip(ctx.span_texts, ctx.span_tokens, strict=True)]
    per_task = max(1, ctx.args.keys // len(models))
    plans = [span_plan(m, rng, per_task) for m in models]
    ctx.span_models = models
    wrong_screen = 0
    for t, (model, plan) in enumerate(zip(models, plans, strict=True)):
        driver.drain(0.3)
        for k, action in enumerate(plan):
            expect = model.apply(action)
            since = len(app.output)
            sent = app.send(spans_bench.KEY_BYTES[action])
            try:
                seen = driver.wait([expect.question, *expect.extra], since, timeout=10)
            except PtyTimeout:
                result.problem(f"task {t}, key {k} ({action}): {expect.question!r} never appeared")
                return t
            kind = "spans label" if action in ("1", "2") else "spans move"
            result.add(kind, seen - sent, len(app.output) - since)
            driver.settle(0.003, 0.03)  # the rest of the frame
            driver.feed()
            problem = spans_bench.check_text_box(driver.term, model)
            driver.drain(ctx.args.pause)
            if problem and spans_bench.check_text_box(driver.term, model) is not None:
                wrong_screen += 1
                result.problem(f"task {t}, key {k} ({action}): {problem}")
        since = len(app.output)
        sent = app.send(b"a")
        following = [models[t + 1].question()] if t + 1 < len(models) else ["No more tasks"]
        try:
            result.add("spans accept", driver.wait(following, since, timeout=10) - sent, len(app.output) - since,
                       judged=False)
        except PtyTimeout:
            result.problem(f"task {t}: after 'a', {following[0]!r} never appeared")
            return t
    if wrong_screen:
        result.notes.append(f"{wrong_screen} keys left the text box wrong (cursor or badges)")
    return len(models)


class BoxModel:
    """What the box list should show (as tuiannot/screens/image.py's BoxScreen computes it)."""

    LABELS = ["CAT", "DOG"]

    def __init__(self) -> None:
        self.W = self.H = 1.0
        self.box: list[float] | None = None  # x, y, w, h
        self.label = self.LABELS[0]
        self.last_label = self.LABELS[0]

    def new_photo(self, size: tuple[int, int]) -> None:
        self.W, self.H = float(size[0]), float(size[1])
        self.box = None

    def pixels(self) -> tuple[int, int, int, int]:
        assert self.box is not None
        x, y, w, h = self.box
        x0, y0 = round(x), round(y)
        return x0, y0, max(1, round(x + w) - x0), max(1, round(y + h) - y0)

    def line(self) -> str:
        x, y, w, h = self.pixels()
        return f"{self.LABELS.index(self.label) + 1} {self.label}  {x},{y} {w}×{h}"

    def apply(self, action: str) -> None:
        W, H = self.W, self.H
        sx, sy = max(1.0, W * 0.05), max(1.0, H * 0.05)
        if action == "n":
            w, h = max(1.0, round(W / 3)), max(1.0, round(H / 3))
            self.box, self.label = [round((W - w) / 2), round((H - h) / 2), w, h], self.last_label
            return
        assert self.box is not None
        x, y, w, h = self.box
        if action in ("1", "2"):
            self.label = self.last_label = self.LABELS[int(action) - 1]
        elif action.startswith("shift+"):
            dx, dy = {"right": (1, 0), "left": (-1, 0), "down": (0, 1), "up": (0, -1)}[action[6:]]
            self.box[2] = min(max(1.0, w + dx * sx), W - x)
            self.box[3] = min(max(1.0, h + dy * sy), H - y)
        else:
            dx, dy = {"right": (1, 0), "left": (-1, 0), "down": (0, 1), "up": (0, -1)}[action]
            self.box[0] = min(max(0.0, x + dx * sx), W - w)
            self.box[1] = min(max(0.0, y + dy * sy), H - h)


def box_keys(view: str, app: PtyApp, ctx: Context, result: Result) -> int:
    """``n``, then box keys that each change the box list's line, then ``a`` to the next photo."""
    rng = random.Random(ctx.args.seed)
    model = BoxModel()
    per_photo = 10
    photos = min(len(ctx.photos) - 1, max(1, ctx.args.keys // (per_photo + 1)))
    actions = [*ARROWS, "1", "2"]
    for p in range(photos):
        model.new_photo(ctx.photo_sizes[ctx.photos[p]])
        for k in range(per_photo):
            action = "n"
            if k:
                for _ in range(50):  # a key that changes the line (a box at an edge does not move further)
                    action = rng.choice(actions)
                    trial = copy.deepcopy(model)
                    trial.apply(action)
                    if trial.line() != model.line():
                        break
            model.apply(action)
            needles = [model.line(), "Boxes (1)"] if action == "n" else [model.line()]
            since = len(app.output)
            sent = app.send(ARROWS.get(action, action.encode()))
            try:
                seen = wait_needles(app, needles, since, 10)
            except PtyTimeout:
                result.problem(f"photo {p}, key {k} ({action}): {needles!r} never appeared; "
                               f"output tail {app.text(since)[-200:]!r}")
                return p
            result.add("boxes edit", seen - sent, len(app.output) - since)
            app.drain(ctx.args.pause)
        since = len(app.output)
        sent = app.send(b"a")
        try:
            seen = wait_photo(app, ctx.photos[p + 1], since, 10)
        except PtyTimeout:
            result.problem(f"photo {p}: after 'a', {ctx.photos[p + 1]} never appeared")
            return p
        result.add("boxes next", seen - sent, len(app.output) - since)
        ctx.box_models.append(model.pixels())
        app.drain(ctx.args.pause)
    return photos


def check_stored(view: str, db: Path, ctx: Context, result: Result, done: int) -> None:
    """What the keys gave must be in the database, in order."""
    if view == "bare":
        return
    import tuiannot

    with tuiannot.connect(db) as database:
        rows = list(database.answers("final" if view == "review" else "bench"))
    if len(rows) != done:
        result.problem(f"database: {len(rows)} answers, expected {done}")
    if view in ("binary", "choice-exclusive", "choice-multi", "review"):
        texts_ok = all(str(r.get("text", "")).startswith(marker(i)) for i, r in enumerate(rows))
        accept = {"binary": None, "review": None}.get(view, ["POS"])
        answers_ok = all(r["answer"] == "accept" and (accept is None or r.get("accept") == accept) for r in rows)
        if not (texts_ok and answers_ok):
            result.problem(f"database: tasks in order {texts_ok}, answers as given {answers_ok}")
    elif view == "spans":
        run = spans_bench.Run()
        spans_bench.check_answers(db, ctx.span_models[:done], run)
        for p in run.problems:
            result.problem(p)
    elif view == "boxes":
        want = ctx.box_models
        got = [tuple(s[k] for k in ("x", "y", "width", "height")) for r in rows for s in r.get("spans") or []]
        files = [r.get("meta", {}).get("file") for r in rows]
        if got != want or files != ctx.photos[:len(rows)]:
            result.problem(f"database: boxes stored {got[:3]}…, expected {want[:3]}…; photos in order "
                           f"{files == ctx.photos[:len(rows)]}")


# -- data ---------------------------------------------------------------------------------------------------------
def prepare(views: list[str], ctx: Context, result_of: dict[str, Result]) -> None:
    (ctx.work / "bare_app.py").write_text(BARE_APP, encoding="utf-8")
    if "spans" in views:
        rng = random.Random(ctx.args.seed)
        ctx.span_texts = [spans_bench.make_span_text(t, ctx.args.tokens, rng) for t in range(2)]
        ctx.spans_source = BENCH_DIR / f"views-spans-{ctx.args.tokens}-{ctx.args.seed}.jsonl"
        ctx.spans_source.write_text("".join(json.dumps({"text": t}) + "\n" for t in ctx.span_texts), encoding="utf-8")
        ctx.span_tokens = spans_bench.tokenize(ctx.span_texts)
    if "boxes" in views:
        if not ctx.args.folder.is_dir():
            result_of["boxes"].skipped = f"no photos at {ctx.args.folder}"
        else:
            from tuiannot.images import decode
            from tuiannot.images.tasks import image_files

            seen: set[int] = set()  # the files the app serves, in order: sorted, the same content only once
            for path in image_files(ctx.args.folder):
                try:
                    info = decode.load(str(path))[0]
                except decode.ImageError:
                    continue
                if info.input_hash not in seen:
                    seen.add(info.input_hash)
                    name = str(path.relative_to(ctx.args.folder))
                    ctx.photos.append(name)
                    ctx.photo_sizes[name] = (info.width, info.height)
    if "review" in views:
        import tuiannot

        options = [{"id": "POS", "text": "POS"}, {"id": "NEG", "text": "NEG"}]
        answers = []
        with open(ctx.source, encoding="utf-8") as f:
            for i, line in enumerate(f):
                text = json.loads(line)["text"]
                for who in ("alice", "bob"):
                    label = "POS" if (i % 2 == 0) != (who == "bob" and i % 3 == 0) else "NEG"
                    answers.append({"text": text, "options": options, "accept": [label], "answer": "accept",
                                    "_view_id": "choice", "_session_id": f"votes-{who}",
                                    "_annotator_id": f"votes-{who}", "_timestamp": 1_700_000_000 + i})
        ctx.review_db = ctx.work / "review-seed.db"
        with tuiannot.connect(ctx.review_db) as db:
            db.add_answers("votes", answers)


# -- report -------------------------------------------------------------------------------------------------------
def ms(values: list[float], p: float | None = None) -> float:
    return (statistics.median(values) if p is None else percentile(values, p)) * 1000


def report(results: dict[str, Result], spacy_s: float | None, profiled: bool, starts_only: bool = False) -> bool:
    bare = results.get("bare")
    bare_start = statistics.median(bare.starts) if bare and bare.starts else None
    bare_p50 = statistics.median(bare.rows["bare"]) if bare and bare.rows.get("bare") else None
    if bare_start is None or (bare_p50 is None and not starts_only):
        print("(no bare-app figures: ratios and the goals that need them are left out)")
    print()
    head = (f"{'view':<20}{'start ms':>9}{'×bare':>7}  {'start goal':<22}{'p50 ms':>7}{'p99 ms':>8}{'×bare':>7}"
            f"  {'p50 goal':<16}{'p99 goal':<14}")
    print(head)
    print("-" * len(head))
    ok = True
    for view, result in results.items():
        if result.skipped:
            print(f"{view:<20}skipped: {result.skipped}")
            continue
        start = statistics.median(result.starts) if result.starts else None
        start_cell, start_ratio, start_goal = "-", "", "-"
        if start is not None:
            start_cell = f"{start * 1000:.0f}"
            if bare_start:
                start_ratio = f"{start / bare_start:.2f}"
            limit = None
            if view in ("binary", "choice-exclusive", "choice-multi", "boxes") and bare_start:
                limit, name = START_RATIO * bare_start, f"≤{START_RATIO}×"
            elif view == "spans" and bare_start and spacy_s is not None:
                limit, name = bare_start + spacy_s, "≤bare+spaCy"
            if limit is not None:
                good = start <= limit
                ok = ok and (good or profiled)
                start_goal = f"{name} {limit * 1000:.0f}: {verdict(good)}"
        elif view != "bare":
            ok = False
            start_goal = "FAIL (no start)"
        rows = list(result.rows.items()) or [(view, [])]
        for r, (row, values) in enumerate(rows):
            first = r == 0
            cells = f"{row:<20}" + (f"{start_cell:>9}{start_ratio:>7}  {start_goal:<22}" if first else " " * 40)
            if not values and starts_only:
                print(cells + "   (--starts-only: no keys)")
                continue
            if not values:
                print(cells + "   no measurement: FAIL")
                ok = False
                continue
            p50, p99 = ms(values), ms(values, 99)
            ratio = f"{p50 / (bare_p50 * 1000):.2f}" if bare_p50 else ""
            p50_goal = p99_goal = "-"
            if view != "bare":
                limit = min(KEY_P50_GOAL, KEY_P50_RATIO * bare_p50) if bare_p50 else KEY_P50_GOAL
                good50, good99 = p50 <= limit * 1000, p99 <= KEY_P99_GOAL * 1000
                ok = ok and ((good50 and good99) or profiled)
                p50_goal, p99_goal = f"≤{limit * 1000:.1f}: {verdict(good50)}", f"≤50: {verdict(good99)}"
            print(cells + f"{p50:>7.1f}{p99:>8.1f}{ratio:>7}  {p50_goal:<16}{p99_goal:<14}")
    print()
    for view, result in results.items():
        if result.skipped:
            continue
        parts = []
        for row, values in [*result.rows.items(), *((f"{k} (info)", v) for k, v in result.info.items())]:
            key = row.removesuffix(" (info)")
            size = statistics.mean(result.out_bytes.get(key, [0]))
            parts.append(f"{row}: n={len(values)} min={ms(values, 0):.1f} p90={ms(values, 90):.1f} "
                         f"max={ms(values, 100):.1f} ms, {size:,.0f} bytes/key")
        starts = ", ".join(f"{s * 1000:.0f}" for s in result.starts)
        if result.start_cpu:
            cpu = statistics.median(result.start_cpu)
            bare_cpu = statistics.median(bare.start_cpu) if bare and bare.start_cpu else None
            starts += f" (CPU at the first task: median {cpu * 1000:.0f} ms" + (
                f", {cpu / bare_cpu:.2f}x bare's {bare_cpu * 1000:.0f})" if bare_cpu and view != "bare" else ")")
        print(f"{view}: starts {starts} ms; " + "; ".join(parts))
        for n in result.notes:
            print(f"  note: {n}")
        for p in result.problems:
            print(f"  ! {p}")
        ok = ok and not result.problems
    if spacy_s is not None:
        print(f"import spaCy + spacy.blank('en') in a fresh interpreter: {spacy_s * 1000:.0f} ms (median)")
    return ok


def print_profile(path: Path) -> None:
    import pstats

    if not path.exists():
        print(f"  (no profile written at {path})")
        return
    print(f"profile of the key run: {path}")
    pstats.Stats(str(path)).sort_stats("cumulative").print_stats(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--views", default=",".join(VIEWS), help=f"comma-separated subset of {','.join(VIEWS)} "
                        "(the bare app is always measured)")
    parser.add_argument("--keys", type=int, default=200, help="keys per view (default 200)")
    parser.add_argument("--runs", type=int, default=3, help="start-only runs per view (default 3)")
    parser.add_argument("--pause", type=float, default=0.12,
                        help="seconds between a result appearing and the next key (default 0.12)")
    parser.add_argument("--tokens", type=int, default=300, help="spaCy tokens per span text (default 300)")
    parser.add_argument("--folder", type=Path, default=FOLDER, help="photos for the boxes view")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="profile each key run with cProfile into DIR/VIEW.prof (figures not judged)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (databases)")
    parser.add_argument("--starts-only", action="store_true",
                        help="only the start-only runs (start goals judged; no key runs)")
    parser.add_argument("--silent-terminal", action="store_true",
                        help="the pty answers no query (default: Primary Device Attributes as xterm does, which "
                             "`image --graphics auto` asks before it starts)")
    args = parser.parse_args()
    views = [v.strip() for v in args.views.split(",") if v.strip()]
    unknown = [v for v in views if v not in VIEWS]
    if unknown:
        parser.error(f"unknown views {unknown}; known: {', '.join(VIEWS)}")
    views = ["bare", *(v for v in VIEWS if v in views and v != "bare")]
    args.keys = min(args.keys, SOURCE_TASKS - 2)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    self_test_strip()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    source, _ = ensure_jsonl(BENCH_DIR / f"screen-{SOURCE_TASKS}.jsonl", SOURCE_TASKS)
    work = Path(tempfile.mkdtemp(prefix="views-", dir=BENCH_DIR))
    ctx = Context(args, work, source)
    results = {v: Result(v) for v in views}
    print(f"tuiannot views against a bare Textual app, {COLUMNS}x{LINES} pty (TERM=xterm-256color, "
          f"COLORTERM={os.environ.get('COLORTERM', 'unset')}), {os.cpu_count()} CPUs")
    print(f"source: {source} ({SOURCE_TASKS} tasks); {args.keys} keys per view, each {args.pause * 1000:.0f} ms "
          f"after the previous result; work dir: {work}" + ("; PROFILED: figures not judged" if args.profile else ""))
    print(bytecode_note() + "; the terminal " + ("answers no query (--silent-terminal)" if args.silent_terminal
                                                   else "answers CSI c (Primary Device Attributes) as xterm does"))
    spacy_s: float | None = None
    try:
        prepare(views, ctx, results)
        live = [v for v in views if not results[v].skipped]
        spacy_times = []
        warm = {v: Result(v) for v in live}
        for view in live:  # a first start fills the bytecode and page caches; not counted
            measure_start(view, ctx, warm[view])
        print("warm-up (not counted): " + ", ".join(
            f"{v} {warm[v].starts[-1] * 1000:.0f}" for v in live if warm[v].starts) + " ms")
        for run in range(args.runs):  # start-only runs, interleaved
            for view in live:
                measure_start(view, ctx, results[view])
            if "spans" in live:
                spacy_times.append(spacy_blank_seconds())
            print(f"start round {run + 1}/{args.runs}: " + ", ".join(
                f"{v} {results[v].starts[-1] * 1000:.0f}" for v in live if results[v].starts) + " ms")
        if spacy_times:
            spacy_s = statistics.median(spacy_times)
        for view in live if not args.starts_only else []:
            t0 = time.monotonic()
            key_run(view, ctx, results[view])
            rows = {**results[view].rows}
            print(f"{view}: {sum(len(v) for v in rows.values())} keys in {time.monotonic() - t0:.0f} s " + ", ".join(
                f"({r} p50 {ms(v):.1f} ms)" for r, v in rows.items() if v))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    ok = report(results, spacy_s, bool(args.profile), args.starts_only)
    if args.profile:
        for view in views:
            print_profile(args.profile / f"{view}.prof")
    print(f"overall: {verdict(ok)}" + (" (profiled run: only the checks are judged)" if args.profile else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Start to first task in instructions, not milliseconds: each view's start counted by valgrind (callgrind), the
bare Textual app's beside it (issue 15).

On a shared machine a start's time swings by a third from one run to the next (the bare app of
view_latency.py started in 206-514 ms across one week's runs), so a change worth 2% of a start cannot be
seen in times. The number of instructions the app's main thread runs from the process's start to its first
task on screen hardly moves: the same code gives the same count within ~0.1% from one run to the next, so one
run of each is enough to compare two versions of the code. That is what this bench prints, for the bare app of
view_latency.py and the views whose start goal is a ratio to it (``textcat`` binary and choice, ``image
--boxes``), with their ratio to the bare app's count.

How: each app runs in a pseudo-terminal of 120x36 under ``valgrind --tool=callgrind --separate-threads=yes``
through a small driver (:data:`DRIVER`) that runs the real ``tuiannot`` command line, starts the app once the
controller has its first task ready (in a real start the screens' import takes longer than that: without the
wait, valgrind, which runs one thread at a time, makes the count depend on which thread it ran first) and quits
two frames after the first task is on screen; the bare app quits two frames after its first text. Counted: the
main thread's instructions (Python's own start included; the prefetch thread's decoding and Textual's writer
thread are not: they run beside the main thread). The bytecode is cached as view_latency.py does; a first,
uncounted run of each fills the cache.

An instruction count is a proxy: the goal (view_latency.py) is wall time, which also pays the other threads,
I/O and the terminal. A view's time ratio has been above its instruction ratio by 0.05-0.1 (the photo's
decoding beside the main thread, for ``image``). Without valgrind the bench says so and exits 0. Takes ~2 min
on 2 CPUs (two runs at once).

``python bench/start_instructions.py [--views binary,choice-exclusive,boxes] [--runs 1]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BENCH_DIR, PtyApp, app_env, ensure_jsonl  # noqa: E402
from view_latency import BARE_APP, COLUMNS, FOLDER, LINES, SOURCE_TASKS  # noqa: E402

VIEWS = ("binary", "choice-exclusive", "boxes")
DRIVER = '''"""Run tuiannot's command line; start the app once its first task is ready; quit once it is drawn."""
import sys

import tuiannot.screens.app as screens

show_next, run = screens.AnnotationApp.show_next, screens.AnnotationApp.run


def first_then_quit(self):
    first = self.first_task_at is None
    show_next(self)
    if first:
        self.call_after_refresh(lambda: self.call_after_refresh(self.exit))


def ready_then_run(self, *args, **kwargs):
    self.controller.wait_ready(timeout=120)
    return run(self, *args, **kwargs)


screens.AnnotationApp.show_next = first_then_quit
screens.AnnotationApp.run = ready_then_run
from tuiannot.cli import main  # noqa: E402

main(sys.argv[1:])
'''
BARE_DRIVER = BARE_APP.replace('''    def on_mount(self):
        self.action_next()''', '''    def on_mount(self):
        self.action_next()
        self.call_after_refresh(lambda: self.call_after_refresh(self.exit))''')


def argv_of(view: str, work: Path, source: Path, folder: Path, db: Path) -> list[str]:
    if view == "bare":
        return [str(work / "bare_driver.py"), str(source)]
    common = ["--db", str(db), "--dataset", "bench"]
    return [str(work / "driver.py"), *{
        "binary": ["textcat", str(source), "--label", "POS", *common],
        "choice-exclusive": ["textcat", str(source), "--label", "POS,NEG", "--exclusive", *common],
        "boxes": ["image", str(folder), "--label", "CAT,DOG", "--boxes", *common],
    }[view]]


def count(view: str, work: Path, source: Path, folder: Path, tag: str) -> int | None:
    """The main thread's instructions of one start of ``view`` (None if it did not end well)."""
    out = work / f"callgrind.{view}.{tag}"
    db = work / f"{view}-{tag}.db"
    app = PtyApp(["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out}",
                  sys.executable, *argv_of(view, work, source, folder, db)],
                 columns=COLUMNS, lines=LINES, env=app_env(work), answer_da1=True)
    try:
        code = app.wait_exit(timeout=600)
    finally:
        app.kill()
    main_thread = Path(f"{out}-01")
    if code != 0 or not main_thread.exists():
        print(f"  {view}: exit {code}; output tail {app.text()[-300:]!r}")
        return None
    for line in main_thread.read_text(errors="replace").splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--views", default=",".join(VIEWS), help=f"comma-separated subset of {','.join(VIEWS)}")
    parser.add_argument("--runs", type=int, default=1, help="counted runs of each (default 1: the count is steady)")
    parser.add_argument("--folder", type=Path, default=FOLDER, help="photos for the boxes view")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("SKIP: valgrind is not installed (apt install valgrind); nothing measured")
        return 0
    views = ["bare", *(v.strip() for v in args.views.split(",") if v.strip())]
    if "boxes" in views and not args.folder.is_dir():
        print(f"boxes: skipped, no photos at {args.folder}")
        views.remove("boxes")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    source, _ = ensure_jsonl(BENCH_DIR / f"screen-{SOURCE_TASKS}.jsonl", SOURCE_TASKS)
    work = Path(tempfile.mkdtemp(prefix="instructions-", dir=BENCH_DIR))
    (work / "driver.py").write_text(DRIVER, encoding="utf-8")
    (work / "bare_driver.py").write_text(BARE_DRIVER, encoding="utf-8")
    print(f"main-thread instructions from the process's start to the first task on screen, under callgrind; "
          f"{COLUMNS}x{LINES} pty; {os.cpu_count()} CPUs; work dir {work}")
    counts: dict[str, list[int]] = {v: [] for v in views}
    jobs = [(v, f"warm{0}") for v in views] + [(v, f"run{r}") for r in range(args.runs) for v in views]
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not jobs:
                    return
                view, tag = jobs.pop(0)
            got = count(view, work, source, args.folder, tag)
            if got is not None and not tag.startswith("warm"):
                with lock:
                    counts[view].append(got)
                print(f"  {view} ({tag}): {got:,}", flush=True)

    threads = [threading.Thread(target=worker) for _ in range(min(2, os.cpu_count() or 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if not counts["bare"]:
        print("overall: no count for the bare app")
        return 0
    bare = statistics.median(counts["bare"])
    print(f"\n{'view':18} {'instructions':>15} {'x bare':>7}")
    for view in views:
        if counts[view]:
            got = statistics.median(counts[view])
            print(f"{view:18} {got:15,.0f} {got / bare:7.3f}")
        else:
            print(f"{view:18} {'(failed)':>15}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

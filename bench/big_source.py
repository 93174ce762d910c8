"""A big source: a 1,000,000-line JSONL file (~150 MB of 100-200 byte texts).

(a) time to first task, goal <= 0.6 s:
    - through the API, in a fresh process per run: ``get_recipe("textcat")(path,
      label="POS,NEG")``, ``Components.from_value``, ``Controller(...).start()``
      and ``next_task()`` (the imports are timed separately and not included);
    - end to end in a 100x30 pseudo-terminal: from spawning
      ``tuiannot textcat BIG --label POS,NEG`` until the first task's text is
      on screen (includes the interpreter start and all imports).
(b) peak memory (VmHWM of a fresh process), goal <= 120 MB: starting and
    answering --answer tasks through the controller. Also reported, with no
    goal: a resume where the prefetcher first skips --resume already-answered
    tasks, and the real app's peak after some keys in the pty.
(c) resume in constant time, goal <= 1.5x the fresh start of (a): after that
    resume (a full scan: the answers came without a checkpoint) has answered
    --answer more, restarts seek to the session's checkpoint.

The source is generated once under /tmp/tuiannot-bench and reused; so is the
resume database (copied for each run, so every run starts from the same state).

    python bench/big_source.py [--lines 1000000] [--runs 5] [--answer 1000] [--resume 200000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (BENCH_DIR, PtyApp, PtyTimeout, app_env, ensure_jsonl, marker, summary_ms, tuiannot_argv,
                     verdict)

FIRST_TASK_GOAL = 0.6
RESUME_RATIO_GOAL = 1.5  # issue 15: a restart with everything before answered, against a fresh start
MEMORY_GOAL_MB = 120.0
DATASET = "bench"


# -- the child: one fresh process per measurement ----------------------------------------
def _status_kb(field: str, pid: str = "self") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def child(spec: dict) -> dict:
    t_import = time.perf_counter()
    import tuiannot
    from tuiannot.controller import Controller
    from tuiannot.recipes import Components
    imported = time.perf_counter()
    rss_after_import = _status_kb("VmRSS")

    t0 = time.perf_counter()
    components = Components.from_value(
        tuiannot.get_recipe("textcat")(spec["source"], label="POS,NEG", dataset=DATASET), "textcat")
    database = tuiannot.connect(spec["db"])
    controller = Controller(components, database, "bench").start()
    task = controller.next_task()
    first = time.perf_counter() - t0
    first_text = task["text"] if task else None

    answered = 0
    t1 = time.perf_counter()
    for _ in range(spec["answer"]):
        task = controller.next_task()
        if task is None:
            break
        controller.answer("accept", ["POS"] if answered % 3 else ["NEG"])
        answered += 1
    answering = time.perf_counter() - t1
    summary = controller.close()
    database.close()
    return {"import_s": imported - t_import, "first_s": first, "first_text": first_text,
            "answered": answered, "answer_s": answering, "saved": summary.answers,
            "rss_after_import_kb": rss_after_import, "rss_kb": _status_kb("VmRSS"), "hwm_kb": _status_kb("VmHWM")}


def run_child(spec: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True,
                         timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"child failed ({out.returncode}): {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the resume database ----------------------------------------------------------------
def ensure_resume_db(source: Path, count: int) -> Path:
    """A database whose dataset already holds answers to the source's first ``count`` tasks."""
    path = BENCH_DIR / f"resume-{source.stem}-{count}.db"
    stamp = path.with_name(path.name + ".ok")
    if path.exists() and stamp.exists():
        return path
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    import tuiannot
    from tuiannot.recipes import Components

    components = Components.from_value(tuiannot.get_recipe("textcat")(str(source), label="POS,NEG",
                                                                         dataset=DATASET), "textcat")

    def answered():
        for i, task in enumerate(components.stream):
            if i >= count:
                return
            task.update({"answer": "accept", "accept": ["POS"], "_session_id": f"{DATASET}-earlier",
                         "_annotator_id": f"{DATASET}-earlier", "_view_id": "choice", "_seconds": 2.5})
            yield task

    with tuiannot.connect(path) as db:
        db.add_dataset(DATASET)
        db.add_answers(DATASET, answered())
    stamp.write_text(str(count))
    return path


# -- the pty ---------------------------------------------------------------------------
def pty_first_task(source: Path, work: Path, runs: int, keys: int) -> tuple[list[float], int | None]:
    """Start-to-first-task times in a pty, and the app's VmHWM (kB) after ``keys`` answers in the last run."""
    times: list[float] = []
    hwm = None
    for run in range(runs):
        db = work / f"pty-{run}.db"
        argv = [*tuiannot_argv(), "textcat", str(source), "--label", "POS,NEG", "--db", str(db),
                "--dataset", DATASET]
        app = PtyApp(argv, env=app_env(work))
        try:
            times.append(app.wait_for_text(marker(0), timeout=30) - app.spawned_at)
            print(f"  pty run {run + 1}: {times[-1] * 1000:.0f} ms")
            if run == runs - 1 and keys:
                app.drain(0.2)
                for i in range(1, keys + 1):
                    since = len(app.output)
                    app.send(b"1a" if i % 2 else b"2a")
                    app.wait_for_text(marker(i), since=since, timeout=10)
                hwm = _status_kb("VmHWM", str(app.pid))
            app.send(b"q")
            code = app.wait_exit(15)
            if code != 0:
                print(f"  pty run {run + 1}: exit code {code} after q")
        except PtyTimeout as e:
            print(f"  pty run {run + 1}: {e}; output tail {app.text()[-300:]!r}")
        finally:
            app.kill()
    return times, hwm


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="tasks in the source (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each start-up measurement (default 5)")
    parser.add_argument("--answer", type=int, default=1000, help="tasks answered in the memory run (default 1000)")
    parser.add_argument("--resume", type=int, default=200_000,
                        help="already-answered tasks the resume run skips (default 200,000; 0 = skip)")
    parser.add_argument("--pty-keys", type=int, default=100,
                        help="answers given in the last pty run before reading the app's peak memory (default 100)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    source, reused = ensure_jsonl(BENCH_DIR / f"big-{args.lines}.jsonl", args.lines)
    size = source.stat().st_size
    print(f"source: {source}: {args.lines:,} lines, {size / 1e6:.0f} MB, average {size / args.lines:.0f} bytes/line "
          f"({'reused' if reused else f'generated in {time.perf_counter() - t:.1f} s'})")
    work = Path(tempfile.mkdtemp(prefix="big-", dir=BENCH_DIR))
    results: list[bool] = []
    try:
        # (a) API
        print(f"(a) time to first task through the controller, {args.runs} fresh processes:")
        firsts, imports = [], []
        for run in range(args.runs):
            r = run_child({"source": str(source), "db": str(work / f"api-{run}.db"), "answer": 0})
            ok = (r["first_text"] or "").startswith(marker(0))
            firsts.append(r["first_s"])
            imports.append(r["import_s"])
            print(f"  run {run + 1}: first task {r['first_s'] * 1000:.1f} ms (imports before it "
                  f"{r['import_s'] * 1000:.0f} ms){'' if ok else '  WRONG first task: ' + repr(r['first_text'])}")
        # (a) pty
        print(f"(a') start to first task visible in a 100x30 pty, {args.runs} runs:")
        ptys, app_hwm = pty_first_task(source, work, args.runs, args.pty_keys)
        # (b) memory
        print(f"(b) peak memory: start and answer {args.answer:,} tasks through the controller:")
        mem = run_child({"source": str(source), "db": str(work / "mem.db"), "answer": args.answer})
        with_rate = mem["answered"] / mem["answer_s"] if mem["answer_s"] else float("nan")
        print(f"  answered {mem['answered']:,} ({mem['saved']:,} saved) in {mem['answer_s']:.2f} s "
              f"({with_rate:,.0f}/s); RSS after imports {mem['rss_after_import_kb'] / 1024:.1f} MB, "
              f"at the end {mem['rss_kb'] / 1024:.1f} MB, peak (VmHWM) {mem['hwm_kb'] / 1024:.1f} MB")
        resume = None
        resumed: list[float] = []
        if args.resume:
            t = time.perf_counter()
            base = ensure_resume_db(source, args.resume)
            print(f"(b') resume after {args.resume:,} answered tasks (database {base}, "
                  f"ready in {time.perf_counter() - t:.1f} s):")
            db = work / "resume.db"
            shutil.copyfile(base, db)
            resume = run_child({"source": str(source), "db": str(db), "answer": args.answer})
            ok = (resume["first_text"] or "").startswith(marker(args.resume))
            print(f"  first task after {resume['first_s'] * 1000:.0f} ms (no checkpoint yet: the full scan): "
                  f"{'task ' + str(args.resume) + ' as expected' if ok else 'WRONG: ' + repr(resume['first_text'])}; "
                  f"answered {resume['answered']:,} more in {resume['answer_s']:.2f} s; "
                  f"RSS at the end {resume['rss_kb'] / 1024:.1f} MB, peak (VmHWM) {resume['hwm_kb'] / 1024:.1f} MB")
            for run in range(args.runs):  # the session's checkpoint now exists: a restart seeks to it
                again = run_child({"source": str(source), "db": str(db), "answer": 0})
                expected = marker(args.resume + args.answer)
                ok = (again["first_text"] or "").startswith(expected)
                resumed.append(again["first_s"])
                print(f"  restart {run + 1} from the checkpoint: first task after {again['first_s'] * 1000:.1f} ms"
                      f"{'' if ok else '  WRONG: ' + repr(again['first_text'])}")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print()
    median = statistics.median(firsts)
    results.append(median <= FIRST_TASK_GOAL)
    print(f"time to first task (API, imports excluded): {summary_ms(firsts)}")
    print(f"  median {median * 1000:.1f} ms, goal <= {FIRST_TASK_GOAL * 1000:.0f} ms: {verdict(results[-1])}")
    print(f"  (imports of tuiannot + controller before it: median {statistics.median(imports) * 1000:.0f} ms)")
    if ptys:
        median = statistics.median(ptys)
        results.append(median <= FIRST_TASK_GOAL)
        print(f"start to first task visible (pty, end to end): {summary_ms(ptys)}")
        print(f"  median {median * 1000:.0f} ms, goal <= {FIRST_TASK_GOAL * 1000:.0f} ms: {verdict(results[-1])}")
    else:
        results.append(False)
        print("start to first task visible (pty): no successful run: FAIL")
    peak = mem["hwm_kb"] / 1024
    results.append(peak <= MEMORY_GOAL_MB)
    print(f"peak RSS, start + {mem['answered']:,} answers: {peak:.1f} MB, goal <= {MEMORY_GOAL_MB:.0f} MB: "
          f"{verdict(results[-1])}")
    if resume:
        print(f"peak RSS, resume skipping {args.resume:,} answered tasks + {resume['answered']:,} answers: "
              f"{resume['hwm_kb'] / 1024:.1f} MB (no goal); first task after {resume['first_s']:.2f} s")
    if resumed:
        ratio = statistics.median(resumed) / statistics.median(firsts)
        results.append(ratio <= RESUME_RATIO_GOAL)
        print(f"restart from the checkpoint after {args.resume + args.answer:,} answered: {summary_ms(resumed)}")
        print(f"  median {statistics.median(resumed) * 1000:.1f} ms = {ratio:.2f}x a fresh start, goal <= "
              f"{RESUME_RATIO_GOAL}x: {verdict(results[-1])}")
    if app_hwm:
        print(f"peak RSS of the app in the pty after {args.pty_keys} answers: {app_hwm / 1024:.1f} MB (no goal)")
    print(f"overall: {verdict(all(results))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Storage at scale: a database with 1,000,000 answers in one dataset.

* ``tuiannot stats DATASET --json`` (goal <= 0.5 s wall, median of --runs runs)
  and ``tuiannot stats --json`` (every dataset; same goal), as subprocesses;
* ``tuiannot db-out DATASET FILE`` and ``tuiannot db-out DATASET`` to stdout
  (read through a pipe by this script): answers per second, goal >= 200,000/s;
* one ``add_answer`` (one committed row, as on every key press): median and
  p99 over --commits calls, in a new database and in the big one (in a scratch
  dataset that is dropped afterwards). No hard goal: it is reported because it
  is on the key-press path (the screen goal is 16 ms for the whole key).

The database (several sessions, labels, answers, realistic ``_seconds`` and
timestamps, plus two small datasets) is built once with ``Database.add_answers``
under /tmp/tuiannot-bench and reused.

    python bench/storage.py [--answers 1000000] [--runs 3] [--commits 1000]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Callable, Iterable

from _common import BENCH_DIR, make_text, summary_ms, tuiannot_argv, verdict

DATASET = "reviews"
SESSIONS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
LABELS = ["POS", "NEG", "NEUTRAL", "SPAM"]
STATS_GOAL = 0.5
EXPORT_GOAL = 200_000
SMALL = {"reviews-pilot": 5_000, "tickets": 20_000}


def answered_tasks(dataset: str, count: int, seed: int):
    """``count`` answered tasks: 70% choice (accept lists), 30% binary (a label); several annotators."""
    rng = random.Random(seed)
    start = 1_700_000_000
    now = start
    for i in range(count):
        session = SESSIONS[rng.randrange(len(SESSIONS))] if dataset == DATASET else SESSIONS[i % 3]
        r = rng.random()
        answer = "accept" if r < 0.8 else "reject" if r < 0.95 else "ignore"
        seconds = round(min(rng.lognormvariate(1.1, 0.7), 3600.0), 3)
        if rng.random() < 0.002:
            seconds = round(rng.uniform(300, 3600), 3)  # went for coffee
        now += rng.expovariate(1 / 4.0)
        task = {"text": make_text(i, rng), "meta": {"id": i, "source": "reviews-2023"}}
        if rng.random() < 0.7:
            task["options"] = [{"id": label, "text": label} for label in LABELS]
            task["accept"] = rng.sample(LABELS, k=1 if rng.random() < 0.85 else 2) if answer == "accept" else []
            view = "choice"
        else:
            task["label"] = LABELS[i % 2]
            view = "classification"
        task.update({"answer": answer, "_seconds": seconds, "_timestamp": int(now), "_view_id": view,
                     "_session_id": f"{dataset}-{session}", "_annotator_id": f"{dataset}-{session}"})
        yield task


def build_db(path: Path, datasets: dict[str, Callable[[], Iterable[dict]]]) -> tuple[Path, bool, float]:
    """The database at ``path`` with each dataset's answers (imported with ``Database.add_answers``), built once:
    (path, reused, seconds it took). A ``.ok`` file beside it marks it complete; anything else is built anew."""
    stamp = path.with_name(path.name + ".ok")
    if path.exists() and stamp.exists():
        return path, True, 0.0
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    import tuiannot

    t = time.perf_counter()
    with tuiannot.connect(path) as db:
        for name, answers in datasets.items():
            db.add_answers(name, answers())  # into a new dataset: the import is renamed into place, not moved
            for s in SESSIONS[:3]:
                db.start_session(name, s)
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    took = time.perf_counter() - t
    stamp.write_text(json.dumps({name: "built" for name in datasets}))
    return path, False, took


def ensure_db(answers: int) -> tuple[Path, bool, float]:
    counts = {DATASET: answers, **SMALL}
    return build_db(BENCH_DIR / f"storage-{answers}.db", {
        name: functools.partial(answered_tasks, name, count, seed=zlib.crc32(name.encode()))
        for name, count in counts.items()})


def timed_run(argv: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, **kwargs)
    took = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({out.returncode}): {out.stderr[-2000:]!r}")
    return took, out


def bench_stats(db: Path, runs: int, answers: int) -> tuple[list[float], list[float], float]:
    cli = tuiannot_argv()
    one, every = [], []
    for _ in range(runs):
        took, out = timed_run([*cli, "stats", DATASET, "--json", "--db", str(db)], text=True)
        report = json.loads(out.stdout)
        assert report["answers"] == answers, report["answers"]
        one.append(took)
    for _ in range(runs):
        took, out = timed_run([*cli, "stats", "--json", "--db", str(db)], text=True)
        report = json.loads(out.stdout)
        assert {d["dataset"]: d["answers"] for d in report["datasets"]}.get(DATASET) == answers
        every.append(took)
    baseline = min(timed_run([*cli, "--help"])[0] for _ in range(runs))
    return one, every, baseline


def bench_export(db: Path, answers: int, work: Path) -> tuple[float, float]:
    cli = tuiannot_argv()
    out_file = work / "export.jsonl"
    took_file, _ = timed_run([*cli, "db-out", DATASET, str(out_file), "--db", str(db)])
    with open(out_file, "rb") as f:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    assert lines == answers, f"the file has {lines} lines, expected {answers}"
    with open(out_file, "rb") as f:
        json.loads(f.readline())
    out_file.unlink()

    t = time.perf_counter()
    proc = subprocess.Popen([*cli, "db-out", DATASET, "--db", str(db)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    lines = 0
    assert proc.stdout is not None
    while chunk := proc.stdout.read(1 << 20):
        lines += chunk.count(b"\n")
    err = proc.stderr.read() if proc.stderr else b""
    code = proc.wait()
    took_pipe = time.perf_counter() - t
    assert code == 0, err[-2000:]
    assert lines == answers, f"stdout had {lines} lines, expected {answers}"
    return answers / took_file, answers / took_pipe


def bench_add_answer(db_path: Path, commits: int, dataset: str) -> list[float]:
    import tuiannot

    rng = random.Random(7)
    times = []
    with tuiannot.connect(db_path) as db:
        db.add_dataset(dataset)
        for i in range(commits):
            task = {"text": make_text(10_000_000 + i, rng), "meta": {"id": i}, "label": "POS", "answer": "accept",
                    "_seconds": 2.5, "_session_id": f"{dataset}-bench", "_annotator_id": f"{dataset}-bench",
                    "_view_id": "classification", "_timestamp": int(time.time())}
            t = time.perf_counter()
            db.add_answer(dataset, task)
            times.append(time.perf_counter() - t)
        if db.has_dataset(dataset) and dataset.startswith("scratch-"):
            db.drop_dataset(dataset)
    return times


def explain(db: Path) -> None:
    """SQLite's plan and the time of each statement behind ``stats`` and ``db-out`` (read only)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    (dataset_id,) = conn.execute("SELECT id FROM datasets WHERE name = ?", (DATASET,)).fetchone()
    session = conn.execute("SELECT session FROM answers WHERE dataset_id = ? LIMIT 1", (dataset_id,)).fetchone()[0]
    half = conn.execute("SELECT count(*) FROM answers WHERE dataset_id = ? AND session = ?",
                        (dataset_id, session)).fetchone()[0] // 2
    total = conn.execute("SELECT count(*) FROM answers WHERE dataset_id = ? AND seconds IS NOT NULL",
                         (dataset_id,)).fetchone()[0]
    statements = {  # what SQLiteDatabase.dataset_counts and .overview run, and the export's query
        "stats: the totals of the dataset (answer_counts, kept by triggers)": (
            "SELECT session, answer, labels, n, first, last, seconds_total, timed FROM answer_counts "
            "WHERE dataset_id = ? AND n > 0", (dataset_id,)),
        "stats: median of one session": (
            "SELECT seconds FROM answers WHERE dataset_id = ? AND session = ? AND seconds IS NOT NULL "
            "ORDER BY seconds LIMIT 1 OFFSET ?", (dataset_id, session, half)),
        "stats: median of the dataset": (
            "SELECT seconds FROM answers WHERE dataset_id = ? AND seconds IS NOT NULL ORDER BY seconds "
            "LIMIT 1 OFFSET ?", (dataset_id, total // 2)),
        "stats: distinct tasks and inputs (question_counts)": (
            "SELECT tasks, inputs FROM question_counts WHERE dataset_id = ?", (dataset_id,)),
        "stats --json: overview (answer_counts)": (
            "SELECT d.name, coalesce(sum(c.n), 0), count(DISTINCT c.session), min(c.first), max(c.last) "
            "FROM datasets d LEFT JOIN answer_counts c ON c.dataset_id = d.id GROUP BY d.id ORDER BY d.name", ()),
        "db-out: the export query": ("SELECT content FROM answers WHERE dataset_id = ? ORDER BY id", (dataset_id,)),
    }
    print("query plans (--explain):")
    for title, (sql, params) in statements.items():
        plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
        t = time.perf_counter()
        cursor = conn.execute(sql, params)
        while cursor.fetchmany(10_000):
            pass
        print(f"  {title}: {(time.perf_counter() - t) * 1000:.0f} ms\n    {plan}")
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=1_000_000, help="answers in the big dataset (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each stats command (default 3)")
    parser.add_argument("--commits", type=int, default=1000, help="add_answer calls to time (default 1000)")
    parser.add_argument("--explain", action="store_true", help="also print the query plans and their times")
    args = parser.parse_args()

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    db, reused, took = ensure_db(args.answers)
    size = sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())
    how = "reused" if reused else f"built in {took:.1f} s, {(args.answers + sum(SMALL.values())) / took:,.0f} answers/s"
    print(f"database: {db}: {args.answers:,} answers in {DATASET!r} + {sum(SMALL.values()):,} in "
          f"{len(SMALL)} small datasets, {size / 1e6:.0f} MB ({how})")
    work = Path(tempfile.mkdtemp(prefix="storage-", dir=BENCH_DIR))
    results: list[bool] = []
    try:
        print(f"timing tuiannot stats ({args.runs} runs each) ...")
        one, every, baseline = bench_stats(db, args.runs, args.answers)
        print("timing tuiannot db-out ...")
        file_rate, pipe_rate = bench_export(db, args.answers, work)
        print(f"timing add_answer ({args.commits} commits each) ...")
        fresh = bench_add_answer(work / "fresh.db", args.commits, "fresh")
        big = bench_add_answer(db, args.commits, f"scratch-{os.getpid()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print()
    for title, times in ((f"tuiannot stats {DATASET} --json", one), ("tuiannot stats --json (all datasets)", every)):
        median = statistics.median(times)
        results.append(median <= STATS_GOAL)
        print(f"{title}: runs {', '.join(f'{t:.3f}' for t in times)} s; median {median:.3f} s, "
              f"goal <= {STATS_GOAL} s: {verdict(results[-1])}")
    print(f"  (for scale: 'tuiannot --help' takes {baseline:.3f} s: interpreter start and imports)")
    for title, rate in (("db-out to a file", file_rate), ("db-out to stdout (a pipe)", pipe_rate)):
        results.append(rate >= EXPORT_GOAL)
        print(f"{title}: {rate:,.0f} answers/s ({args.answers / rate:.2f} s), goal >= {EXPORT_GOAL:,}/s: "
              f"{verdict(results[-1])}")
    print(f"add_answer, new database: {summary_ms(fresh)}")
    print(f"add_answer, the {args.answers:,}-answer database: {summary_ms(big)}")
    print(f"overall: {verdict(all(results))}")
    if args.explain:
        print()
        explain(db)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Many annotators at once on one dataset: 20 and 50 processes, each the real Controller (no UI) answering as
fast as it can, against a SQLite file and a PostgreSQL schema (issue 18).

Each annotator is a fresh ``python`` process (this script with ``--worker``): the real textcat recipe over one
shared source, the real :class:`~tuiannot.controller.Controller` with routing (``--overlap``, 2 by default:
every task goes to exactly two annotators, through claims), answering ``accept``/``reject`` in turn for
``--seconds`` once every worker is ready (a start line: they open the database and fetch their first task
first, then go together). Per answer the worker times the claim+commit step the annotator waits for:
``controller.answer()`` (the answer committed, the claim settled) plus ``controller.next_task()`` (the next
task, claimed by the prefetch thread meanwhile or now).

At the end the database is read back and checked:

* nothing lost: every answer a worker was told was saved is in the database, under its session, once;
* nothing served twice to one annotator: no (session, task) pair twice, neither in the database nor in what
  any worker was shown;
* overlap exact: no task has more than ``--overlap`` distinct annotators, and the tasks with fewer are only
  those in flight when the time ran out (at most two per annotator: each claims one task ahead).

On PostgreSQL the peak number of connections of the workers (``application_name`` ``tuiannot``, sampled
every 0.2 s) is reported too: each process should hold 1 (the server allows ``max_connections``, 100 by
default). After each PostgreSQL run, a baseline: as many bare psycopg clients doing one-row INSERT + COMMIT as
fast as they can, for as long, against the same server (``--no-baseline`` skips it): what any client gets from
this machine and server, to judge tuiannot's p99 by. Each run's folder (its SQLite file) is removed after.

``--cost-ladder 0,0.5,1,2,4,7`` runs none of that: only the bare clients (as many as the largest
``--annotators``), each answer also spending that many milliseconds of the client's own CPU, one row per cost:
the p99 any client with that cost per answer gets from this machine and server (see bench/README.md).

Goal: on PostgreSQL with 50 annotators, p99 claim+commit <= 50 ms (SQLite's figures are reported, no goal:
one writer at a time is its design). Prints PASS/FAIL per goal and invariant and an ``overall:`` line; exits
0 whatever the verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BENCH_DIR  # noqa: E402

POSTGRES = os.environ.get("TUIANNOT_TEST_POSTGRES") or "postgresql://postgres@127.0.0.1:5432/test"
GOAL_P99_MS = 50.0
DATASET = "team_bench"


def worker(db: str, source: str, session: str, overlap: str, meeting: str, index: int, seconds: float,
           pace: float) -> None:
    """One annotator: ready, wait for the go, answer for ``seconds``, print what it did as JSON."""
    import tuiannot
    from tuiannot.controller import Controller
    from tuiannot.recipes import Components, get_recipe
    from tuiannot.team.routing import Routing, parse_overlap

    database = tuiannot.connect(db)
    claims = {"tried": 0, "taken": 0, "seconds": 0.0, "looks": 0, "look_seconds": 0.0, "firsts": 0, "first_taken": 0,
              "first_passed": 0, "first_seconds": 0.0}  # every claim of the
    # process (the prefetch thread's too), and every read of the others' claims (Claims' snapshot)
    backend = type(database)
    plain_claim = backend.claim

    def counted_claim(self: Any, *args: Any, **kwargs: Any) -> bool:
        start = time.perf_counter()
        try:
            taken = plain_claim(self, *args, **kwargs)
        finally:
            claims["seconds"] += time.perf_counter() - start
            claims["tried"] += 1
        claims["taken"] += bool(taken)
        return taken

    backend.claim = counted_claim  # type: ignore[method-assign]
    plain_look = backend.claimed_by_others

    def counted_look(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return plain_look(self, *args, **kwargs)
        finally:
            claims["look_seconds"] += time.perf_counter() - start
            claims["looks"] += 1

    backend.claimed_by_others = counted_look  # type: ignore[method-assign]
    plain_first = backend.claim_first

    def counted_first(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            taken, passed = plain_first(self, *args, **kwargs)
        finally:
            claims["first_seconds"] += time.perf_counter() - start
            claims["firsts"] += 1
        claims["first_taken"] += taken is not None
        claims["first_passed"] += len(passed)
        return taken, passed

    backend.claim_first = counted_first  # type: ignore[method-assign]
    components = Components.from_value(get_recipe("textcat")(source, label="POS", dataset=DATASET))
    routing = Routing(overlap=parse_overlap(overlap))
    controller = Controller(components, database, session, routing=routing).start()
    task = controller.next_task(timeout=120)
    if task is None or task is Controller.PENDING:
        sys.exit(f"{session}: no first task within 120 s")
    Path(meeting, f"ready-{index}").touch()
    while not Path(meeting, "go").exists():
        time.sleep(0.005)
    claims.update(tried=0, taken=0, seconds=0.0, looks=0, look_seconds=0.0, firsts=0, first_taken=0, first_passed=0,
                  first_seconds=0.0)
    skipped_before = controller.claims.skipped if controller.claims is not None else 0
    shown, saved, latencies, answering, pending = [task["_task_hash"]], [], [], [], 0
    last = int(task["text"].split(":", 1)[0].split()[1])  # the furthest task of the source shown
    deadline = time.monotonic() + seconds
    jitter = random.Random(session)
    n = 0
    while time.monotonic() < deadline:
        start = time.perf_counter()
        result = controller.answer("accept" if n % 2 == 0 else "reject", ["POS"] if n % 2 == 0 else [])
        saved.append(result["_task_hash"])
        answered = time.perf_counter()
        task = controller.next_task(timeout=30)
        latencies.append(time.perf_counter() - start)
        answering.append(answered - start)
        n += 1
        if task is None:
            break
        if task is Controller.PENDING:
            pending += 1
            break
        shown.append(task["_task_hash"])
        if pace:  # the annotator reads the task (not timed): as long as --pace on average, not in step with the
            time.sleep(pace * jitter.uniform(0.5, 1.5))  # others (people do not answer all at the same instant)
        last = max(last, int(task["text"].split(":", 1)[0].split()[1]))
    claims["skipped"] = (controller.claims.skipped if controller.claims is not None else 0) - skipped_before
    summary = controller.close()
    database.close()
    print(json.dumps({"session": session, "shown": shown, "saved": saved, "latencies": latencies,
                      "answering": answering, "pending": pending, "last": last, "claims": claims,
                      "error": summary.error}))


def baseline_worker(url: str, table: str, meeting: str, index: int, seconds: float, cpu_ms: float = 0.0) -> None:
    """A bare PostgreSQL client, for comparison: one connection, one-row INSERT + COMMIT as fast as it can; with
    ``cpu_ms``, each answer also spends that much CPU in the client (a busy loop on the thread's CPU clock, inside
    the timed step, as an annotator process's own work for an answer is: ``--cost-ladder``)."""
    import psycopg

    def work() -> None:
        end = time.thread_time() + cpu_ms / 1000
        while time.thread_time() < end:
            pass

    with psycopg.connect(url, autocommit=True) as conn:
        Path(meeting, f"ready-{index}").touch()
        while not Path(meeting, "go").exists():
            time.sleep(0.005)
        latencies = []
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline:
            start = time.perf_counter()
            if cpu_ms:
                work()
            conn.execute(f"INSERT INTO {table} (worker, n, content) VALUES (%s, %s, %s)",
                         (index, n, json.dumps({"text": f"task {n:07d}", "answer": "accept"})))
            latencies.append(time.perf_counter() - start)
            n += 1
    print(json.dumps({"latencies": latencies}))


def baseline(url: str, clients: int, seconds: float, cpu_ms: float = 0.0) -> dict[str, Any]:
    """``clients`` processes of :func:`baseline_worker` against ``url`` at once: what the machine and the server
    give any client, with no tuiannot in it (p50/p99 of an INSERT + COMMIT, plus ``cpu_ms`` of the client's own
    CPU an answer)."""
    import psycopg

    run_dir = BENCH_DIR / f"team-baseline-{uuid.uuid4().hex[:8]}"
    meeting = run_dir / "meeting"
    meeting.mkdir(parents=True)
    table = f"bench_baseline_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, worker int, n int, content text)")
    try:
        processes = [subprocess.Popen([sys.executable, __file__, "--baseline-worker", url, table, str(meeting), str(i),
                                       str(seconds), str(cpu_ms)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      stdin=subprocess.DEVNULL, text=True) for i in range(clients)]
        started = time.monotonic()
        while not all((meeting / f"ready-{i}").exists() for i in range(clients)):
            if any(p.poll() is not None for p in processes) or time.monotonic() - started > 120:
                for p in processes:
                    p.kill()
                raise SystemExit("baseline clients did not get ready: " + " | ".join(
                    p.communicate()[1][-300:] for p in processes))
            time.sleep(0.05)
        (meeting / "go").touch()
        latencies: list[float] = []
        for p in processes:
            out, err = p.communicate(timeout=seconds + 120)
            if p.returncode != 0:
                raise SystemExit(f"a baseline client failed: {err.strip()[-300:]}")
            latencies += json.loads(out.strip().splitlines()[-1])["latencies"]
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        shutil.rmtree(run_dir, ignore_errors=True)
    return {"clients": clients, "seconds": seconds, "cpu_ms": cpu_ms, "commits": len(latencies),
            "commits_per_s": len(latencies) / seconds, "p50_ms": percentile(latencies, 50) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000}


def cost_ladder(url: str, clients: int, seconds: float, costs: list[float]) -> None:
    """The bare clients with a client-side cost per answer: the p99 a client that spends ``ms`` of its own CPU on
    each answer gets when ``clients`` of them share this machine and server (no tuiannot in it). Little's law
    makes the point the rows show: clients that never pause make a queue as long as the CPU an answer costs."""
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}: {clients} bare psycopg clients, one-row INSERT + COMMIT "
          f"plus the client's own CPU an answer, {seconds:g} s a row", flush=True)
    print(f"{'client CPU an answer':>22} {'answers/s':>10} {'p50 ms':>8} {'p99 ms':>8}  p99 <= {GOAL_P99_MS:g} ms")
    for ms in costs:
        b = baseline(url, clients, seconds, ms)
        print(f"{ms:19.1f} ms {b['commits_per_s']:10.0f} {b['p50_ms']:8.1f} {b['p99_ms']:8.1f}  "
              f"{'yes' if b['p99_ms'] <= GOAL_P99_MS else 'no'}", flush=True)
    print("overall: (an analysis, no goal of its own)")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))] if ordered else float("nan")


def make_source(tasks: int) -> Path:
    path = BENCH_DIR / f"team_concurrency_{tasks}.jsonl"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for i in range(tasks):
                f.write(json.dumps({"text": f"task {i:07d}: a review of the product, number {i}"}) + "\n")
        tmp.replace(path)
    return path


def sample_connections(url: str, application: str, stop: threading.Event, peak: list[int]) -> None:
    import psycopg

    with psycopg.connect(url.split("?")[0], autocommit=True) as conn:
        while not stop.is_set():
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                               (application,)).fetchone()
            peak[0] = max(peak[0], int(row[0]) if row else 0)
            stop.wait(0.2)


def run(backend: str, annotators: int, seconds: float, overlap: str, tasks: int, postgres: str,
        pace: float) -> dict[str, Any]:
    run_dir = BENCH_DIR / f"team-{uuid.uuid4().hex[:8]}"
    meeting = run_dir / "meeting"
    meeting.mkdir(parents=True)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    application = f"tuiannot_bench_{schema[6:]}"  # (this run's connections, told from any other's)
    db = str(run_dir / "answers.db") if backend == "sqlite" else f"{postgres}{'&' if '?' in postgres else '?'}" \
        f"schema={schema}&application_name={application}"
    source = make_source(tasks)
    import tuiannot

    tuiannot.connect(db).close()  # the schema made once, before the annotators arrive
    processes = [subprocess.Popen(
        [sys.executable, __file__, "--worker", db, str(source), f"annotator{i:02d}", overlap, str(meeting), str(i),
         str(seconds), str(pace)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        for i in range(annotators)]
    stop, peak = threading.Event(), [0]
    sampler = None
    if backend == "postgres":
        sampler = threading.Thread(target=sample_connections, args=(db, application, stop, peak), daemon=True)
        sampler.start()
    started = time.monotonic()
    while not all((meeting / f"ready-{i}").exists() for i in range(annotators)):
        if any(p.poll() is not None for p in processes) or time.monotonic() - started > 300:
            for p in processes:
                p.kill()
            raise SystemExit("workers did not get ready: " + " | ".join(p.communicate()[1][-500:] for p in processes))
        time.sleep(0.05)
    ready = time.monotonic() - started
    (meeting / "go").touch()
    go = time.monotonic()
    results, failures = [], []
    for p in processes:
        out, err = p.communicate(timeout=seconds + 300)
        if p.returncode != 0 or not out.strip():
            failures.append(err.strip()[-300:] or f"exit {p.returncode}")
        else:
            results.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.monotonic() - go
    stop.set()
    if sampler is not None:
        sampler.join()
    latencies = [x for r in results for x in r["latencies"]]
    answering = [x for r in results for x in r["answering"]]
    waiting = [x - y for r in results for x, y in zip(r["latencies"], r["answering"], strict=True)]
    saved = sum(len(r["saved"]) for r in results)
    # the database, read back
    with tuiannot.connect(db) as database:
        rows, position = [], {}
        for r in database.answer_fields(DATASET, ("_task_hash", "text")):
            rows.append((r[-2], r[2]))
            position[r[-2]] = int(r[-1].split(":", 1)[0].split()[1])
    in_db = Counter((h, s) for h, s in rows)
    reported = Counter((h, r["session"]) for r in results for h in r["saved"])
    lost = sum((reported - in_db).values())
    extra = sum((in_db - reported).values())
    db_twice = sum(1 for n in in_db.values() if n > 1)
    shown_twice = sum(len(r["shown"]) - len(set(r["shown"])) for r in results)
    per_task = Counter(h for h, _ in in_db)
    target = int(float(overlap))
    over = sum(1 for n in per_task.values() if n > target)
    under = [h for h, n in per_task.items() if n < target]
    slowest = min((r["last"] for r in results), default=0)  # every annotator had gone past this task
    behind = sum(1 for h in under if position[h] < slowest)
    if backend == "postgres":
        from tuiannot.storage.postgres_connect import close_all

        close_all()
        import psycopg

        with psycopg.connect(postgres.split("?")[0], autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    shutil.rmtree(run_dir, ignore_errors=True)
    return {
        "backend": backend, "annotators": annotators, "seconds": seconds, "pace": pace, "ready_s": ready,
        "wall_s": wall,
        "answers": saved, "answers_per_s": saved / seconds, "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000, "max_ms": max(latencies, default=float("nan")) * 1000,
        "answer_p50_ms": percentile(answering, 50) * 1000, "answer_p99_ms": percentile(answering, 99) * 1000,
        "next_p50_ms": percentile(waiting, 50) * 1000, "next_p99_ms": percentile(waiting, 99) * 1000,
        "skipped": sum(r["claims"]["skipped"] for r in results),
        "looks": sum(r["claims"]["looks"] for r in results),
        "look_seconds": sum(r["claims"]["look_seconds"] for r in results),
        "failed_workers": failures, "pending": sum(r["pending"] for r in results),
        "errors": [r["error"] for r in results if r["error"]], "lost": lost, "unreported": extra,
        "twice_in_db": db_twice, "shown_twice": shown_twice, "tasks": len(per_task), "over_overlap": over,
        "slowest": min(({"answers": len(r["saved"]), "claims_tried": r["claims"]["tried"],
                         "longest_ms": 1000 * max(r["latencies"], default=0.0)} for r in results),
                       key=lambda w: w["answers"], default=None),
        "claims_tried": sum(r["claims"]["tried"] for r in results),
        "claims_taken": sum(r["claims"]["taken"] for r in results),
        "claim_seconds": sum(r["claims"]["seconds"] for r in results),
        **{key: sum(r["claims"][key] for r in results) for key in ("firsts", "first_taken", "first_passed",
                                                                    "first_seconds")},
        "under_overlap": len(under), "under_behind": behind,
        "peak_connections": peak[0] if backend == "postgres" else None,
    }


def verdicts(r: dict[str, Any]) -> list[tuple[str, bool]]:
    checks = [
        ("every worker finished cleanly", not r["failed_workers"] and not r["errors"]),
        ("nothing lost (every answer a worker was told was saved is in the database, once)", r["lost"] == 0
         and (r["unreported"] == 0 or bool(r["failed_workers"]))),  # (a worker that failed reported nothing)
        ("nothing served twice to one annotator", r["twice_in_db"] == 0 and r["shown_twice"] == 0),
        (f"overlap exact (none over; of the {r['under_overlap']} under, {r['under_behind']} behind every "
         "annotator: <= 3 per annotator, the tasks each held when the time ran out)",
         r["over_overlap"] == 0 and r["under_behind"] <= 3 * r["annotators"]),
    ]
    if r["backend"] == "postgres":
        checks.append((f"<= 1 connection per process (peak {r['peak_connections']} for {r['annotators']})",
                       r["peak_connections"] <= r["annotators"]))
        if r["annotators"] >= 50 and r["pace"] == 0:
            checks.append((f"p99 claim+commit <= {GOAL_P99_MS:g} ms at {r['annotators']} annotators (the issue's "
                           "goal)", r["p99_ms"] <= GOAL_P99_MS))
    return checks


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        db, source, session, overlap, meeting, index, duration, pace = sys.argv[2:10]
        worker(db, source, session, overlap, meeting, int(index), float(duration), float(pace))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--baseline-worker":
        url, table, meeting, index, duration, cpu_ms = sys.argv[2:8]
        baseline_worker(url, table, meeting, int(index), float(duration), float(cpu_ms))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--annotators", default="20,50", help="annotator processes per run, comma-separated")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long they answer (default 60)")
    parser.add_argument("--quick", action="store_true", help="10 seconds per run")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--overlap", default="2", help="distinct annotators per task (default 2)")
    parser.add_argument("--pace", type=float, default=0.0,
                        help="seconds each annotator spends on a task before answering, on average (each wait drawn "
                             "between 0.5x and 1.5x it; default 0: as fast as it "
                             "can; the goal is judged at 0 only)")
    parser.add_argument("--tasks", type=int, default=200_000, help="tasks in the shared source")
    parser.add_argument("--postgres", default=POSTGRES, help="the PostgreSQL server (a schema of its own per run)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the bare PostgreSQL baseline after each PostgreSQL run (N clients, one-row INSERT "
                             "+ COMMIT as fast as they can, as long as the run)")
    parser.add_argument("--cost-ladder", metavar="MS,MS,...",
                        help="instead of the runs: the bare clients at the largest --annotators, each answer also "
                             "spending each of these milliseconds of the client's own CPU (e.g. 0,0.5,1,2,4,7): the "
                             "p99 any client with that cost per answer gets on this machine and server")
    args = parser.parse_args()
    seconds = 10.0 if args.quick else args.seconds
    if args.cost_ladder:
        cost_ladder(args.postgres.split("?")[0], max(int(x) for x in args.annotators.split(",")), seconds,
                    [float(x) for x in args.cost_ladder.split(",")])
        return
    results, ok = [], True
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min) before the first run. Latency is per "
          "answer: controller.answer() (the answer committed, its claim settled) + controller.next_task() (the next "
          "task claimed; tasks always exist here, so no idle wait is in it).", flush=True)
    for backend in args.backends.split(","):
        for n in (int(x) for x in args.annotators.split(",")):
            r = run(backend, n, seconds, args.overlap, args.tasks, args.postgres, args.pace)
            results.append(r)
            paced = f", pace {args.pace:g} s" if args.pace else ""
            print(f"{backend:8} {n:3d} annotators, {seconds:g} s{paced}: {r['answers']} answers, "
                  f"{r['answers_per_s']:.0f} answers/s; claim+commit p50 {r['p50_ms']:.1f} ms, p99 "
                  f"{r['p99_ms']:.1f} ms, max {r['max_ms']:.0f} ms; {r['tasks']} tasks "
                  f"({r['under_overlap']} in flight); ready after {r['ready_s']:.1f} s"
                  + (f"; {r['pending']} annotators waited 30 s for a task and stopped" if r["pending"] else "")
                  + (f"; peak {r['peak_connections']} connections" if r["peak_connections"] is not None else ""),
                  flush=True)
            print(f"  where it goes: answer() p50 {r['answer_p50_ms']:.1f} ms, p99 {r['answer_p99_ms']:.1f} ms; "
                  f"next_task() p50 {r['next_p50_ms']:.1f} ms, p99 {r['next_p99_ms']:.1f} ms", flush=True)
            print(f"  claims tried {r['claims_tried']}, taken {r['claims_taken']} "
                  f"({r['claims_tried'] / max(1, r['answers']):.1f} tried per answer; "
                  f"{1000 * r['claim_seconds'] / max(1, r['claims_tried']):.1f} ms each on average); "
                  f"{r['skipped']} tasks others held skipped without a claim, on {r['looks']} reads of their claims "
                  f"({1000 * r['look_seconds'] / max(1, r['looks']):.1f} ms each)", flush=True)
            if r["firsts"]:
                print(f"  window claims (claim_first: the first task with room of those sent) {r['firsts']}, "
                      f"taken {r['first_taken']} ({r['firsts'] / max(1, r['answers']):.2f} per answer; "
                      f"{1000 * r['first_seconds'] / r['firsts']:.1f} ms each on average); {r['first_passed']} "
                      f"tasks passed over as full", flush=True)
            if r["slowest"]:
                w = r["slowest"]
                print(f"  the slowest annotator: {w['answers']} answers, {w['claims_tried']} claims tried, its longest "
                      f"wait {w['longest_ms']:.0f} ms", flush=True)
            for name, passed in verdicts(r):
                ok &= passed
                print(f"  {'PASS' if passed else 'FAIL'}  {name}", flush=True)
            for failure in [*r["failed_workers"], *r["errors"]][:3]:
                print(f"  a worker failed: {' '.join(str(failure).split())[-300:]}")
            if backend == "postgres" and not args.no_baseline:
                b = baseline(args.postgres.split("?")[0], n, seconds)
                r["baseline"] = b
                print(f"  baseline, right after: {n} bare psycopg clients (a process each, no tuiannot), one-row "
                      f"INSERT + COMMIT as fast as they can for {seconds:g} s: {b['commits_per_s']:.0f} commits/s, "
                      f"p50 {b['p50_ms']:.1f} ms, p99 {b['p99_ms']:.1f} ms; tuiannot's p99 is "
                      f"{r['p99_ms'] / max(b['p99_ms'], 1e-9):.1f}x it (load average now "
                      f"{os.getloadavg()[0]:.2f})", flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    print(f"overall: {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()

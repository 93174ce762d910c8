"""``tuiannot db-migrate`` at scale: 1,000,000 answers from SQLite to PostgreSQL and back (issue 18).

The SQLite database holds bench/storage.py's answers (1,000,000 in ``reviews`` plus 25,000 in two small datasets,
several sessions, the same generator), built once under /tmp/tuiannot-bench and reused: its rows are made with
``StoredAnswer.from_task`` and written 50,000 to a transaction (as db-migrate writes them), not through
``add_answers``, whose SQLite import paces itself for live annotators (~1,700 answers/s here). Then, each a
run of the real command (``tuiannot db-migrate SRC DST --json``, a subprocess, timed from start to exit):

1. SQLite -> PostgreSQL, into a schema of its own on the server (``--postgres``; dropped at the end);
2. the same again: idempotence (nothing copied twice: ``copied`` must be 0), and what a re-run costs;
3. PostgreSQL -> SQLite, into a new file.

Each run must exit 0 and its report say ``ok`` for every dataset (every answer of SRC in DST, the same multiset
hash, DST's running totals what its rows hold). Reported: wall seconds and answers per second (every answer of
SRC over the command's wall time, the check at the end included), and the load average (the machine is shared).
No goal is set by the issue beyond reporting the rate; ``--profile`` runs step 1 or 3 in this process under
cProfile and prints the top functions instead.

    python bench/db_migrate.py [--answers 1000000] [--postgres URL] [--profile to-postgres|to-sqlite]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BENCH_DIR, tuiannot_argv  # noqa: E402
from storage import DATASET, SESSIONS, SMALL, answered_tasks  # noqa: E402

POSTGRES = os.environ.get("TUIANNOT_TEST_POSTGRES") or "postgresql://postgres@127.0.0.1:5432/test"


def ensure_source(answers: int) -> tuple[Path, bool, float]:
    """The SQLite source (see the module's docstring): (path, reused, seconds it took to build)."""
    import zlib

    import tuiannot
    from tuiannot.storage.base import StoredAnswer
    from tuiannot.storage.transfer import COLUMNS, _Tables

    path = BENCH_DIR / f"migrate-source-{answers}.db"
    stamp = path.with_name(path.name + ".ok")
    if path.exists() and stamp.exists():
        return path, True, 0.0
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with tuiannot.connect(path) as db:
        tables = _Tables(db)
        for name, count in {DATASET: answers, **SMALL}.items():
            rows: list[tuple[Any, ...]] = []
            for task in answered_tasks(name, count, seed=zlib.crc32(name.encode())):
                stored = StoredAnswer.from_task(name, task)
                rows.append(tuple(getattr(stored, c) for c in COLUMNS))
                if len(rows) == 50_000:
                    tables.add_rows(name, rows)
                    rows = []
            if rows:
                tables.add_rows(name, rows)
            for session in SESSIONS[:3]:
                db.start_session(name, session)
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[attr-defined]
    stamp.write_text("built")
    return path, False, time.perf_counter() - start


def migrate(src: str, dst: str) -> tuple[float, dict[str, Any]]:
    """One ``tuiannot db-migrate SRC DST --json``: (wall seconds, its report)."""
    start = time.perf_counter()
    out = subprocess.run([*tuiannot_argv(), "db-migrate", src, dst, "--json"], capture_output=True, text=True)
    took = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"db-migrate {src} -> {dst} failed ({out.returncode}): {out.stderr[-2000:]}")
    return took, json.loads(out.stdout)


def line(what: str, took: float, report: dict[str, Any]) -> str:
    source = sum(d["source_answers"] for d in report["datasets"])
    copied = sum(d["copied"] for d in report["datasets"])
    ok = report["ok"] and all(d["ok"] for d in report["datasets"])
    return (f"{what:24} {took:7.1f} s  {source / took:9,.0f} answers/s  ({source:,} answers in SRC, {copied:,} copied, "
            f"{len(report['datasets'])} datasets, check {'ok' if ok else 'FAILED'}; load average "
            f"{os.getloadavg()[0]:.2f})")


def profile(direction: str, src: str, dst: str) -> None:
    import cProfile
    import pstats

    import tuiannot
    from tuiannot.storage.transfer import copy_database

    with tuiannot.connect(src) as a, tuiannot.connect(dst) as b:
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        results = copy_database(a, b)
        profiler.disable()
        took = time.perf_counter() - start
    print(f"{direction}: {took:.1f} s in this process (under cProfile), ok: {all(r.ok for r in results)}")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=1_000_000, help="answers in the big dataset")
    parser.add_argument("--postgres", default=POSTGRES, help="the PostgreSQL server (a schema of its own)")
    parser.add_argument("--profile", choices=["to-postgres", "to-sqlite"], help="profile one direction instead")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min) at the start", flush=True)
    path, reused, built = ensure_source(args.answers)
    print(f"SQLite source: {path} ({'reused' if reused else f'built in {built:.0f} s'})", flush=True)
    schema = f"bench_migrate_{uuid.uuid4().hex[:10]}"
    url = f"{args.postgres}{'&' if '?' in args.postgres else '?'}schema={schema}"
    back = BENCH_DIR / f"migrate-back-{uuid.uuid4().hex[:8]}.db"
    try:
        if args.profile == "to-postgres":
            profile(args.profile, str(path), url)
            return
        took, report = migrate(str(path), url)
        print(line("SQLite -> PostgreSQL", took, report), flush=True)
        if args.profile == "to-sqlite":
            profile(args.profile, url, str(back))
            return
        again, report2 = migrate(str(path), url)
        print(line("again (nothing to copy)", again, report2), flush=True)
        if sum(d["copied"] for d in report2["datasets"]):
            print("FAIL  the second run copied answers again")
        took3, report3 = migrate(url, str(back))
        print(line("PostgreSQL -> SQLite", took3, report3), flush=True)
        ok = all(r["ok"] for r in (report, report2, report3)) and not sum(d["copied"] for d in report2["datasets"])
        print(f"overall: {'PASS' if ok else 'FAIL'} (every run checked out; the second copied nothing)")
    finally:
        from tuiannot.storage.postgres_connect import close_all

        close_all()
        import psycopg

        with psycopg.connect(args.postgres.split("?")[0], autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        for p in (back, Path(f"{back}-wal"), Path(f"{back}-shm")):
            p.unlink(missing_ok=True)


if __name__ == "__main__":
    main()

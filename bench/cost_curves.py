"""Cost curves (issue 15): what the lead's commands cost as a database grows from 10k to 10M answers.

For each size N (``--sizes``, default 10k,100k,1M; 10M is built once, ~5.5 GB, and reused) a database holds
N answers in the dataset ``team`` (single-choice questions over 4 labels, every input answered by 3 of 8
annotators whose accuracy runs from 60% to 95%, so that about half the inputs have a conflict) plus 2,000 in
``pilot``. Each command runs as a fresh process (wall time includes the interpreter start and imports, ~0.25 s;
peak memory is the process's maximum resident set, from ``wait4``):

* ``stats --json`` (every dataset), ``stats team --json``, ``progress team --json``, ``iaa team --json``;
* ``aggregate team --method dawid-skene -o OUT --json`` (writes N/3 final labels; OUT is dropped afterwards);
* ``review team -o OUT --only-conflicts``: time to the first item, through the recipe and the controller in a
  child process (the screen needs a terminal; the controller is what it waits for), from spawning the child
  (its peak memory is the child's at that moment: the items are decided, the later ones' answers not read yet);
* ``db-out team FILE``: answers/s; ``db-in team FILE`` into a new database: answers/s;
* the database's size per answer (its pages in use over all answers).

Verdicts: ``stats`` (both) <= 0.5 s and ``db-out`` >= 200,000 answers/s at 1M answers (the goals of
bench/storage.py); every command's time grows at most linearly (log-log slope <= 1.15 between two sizes: the
fixed start makes small sizes look flatter, never steeper); the memory of the commands that stream (``stats``,
``db-out``, ``db-in``) stays flat from 100k on (each size <= 1.25x the one before + 10 MB; an import fills its
64 MB page cache by then); the others keep a record per input and may grow at most linearly (slope <= 1.15).

Results are kept in /tmp/tuiannot-bench/cost_curves.json, so a size measured in one run (10M takes a while) is
reported with those of later runs: the table and the verdicts cover every size measured so far with this data.
``--plot FILE`` writes the log-log plot (PNG; needs matplotlib: ``pip install matplotlib``).

    python bench/cost_curves.py [--sizes 10k,100k,1M] [--runs 3] [--commands stats,db-out,...] [--plot FILE]
"""

from __future__ import annotations

import argparse
import functools
import json
import math
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
from typing import Any, Iterator

from _common import BENCH_DIR, make_text, tuiannot_argv, verdict
from storage import SESSIONS, build_db

DATASET = "team"
PILOT = 2_000
LABELS = ["POS", "NEG", "NEUTRAL", "SPAM"]
PER_INPUT = 3
ACCURACY = {who: 0.60 + 0.05 * k for k, who in enumerate(SESSIONS)}  # 0.60 .. 0.95
OUT = "costs-out"
RESULTS = BENCH_DIR / "cost_curves.json"
STATS_GOAL, EXPORT_GOAL, GOAL_SIZE = 0.5, 200_000, 1_000_000
SLOPE_LIMIT, FLAT_RATIO, FLAT_SLACK_MB = 1.15, 1.25, 10.0
COMMANDS = ["stats", "stats DATASET", "progress", "iaa", "aggregate", "review", "db-out", "db-in"]
STREAMING = {"stats", "stats DATASET", "db-out", "db-in"}
REPEAT_UNDER = 3.0  # a command faster than this (seconds) runs --runs times: the median counts


def team_answers(dataset: str, count: int, seed: int) -> Iterator[dict[str, Any]]:
    """``count`` answers: each input by PER_INPUT distinct annotators, in blocks of 1,000 inputs, one annotator
    slot after the other (as a team working through a stream at once)."""
    rng = random.Random(seed)
    now = 1_700_000_000.0
    inputs = math.ceil(count / PER_INPUT)
    emitted = 0
    options = [{"id": label, "text": label} for label in LABELS]
    for start in range(0, inputs, 1000):
        items = range(start, min(start + 1000, inputs))
        truth = {i: rng.choice(LABELS) for i in items}
        people = {i: rng.sample(SESSIONS, PER_INPUT) for i in items}
        texts = {i: make_text(i, rng) for i in items}
        for slot in range(PER_INPUT):
            for i in items:
                if emitted == count:
                    return
                who = people[i][slot]
                r = rng.random()
                answer = "accept" if r < 0.92 else "reject" if r < 0.97 else "ignore"
                right = rng.random() < ACCURACY[who]
                label = truth[i] if right else rng.choice([x for x in LABELS if x != truth[i]])
                now += rng.expovariate(1 / 1.5)
                yield {"text": texts[i], "meta": {"id": i, "source": "reviews-2023"}, "options": options,
                       "accept": [label] if answer == "accept" else [], "answer": answer, "_view_id": "choice",
                       "_session_id": f"{dataset}-{who}", "_annotator_id": f"{dataset}-{who}",
                       "_timestamp": int(now), "_seconds": round(min(rng.lognormvariate(1.1, 0.7), 3600.0), 3)}
                emitted += 1


def ensure_db(n: int) -> tuple[Path, bool, float]:
    return build_db(BENCH_DIR / f"costs-{n}.db", {
        "pilot": functools.partial(team_answers, "pilot", PILOT, seed=1),
        DATASET: functools.partial(team_answers, DATASET, n, seed=zlib.crc32(DATASET.encode()))})


# -- measuring a process --------------------------------------------------------------------------
def measured(argv: list[str]) -> tuple[float, float, str]:
    """Run ``argv``: (wall seconds, peak resident MB, stdout). Fails on a non-zero exit."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {err.read()[-2000:]!r}")
        return wall, usage.ru_maxrss / 1024, out.read().decode()


def repeated(argv: list[str], runs: int) -> tuple[float, float, str]:
    """The median wall time over up to ``runs`` runs (one if the first takes REPEAT_UNDER seconds or more)."""
    walls, peaks = [], []
    out = ""
    for _ in range(runs):
        wall, peak, out = measured(argv)
        walls.append(wall)
        peaks.append(peak)
        if wall >= REPEAT_UNDER:
            break
    return statistics.median(walls), max(peaks), out


def review_child(spec: dict[str, Any]) -> None:
    """In a fresh process: the review recipe, the controller, the first item; print when and how much memory."""
    import tuiannot
    from tuiannot.controller import Controller
    from tuiannot.recipes import Components

    components = Components.from_value(tuiannot.get_recipe("review")(
        DATASET, output=OUT, only_conflicts=True, db=spec["db"]), "review")
    database = tuiannot.connect(spec["db"])
    controller = Controller(components, database, "bench").start()
    task = controller.next_task()
    first = time.time() - spec["spawned"]
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    assert task is not None and len(task["_review"]["versions"]) >= 2, "the first item is not a conflict"
    print(json.dumps({"first_s": first, "hwm_mb": hwm / 1024, "tasks": len(components.stream)}), flush=True)
    controller.close()
    database.close()


def used_bytes(db: Path) -> int:
    """The pages in use (a dropped output leaves free pages that the file keeps, and later writes reuse)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        pages, free, size = (conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count",
                                                                                 "page_size"))
    finally:
        conn.close()
    return (pages - free) * size


def drop(db: Path, dataset: str) -> None:
    import tuiannot

    with tuiannot.connect(db) as database:
        if database.has_dataset(dataset):
            database.drop_dataset(dataset)


def measure_size(n: int, commands: list[str], runs: int, work: Path, keep: Any) -> dict[str, Any]:
    db, reused, took = ensure_db(n)
    drop(db, OUT)  # left by an interrupted run
    size = used_bytes(db)
    print(f"  {n:,} answers: {db} ({size / 1e6:,.0f} MB, "
          f"{'reused' if reused else f'built in {took:.0f} s'})", flush=True)
    cli, where = tuiannot_argv(), ["--db", str(db)]
    result: dict[str, Any] = {"bytes_per_answer": size / (n + PILOT), "measured": time.strftime("%Y-%m-%d %H:%M")}
    for command in commands:
        print(f"    {command} ...", end=" ", flush=True)
        if command == "stats":
            wall, peak, out = repeated([*cli, "stats", "--json", *where], runs)
            assert {d["dataset"]: d["answers"] for d in json.loads(out)["datasets"]}[DATASET] == n
        elif command == "stats DATASET":
            wall, peak, out = repeated([*cli, "stats", DATASET, "--json", *where], runs)
            assert json.loads(out)["answers"] == n
        elif command == "progress":
            wall, peak, out = repeated([*cli, "progress", DATASET, "--json", *where], runs)
            assert json.loads(out)["answers"] == n
        elif command == "iaa":
            wall, peak, out = repeated([*cli, "iaa", DATASET, "--json", *where], runs)
            assert json.loads(out)["kind"] == "single"
        elif command == "aggregate":
            wall, peak, out = measured([*cli, "aggregate", DATASET, "--method", "dawid-skene", "-o", OUT, "--json",
                                        *where])
            assert json.loads(out)["written"] >= 0.99 * n / PER_INPUT  # (an input all ignored gets no label)
            drop(db, OUT)
        elif command == "review":
            t = time.perf_counter()
            spec = {"db": str(db), "spawned": time.time()}
            proc = subprocess.run([sys.executable, __file__, "--review-child", json.dumps(spec)], capture_output=True,
                                  text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"review child failed: {proc.stderr[-2000:]}")
            child = json.loads(proc.stdout.strip().splitlines()[-1])
            wall, peak = child["first_s"], child["hwm_mb"]
            print(f"({child['tasks']:,} conflicts, {time.perf_counter() - t:.1f} s in all)", end=" ")
            drop(db, OUT)
        elif command == "db-out":
            file = work / "export.jsonl"
            wall, peak, _ = measured([*cli, "db-out", DATASET, str(file), *where])
            with open(file, "rb") as f:
                lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
            assert lines == n, (lines, n)
        elif command == "db-in":
            file = work / "export.jsonl"
            if not file.exists():
                measured([*cli, "db-out", DATASET, str(file), *where])
            target = work / "imported.db"
            wall, peak, _ = measured([*cli, "db-in", DATASET, str(file), "--db", str(target)])
            for p in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
                p.unlink(missing_ok=True)
        else:
            raise SystemExit(f"unknown command {command!r} (known: {', '.join(COMMANDS)})")
        entry = {"seconds": wall, "peak_mb": peak}
        if command in ("db-out", "db-in"):
            entry["rate"] = n / wall
        result[command] = entry
        keep(result)  # saved after each command: a long run stopped half-way keeps what it measured
        print(f"{wall:.3f} s, {peak:.0f} MB" + (f", {n / wall:,.0f} answers/s" if "rate" in entry else ""),
              flush=True)
    (work / "export.jsonl").unlink(missing_ok=True)
    return result


# -- the report ----------------------------------------------------------------------------------
def human(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "").replace(",", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * factor)


def table(results: dict[int, dict[str, Any]]) -> list[str]:
    sizes = sorted(results)
    lines = ["| command | " + " | ".join(f"{human(n)} answers" for n in sizes) + " |",
             "| --- | " + " | ".join("---" for _ in sizes) + " |"]
    for command in COMMANDS:
        cells = []
        for n in sizes:
            e = results[n].get(command)
            if e is None:
                cells.append("not run")
                continue
            what = "first item " if command == "review" else ""
            rate = f", {e['rate']:,.0f}/s" if "rate" in e else ""
            cells.append(f"{what}{e['seconds']:.2f} s{rate}, {e['peak_mb']:.0f} MB")
        name = command.replace("DATASET", DATASET)
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    lines.append("| database size | " + " | ".join(f"{results[n]['bytes_per_answer']:.0f} B/answer"
                                                 for n in sizes) + " |")
    return lines


def slope(a: float, b: float, n1: int, n2: int) -> float:
    return math.log(b / a) / math.log(n2 / n1)


def verdicts(results: dict[int, dict[str, Any]]) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    at_goal = results.get(GOAL_SIZE, {})
    for command in ("stats", "stats DATASET"):
        if command in at_goal:
            t = at_goal[command]["seconds"]
            out.append((f"{command.replace('DATASET', DATASET)} at 1M: {t:.3f} s <= {STATS_GOAL} s", t <= STATS_GOAL))
    if "db-out" in at_goal:
        rate = at_goal["db-out"]["rate"]
        out.append((f"db-out at 1M: {rate:,.0f} answers/s >= {EXPORT_GOAL:,}", rate >= EXPORT_GOAL))
    for command in COMMANDS:
        sizes = [n for n in sorted(results) if command in results[n]]
        for n1, n2 in zip(sizes, sizes[1:], strict=False):
            s = slope(results[n1][command]["seconds"], results[n2][command]["seconds"], n1, n2)
            out.append((f"{command}: time {human(n1)} -> {human(n2)} grows with slope {s:.2f} <= {SLOPE_LIMIT}",
                        s <= SLOPE_LIMIT))
        if len(sizes) >= 2:
            low, high = results[sizes[0]][command]["peak_mb"], results[sizes[-1]][command]["peak_mb"]
            if command in STREAMING:  # from 100k on: by then the import's page cache (64 MB) is full
                steady = [n for n in sizes if n >= 100_000] or sizes
                for n1, n2 in zip(steady, steady[1:], strict=False):
                    a, b = results[n1][command]["peak_mb"], results[n2][command]["peak_mb"]
                    out.append((f"{command}: memory flat, {a:.0f} MB at {human(n1)} -> {b:.0f} MB at {human(n2)}",
                                b <= FLAT_RATIO * a + FLAT_SLACK_MB))
            else:
                s = slope(max(low - 25, 1), max(high - 25, 1), sizes[0], sizes[-1])  # less the interpreter's 25 MB
                out.append((f"{command}: memory {low:.0f} MB at {human(sizes[0])} -> {high:.0f} MB at "
                            f"{human(sizes[-1])}, at most linear (slope {s:.2f} <= {SLOPE_LIMIT})",
                            s <= SLOPE_LIMIT))
    return out


def plot(results: dict[int, dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: matplotlib is not installed (pip install matplotlib)")
        return
    sizes = sorted(results)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    for command in COMMANDS:
        xs = [n for n in sizes if command in results[n]]
        if not xs:
            continue
        name = command.replace("DATASET", DATASET) + (" (first item)" if command == "review" else "")
        style = "-" if command in STREAMING else "--"
        left.plot(xs, [results[n][command]["seconds"] for n in xs], style, marker="o", ms=3, label=name)
        right.plot(xs, [results[n][command]["peak_mb"] for n in xs], style, marker="o", ms=3, label=name)
    if sizes:
        ref = [sizes[0], sizes[-1]]
        left.plot(ref, [1.0, sizes[-1] / sizes[0]], ":", color="grey", label="linear (slope 1)")
    for ax, title, unit in ((left, "wall time", "seconds"), (right, "peak memory", "MB (max RSS)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("answers in the database")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="major", alpha=0.3)
    left.legend(fontsize=7, loc="upper left")
    fig.suptitle("tuiannot cost curves (2 CPUs; solid: streaming commands)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    print(f"plot: {path} ({path.stat().st_size / 1024:.0f} KB)")


def load() -> dict[int, dict[str, Any]]:
    if RESULTS.exists():
        return {int(k): v for k, v in json.loads(RESULTS.read_text()).items()}
    return {}


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--review-child":
        review_child(json.loads(sys.argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k,1M", help="answers in the dataset: 10k,100k,1M,10M")
    parser.add_argument("--commands", default=",".join(COMMANDS), help=f"a subset of {', '.join(COMMANDS)}")
    parser.add_argument("--runs", type=int, default=3, help="runs of a command under 3 s (the median counts)")
    parser.add_argument("--plot", type=Path, help="write the log-log plot here (PNG)")
    parser.add_argument("--report-only", action="store_true", help="measure nothing: the table of the kept results")
    parser.add_argument("--forget", action="store_true", help="drop the kept results first")
    args = parser.parse_args()
    commands = [c.strip() for c in args.commands.split(",") if c.strip()]
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    results = {} if args.forget else load()
    if not args.report_only:
        work = Path(tempfile.mkdtemp(prefix="costs-", dir=BENCH_DIR))
        try:
            for n in (parse_size(s) for s in args.sizes.split(",")):
                print(f"{human(n)} answers:")

                def keep(result: dict[str, Any], n: int = n) -> None:  # merged into the file as it is now
                    results.update({k: v for k, v in load().items() if k != n} if not args.forget else {})
                    results.setdefault(n, {}).update(result)
                    RESULTS.write_text(json.dumps({str(k): v for k, v in sorted(results.items())}, indent=1))

                keep(measure_size(n, commands, args.runs, work, keep))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print("\n".join(table(results)))
    print()
    checks = verdicts(results)
    for text, ok in checks:
        print(f"{text}: {verdict(ok)}")
    print(f"overall: {verdict(all(ok for _, ok in checks))}")
    if args.plot:
        plot(results, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())

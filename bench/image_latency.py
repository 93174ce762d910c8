"""Image latency of ``tuiannot image`` on real photos (../shared/data/images/felix_cats).

(a) key to next image visible, in a real pseudo-terminal of 160x48
    (TERM=xterm-256color, ``--graphics auto``: the pty never answers the
    terminal queries, so this also shows that detection falls back to
    half-blocks without hanging): a yes/no question (one label), so one ``a``
    answers; from writing the key until the output since then holds the next
    photo's file name (the meta line ``file: Excluded/108.jpg``), which the
    screen writes in the same frame as the photo when the photo was prefetched;
    if it shows "Loading the image…" instead, until half-blocks are written after
    that. Each key is sent --pause seconds after the previous photo appeared.
    With ``--graphics sixel`` (or ``kitty``), until the whole Sixel image (or
    Kitty transmission) has been written after the file name. Goal: median <= 100 ms.
(b) decode and render one photo, in this process, for every photo: read the
    file, hash it, decode it (JPEG draft mode, downscaled to 512 px, EXIF
    applied), fit it to the 160x48 layout's image area and turn it into
    half-block cells (24-bit colour). Reported (median, p90, max); no goal.

Afterwards the database must hold one ``accept`` per key, for the photos in
order, and ``q`` must end the app with exit code 0.

    python bench/image_latency.py [--keys 80] [--pause 0.05] [--folder PATH] [--graphics sixel]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import (BENCH_DIR, PtyApp, PtyTimeout, app_env, percentile, self_test_strip, strip_ansi, summary_ms,
                     tuiannot_argv, verdict)

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT.parent / "shared" / "data" / "images" / "felix_cats" / "images"
KEY_MEDIAN_GOAL = 0.100
COLUMNS, LINES = 160, 48


def photo_order(folder: Path) -> list[str]:
    """The files the app serves, in order: sorted, recursive, the same content only once."""
    from tuiannot.images import decode, tasks

    seen: set[str] = set()
    order = []
    for path in tasks.image_files(folder):
        digest = decode.digest_of(path.read_bytes())
        if digest not in seen:
            seen.add(digest)
            order.append(str(path.relative_to(folder)))
    return order


def measure_keys(folder: Path, files: list[str], work: Path, args: argparse.Namespace, graphics: str = "auto",
                 program: list[str] | None = None, quiet: bool = False) -> tuple[list[float], bool]:
    """Key to next photo in the pty; ``graphics`` is passed as ``--graphics`` and ``program`` replaces the
    ``tuiannot`` command (bench/image_libs.py runs the app with another renderer patched in)."""
    db = work / f"keys-{time.monotonic_ns()}.db"
    argv = [*(program or tuiannot_argv()), "image", str(folder), "--label", "CAT", "--db", str(db),
            "--dataset", "bench", "--graphics", graphics]
    app = PtyApp(argv, columns=COLUMNS, lines=LINES, env=app_env(work))
    keys = min(args.keys, len(files) - 1)
    latencies: list[float] = []
    ok = True

    def wait_shown(name: str, since: int, timeout: float) -> float:
        """Read until the next photo is on screen; the time it was.

        The screen sets the meta line and the image in one frame when the image is ready
        (prefetched), so the photo counts as shown when its file name has been written; if
        "Loading the image…" was written instead, when half-blocks have been written after it.
        Incremental (each chunk looked at once, with an overlap for text split between chunks),
        so that the detector's own cost does not grow with the size of a frame.
        With ``--graphics sixel`` (or ``kitty``) the photo is shown when, after its file name, a
        whole Sixel image (DCS ... ST) (or Kitty transmission, up to its last chunk) has been written."""
        deadline = time.monotonic() + timeout
        target = f"file: {name}"
        found = drawn = False
        pos = since
        found_at = since  # the start of the chunk in which the name was found
        overlap = b""  # the end of what was read before: a name or an escape sequence cut by a read
        while True:
            if len(app.output) > pos:
                chunk = bytes(app.output[pos:])
                start, pos = pos, len(app.output)
                text = strip_ansi((overlap + chunk).decode("utf-8", "replace"))
                overlap = (overlap + chunk)[-512:]
                if not found and target in text:
                    found, found_at = True, max(since, start - len(overlap))
                    after = text[text.index(target):]
                    # shown with the image, unless the screen said it is still loading it
                    drawn = "Loading the image" not in after or "▀" in after.rsplit("Loading the image", 1)[1]
                elif found and not drawn:
                    drawn = "▀" in text.rsplit("Loading the image", 1)[-1]
                if found and graphics in ("sixel", "kitty"):
                    drawn = _pixels_written(bytes(app.output[found_at:]), graphics)
                if found and drawn:
                    return time.monotonic()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or app.eof:
                raise PtyTimeout(f"{name} not seen within {timeout} s")
            app.read_some(remaining)

    try:
        wait_shown(files[0], 0, timeout=30)
        if not quiet:
            print(f"  first photo on screen {time.monotonic() - app.spawned_at:.2f} s after start")
        app.drain(0.5)
        for i in range(1, keys + 1):
            since = len(app.output)
            sent = app.send(b"a")
            try:
                seen = wait_shown(files[i], since, timeout=10)
            except PtyTimeout:
                print(f"  key {i}: {files[i]} never appeared; output tail: {app.text(since)[-300:]!r}")
                ok = False
                break
            latencies.append(seen - sent)
            if args.pause:
                app.drain(args.pause)
        app.drain(0.2)
        since = len(app.output)
        app.send(b"q")
        code = app.wait_exit(timeout=15)
        tail = app.text(since)
    finally:
        app.kill()
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT answer, content FROM answers ORDER BY id").fetchall()
    stored = [json.loads(c)["meta"]["file"] for _, c in rows]
    in_order = stored == files[:len(latencies)]
    slowest = sorted(range(len(latencies)), key=lambda i: -latencies[i])[:3]
    if not quiet:
        print("  slowest keys: " + ", ".join(f"{i + 1} ({files[i + 1]}, {latencies[i] * 1000:.0f} ms)"
                                             for i in slowest))
        print(f"  answers stored: {len(rows)} (expected {len(latencies)}); photos in order: {in_order}; "
              f"all 'accept': {all(a == 'accept' for a, _ in rows)}")
        print(f"  quit with q: exit code {code}; summary printed: "
              f"{'Saved ' + str(len(latencies)) + ' answers' in tail}")
    return latencies, ok and in_order and len(rows) == len(latencies) and code == 0


def _pixels_written(raw: bytes, graphics: str) -> bool:
    """Whether ``raw`` holds a whole Sixel image (DCS ... q ... ST) or a whole Kitty transmission."""
    if graphics == "sixel":
        sixel = re.search(rb"\x1bP[0-9;]*q", raw)
        return sixel is not None and raw.find(b"\x1b\\", sixel.end()) > 0
    start = raw.find(b"\x1b_Ga=T")
    if start < 0:
        return False
    last = re.search(rb"\x1b_Gm=0[^\x1b]*\x1b\\", raw[start:])
    return last is not None or re.match(rb"\x1b_G[^;]*m=0[^\x1b]*\x1b\\", raw[start:]) is not None


def measure_render(folder: Path, files: list[str]) -> dict[str, list[float]]:
    from tuiannot.images import decode, render

    cols, rows = COLUMNS - 4, LINES - 13  # the image area of the classification layout at 160x48
    times: dict[str, list[float]] = {"decode": [], "fit": [], "cells": [], "total": []}
    styles = render.StyleCache("truecolor")
    render.halfcell(decode.resize(decode.load(str(folder / files[0]))[1], (8, 8)), styles=styles)  # imports
    for name in files:
        t0 = time.perf_counter()
        info, base = decode.load(str(folder / name))
        t1 = time.perf_counter()
        fitted = decode.resize(base, render.pixel_size("halfcell", info.width, info.height, cols, rows))
        t2 = time.perf_counter()
        render.halfcell(fitted, "truecolor", render.StyleCache("truecolor"))
        t3 = time.perf_counter()
        for key, value in (("decode", t1 - t0), ("fit", t2 - t1), ("cells", t3 - t2), ("total", t3 - t0)):
            times[key].append(value)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=80, help="keys to time (default 80; at most the photos - 1)")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between a photo appearing and the next key")
    parser.add_argument("--folder", type=Path, default=FOLDER)
    parser.add_argument("--graphics", default="auto", choices=("auto", "halfcell", "sixel", "kitty", "ascii"),
                        help="passed to tuiannot image (default auto: half-blocks, as the pty never answers)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database")
    args = parser.parse_args()
    if not args.folder.is_dir():
        print(f"no photos at {args.folder}: nothing to measure")
        print("overall: SKIP")
        return 0

    self_test_strip()
    files = photo_order(args.folder)
    import os

    colors = "24-bit" if os.environ.get("COLORTERM", "").lower() in ("truecolor", "24bit") else "256"
    print(f"tuiannot image latency in a {COLUMNS}x{LINES} pty (TERM=xterm-256color, --graphics auto: half-blocks "
          f"in {colors} colours, COLORTERM={os.environ.get('COLORTERM', 'unset')})")
    print(f"photos: {args.folder} ({len(files)} distinct)")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="image-", dir=BENCH_DIR))
    try:
        print(f"(a) key 'a' to next photo visible, paced ({args.pause * 1000:.0f} ms after each photo):")
        keys, checks_ok = measure_keys(args.folder, files, work, args, graphics=args.graphics)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("(b) decode and render one photo (in process):")
    times = measure_render(args.folder, files)

    print()
    results = []
    if keys:
        median = statistics.median(keys)
        print(f"key to next photo: {summary_ms(keys)}")
        print(f"  median {median * 1000:.1f} ms, goal <= {KEY_MEDIAN_GOAL * 1000:.0f} ms: "
              f"{verdict(median <= KEY_MEDIAN_GOAL)}")
        results.append(median <= KEY_MEDIAN_GOAL)
    else:
        print("key to next photo: no measurement: FAIL")
        results.append(False)
    for key, label in (("decode", "read + hash + decode (draft, 512 px, EXIF)"), ("fit", "fit to the image area"),
                       ("cells", "half-block cells (24-bit)"), ("total", "decode and render, total")):
        ms = [v * 1000 for v in times[key]]
        print(f"  {label}: median {statistics.median(ms):.1f} ms, p90 {percentile(ms, 90):.1f} ms, "
              f"max {max(ms):.1f} ms")
    print(f"checks (answers stored, order, clean quit): {verdict(checks_ok)}")
    print(f"overall: {verdict(all(results) and checks_ok)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

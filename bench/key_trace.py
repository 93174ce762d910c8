"""Where the time of a key goes, step by step, inside the app (issue 15).

``python bench/key_trace.py [--keys 12] [--key a] [--pause 0.3] -- image FOLDER --label CAT,DOG --boxes``

Runs ``tuiannot`` with the given arguments in a 120x36 pseudo-terminal (the terminal answers Primary Device
Attributes as xterm does), through a wrapper that marks the time of each step of the app's work, sends ``--key``
``--keys`` times (``--pause`` seconds apart), quits, and prints one line per key: the milliseconds from the key
event reaching the app to each mark after it, within 100 ms:

* ``key`` / ``key_done``: Textual's ``App._on_key`` (the binding's action runs inside it);
* ``answer`` / ``answer_done``: ``Controller.answer`` (the answer committed);
* ``show_next`` / ``show_next_done``: the app taking the next task and its screen showing it;
* ``refresh`` / ``refresh_done``: the screen's compositor refresh (the frame made), ``layout``: a layout pass;
* ``write/N``: the frame (N characters) handed to Textual's writer thread; ``wt_write/N``, ``wt_flush``: that
  thread writing it to the terminal and flushing;
* ``decode`` / ``decode_done``: the image prefetch decoding a photo (another thread, holding the GIL at times);
* ``prerender`` / ``prerender_done``: the image view making the next photos' lines ahead.

A step that starts late (a thread waiting for the GIL) shows as a gap. This is how the prefetch's decoding was
found delaying the next photo's flush by 3-10 ms (see README.md, "Fifth round"). No speed goal is judged: the
figures are for reading; the checks are that the app quit cleanly and every key left a timeline. The first key
of a run pays imports (the bytecode is cached as the other benches cache it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PtyApp, app_env  # noqa: E402

WRAPPER = r'''
import atexit, json, os, sys, time
MARKS = []
def mark(name, n=None):
    MARKS.append((time.perf_counter(), name, n))
def around(owner, attr, name):
    real = getattr(owner, attr)
    def wrapped(*args, **kwargs):
        mark(name)
        try:
            return real(*args, **kwargs)
        finally:
            mark(name + "_done")
    setattr(owner, attr, wrapped)
import textual.app, textual.screen
from textual.drivers import _writer_thread
from textual.drivers.linux_driver import LinuxDriver
real_write = LinuxDriver.write
def write(self, data):
    mark("write", len(data))
    real_write(self, data)
LinuxDriver.write = write
real_on_key = textual.app.App._on_key
async def on_key(self, event):
    mark("key")
    try:
        return await real_on_key(self, event)
    finally:
        mark("key_done")
textual.app.App._on_key = on_key
around(textual.screen.Screen, "_compositor_refresh", "refresh")
around(textual.screen.Screen, "_refresh_layout", "layout")
real_run = _writer_thread.WriterThread.run
def run(self):
    file = self._file
    class Marked:
        def write(self, text):
            mark("wt_write", len(text))
            file.write(text)
        def flush(self):
            file.flush()
            mark("wt_flush")
    self._file = Marked()
    real_run(self)
_writer_thread.WriterThread.run = run
from tuiannot import controller
from tuiannot.images import decode
from tuiannot.screens import app as screens_app
from tuiannot.screens.widgets import image_view
around(controller.Controller, "answer", "answer")
around(screens_app.AnnotationApp, "show_next", "show_next")
around(decode, "decode", "decode")
around(image_view.ImageView, "_prerender_ahead", "prerender")
out = sys.argv.pop(1)
atexit.register(lambda: json.dump(MARKS, open(out, "w")))
from tuiannot.cli import main
main()
'''


def timelines(marks: list[list], key: str, within: float = 0.1) -> list[str]:
    """One line per ``key`` event: each mark after it (until the next key), in ms from it, within ``within`` s."""
    starts = [i for i, (_, name, _) in enumerate(marks) if name == "key"]
    lines = []
    for n, i in enumerate(starts):
        t0 = marks[i][0]
        end = starts[n + 1] if n + 1 < len(starts) else len(marks)
        steps = [f"{(t - t0) * 1000:.2f}:{name}" + (f"/{size}" if size is not None else "")
                 for t, name, size in marks[i:end] if t - t0 < within]
        lines.append(" ".join(steps))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=12, help="how many times the key is sent (default 12)")
    parser.add_argument("--key", default="a", help="the key sent (default a)")
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between keys (default 0.3)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="tuiannot's arguments, after --")
    args = parser.parse_args()
    command = [a for a in args.command if a != "--"] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give tuiannot's arguments after --, e.g. -- image FOLDER --label CAT,DOG --boxes")
    work = Path(tempfile.mkdtemp(prefix="tuiannot-trace-"))
    try:
        (work / "wrapper.py").write_text(WRAPPER, encoding="utf-8")
        marks_file = work / "marks.json"
        if "--db" not in command:
            command += ["--db", str(work / "trace.sqlite")]
        app = PtyApp([sys.executable, str(work / "wrapper.py"), str(marks_file), *command], 120, 36,
                     env=app_env(work), answer_da1=True)
        app.drain(3.0)
        for _ in range(args.keys):
            app.send(args.key.encode())
            app.drain(args.pause)
        app.send(b"q")
        status = app.wait_exit(15)
        if not marks_file.exists():
            sys.exit(f"the app left no marks (exit status {status}); its output's end: {app.text()[-400:]!r}")
        marks = json.loads(marks_file.read_text(encoding="utf-8"))
        print(f"tuiannot {' '.join(command)}: {args.keys} x {args.key!r}, ms from the key event to each step")
        lines = timelines(marks, args.key)
        for line in lines:
            print(line)
        ok = status == 0 and len(lines) >= args.keys  # (q is a key too)
        print(f"checks (the app quit cleanly, a timeline per key): {'PASS' if ok else 'FAIL'} "
              f"(exit status {status}, {len(lines)} timelines)")
        print(f"overall: {'PASS' if ok else 'FAIL'} (no speed goal here: the figures are for reading)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Are LLM suggestions ready when the annotator gets to a task? ``textcat --llm`` against a slow local server.

A small OpenAI-compatible server of the bench's own (``http.server`` in a thread on 127.0.0.1, an ephemeral
port) answers ``GET /v1/models`` at once and every ``POST /v1/chat/completions`` after ``--latency`` seconds
with the same reply (``{"labels": ["POS"]}``), counting the requests and the most it held at once. The real
recipe (``get_recipe("textcat")(SOURCE, label="POS,NEG", llm=URL, llm_concurrency=4)``) runs through the real
:class:`~tuiannot.controller.Controller` (no UI), and a simulated annotator spends ``--pace`` seconds on each
task and accepts the suggested labels. For each task it notes whether the suggestion was ready when the
annotator asked for the task (``poll_task`` handed it over at once, with ``_llm`` and a suggestion on it) or
the annotator had to wait, and how long.

It reports the misses (tasks not ready; the first task is counted apart: nothing can be ready before the
first reply), the wait p50/p99 and the start-up wait, the requests sent and the most in flight at once, and:

    lookahead: PASS  (no miss after the first task)
    in flight: PASS  (never more than --llm-concurrency requests at once)

The issue's case is ``--latency 0.3 --pace 1.0`` with concurrency 4 (the server can answer 13 tasks a second,
the annotator takes one): about a minute for 60 tasks. ``--pace 0.3 --latency 0.1`` keeps the same ratio in a
third of the time. ``--pace 0.02`` (faster than the server can answer) shows what misses look like.

The cache re-run: a second annotator (``--overlap all``, so the same tasks reach them) goes through the same
tasks in the same database at the same pace; every reply the first session asked for is in the database's LLM
cache, so the server must see no request for any task the second annotator is shown (the read-ahead past the
first session's last request may ask a few new ones: counted apart).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BENCH_DIR, ensure_jsonl, percentile, verdict  # noqa: E402

import tuiannot  # noqa: E402
from tuiannot.controller import Controller  # noqa: E402
from tuiannot.recipes import Components, get_recipe  # noqa: E402
from tuiannot.team.routing import Routing  # noqa: E402

MODEL = "bench-model"
REPLY = json.dumps({"labels": ["POS"]})


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):  # the client hung up: not news
            super().handle_error(request, client_address)


class SlowServer:
    """An OpenAI-compatible server answering every chat request after ``latency`` seconds with :data:`REPLY`."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.requests = 0
        self.asked: list[str] = []  # the user message of every chat request, in order
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="bench-llm-server",
                                        daemon=True)

    def __enter__(self) -> "SlowServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as llama-server and vLLM do

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._send(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": "not found"}})
                    return
                with server._lock:
                    server.requests += 1
                    server.asked.append(str((body.get("messages") or [{}])[-1].get("content", "")))
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    time.sleep(server.latency)
                    self._send(200, {"id": "bench", "object": "chat.completion", "model": MODEL, "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}]})
                finally:
                    with server._lock:
                        server.in_flight -= 1

        return Handler


def session(args: argparse.Namespace, source: Path, work: Path, server: SlowServer, name: str
            ) -> tuple[list[float], list[bool], int, float, Any, list[str]]:
    """One annotator through ``--tasks`` tasks: per task the wait and whether it was ready, the suggestions,
    the time, the controller's summary and the texts shown."""
    waits: list[float] = []  # per task: seconds from asking for it to having it
    ready: list[bool] = []  # per task: handed over at once, with a suggestion on it
    shown: list[str] = []
    suggested = 0
    started = time.monotonic()
    components = Components.from_value(
        get_recipe("textcat")(str(source), label="POS,NEG", dataset="lookahead", llm=server.url,
                              llm_concurrency=args.concurrency, db=str(work / "bench.db")), "textcat")
    controller = Controller(components, tuiannot.connect(work / "bench.db"), name,
                            routing=Routing(overlap="all")).start()
    try:
        for _ in range(args.tasks):
            asked = time.monotonic()
            task = controller.poll_task()
            at_once = task is not Controller.PENDING
            if not at_once:
                task = controller.next_task()
            waited = time.monotonic() - asked
            if task is None:
                break
            llm = task.get("_llm")
            has = isinstance(llm, dict) and llm.get("suggestion") is not None
            suggested += has
            waits.append(waited)
            ready.append(at_once and has)
            shown.append(str(task.get("text")))
            time.sleep(args.pace)  # reading, deciding
            controller.answer("accept", list(task.get("accept") or []))
        elapsed = time.monotonic() - started
    finally:
        summary = controller.close()
        controller.db.close()
    return waits, ready, suggested, elapsed, summary, shown


def run(args: argparse.Namespace) -> bool:
    lines = max(1000, args.tasks)  # more than are answered: the read-ahead never meets the end of the source
    source, reused = ensure_jsonl(BENCH_DIR / f"lookahead-{lines}.jsonl", lines)
    work = Path(tempfile.mkdtemp(prefix="lookahead-", dir=BENCH_DIR))
    print(f"source: {source} ({lines:,} tasks{', reused' if reused else ''}); database in {work}")
    print(f"server: {args.latency * 1000:.0f} ms a reply; --llm-concurrency {args.concurrency}; annotator "
          f"{args.pace:g} s a task. The server can answer {args.concurrency / args.latency:.1f} tasks/s, the "
          f"annotator asks for {1 / args.pace:.2f}/s.")
    try:
        with SlowServer(args.latency) as server:
            waits, ready, suggested, elapsed, summary, _ = session(args, source, work, server, "bench")
            requests, max_in_flight = server.requests, server.max_in_flight
            # the cache re-run: a second annotator over the same tasks, in the same database
            _, again_ready, again_suggested, _, _, shown = session(args, source, work, server, "bench2")
            new_asks = server.asked[requests:]
            asked_shown = [text for text in new_asks if any(t in text for t in shown)]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if not waits:
        print("no task was served")
        print("overall: FAIL")
        return False
    after = waits[1:]
    misses = [i for i, ok in enumerate(ready) if not ok and i > 0]
    print(f"\n{len(waits):,} tasks answered in {elapsed:.1f} s ({summary.answers:,} stored); {suggested:,} with a "
          f"suggestion.")
    print(f"first task: {waits[0] * 1000:.0f} ms from the start (one reply, {args.latency * 1000:.0f} ms, "
          f"cannot be avoided); {'ready' if ready[0] else 'waited'}")
    if after:
        ms = [w * 1000 for w in after]
        which = ", ".join(str(i + 1) for i in misses[:10]) + (", ..." if len(misses) > 10 else "")
        print(f"after the first: misses {len(misses)} of {len(after)}{f' (tasks {which})' if misses else ''}; "
              f"wait p50 {statistics.median(ms):.2f} ms, p99 {percentile(ms, 99):.2f} ms, max {max(ms):.2f} ms")
        missed = [waits[i] * 1000 for i in misses]
        if missed:
            print(f"  waits on the misses: p50 {statistics.median(missed):.0f} ms, max {max(missed):.0f} ms")
    print(f"requests: {requests:,} sent for {len(waits):,} tasks shown ({requests - len(waits):,} asked ahead and "
          f"not reached when the session ended); in flight at most {max_in_flight}")
    print(f"cache re-run (a second annotator, the same {len(shown):,} tasks): {len(asked_shown):,} requests for "
          f"tasks shown, {len(new_asks) - len(asked_shown):,} for tasks read ahead past the first session's; "
          f"{again_suggested:,} suggestions, {sum(again_ready):,} ready at once")
    lookahead = not misses and len(waits) == args.tasks
    bounded = max_in_flight <= args.concurrency
    cached = not asked_shown and len(shown) == args.tasks and again_suggested == len(shown)
    print(f"\nlookahead: {verdict(lookahead)}  (no miss after the first task)")
    print(f"in flight: {verdict(bounded)}  (at most --llm-concurrency {args.concurrency} requests at once)")
    print(f"cache:     {verdict(cached)}  (the re-run asks the server about none of the tasks it shows)")
    ok = lookahead and bounded and cached
    print(f"overall: {verdict(ok)}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=60, help="tasks the annotator answers (default 60)")
    parser.add_argument("--latency", type=float, default=0.3, help="seconds the server takes per reply (0.3)")
    parser.add_argument("--pace", type=float, default=1.0, help="seconds the annotator spends per task (1.0)")
    parser.add_argument("--concurrency", type=int, default=4, help="--llm-concurrency (4)")
    args = parser.parse_args()
    if args.tasks < 2 or args.latency < 0 or args.pace < 0 or args.concurrency < 1:
        parser.error("--tasks >= 2, --latency and --pace >= 0, --concurrency >= 1")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    run(args)


if __name__ == "__main__":
    main()

"""A real OpenAI-compatible HTTP server for the tests: ``http.server`` in a thread on 127.0.0.1, an ephemeral port.

It speaks the contract tuiannot's ``--llm`` relies on (``GET /v1/models``, ``POST /v1/chat/completions``) and
answers each chat request from :attr:`LLMServer.answers`: the reply object of the longest text key found in the
user message (else :attr:`LLMServer.default`). How it answers is set per test:

- :attr:`mode`: ``normal``; ``malformed`` (not JSON); ``truncated`` (half the JSON, finish_reason ``length``);
  ``prose`` (the JSON in a Markdown fence between sentences); ``empty``; ``reject_format`` (a 400 naming
  ``response_format`` whenever it is sent); ``unauthorized`` (401 everywhere); ``not_api`` (404 everywhere);
  ``hang_models`` (``GET /models`` answers only when :meth:`release` is called); ``loading`` (a 503 ``Loading
  model`` everywhere, as llama-server answers until its model is in memory);
- :attr:`fail_first`: that many chat requests get a 500 before the server answers normally;
- :attr:`answer_limit`: after that many chat requests the server drops every connection without a word
  (a server that died mid-session);
- :attr:`wait_for`: text key -> a number of *other* replies that must have been sent before this one is
  (replies out of the order asked, without sleeping);
- :attr:`hold_until_in_flight`: every reply waits until that many requests have been held at once;
- :attr:`key`: the Bearer token required (401 otherwise);
- :attr:`aliases`: model id -> the names llama-server lists under ``aliases`` (its ``--alias a,b``; the id is
  one of them) and answers to.

It records every chat request's body (:attr:`requests`), the Authorization headers it saw (:attr:`auth`) and the
most requests it held at once (:attr:`max_in_flight`). Plain standard library: no test module imports another.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WAIT = 20.0  # seconds a held reply waits at most (a test that fails must not hang)


class LLMServer:
    def __init__(self, answers: dict[str, Any] | None = None, models: tuple[str, ...] = ("test-model",),
                 default: Any = None, mode: str = "normal", key: str | None = None) -> None:
        self.answers: dict[str, Any] = dict(answers or {})
        self.models = list(models)
        self.default = default if default is not None else {"labels": []}
        self.mode = mode
        self.key = key
        self.aliases: dict[str, list[str]] = {}
        self.fail_first = 0
        self.answer_limit: int | None = None
        self.wait_for: dict[str, int] = {}
        self.hold_until_in_flight = 0
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        self.replied = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._cond = threading.Condition()
        self._released = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="llm-test-server",
                                        daemon=True)

    def __enter__(self) -> "LLMServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        self._released.set()
        with self._cond:
            self.answer_limit = 0  # held replies end
            self._cond.notify_all()
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()

    def release(self) -> None:
        """Let a held ``GET /models`` (``hang_models``) answer."""
        self._released.set()

    def answer_for(self, user: str) -> tuple[str | None, Any]:
        found = [key for key in self.answers if key in user]
        if not found:
            return None, self.default
        key = max(found, key=len)
        return key, self.answers[key]

    @property
    def texts_asked(self) -> list[str]:
        """The answer keys of the chat requests, in the order they came."""
        return [self.answer_for(_user(body))[0] or "" for body in self.requests]


def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (a port just given back by the kernel)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _user(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "user")


def _handler(server: LLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def send(self, status: int, payload: Any) -> None:
            data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def authorised(self) -> bool:
            header = self.headers.get("Authorization")
            with server._cond:
                server.auth.append(header)
            if server.mode == "unauthorized" or (server.key is not None and header != f"Bearer {server.key}"):
                self.send(401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
                return False
            return True

        def do_GET(self) -> None:  # noqa: N802
            if server.mode == "not_api" or self.path.split("?")[0].rstrip("/") != "/v1/models":
                self.send(404, "<html>not found</html>")
                return
            if server.mode == "loading":
                self.loading()
                return
            if not self.authorised():
                return
            if server.mode == "hang_models":
                server._released.wait(WAIT)
            self.send(200, {"object": "list", "data": [
                {"id": m, "object": "model", **({"aliases": server.aliases[m], "owned_by": "llamacpp"}
                                                if m in server.aliases else {})} for m in server.models]})

        def loading(self) -> None:
            """llama-server before its model is in memory: every request (its middleware runs first)."""
            self.send(503, {"error": {"message": "Loading model", "type": "unavailable_error", "code": 503}})

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            if server.mode == "not_api" or self.path.split("?")[0].rstrip("/") != "/v1/chat/completions":
                self.send(404, "<html>not found</html>")
                return
            if server.mode == "loading":
                self.loading()
                return
            if not self.authorised():
                return
            with server._cond:
                server.requests.append(body)
                if server.answer_limit is not None and len(server.requests) > server.answer_limit:
                    self.close_connection = True  # gone: no answer at all
                    return
                if server.fail_first > 0:
                    server.fail_first -= 1
                    self.send(500, {"error": {"message": "model is loading"}})
                    return
            if server.mode == "reject_format" and "response_format" in body:
                self.send(400, {"error": {"message": "'response_format' of type 'json_schema' is not supported"}})
                return
            key, answer = server.answer_for(_user(body))
            with server._cond:
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
                server._cond.notify_all()
                wait = server.wait_for.get(key or "", 0)
                server._cond.wait_for(lambda: (server.replied >= wait and server.max_in_flight
                                               >= server.hold_until_in_flight) or server.answer_limit == 0, WAIT)
            content = answer if isinstance(answer, str) else json.dumps(answer)
            finish = "stop"
            if server.mode == "malformed":
                content = content.replace('"', "").rstrip("}") + ", and so on"
            elif server.mode == "truncated":
                content, finish = content[:max(1, len(content) // 2)], "length"
            elif server.mode == "prose":
                content = f"Sure! Here is my answer {{as asked}}:\n```json\n{content}\n```\nHope it helps."
            elif server.mode == "empty":
                content = ""
            self.send(200, {"id": "chatcmpl-test", "object": "chat.completion", "model": body.get("model"),
                            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                         "finish_reason": finish}]})
            with server._cond:
                server.in_flight -= 1
                server.replied += 1
                server._cond.notify_all()

    return Handler

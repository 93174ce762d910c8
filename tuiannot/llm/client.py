"""The OpenAI-compatible client: one check at start, then chat completions with retries.

Built on httpx (one :class:`httpx.Client`, whose connection pool is shared by the suggestion workers' threads).
The wire contract is the part of the OpenAI API every local server implements:

``GET {URL}/models`` (:meth:`LLMClient.check`)
    once, before any screen, with a :data:`CHECK_TIMEOUT` of 5 s. A server that is down, slow, refusing
    (401/403), still loading its model (503: llama-server answers every request so until the model is in memory)
    or not speaking the API (no ``data`` list of models) is a :class:`~tuiannot.errors.UserError`: one line
    naming the URL (shown without credentials, query or fragment: :func:`shown_url`) and what to do.
    ``--llm-model`` defaults to the first model listed; a model named but not listed is an error too (Ollama's
    ``NAME`` stands for ``NAME:latest``; llama-server lists each model's ``--alias`` names under ``aliases``, and
    any of them may be named).

``POST {URL}/chat/completions`` (:meth:`LLMClient.chat`)
    ``model``, ``messages`` (system and user), the parameters (``temperature`` 0, a fixed ``seed``,
    ``max_tokens``) and ``response_format: {"type": "json_schema", ...}`` describing the reply. A server that
    rejects ``response_format`` (a 4xx whose body names it or ``json_schema``) is asked again without it, and
    is not sent it again this session (:attr:`LLMClient.structured`). A failed or timed-out connection, a
    connection dropped without an answer, 429 and 5xx are retried :data:`RETRIES` times with back-off
    (:data:`BACKOFF` seconds, doubling); then :class:`LLMUnavailable` (the server is gone) or
    :class:`LLMFailed` (it keeps answering with an error). A reply that takes longer than :data:`CHAT_TIMEOUT`
    (or ``--llm-timeout``) is :class:`LLMUnavailable` at once (asking again would most likely wait as long);
    other 4xx are :class:`LLMFailed` at once.

The API key is read from an environment variable (``--llm-key-env NAME``; by default ``OPENAI_API_KEY`` if it
is set) and sent as a Bearer token: it lives in the httpx client's headers only, is never printed, never part
of an error message and never stored. A loopback URL (127.0.0.1, ::1, localhost) ignores the proxy variables
(``HTTP_PROXY`` ...), so a local server is reached directly however the shell is set up.
"""

from __future__ import annotations

import ipaddress
import json
import os
import time
from dataclasses import asdict, dataclass
from typing import Any
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from ..errors import UserError
from ..sanitize import one_line

if TYPE_CHECKING:  # httpx is imported when a client is made: importing it pulls in Rich (its command line)
    import httpx

CHECK_TIMEOUT = 5.0  # seconds GET /models may take at start
CONNECT_TIMEOUT = 5.0  # seconds to connect for a chat request
CHAT_TIMEOUT = 120.0  # seconds a reply may take (a local model on a CPU writing a long list of spans)
RETRIES = 2  # a chat request is tried 1 + RETRIES times
BACKOFF = 0.5  # seconds before the first retry, doubling
SEED = 1234  # the fixed seed sent with every request (with temperature 0: the same reply for the same input)
DEFAULT_KEY_ENV = "OPENAI_API_KEY"


class LLMUnavailable(Exception):
    """The server could not be reached, or did not answer in time, after the retries."""


class LLMFailed(Exception):
    """The server answered, with an error (after the retries, for 429 and 5xx) or with no chat completion."""


@dataclass(frozen=True)
class Parameters:
    """What is sent beside the messages; part of the prompt hash and of ``_llm`` on every task."""

    temperature: float = 0.0
    seed: int = SEED
    max_tokens: int = 2048

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Reply:
    text: str
    finish_reason: str | None
    structured: bool  # response_format was sent (and accepted)


def shown_url(url: str) -> str:
    """The URL as it may be shown or stored: no user name or password, no query, no fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    return one_line(urlunsplit((parts.scheme, netloc, parts.path, "", "")), 200)


def base_url(url: str) -> str:
    """``--llm URL`` checked: http(s) with a host; the path's trailing slash and any fragment dropped."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        given = "" if "@" in url else f" {one_line(url, 80)!r}"  # never echo what may hold a password
        raise UserError(f"--llm{given}: give the server's base URL with http:// or https://, "
                        "e.g. http://127.0.0.1:8080/v1 (llama-server) or http://127.0.0.1:11434/v1 (Ollama)")
    try:
        _ = parts.port
    except ValueError:
        raise UserError(f"--llm {shown_url(url)}: the port is not a number from 0 to 65535") from None
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), parts.query, ""))


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_key(key_env: str | None) -> str | None:
    """The API key from the environment: ``key_env`` must be set if named; ``OPENAI_API_KEY`` may be unset."""
    if key_env is None:
        return os.environ.get(DEFAULT_KEY_ENV) or None
    if not key_env.strip():
        raise UserError("--llm-key-env needs the name of an environment variable")
    key = os.environ.get(key_env)
    if not key:
        raise UserError(f"--llm-key-env {one_line(key_env, 60)}: that environment variable is not set "
                        "(or is empty)")
    return key


class LLMClient:
    """One server: :meth:`check` at start, then :meth:`chat` from any number of threads."""

    def __init__(self, url: str, *, model: str | None = None, key_env: str | None = None,
                 connections: int = 4, chat_timeout: float | None = None) -> None:
        self.url = base_url(url)
        self.chat_timeout = chat_timeout if chat_timeout is not None else CHAT_TIMEOUT  # --llm-timeout
        self.shown = shown_url(self.url)
        key = read_key(key_env)
        self.key_env = key_env or (DEFAULT_KEY_ENV if key else None)
        self.model = model.strip() if model and model.strip() else None
        self.structured = True  # response_format is sent until the server rejects it
        import httpx

        self._http = httpx.Client(
            headers={"Authorization": f"Bearer {key}"} if key else {},
            trust_env=not is_loopback(self.url), follow_redirects=False,
            limits=httpx.Limits(max_connections=connections + 2, max_keepalive_connections=connections + 2))

    def __repr__(self) -> str:  # no key, ever
        return f"LLMClient({self.shown!r}, model={self.model!r})"

    def close(self) -> None:
        self._http.close()

    def _endpoint(self, name: str) -> str:
        """``{URL}/name``, keeping a query the base URL has (``?api-version=...``) after the path."""
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc, f"{parts.path.rstrip('/')}/{name}", parts.query, ""))

    # -- at start --------------------------------------------------------------------
    def check(self) -> str:
        """``GET /models``: the server is there and speaks the API; returns the model to use."""
        import httpx

        where = f"the LLM server at {self.shown}"
        try:
            response = self._http.get(self._endpoint("models"), timeout=CHECK_TIMEOUT)
        except httpx.TimeoutException:
            raise UserError(f"{where} did not answer GET /models within {CHECK_TIMEOUT:g} s "
                            "(is it still loading the model?)") from None
        except httpx.TransportError as e:
            raise UserError(f"cannot reach {where}: {_transport_reason(e)} (is the server running?)") from None
        if response.status_code in (401, 403):
            how = (f"check the key in ${self.key_env}" if self.key_env else
                   f"put the key in ${DEFAULT_KEY_ENV} or name its variable with --llm-key-env")
            raise UserError(f"{where} refused the request (HTTP {response.status_code}): {how}")
        if response.status_code == 503:  # llama-server while it loads the model (any server not ready yet)
            raise UserError(f"{where} is not ready (HTTP 503{_excerpt(response)}): wait until it has loaded its "
                            "model, then start again")
        if response.status_code != 200:
            raise UserError(f"{where} answered GET /models with HTTP {response.status_code}: is this the API's base "
                            "URL? (it usually ends in /v1, e.g. http://127.0.0.1:8080/v1)")
        try:
            listed = response.json().get("data")
            models = [str(m["id"]) for m in listed]
            aliases = {str(a) for m in listed if isinstance(m.get("aliases"), list) for a in m["aliases"]}
        except (ValueError, AttributeError, TypeError, KeyError):
            raise UserError(f"{where} does not speak the OpenAI API (GET /models gave no list of models): is this "
                            "the API's base URL? (it usually ends in /v1)") from None
        if self.model is None:
            if not models:
                raise UserError(f"{where} lists no models: name one with --llm-model")
            self.model = models[0]
        elif models and not {self.model, f"{self.model}:latest"} & (set(models) | aliases):
            shown = ", ".join(one_line(m, 60) for m in models[:8]) + (", ..." if len(models) > 8 else "")
            raise UserError(f"{where} has no model {one_line(self.model, 60)!r} (it lists: {shown})")
        return self.model

    # -- per task --------------------------------------------------------------------
    def chat(self, messages: list[dict[str, str]], schema: dict[str, Any] | None, parameters: Parameters
             ) -> Reply:
        """One chat completion (retried as the module says); the reply's text and finish reason."""
        if self.model is None:
            raise RuntimeError("check() first: no model chosen")
        body: dict[str, Any] = {"model": self.model, "messages": messages, **parameters.as_dict()}
        structured = self.structured and schema is not None
        if structured:
            body["response_format"] = {"type": "json_schema",
                                        "json_schema": {"name": "suggestion", "strict": True, "schema": schema}}
        response = self._post(body)
        if structured and 400 <= response.status_code < 500 and _names_response_format(response):
            self.structured = structured = False  # remembered: not sent again this session
            body.pop("response_format")
            response = self._post(body)
        if response.status_code != 200:
            raise LLMFailed(f"HTTP {response.status_code}{_excerpt(response)}")
        try:
            choice = response.json()["choices"][0]
            content = choice["message"].get("content")
            finish = choice.get("finish_reason")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise LLMFailed("the answer is not a chat completion (no choices[0].message)") from None
        return Reply(content if isinstance(content, str) else "", finish if isinstance(finish, str) else None,
                     structured)

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        """POST with retries: timeouts, dropped connections, 429 and 5xx; the last response or an exception."""
        import httpx

        timeout = httpx.Timeout(self.chat_timeout, connect=CONNECT_TIMEOUT)
        for attempt in range(RETRIES + 1):
            last = attempt == RETRIES
            try:
                response = self._http.post(self._endpoint("chat/completions"), json=body, timeout=timeout)
            except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout):
                # connected, but no answer in time: asking again would most likely wait as long
                raise LLMUnavailable(f"no answer within {self.chat_timeout:g} s (--llm-timeout)") from None
            except httpx.TransportError as e:  # not connected, or the connection dropped: perhaps a restart
                if last:
                    raise LLMUnavailable(_transport_reason(e)) from None
            else:
                if (response.status_code != 429 and response.status_code < 500) or last:
                    return response
            time.sleep(BACKOFF * 2 ** attempt)
        raise AssertionError("unreachable")


def _names_response_format(response: httpx.Response) -> bool:
    text = response.text.lower()
    return "response_format" in text or "json_schema" in text


def _excerpt(response: httpx.Response) -> str:
    """A little of an error response's body, for the problem's note (the message, if it is the API's JSON)."""
    try:
        data = response.json()
        error = data.get("error", data) if isinstance(data, dict) else data
        message = error.get("message", error) if isinstance(error, dict) else error
        text = message if isinstance(message, str) else json.dumps(message)
    except ValueError:
        text = response.text
    text = one_line(text, 120)
    return f": {text}" if text.strip() else ""


def _transport_reason(error: httpx.TransportError) -> str:
    import httpx

    if isinstance(error, httpx.ConnectError):
        reason = str(error).lower()
        if "refused" in reason:
            return "connection refused"
        if "name" in reason and ("resolution" in reason or "known" in reason or "service" in reason):
            return "unknown host"
        return "cannot connect"
    if isinstance(error, httpx.RemoteProtocolError):
        return "the connection was closed without an answer"
    return type(error).__name__

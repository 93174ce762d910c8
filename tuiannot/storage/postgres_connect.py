"""Reaching a PostgreSQL server: the URL, a small pool of connections per process, and one-line errors.

The URL is libpq's (``postgresql://user[:password]@host[:port]/dbname?param=value&...``, also
``postgres://``): libpq reads it, with its ``PGPASSWORD``, ``~/.pgpass``, ``PGSSLMODE`` and the rest, as
``psql`` would. One parameter is tuiannot's own and is taken out before libpq sees it: ``schema=NAME``, the
PostgreSQL schema that holds tuiannot's tables (default ``public``; created on first use; a plain lower-case
name). Several projects may so share one database, each in its schema. Without ``schema=``, a URL that sets
``options=-csearch_path=...`` itself is left to it.

The password never leaves this module: every message, ``Database.location``, every ``repr`` shows the URL with
it masked (:func:`~.base.shown_location`: ``postgresql://bob:****@host/db``), and the raw URL is held only in
a :class:`Secret`, whose ``repr`` is masked too (Textual prints the local variables of a crash's frames).

:class:`Pool` keeps one idle connection per URL and process (:data:`IDLE_CONNECTIONS`), in autocommit mode.
Each call of the backend borrows it and gives it back (a transaction is ``with conn.transaction()``): a
``Database`` and the copies its threads ``reopen()`` share it, and the threads take turns (an annotator's
answer waits for the prefetch thread's claim, a few milliseconds), so an annotator's process holds one
connection to the server, not one per thread: 50 annotators are 50 of the server's ``max_connections``
(default 100), not 100. Two cases get a connection of their own beside it: a call made while the same thread
already holds one (a nested call), and a thread that waited :data:`TURN_SECONDS` for its turn (a long import or
export in another thread is not waited for; no two threads can so deadlock on it). A connection that broke or
was left mid-transaction (Ctrl-C during a query) is closed rather than given back. Connections are made in
this process only (a forked child makes its own, never closing its parent's). :func:`guarded` makes every
psycopg error of a backend's method its one line.
"""

from __future__ import annotations

import collections
import functools
import inspect
import os
import re
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from ..errors import UserError
from .base import StorageError, shown_location

if TYPE_CHECKING:
    import psycopg

IDLE_CONNECTIONS = 1
"""Idle connections a process keeps per database, for its next calls."""
TURN_SECONDS = 1.0
"""A thread that waited this long for its turn opens a connection of its own (made and closed for the call)."""
CHECK_AFTER_SECONDS = 30.0
"""An idle connection unused this long is checked (``SELECT 1``) before it is lent: a server restarted or a
firewall that forgot the connection meanwhile costs a new connection, not a failed answer."""
CONNECT_TIMEOUT = 10
"""Seconds to reach the server, unless the URL sets ``connect_timeout``."""
VANISHED_CLIENT_SETTINGS = ("-c idle_in_transaction_session_timeout=60000 -c tcp_keepalives_idle=60 "
                            "-c tcp_keepalives_interval=10 -c tcp_keepalives_count=6")
"""Server settings for every connection, against a client that vanishes (a laptop's Wi-Fi drops, a cable is
pulled: nothing tells the server). A transaction left open by it would hold its locks until the server's TCP
noticed, two hours by default, and every annotator claiming a task it had locked would wait as long: the server
now ends a transaction idle for 60 s (tuiannot's last milliseconds; a batch of ``db-in`` or ``db-migrate`` a second
at most) and probes an idle connection after 60 s, freeing a vanished client's slot within ~2 minutes. Settings in
the URL's ``options`` (or ``$PGOPTIONS``) come after these, so they win."""
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class _Turns:
    """Turns at a process's shared connection, first come first served: a release hands the turn to the thread
    that waited longest (a plain lock lets the releasing thread take it again at once, so the prefetch thread,
    claiming task after task, could keep an annotator's answer waiting for many of its claims)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy = False
        self._waiting: collections.deque[threading.Lock] = collections.deque()

    def acquire(self, timeout: float) -> bool:
        with self._lock:
            if not self._busy:
                self._busy = True
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiting.append(waiter)
        if waiter.acquire(timeout=timeout):
            return True  # handed over
        with self._lock:
            try:
                self._waiting.remove(waiter)
                return False
            except ValueError:
                return True  # handed over as the wait ran out: the turn is ours

    def release(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().release()  # (still busy: now the next thread's)
            else:
                self._busy = False


class Secret:
    """A string that is never shown: the URL with its password (``repr`` and ``str`` mask it)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({shown_location(self._value)!r})"

    __str__ = __repr__


def parse_url(url: str) -> tuple[Secret, str | None, dict[str, Any]]:
    """(the URL for libpq without ``schema=``, the schema named, the connection's extra parameters)."""
    shown = shown_location(url)
    try:
        parts = urlsplit(url)
    except ValueError as e:  # (an IPv6 host without its closing bracket, say)
        raise UserError(f"{shown}: not a URL libpq can read ({e})") from None
    pairs = [(unquote(pair.split("=", 1)[0]), pair) for pair in parts.query.split("&") if pair]  # as libpq reads
    schemas = [unquote(pair.split("=", 1)[-1]) for key, pair in pairs if key == "schema"]  # ('+' is no space)
    rest = [(key, unquote(pair.split("=", 1)[-1])) for key, pair in pairs if key != "schema"]
    schema = schemas[-1] if schemas else None
    if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
        raise UserError(f"{shown}: schema={schema!r} is not a plain PostgreSQL name; use lower-case letters, digits "
                        "and _ (at most 63, not starting with a digit)")
    libpq_url = urlunsplit(parts._replace(query="&".join(pair for key, pair in pairs if key != "schema")))
    keys = {key for key, _ in rest}
    extra: dict[str, Any] = {"autocommit": True}
    if "connect_timeout" not in keys and "PGCONNECT_TIMEOUT" not in os.environ:
        extra["connect_timeout"] = CONNECT_TIMEOUT
    if "application_name" not in keys and "PGAPPNAME" not in os.environ:
        extra["application_name"] = "tuiannot"
    if schema is None and "options" not in keys:
        schema = "public"
    given = dict(rest).get("options", os.environ.get("PGOPTIONS", ""))  # (the user's own come after: they win)
    search = f" -c search_path={schema}" if schema is not None else ""
    extra["options"] = f"{VANISHED_CLIENT_SETTINGS} {given}{search}".strip()
    return Secret(libpq_url), schema, extra


def _one_line(text: str) -> str:
    return "; ".join(" ".join(line.split()) for line in str(text).splitlines() if line.strip()) or "no detail"


def scrub(text: str, secret: Secret) -> str:
    """The text with the URL's password masked wherever it appears (libpq never quotes it, but be sure)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        password = conninfo_to_dict(secret.reveal()).get("password")
    except Exception:  # noqa: BLE001 (an unparsable URL: nothing more to mask than shown_location does)
        password = None
    text = text.replace(secret.reveal(), shown_location(secret.reveal()))
    return text.replace(str(password), "****") if password else text


def connect_error(e: Exception, location: str, secret: Secret) -> StorageError:
    """The one line for a connection the server would not give: unreachable, login refused, no database."""
    detail = scrub(_one_line(str(e)), secret)
    detail = re.sub(r"^connection failed: ", "", detail)
    low = detail.lower()
    if any(s in low for s in ("password authentication failed", "no password supplied", "authentication failed",
                              "pg_hba.conf", "role \"", "peer authentication")):
        return StorageError(f"{location}: the PostgreSQL server refused the login ({detail}); check the user and "
                            "password (in the URL, PGPASSWORD or ~/.pgpass) and that the server lets this host in")
    if "database \"" in low and "does not exist" in low:
        return StorageError(f"{location}: the PostgreSQL server has no such database ({detail}); create it "
                            "(createdb NAME) or name one that exists")
    if any(s in low for s in ("connection refused", "timeout expired", "could not translate host", "resolve host",
                              "no route to host", "network is unreachable", "could not connect", "no such file")):
        return StorageError(f"{location}: cannot reach the PostgreSQL server ({detail}); check that it runs, and "
                            "the host and port in the URL")
    return StorageError(f"{location}: cannot connect to the PostgreSQL server ({detail})")


def query_error(e: Exception, location: str, secret: Secret, writing: bool) -> StorageError:
    """The one line for an error of the server or the connection during a call."""
    detail = scrub(_one_line(str(e)), secret)
    state = getattr(e, "sqlstate", None) or ""
    conn_broken = state.startswith("08") or state in ("57P01", "57P02", "57P03") or "connection" in detail.lower() \
        and ("closed" in detail.lower() or "lost" in detail.lower() or "terminat" in detail.lower())
    if conn_broken:
        saved = ("this step may not have been saved (the server may have committed it before the connection "
                 "went); everything before it is") if writing else "nothing was written"
        return StorageError(f"{location}: lost the connection to the PostgreSQL server ({detail}): {saved}; check "
                            "the server and the network, then run it again")
    if state == "42501" and detail.startswith("permission denied: "):  # tuiannot's own refusal (db-roles)
        return StorageError(f"{location}: {detail.split('; CONTEXT:')[0]}")
    if state == "42501" and "row-level security" in detail and '"answers"' in detail:
        return StorageError(f"{location}: permission denied: an annotator's role may only add or change answers in "
                            "its own name: annotate with the session named as your PostgreSQL role (--session ROLE)")
    if state == "42501":
        return StorageError(f"{location}: permission denied ({detail}); ask the schema's owner (the team lead) for "
                            "the rights this needs (see README: Team across machines)")
    if state in ("53100", "53200", "53300"):
        return StorageError(f"{location}: the PostgreSQL server is out of resources ({detail}): nothing of this "
                            "step was written; ask its administrator")
    if state == "25006":
        return StorageError(f"{location}: the PostgreSQL server is read-only ({detail}); point --db at the primary "
                            "server, not a standby")
    if state in ("57014", "55P03"):
        return StorageError(f"{location}: the PostgreSQL server gave up waiting ({detail}); try again")
    return StorageError(f"{location}: the database failed ({type(e).__name__}: {detail})")


class Pool:
    """Idle connections to one database, for this process (see the module's docstring)."""

    def __init__(self, key: Secret) -> None:
        self.location = shown_location(key.reveal())
        self.key = key  # what reopen() opens again
        self.secret, self.schema, self._extra = parse_url(key.reveal())
        self._idle: list[tuple["psycopg.Connection[Any]", float]] = []  # (connection, when it was given back)
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self.users = 0  # open Database objects that use it: the last to close closes the idle connections
        self.ready = False  # the schema was checked (and made) by this process
        self._turns = _Turns()
        self._depth = threading.local()  # how many connections this thread holds now (a nested call: > 0)

    def __repr__(self) -> str:
        return f"Pool({self.location!r})"

    def _new(self) -> "psycopg.Connection[Any]":
        import psycopg

        try:
            return psycopg.connect(self.secret.reveal(), **self._extra)
        except psycopg.Error as e:
            raise connect_error(e, self.location, self.secret) from None

    @contextmanager
    def connection(self) -> Iterator["psycopg.Connection[Any]"]:
        """A connection of this process's, in autocommit mode, given back (or closed if unusable) after: the
        shared one when it is this thread's turn (see the module's docstring)."""
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's connections (and their turns) are the parent's
                self._idle, self._pid = [], os.getpid()
                self._turns = _Turns()
            turns = self._turns
        depth = getattr(self._depth, "n", 0)
        turn = depth == 0 and turns.acquire(timeout=TURN_SECONDS)
        self._depth.n = depth + 1
        try:
            with self._borrowed(turn) as conn:
                yield conn
        finally:
            self._depth.n = depth
            if turn:
                turns.release()

    @contextmanager
    def _borrowed(self, shared: bool) -> Iterator["psycopg.Connection[Any]"]:
        conn = None
        with self._lock:
            while self._idle and conn is None:
                conn, since = self._idle.pop()
                if conn.closed or conn.broken or (time.monotonic() - since > CHECK_AFTER_SECONDS
                                                  and not _alive(conn)):
                    conn = None
        if conn is None:
            conn = self._new()
        try:
            yield conn
        finally:
            self._give_back(conn, shared)

    def _give_back(self, conn: "psycopg.Connection[Any]", shared: bool = True) -> None:
        from psycopg.pq import TransactionStatus

        usable = not conn.closed and not conn.broken and conn.info.transaction_status == TransactionStatus.IDLE
        with self._lock:
            if usable and shared and self._pid == os.getpid() and len(self._idle) < IDLE_CONNECTIONS \
                    and self.users > 0:
                self._idle.append((conn, time.monotonic()))
                return
        try:
            conn.close()
        except Exception:  # noqa: BLE001 (closing a connection that broke)
            pass

    def close_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            mine = self._pid == os.getpid()
        for conn, _ in idle if mine else []:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass


def _alive(conn: "psycopg.Connection[Any]") -> bool:
    try:
        conn.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 (whatever went wrong with it: it is not lent)
        try:
            conn.close()
        except Exception:  # noqa: BLE001
            pass
        return False


_pools: dict[str, Pool] = {}
_pools_lock = threading.Lock()


def pool_for(key: Secret) -> Pool:
    """The process's pool for the URL (made on first use), counted as used until :func:`release` (or the object
    that took it is collected)."""
    with _pools_lock:
        pool = _pools.get(key.reveal())
        if pool is None:
            pool = _pools[key.reveal()] = Pool(key)
        pool.users += 1
        return pool


def release(pool: Pool) -> None:
    """One user of the pool is done; when none is left, the pool goes with its idle connections (a command leaves
    no connection open behind it, a test run does not pile them up, and the next open checks the schema again)."""
    with _pools_lock:
        pool.users = max(0, pool.users - 1)
        last = pool.users == 0
        if last and _pools.get(pool.key.reveal()) is pool:
            del _pools[pool.key.reveal()]
    if last:
        pool.close_idle()


def close_all() -> None:
    """Close every idle connection of this process (tests, before dropping their schema)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close_idle()


_F = TypeVar("_F", bound=Callable[..., Any])


def guarded(method: _F, writes: bool) -> _F:
    """The backend's method, raising every psycopg error as its one-line StorageError (``self._error``: the URL's
    password masked)."""
    import psycopg

    if inspect.isgeneratorfunction(method):
        @functools.wraps(method)
        def generator(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                yield from method(self, *args, **kwargs)
            except psycopg.Error as e:
                raise self._error(e, writes) from None
        return generator  # type: ignore[return-value]

    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except psycopg.Error as e:
            raise self._error(e, writes) from None
    return call  # type: ignore[return-value]

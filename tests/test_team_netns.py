"""Annotators on separate network hosts reaching one PostgreSQL, one of them cut off mid-session (issue 18).

Each annotator is a real process (the textcat recipe, the real Controller with routing) run inside a network
namespace of its own, made here with ``ip netns`` and a veth pair: its only way out is its veth link to this
host, where a small TCP relay on the link's address passes its connection to the PostgreSQL server on
127.0.0.1:5432 (which listens on loopback only). Cutting a host off is taking its link down: its packets go
nowhere, as when a laptop's Wi-Fi drops or a server's cable is pulled, and its process learns nothing of it.

What must hold: the cut-off annotator's answers given before the cut are all in the database; its leases lapse
and the tasks it held go to the other host; every task is answered exactly once (overlap 1). Making namespaces
needs root and iproute2: elsewhere the test skips, saying why (it is optional, CI=true or not).

A cut-off client may also leave a transaction open on the server, its locks held until the server's TCP notices
(two hours by default), every claimer of a locked task waiting behind it: the last test checks the settings that
end such a transaction (tuiannot's connections set them; see ``postgres_connect.VANISHED_CLIENT_SETTINGS``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

import tuiannot

from .helpers import texts, write_jsonl

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="network namespaces are Linux's")

WORKER = r'''
import json, sys, time
import tuiannot
from tuiannot.controller import Controller
from tuiannot.recipes import Components, get_recipe
from tuiannot.team.routing import Routing

db, source, session, lease, stop_after = sys.argv[1:6]
components = Components.from_value(get_recipe("textcat")(source, label="POS", dataset="team"))
controller = Controller(components, tuiannot.connect(db), session,
                        routing=Routing(lease=float(lease))).start()
answered = 0
deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    task = controller.next_task(timeout=0.5)
    if task is None:
        break
    if task is Controller.PENDING:
        continue
    controller.answer("accept")  # committed when it returns
    answered += 1
    print(json.dumps(task["text"]), flush=True)
    if answered == int(stop_after):
        print("holding", flush=True)
        time.sleep(120)  # keep the claims of the tasks read ahead, until the link is cut and the test ends
controller.close()
'''


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)


def _why_no_namespaces() -> str | None:
    if shutil.which("ip") is None:
        return "iproute2's ip is not installed"
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    probe = f"tuiprobe{os.getpid() % 100000}"
    made = _ip("netns", "add", probe)
    if made.returncode != 0:
        return f"ip netns add failed here: {made.stderr.strip()}"
    _ip("netns", "del", probe)
    return None


class Relay:
    """A TCP relay on this host: connections to ``listen`` are passed on to ``target``, byte for byte."""

    def __init__(self, listen: str, target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server((listen, 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = [self.server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        for s in self.sockets:  # shut down first: a FIN now, and the relay's threads wake from recv
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass


class Host:
    """A network namespace joined to this host by a veth pair: ``10.213.N.2`` inside, ``10.213.N.1`` here."""

    def __init__(self, n: int) -> None:
        tag = f"{os.getpid() % 100000}{n}"
        self.ns, self.outer, self.inner = f"tuia{tag}", f"tuio{tag}", f"tuii{tag}"
        self.here, self.there = f"10.213.{n}.1", f"10.213.{n}.2"
        for args in (("netns", "add", self.ns),
                     ("link", "add", self.outer, "type", "veth", "peer", "name", self.inner),
                     ("link", "set", self.inner, "netns", self.ns),
                     ("addr", "add", f"{self.here}/30", "dev", self.outer),
                     ("link", "set", self.outer, "up"),
                     ("netns", "exec", self.ns, "ip", "addr", "add", f"{self.there}/30", "dev", self.inner),
                     ("netns", "exec", self.ns, "ip", "link", "set", self.inner, "up"),
                     ("netns", "exec", self.ns, "ip", "link", "set", "lo", "up")):
            done = _ip(*args)
            assert done.returncode == 0, (args, done.stderr)

    def run(self, *argv: str) -> subprocess.Popen[str]:
        return subprocess.Popen(["ip", "netns", "exec", self.ns, *argv], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})

    def cut(self) -> None:
        assert _ip("link", "set", self.outer, "down").returncode == 0

    def remove(self) -> None:
        _ip("link", "del", self.outer)
        _ip("netns", "del", self.ns)


def _through(url: str, host: str, port: int) -> str:
    """``url`` reaching the server at ``host:port`` instead (the same user, database and schema)."""
    parts = urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}:{port}"))


@pytest.fixture
def hosts() -> Iterator[list[Host]]:
    why = _why_no_namespaces()
    if why is not None:
        pytest.skip(f"annotators as network hosts: {why}")
    made: list[Host] = []
    try:
        made += [Host(1), Host(2)]
        yield made
    finally:
        for host in made:
            host.remove()


def _lines(proc: subprocess.Popen[str], until: str, limit: float = 60) -> list[str]:
    """Lines ``proc`` printed up to ``until`` (which is not included)."""
    out: list[str] = []
    deadline = time.monotonic() + limit
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"the worker ended early: {proc.wait()} {proc.stderr.read() if proc.stderr else ''}")
        if line.strip() == until:
            return out
        out.append(line.strip())
    raise AssertionError(f"no {until!r} within {limit} s")


def test_a_host_cut_off_mid_session_loses_nothing_and_its_tasks_go_to_another(
        tmp_path: Path, postgres_url: str, hosts: list[Host]) -> None:
    import json

    server = urlsplit(postgres_url)
    source = write_jsonl(tmp_path / "data.jsonl", texts(24))
    tuiannot.connect(postgres_url).close()  # the schema exists before the hosts come
    alice_host, bob_host = hosts
    relays = [Relay(h.here, (server.hostname or "127.0.0.1", server.port or 5432)) for h in hosts]
    procs: list[subprocess.Popen[str]] = []
    try:
        alice = alice_host.run(sys.executable, "-c", WORKER, _through(postgres_url, alice_host.here, relays[0].port),
                               str(source), "alice", "1.5", "4")
        procs.append(alice)
        before_cut = [json.loads(t) for t in _lines(alice, "holding")]
        assert len(before_cut) == 4
        with tuiannot.connect(postgres_url) as db:
            held = [c for c in db.claims("team") if c["session"] == "alice"]
        assert held, "alice holds the tasks read ahead of her"
        alice_host.cut()  # her link goes down: her process is still there, and knows nothing

        bob = bob_host.run(sys.executable, "-c", WORKER, _through(postgres_url, bob_host.here, relays[1].port),
                           str(source), "bob", "1.5", "-1")
        procs.append(bob)
        out, err = bob.communicate(timeout=120)
        assert bob.returncode == 0, err[-2000:]
        bobs = [json.loads(t) for t in out.splitlines() if t.strip()]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for relay in relays:
            relay.close()

    with tuiannot.connect(postgres_url) as db:
        answers = list(db.answers("team"))
    found = Counter((a["text"], a["_session_id"].split("-", 1)[1]) for a in answers)
    assert all(n == 1 for n in found.values())  # nobody answered a task twice
    by_text = Counter(text for text, _ in found)
    assert len(by_text) == 24 and set(by_text.values()) == {1}  # every task once: overlap 1, nothing lost
    assert {text for text, who in found if who == "alice"} == set(before_cut)  # all she gave before the cut
    assert {text for text, who in found if who == "bob"} == set(bobs)
    bobs_keys = {a["_task_hash"] for a in answers if a["_session_id"].endswith("-bob")}
    assert {c["key"] for c in held} <= bobs_keys  # her leases lapsed: bob got every task she held, unanswered


def test_a_transaction_a_vanished_client_left_open_ends_and_frees_its_locks(postgres_url: str) -> None:
    """What frees a task a cut-off client locked mid-transaction: the server ends a transaction idle too long
    (60 s; 1 s here through the URL's own options, which come after tuiannot's and so win)."""
    import psycopg

    from tuiannot.storage.postgres_connect import VANISHED_CLIENT_SETTINGS, parse_url

    url, _, extra = parse_url(postgres_url)
    assert extra["options"].startswith(VANISHED_CLIENT_SETTINGS)
    with psycopg.connect(url.reveal(), **extra) as conn:
        assert conn.execute("SHOW idle_in_transaction_session_timeout").fetchone() == ("1min",)
        assert conn.execute("SHOW tcp_keepalives_idle").fetchone() in {("60",), ("0",)}  # 0: a Unix socket
    quick = f"{postgres_url}&options=-c%20idle_in_transaction_session_timeout%3D1000"
    url, _, extra = parse_url(quick)
    vanished = psycopg.connect(url.reveal(), **extra)
    vanished.execute("BEGIN")
    vanished.execute("SELECT pg_advisory_xact_lock(424242)")  # then nothing more: the client is gone
    with psycopg.connect(url.reveal(), **extra) as other:
        assert other.execute("SELECT pg_try_advisory_xact_lock(424242)").fetchone() == (False,)
        other.execute("COMMIT")
        time.sleep(1.6)
        assert other.execute("SELECT pg_try_advisory_xact_lock(424242)").fetchone() == (True,)  # ended by the server
        other.execute("COMMIT")
    with pytest.raises(psycopg.Error):
        vanished.execute("SELECT 1")  # its session was terminated
    vanished.close()

"""One session's claims on a shared dataset: claim before showing, renew while active, hand back on exit.

The controller serves tasks; with routing (see :mod:`.routing`) it asks this
class first whether the session may have each task. A task is *claimed* in the
database, in one transaction that counts who answered it and who holds a live
claim, before it is queued for the screen; the claim is a lease that
:meth:`Claims.renew` keeps alive while the annotator is active (not after a long
absence, so an absent annotator's tasks go to others). An answer to a claimed task
is stored only while the claim holds (:meth:`Claims.answer`); if the lease ran out
and the task's overlap was filled meanwhile, :class:`~tuiannot.storage.ClaimLost`
says so. After the source, :meth:`Claims.serve_lapsed` takes over the claims that
others left to lapse, and says why the session waits while others hold the rest.

Every annotator reads the same source in the same order, so most tasks it meets just behind the frontier are
held by others (claimed, not yet answered). Trying each would cost a transaction apiece, and an annotator that
fell behind for a moment (descheduled, a slow query) would walk those tasks one transaction at a time while the
others claim more: a wait of seconds for its next task. So a failed claim also reads, in one query, every live
claim of the others (:meth:`~tuiannot.storage.Database.claimed_by_others`: a few per annotator), and the tasks
that snapshot shows full (answered by, or held under a lease not yet run out by, as many others as the overlap
asks) are skipped without a transaction. The snapshot is only a hint that makes the session skip, never claim:
it is read again after a claim that fails (at most every :data:`REREAD_SECONDS`: at the frontier, where
everyone claims the same next task, a read would find nothing new) and is not used past :data:`SNAPSHOT_SECONDS`,
each holder counts only until its lease runs out, and :meth:`Database.claim` still decides, under its lock,
every task tried. A task skipped so is one whose claim would have failed a moment before (as when it was tried
and found held).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Callable

from ..storage import Database
from ..tasks import Task
from .routing import Routing

SNAPSHOT_SECONDS = 2.0
"""How long a snapshot of the others' claims is used to skip tasks."""
REREAD_SECONDS = 0.2
"""A failed claim reads the snapshot again if it is older than this."""


class Claims:
    """The claims one session holds on one dataset (``by`` names what a key hashes: ``task`` or ``input``)."""

    def __init__(self, routing: Routing, dataset: str, session: str, by: str) -> None:
        self.routing = routing
        self.dataset = dataset
        self.session = session
        self.by = by
        self.held: dict[int, None] = {}  # claimed and not yet answered (ordered)
        self.waiting: str | None = None  # why there is no task right now, while others hold the rest
        self.active_at = time.monotonic()
        self._others: dict[int, list[tuple[str, float]]] = {}  # key -> [(session, its lease's end: monotonic)]
        self._others_at = -SNAPSHOT_SECONDS  # when it was read (monotonic)
        self.skipped = 0  # tasks skipped on the snapshot alone (no transaction)

    def touch(self) -> None:
        """The annotator did something: their leases are renewed again."""
        self.active_at = time.monotonic()

    def release_stale(self, db: Database) -> None:
        """Claims left by an earlier run of this session (a crash, a dropped connection) are ours again at
        once rather than after their lease: release them, the stream claims them anew."""
        db.release_claims(self.dataset, self.session)

    def release_held(self, db: Database) -> None:
        """A clean exit gives unanswered claims back at once (they lapse after the lease anyway)."""
        if self.held:
            db.release_claims(self.dataset, self.session, list(self.held))

    def claim(self, db: Database, task: Task, key: int, answered_by: set[str]) -> bool:
        """Whether this session may have ``task`` (and now holds it): routing allows it, the overlap has room."""
        if self.session in answered_by:
            return False
        sessions = self.routing.annotators or sorted(answered_by | {self.session})
        allowed, target = self.routing.allowed(task, key, self.session, sessions,
                                               {"answered_by": sorted(answered_by)})
        if not allowed or len(answered_by) >= target:
            return False
        if len(answered_by | self._holders(key)) >= target:
            self.skipped += 1
            return False  # others hold it (a moment ago): the claim would fail
        if not db.claim(self.dataset, self.session, key, target, self.routing.lease,
                        json.dumps(task, ensure_ascii=False), by=self.by):
            if time.monotonic() - self._others_at > REREAD_SECONDS:
                self._look(db)  # others hold it: so they likely hold the next few too
            return False
        self.held[key] = None
        return True

    def _holders(self, key: int) -> set[str]:
        """The others holding ``key`` under a live lease, as the last snapshot saw them (none once it is old)."""
        now = time.monotonic()
        if now - self._others_at > SNAPSHOT_SECONDS:
            return set()
        return {session for session, until in self._others.get(key, ()) if until > now}

    def _look(self, db: Database) -> None:
        """Read the snapshot of the others' live claims (one query)."""
        now = time.monotonic()
        self._others = {key: [(session, now + left) for session, left in holders]
                        for key, holders in db.claimed_by_others(self.dataset, self.session).items()}
        self._others_at = now

    def complete(self, task: Task, key: int, answered_by: set[str]) -> bool:
        """Whether a task this session did not get is done for it: answered by it, or by as many annotators as
        the overlap asks (a task held by others, or routed elsewhere, is not: it may still come)."""
        if self.session in answered_by:
            return True
        sessions = self.routing.annotators or sorted(answered_by | {self.session})
        _, target = self.routing.allowed(task, key, self.session, sessions, {"answered_by": sorted(answered_by)})
        return len(answered_by) >= target

    def answer(self, db: Database, key: int, task: Task) -> int:
        """Store the answer to a claimed task (raises ``ClaimLost`` if others completed it meanwhile)."""
        try:
            return db.answer_claimed(self.dataset, self.session, key, task, by=self.by)
        finally:
            self.held.pop(key, None)

    def serve_lapsed(self, db: Database, offered: set[int], put: Callable[[Task], None],
                     stop: threading.Event) -> None:
        """After the source: take over claims that lapsed, and wait while others hold the rest."""
        while not stop.is_set():
            taken = False
            for key, target, content in db.lapsed_claims(self.dataset, self.session):
                if key in self.held:
                    continue
                task = json.loads(content)
                answered_by = db.answer_sessions(self.dataset, [key], by=self.by).get(key, set())
                if self.session not in answered_by and len(answered_by) < target and \
                        db.claim(self.dataset, self.session, key, target, self.routing.lease, content, by=self.by):
                    self.held[key] = None
                    offered.add(key)
                    self.waiting = None
                    put(task)
                    taken = True
            if taken:
                continue
            count, expires = db.held_by_others(self.dataset, self.session, by=self.by)
            if not count:
                self.waiting = None
                return
            wait = max(0.0, (expires or time.time()) - time.time())
            self.waiting = (f"No task for you right now: {count} task{'s are' if count != 1 else ' is'} held by "
                            f"other annotators. {'It comes' if count == 1 else 'They come'} to you if a lease "
                            f"runs out (the next in {wait:.0f} s). Everything you answered is saved.")
            stop.wait(min(5.0, max(0.5, wait + 0.1)))

    def renew(self, db: Database, stop: threading.Event) -> None:
        """Keep this session's claims alive while the annotator is active (a thread, until ``stop``)."""
        try:
            interval = max(0.2, self.routing.lease / 3)
            while not stop.wait(interval):
                if time.monotonic() - self.active_at > self.routing.lease:
                    continue  # away: let the leases run out, so that the tasks go to others
                if self.held:
                    db.renew_claims(self.dataset, self.session, list(self.held), self.routing.lease)
        except Exception:  # noqa: BLE001 (a lease that is not renewed just lapses)
            pass

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

The snapshot helps a session that fell behind, not the herd at the frontier, where nothing is held yet: there
all sessions want the same next unclaimed task at once; with an overlap of 2, two get it and the others lose a
round trip each (and wait on its lock while the winners hold it), then all move to the next task, where the same
happens (10-17 claims per answer at 50 annotators, issue 18). So the controller hands :meth:`Claims.take` a
*window* of tasks read ahead from the source (:data:`WINDOW`), and the session claims from it with
:meth:`~tuiannot.storage.Database.claim_first`: one round trip sends the next tasks of the window in the
session's order, and the server claims the first with room, skips one another session is claiming that very
moment, and reports every task sent that has no room for the session (done, or held by others), which is not
tried again. The order is the source's until a sign of others at the same place (a task before the one taken
held or being claimed), then it goes on from a place in the window drawn at random (seeded by the session): the
sessions are spread over the window and claim different tasks. A session that meets no one (working alone, or
ahead of the others) keeps the source's order and sends two tasks a time; each sign of others doubles what it
sends (up to the window), each clean claim halves it. Who answered what is the server's to check, in the claim.
With a recipe's router (``task_router``, which decides from who answered each task), the window is claimed a task
at a time with :meth:`Claims.claim` and the snapshot, who answered being read for the window and again when older
than :data:`ANSWERS_FRESH` seconds. Either way the window changes only the order in which tasks are tried: the
claim still decides every one under the task's lock, so overlap stays exact, and every task of the window is
tried (or passed over) before the next window is read.
"""

from __future__ import annotations

import json
import random
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
WINDOW = 64
"""Tasks read ahead of the claims, to spread the sessions at the frontier over (see the module's docstring)."""
ANSWERS_FRESH = 0.5
"""Who answered the tasks of a window is read again if older than this (seconds; a recipe's router only)."""
CANDIDATES = WINDOW
"""The most tasks of the window sent with one claim (:meth:`~tuiannot.storage.Database.claim_first`): 2 while
the session meets no one, twice as many after each sign of others at the same place, half as many after each
claim of the first task sent."""


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
        self.rounds = 0  # claims of a window's first task with room (each a transaction)
        self._sent = 2  # candidates sent with the next of them (2 to CANDIDATES)
        self.contended = False  # the last claim tried was lost to another session (a round trip for nothing)
        self._rng = random.Random(f"{dataset}/{session}/claims")

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
        self.contended = False
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
            self.contended = True
            if time.monotonic() - self._others_at > REREAD_SECONDS:
                self._look(db)  # others hold it: so they likely hold the next few too
            return False
        self.held[key] = None
        return True

    def take(self, db: Database, tasks: list[Task], keys: list[int], answered_by: dict[int, set[str]],
             skip: set[int], offered: set[int], put: Callable[[int], None], stop: threading.Event) -> list[bool]:
        """Claim what this session may have of a window of tasks (``keys`` their keys, ``answered_by`` who
        answered each, read for the window; ``skip``: done elsewhere), calling ``put(i)`` for each task claimed, which
        adds its key to ``offered`` (the keys served: read here, to pass over a repeat).
        Returns, in the window's order, whether each task was done for this session (for the resume checkpoint),
        as far as tasks were decided: shorter than the window when ``stop`` came first."""
        decided: dict[int, bool] = {}
        pending: list[int] = []
        for i, key in enumerate(keys):
            by = answered_by.get(key, set())
            if key in skip:
                decided[i] = True
            elif self.session in by or (self.routing.task_router is None and len(by) >= self.routing.target(key)):
                decided[i] = True  # done for this session, as the window's reading saw it
            else:
                pending.append(i)
        if self.routing.task_router is None:
            self._take_first(db, tasks, keys, pending, decided, offered, put, stop)
        else:  # the recipe's router decides each task, from who answered it: a claim per task
            self._take_each(db, tasks, keys, answered_by, pending, decided, offered, put, stop)
        done: list[bool] = []
        for i in range(len(tasks)):
            if i not in decided:
                break
            done.append(decided[i])
        return done

    def window(self) -> int:
        """How many tasks the controller should read ahead for the next :meth:`take`: twice what the next claim
        sends (room to spread), at most :data:`WINDOW`."""
        return min(WINDOW, 2 * self._sent)

    def _take_first(self, db: Database, tasks: list[Task], keys: list[int], pending: list[int],
                    decided: dict[int, bool], offered: set[int], put: Callable[[int], None],
                    stop: threading.Event) -> None:
        """The window in try order (``pending``): the server claims the first with room of the next
        :data:`CANDIDATES` and reports those it passed over (:meth:`Database.claim_first`); on any sign of
        another session at the same place, the order turns from a random place (see the module's docstring)."""
        contents: dict[int, str] = {}
        while pending and not stop.is_set():
            for i in [i for i in pending if keys[i] in offered]:  # a repeat of a task served (done when answered)
                decided[i] = False
                pending.remove(i)
            if not pending:
                return
            order = pending[:self._sent]
            candidates = []
            for i in order:
                if i not in contents:
                    contents[i] = json.dumps(tasks[i], ensure_ascii=False)
                candidates.append((keys[i], self.routing.target(keys[i]), contents[i]))
            taken, passed = db.claim_first(self.dataset, self.session, candidates, self.routing.lease, by=self.by)
            self.rounds += 1
            before = order if taken is None else order[:[keys[i] for i in order].index(taken)]
            # others are here: a task before the one taken was held by them, or being claimed by them
            contended = any(not passed.get(keys[i], False) for i in before)
            for i in order:
                key = keys[i]
                if key in passed:
                    decided[i] = passed[key]
                    pending.remove(i)
                elif key == taken:
                    decided[i] = False
                    pending.remove(i)
                    if key not in offered:
                        self.held[key] = None
                        put(i)  # (which adds it to offered)
            if taken is None and not passed:  # every candidate being claimed by others this very moment
                stop.wait(0.002)
            # as many candidates as the place needs: few while this session meets no one (each costs the server
            # a look), more while others are here (each call then passes over more of what they took)
            self._sent = min(CANDIDATES, self._sent * 2) if contended or (taken is None and passed) else \
                max(2, self._sent // 2)
            if contended and len(pending) > 1:  # others are here too: on from a random place
                turn = self._rng.randrange(len(pending))
                pending[:] = pending[turn:] + pending[:turn]

    def _take_each(self, db: Database, tasks: list[Task], keys: list[int], answered_by: dict[int, set[str]],
                   pending: list[int], decided: dict[int, bool], offered: set[int], put: Callable[[int], None],
                   stop: threading.Event) -> None:
        """The window a task at a time (:meth:`claim`), in the source's order until a claim is lost to another
        session, then on from a random place."""
        read_at = time.monotonic()
        cursor = 0
        while pending and not stop.is_set():
            if cursor >= len(pending):
                cursor = 0
            i = pending.pop(cursor)
            key = keys[i]
            if key in offered:
                decided[i] = False
                continue
            if time.monotonic() - read_at > ANSWERS_FRESH:
                read_at = time.monotonic()
                answered_by = {**answered_by, **db.answer_sessions(self.dataset, [key] + [keys[j] for j in pending],
                                                                     by=self.by)}
            by = answered_by.get(key, set())
            if self.claim(db, tasks[i], key, by):
                decided[i] = False
                put(i)  # (which adds it to offered)
                continue
            decided[i] = self.complete(tasks[i], key, by)
            if self.contended and pending:  # others are here too: what they hold now, then on from a random place
                self._look(db)
                cursor = self._rng.randrange(len(pending))

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

"""The controller: serves tasks from a recipe's stream and stores the answers.

It sits between a recipe and a screen (or a script, or a benchmark: the same
code serves all of them) and keeps the key-press path short: :meth:`answer`
writes one committed row, and :meth:`next_task` takes the next task from a
queue that a background thread keeps filled. That thread reads the source,
drops duplicates and tasks already answered (in the dataset and in ``exclude``
datasets) and records invalid records, on its own database connection.

Undo walks back through this session's answers: :meth:`undo` returns the
previous task with its answer restored, and answering it again *replaces* the
stored answer. After an undo the tasks that were stepped back over come again,
in order, with their answers, so nothing answered is lost by undoing.

With team routing, each task is claimed before it is queued and answered under its
claim: :class:`~tuiannot.team.claims.Claims` keeps that bookkeeping, the controller
only asks it. Model updates (a recipe's ``update``) run on their own worker thread,
a batch at a time, so the key-press path never waits for a model.

Every answer carries what the annotator said beside it, as the screen sent it in ``fields``: ``_flagged: true``
(``f``) and ``_comment`` (``c``), each absent when not given; and, when the session has guidelines (the
components' ``config["guidelines"]``, read once at the start), their version: ``_guidelines`` with the file's
``hash`` and its front matter's ``version`` (absent when the file gives none), edits in a review included.

When the storage fails while an answer is stored (the dataset was dropped under
the session, a full disk, a damaged or read-only database), the answer is not
stored and :meth:`Controller.answer` raises :class:`SessionEnded`, one line
saying why: the session cannot go on, and the screen ends it with that line.
"""

from __future__ import annotations

import getpass
import os
import queue
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .components import Components
from .errors import InvalidRecord, UserError
from .storage import ClaimLost, Database, DatasetDropped, StorageError
from .resume import Checkpoint
from .sources import Source
from .stream import Position, Stream
from .tasks import ACCEPT, ANSWERS, Task
from .team.claims import Claims
from .team.routing import Routing

PREFETCH = 64
_END = object()


class AnswerRejected(UserError):
    """The recipe's ``validate_answer`` refused an answer; the message says why."""


class SessionEnded(UserError):
    """Storing an answer failed in the storage (the dataset dropped, a full disk, ...): the answer was not stored
    and the session cannot go on; the message says why and what to do."""


class TaskTaken(UserError):
    """The task's lease ran out while it waited on screen and other annotators completed it;
    the controller has moved on (call :meth:`Controller.next_task`)."""


@dataclass
class _Failed:
    error: BaseException


@dataclass(eq=False)
class _Entry:
    task: Task
    answer_id: int | None = None  # set once stored
    position: Position | None = None  # where in the source this task was read
    record: tuple[int, int, int] | None = None  # its record: line, bytes before and after (for the checkpoint)
    invalid: int = 0  # invalid records the stream had met before it (for the checkpoint)
    gold: bool = False  # a gold question: every annotator gets it, outside routing


@dataclass
class Summary:
    dataset: str
    session: str
    database: str
    by_answer: dict[str, int]
    invalid: int
    warnings: list[str]
    error: str | None = None
    exhausted: bool = False
    note: str | None = None  # what the recipe says at the end: why the stream ended, where its model was saved

    @property
    def answers(self) -> int:
        return sum(self.by_answer.values())


def default_session() -> str:
    """The login name: every SSH user is a distinct annotator."""
    try:
        return os.environ.get("USER") or getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "default"


class Controller:
    def __init__(self, components: Components, db: Database, session: str | None = None, *,
                 strict: bool = False, prefetch: int = PREFETCH, routing: Routing | None = None,
                 gold: list[Task] | None = None, gold_rate: float = 0.05, target: int | None = None) -> None:
        self.components = components
        self.db = db
        self.dataset = components.dataset
        self.session = session or default_session()
        self.session_id = f"{self.dataset}-{self.session}"
        self.view_id = components.view_id
        self.stored_view = components.stored_view_id()
        self.labels = components.labels
        self.config = components.config
        given = components.config.get("guidelines")  # read once, at the start: not on each key
        self.guidelines: dict[str, str] | None = {"hash": str(given["hash"]), **(
            {"version": str(given["version"])} if given.get("version") else {})} \
            if isinstance(given, dict) and given.get("hash") else None
        self.strict = strict
        if target is not None and target < 1:
            raise UserError("--target must be at least 1 answer")
        self.target = target  # answers the dataset should reach (--target): shown beside the counts
        self.stream = components.stream
        if isinstance(self.stream, Stream):
            self.stream.strict = strict
        if components.prefetch is not None:  # e.g. images: fewer decoded photos held ahead
            prefetch = min(prefetch, max(1, components.prefetch))
        self.routing = routing
        self.by = components.exclude_by
        self.claims: Claims | None = None
        if routing is not None:
            if components.task_router is not None and routing.task_router is None:
                routing.task_router = components.task_router
            routing.check(self.session)
            prefetch = min(prefetch, 2)  # claim just ahead of the annotator: others get the rest
            self.claims = Claims(routing, self.dataset, self.session, self.by)
        self._checkpoint: Checkpoint | None = None
        if isinstance(self.stream, Stream) and self.stream.resumable and components.task_router is None \
                and (routing is None or routing.task_router is None):
            self._checkpoint = Checkpoint(self.stream, self.dataset, {
                "session": self.session, "view": self.view_id, "labels": self.labels, "by": self.by,
                "exclude": sorted(components.exclude or []), "routing": None if routing is None else
                [routing.overlap, sorted(routing.annotators or [])]})
        if not 0 <= gold_rate <= 1:
            raise UserError("--gold-rate must be between 0 and 1")
        self.gold = list(gold or [])
        self.gold_rate = gold_rate
        self._gold_rng = random.Random(f"{self.dataset}/{self.session}")
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, prefetch))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.current: _Entry | None = None
        self._shown_at = time.monotonic()
        self.history: list[_Entry] = []
        self._redo: list[_Entry] = []
        self._stored: dict[int, str] = {}  # answer id -> answer, for this session's counts
        self.dataset_answers_at_start = 0
        self.exhausted = False
        self.error: BaseException | None = None
        self._read_error: InvalidRecord | None = None  # --strict: the invalid record the prefetch stopped at
        self._update_batch: list[Task] = []
        self._updates: queue.Queue[list[Task] | None] = queue.Queue()
        self._update_thread: threading.Thread | None = None
        self.update_errors: list[str] = []
        self._closed = False
        self._session_record: int | None = None

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> "Controller":
        self.db.add_dataset(self.dataset)
        self._session_record = self.db.start_session(self.dataset, self.session,
                                                     {"view_id": self.view_id, "pid": os.getpid()})
        self.dataset_answers_at_start = self.db.count_answers(self.dataset)
        if self.claims is not None:
            self.claims.release_stale(self.db)
        if self._checkpoint is not None:
            self._checkpoint.apply(self.db)  # the stream starts where every task before is done, if it can
            threading.Thread(target=self._checkpoint.keep_saving, args=(self.db.reopen(), self._stop),
                             name="tuiannot-checkpoint", daemon=True).start()
        self._thread = threading.Thread(target=self._fill, name="tuiannot-prefetch", daemon=True)
        self._thread.start()
        if self.claims is not None:
            threading.Thread(target=self._renew_leases, name="tuiannot-leases", daemon=True).start()
        return self

    def close(self) -> Summary:
        if not self._closed:
            self._closed = True
            self._stop.set()
            if isinstance(self.stream, Stream):
                self.stream.stop()  # a step waiting on a slow server returns now, not after its timeout
            self._flush_updates()
            if self._thread is not None and self._thread is not threading.current_thread():
                # it may be inside the stream (scoring a window with a model): let it finish, not be cut
                # off by the interpreter's exit (PyTorch aborts the process when that happens)
                self._thread.join(timeout=30)
            if self._checkpoint is not None:
                try:
                    self._checkpoint.save(self.db)
                except Exception:  # noqa: BLE001 (a checkpoint not saved costs a longer scan, never an answer)
                    pass
            if self.claims is not None:
                try:  # a clean exit gives unanswered claims back at once (after the thread made its last)
                    self.claims.release_held(self.db)
                except Exception:  # noqa: BLE001 (they lapse after the lease anyway)
                    pass
            if self._session_record is not None:
                try:  # a clean end: `drop` need not wait for this session
                    self.db.end_session(self._session_record)
                except Exception:  # noqa: BLE001 (the dataset may be gone; the session ends all the same)
                    pass
            if self.components.on_exit is not None:
                self.components.on_exit(self)
        stream = self.stream if isinstance(self.stream, Stream) else None
        return Summary(
            dataset=self.dataset, session=self.session, database=self.db.location,
            by_answer=dict(Counter(self._stored.values())), invalid=stream.invalid if stream else 0,
            warnings=list(stream.warnings) if stream else [],
            error=str(self.error) if self.error is not None else
            str(self._read_error) if self._read_error is not None else None, exhausted=self.exhausted,
            note=self.finished_note)

    # -- the prefetch thread ---------------------------------------------------
    def _fill(self) -> None:
        db = self.db.reopen()
        offered: set[int] = set()  # only what was handed out: memory stays flat when resuming deep in a source
        batch: list[_Entry] = []
        try:
            size = 1  # the first task as soon as possible, then in batches that grow: 2, 4, ... (a slow step,
            # an LLM's reply, then delays no task by more than its own wait)
            stream = self.stream if isinstance(self.stream, Stream) else None
            if stream is not None and isinstance(stream.source, Source) and stream.source.size <= 1 << 20:
                stream.source.line_count()  # a small file: counted at once, so the first task says "of N" too
            if stream is not None and stream.has_reorders:  # a costly step (a model scoring, an LLM asked):
                stream.prefilter(self._undone_only(db))  # what is done is dropped before it, not after
            first = True
            # with routing, a window of tasks read ahead spreads the sessions meeting at the frontier (claims.py):
            # as large as the claims ask (small while the session meets no one); not where each task read is
            # costly to hold (a recipe that caps its prefetch: images, decoded as read) or chosen by a model
            windowed = self.claims is not None and stream is not None and not stream.has_reorders \
                and self.components.prefetch is None
            tasks = self._checkpoint.tasks(self._key) if self._checkpoint is not None else self.stream
            for task in tasks:
                if self._stop.is_set():
                    return
                batch.append(_Entry(task, position=stream.position if stream is not None else None,
                                    record=stream.record if stream is not None else None,
                                    invalid=stream.invalid_before if stream is not None else 0))
                if len(batch) >= size:
                    self._offer(db, batch, offered)
                    if first and stream is not None and isinstance(stream.source, Source):
                        stream.source.line_count()  # once the first task is out: the screen then says "of N"
                    # no more than the queue holds: what is taken from the stream is chosen (a --teach
                    # stream chooses by its model of the moment), so it is taken when there is room for it
                    size = self.claims.window() if windowed and self.claims is not None else \
                        min(size * 2, 64, self._queue.maxsize)
                    batch, first = [], False
            self._offer(db, batch, offered)
            if self.claims is not None:
                self.claims.serve_lapsed(db, offered, lambda task: self._put(_Entry(task)), self._stop)
            self._put(_END)
        except InvalidRecord as e:  # --strict: the tasks before it are still served, then the session ends
            self._read_error = e  # kept for the summary even if the annotator quits before reaching it
            self._offer(db, batch, offered)
            self._put(_Failed(e))
        except BaseException as e:  # noqa: BLE001 (handed to the UI thread, which reports it)
            self._put(_Failed(e))
        finally:
            db.close()

    def _key(self, task: Task) -> int:
        return task[f"_{self.by}_hash"]

    def _undone_only(self, db: Database) -> Any:
        """A stream step put before the costly ones: tasks that are done for this session (see :meth:`_offer`)
        are dropped, a few at a time, before a model scores them or an LLM is asked about them."""
        def undone(tasks: Any) -> Any:
            batch: list[Task] = []
            size = 1
            for task in tasks:
                batch.append(task)
                if len(batch) >= size:
                    yield from self._not_done(db, batch)
                    batch, size = [], min(size * 2, 32)
            yield from self._not_done(db, batch)

        return undone

    def _not_done(self, db: Database, batch: list[Task]) -> list[Task]:
        if not batch:
            return batch
        keys = [self._key(task) for task in batch]
        done = db.answered(self.components.exclude, keys, by=self.by) if self.components.exclude else set()
        if self._checkpoint is not None and self._checkpoint.expected is not None:
            keys_kept = {self._checkpoint.expected}  # a resume's first task reaches the checkpoint, which checks it
        else:
            keys_kept = set()
        if self.claims is None:
            done |= db.answered([self.dataset], keys, by=self.by)
            return [task for task, key in zip(batch, keys, strict=True) if key not in done or key in keys_kept]
        sessions = db.answer_sessions(self.dataset, keys, by=self.by)
        return [task for task, key in zip(batch, keys, strict=True) if key in keys_kept or (
            key not in done and not self.claims.complete(task, key, sessions.get(key, set())))]

    def _offer(self, db: Database, batch: list[_Entry], offered: set[int]) -> None:
        """Queue the tasks of ``batch`` that this session should answer and has not been given yet.

        Without routing: tasks answered by anyone in the dataset are skipped. With routing, the
        session claims each task first (see :mod:`tuiannot.team.routing`). Tasks answered in an
        ``exclude`` dataset are always skipped. Recipes whose questions change between runs
        (suggested spans) set ``exclude_by="input"``: a text answered once is not asked again,
        whatever was suggested.
        """
        if not batch:
            return
        keys = [self._key(e.task) for e in batch]
        skip = db.answered(self.components.exclude, keys, by=self.by) if self.components.exclude else set()
        if self.claims is None:
            skip |= db.answered([self.dataset], keys, by=self.by)
            sessions_by_key: dict[int, set[str]] = {}
        elif self.claims.routing.task_router is not None:  # (a recipe's router decides from who answered)
            sessions_by_key = db.answer_sessions(self.dataset, keys, by=self.by)
        else:  # who answered is the server's to check, in the claim (claim_first)
            sessions_by_key = {}
        checkpoint = self._checkpoint
        if self.claims is not None:  # claimed in an order of their own (a window: see team/claims.py)
            def take(i: int) -> None:
                offered.add(keys[i])
                self._put(batch[i])
                self._maybe_gold(db)

            done = self.claims.take(db, [e.task for e in batch], keys, sessions_by_key, skip, offered, take,
                                    self._stop)
            if checkpoint is not None:  # noted in the source's order, as far as decided
                for entry, key, was_done in zip(batch, keys, done, strict=False):  # done: as far as decided
                    checkpoint.seen(key, entry.record, was_done, entry.invalid)
            return
        for entry in batch:
            if self._stop.is_set():
                return  # closing: take nothing more
            key = self._key(entry.task)
            if key in skip or key in offered:  # done, or a repeat of one served (done when it is answered)
                if checkpoint is not None:
                    checkpoint.seen(key, entry.record, key in skip, entry.invalid)
                continue
            if checkpoint is not None:
                checkpoint.seen(key, entry.record, False, entry.invalid)
            offered.add(key)
            self._put(entry)
            self._maybe_gold(db)

    def _maybe_gold(self, db: Database) -> None:
        """After a task, at ``gold_rate``, one of the gold questions this session has not answered yet."""
        if not self.gold or self._gold_rng.random() >= self.gold_rate:
            return
        while self.gold:
            task = self.gold.pop(0)
            key = self._key(task)
            if self.session not in db.answer_sessions(self.dataset, [key], by=self.by).get(key, set()):
                self._put(_Entry(task, gold=True))
                return

    def _renew_leases(self) -> None:
        assert self.claims is not None
        db = self.db.reopen()
        try:
            self.claims.renew(db, self._stop)
        finally:
            db.close()

    def _put(self, item: Any) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    # -- serving tasks ---------------------------------------------------------
    PENDING = object()

    def next_task(self, timeout: float | None = None) -> Task | None:
        """The next task to show (None when there are no more), waiting for it if need be."""
        if self.current is not None:
            return self.current.task  # shown but not answered yet
        if self._redo:
            return self._show(self._redo.pop())
        if self.exhausted or self.error is not None:
            return None
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return self.PENDING  # type: ignore[return-value]
        if item is _END:
            self.exhausted, self.current = True, None
            return None
        if isinstance(item, _Failed):
            self.error, self.current = item.error, None
            if not isinstance(item.error, (InvalidRecord, UserError)):
                raise item.error
            return None
        return self._show(item)

    def poll_task(self) -> Task | None:
        """Like :meth:`next_task` without waiting: ``Controller.PENDING`` while the queue is empty."""
        if self._redo or self.current is not None:
            return self.next_task()
        if self._queue.empty() and not (self.exhausted or self.error is not None):
            return self.PENDING  # type: ignore[return-value]
        return self.next_task(timeout=0)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until :meth:`poll_task` has something to say (a task, the end, an error)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._queue.not_empty:
            while not self._queue._qsize() and not self._stop.is_set():  # noqa: SLF001
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._queue.not_empty.wait(0.1 if remaining is None else min(0.1, remaining))
        return True

    def _show(self, entry: _Entry) -> Task:
        self.current = entry
        self._shown_at = time.monotonic()
        return entry.task

    @property
    def can_undo(self) -> bool:
        return bool(self.history)

    # -- answering -------------------------------------------------------------
    def answer(self, answer: str, accept: list[str] | None = None, fields: dict[str, Any] | None = None) -> Task:
        """Store the answer to the current task (committed on return) and return the stored task.

        ``accept`` is the chosen labels (choice views); ``fields`` replaces parts of the task the
        annotator edited (``spans`` in the span views).
        """
        if answer not in ANSWERS:
            raise ValueError(f"unknown answer {answer!r}")
        entry = self.current
        if entry is None:
            raise RuntimeError("no task to answer")
        task = dict(entry.task)
        task["answer"] = answer
        if self.view_id == "choice" or accept is not None:
            task["accept"] = list(accept or [])
        elapsed = time.monotonic() - self._shown_at
        previous = task.get("_seconds") if entry.answer_id is not None else None
        task["_seconds"] = round(elapsed + (previous if isinstance(previous, (int, float)) else 0.0), 3)
        task["_session_id"] = self.session_id
        task["_annotator_id"] = self.session_id
        task["_view_id"] = self.stored_view  # a review stores the reviewed view; teach's span question "ner"
        task["_timestamp"] = int(time.time())
        if fields:
            task.update(fields)
        _mark(task, self.guidelines)
        if self.components.validate_answer is not None:
            try:
                self.components.validate_answer(task)
            except (ValueError, AssertionError) as e:
                raise AnswerRejected(str(e) or "the recipe refused this answer") from None
        if self.components.before_db is not None:
            task = self.components.before_db([task])[0]
        if self.claims is not None:
            self.claims.touch()
        try:
            if entry.answer_id is not None:
                try:
                    self.db.replace_answer(entry.answer_id, task)
                except KeyError:  # the stored answer is gone: only a drop deletes answers
                    raise DatasetDropped(self.dataset, self.db.location) from None
            elif self.claims is not None and not entry.gold:
                try:
                    entry.answer_id = self.claims.answer(self.db, self._key(entry.task), task)
                except ClaimLost as e:
                    self.current = None
                    raise TaskTaken(str(e)) from None
            else:
                entry.answer_id = self.db.add_answer(self.dataset, task, recreate=False)
        except StorageError as e:
            self.error = e
            kept = "" if isinstance(e, DatasetDropped) else "; every answer before this one is saved"
            raise SessionEnded(f"{e}{kept}") from None
        if self._checkpoint is not None and not entry.gold:
            self._checkpoint.answered(self._key(entry.task))
        entry.task = task
        self._stored[entry.answer_id] = answer
        self.history.append(entry)
        self.current = None
        if self.components.update is not None:
            self._queue_update(task)
        return task

    def undo(self) -> Task | None:
        """Go back to the previous answered task (its answer restored in the task); None if there is none."""
        if not self.history:
            return None
        if self.current is not None:
            self._redo.append(self.current)
        entry = self.history.pop()
        if self.claims is not None:
            self.claims.touch()
        return self._show(entry)

    # -- model updates (off the key-press path) ---------------------------------
    def _queue_update(self, task: Task) -> None:
        self._update_batch.append(task)
        if len(self._update_batch) < self.components.batch_size:
            return
        batch, self._update_batch = self._update_batch, []
        if self._update_thread is None:
            self._update_thread = threading.Thread(target=self._run_updates, name="tuiannot-update", daemon=True)
            self._update_thread.start()
        self._updates.put(batch)

    def _run_updates(self) -> None:
        """One worker applies batches in order, so the key-press path never waits for the model."""
        while (batch := self._updates.get()) is not None:
            try:
                self.components.update(batch)  # type: ignore[misc]
            except Exception as e:  # noqa: BLE001 (a model error must not end the session)
                self.update_errors.append(f"{type(e).__name__}: {e}")
            finally:
                self._updates.task_done()
        self._updates.task_done()

    @property
    def finished_note(self) -> str | None:
        """The recipe's word on why there are no more tasks (its ``finished_note``), if it has one."""
        return self.components.note()

    def sync_updates(self) -> None:
        """Wait until every full batch handed to the model has been applied (simulations, benchmarks)."""
        self._updates.join()

    def _flush_updates(self) -> None:
        """On close: hand over the last partial batch and wait for the worker to finish."""
        if self.components.update is None:
            return
        batch, self._update_batch = self._update_batch, []
        if self._update_thread is not None:
            self._updates.put(None)
            self._update_thread.join()
        if batch:
            self.components.update(batch)

    # -- progress --------------------------------------------------------------
    @property
    def waiting(self) -> str | None:
        """Why there is no task right now, while other annotators hold the rest (None otherwise)."""
        return self.claims.waiting if self.claims is not None else None

    @property
    def model_status(self) -> str | None:
        """The recipe's line about its model (``status``), for the progress bar."""
        return self.components.status() if self.components.status is not None else None

    @property
    def session_answers(self) -> int:
        return len(self._stored)

    @property
    def session_counts(self) -> dict[str, int]:
        return dict(Counter(self._stored.values()))

    @property
    def dataset_answers(self) -> int:
        return self.dataset_answers_at_start + len(self._stored)

    @property
    def source_progress(self) -> float | None:
        """The recipe's own progress (its ``progress`` callback, 0..1), if it has one."""
        return self.components.progress(self) if self.components.progress is not None else None

    @property
    def source_position(self) -> Position | None:
        """Where the task shown was read in the source: its line, of how many, the share of bytes before it."""
        position = self.current.position if self.current is not None else None
        if position is not None and position.lines is None and isinstance(self.stream, Stream) \
                and isinstance(self.stream.source, Source) and self.stream.source.counted_lines is not None:
            return Position(position.line, self.stream.source.counted_lines, position.share)
        return position

    @property
    def target_reached(self) -> bool:
        return self.target is not None and self.dataset_answers >= self.target

    @property
    def invalid(self) -> int:
        return self.stream.invalid if isinstance(self.stream, Stream) else 0

    @property
    def last_warning(self) -> str | None:
        if isinstance(self.stream, Stream) and self.stream.warnings:
            return self.stream.warnings[-1]
        return None


def _mark(task: Task, guidelines: dict[str, str] | None) -> None:
    """The flag and the comment as answers store them (``_flagged: true``, a one-line ``_comment``; absent when not
    given, an earlier answer's dropped), and the guidelines' version (``_guidelines``, absent without them)."""
    if task.get("_flagged") is not True:
        task.pop("_flagged", None)
    comment = task.get("_comment")
    if isinstance(comment, str) and comment.strip():
        task["_comment"] = " ".join(comment.split())
    else:
        task.pop("_comment", None)
    if guidelines is not None:
        task["_guidelines"] = dict(guidelines)
    else:
        task.pop("_guidelines", None)


def answer_all(controller: Controller, decide: Any, limit: int | None = None) -> int:
    """Answer tasks with ``decide(task) -> (answer, accept)`` until none are left (scripts, benchmarks)."""
    count = 0
    while limit is None or count < limit:
        task = controller.next_task()
        if task is None:
            break
        answer, accept = decide(task)
        controller.answer(answer, accept)
        count += 1
    return count


__all__ = ["ACCEPT", "AnswerRejected", "Controller", "SessionEnded", "Summary", "TaskTaken", "answer_all",
           "default_session"]

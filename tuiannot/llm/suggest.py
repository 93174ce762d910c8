"""The stream step that asks the model ahead of the annotator and hands tasks on in source order.

:class:`LLMSuggester` is a whole-stream step (``stream.reorder(suggester, keeps_order=True)``): it reads up to
:attr:`~LLMSuggester.ahead` tasks past the one it hands on (four times ``--llm-concurrency``, at least 16), sends
each to a pool of ``--llm-concurrency`` worker threads (daemons: a request that hangs never holds up the end of
the process), and yields every task it was given, in the order given, once that task's reply is in. The
controller reads a few tasks ahead of the screen (:attr:`~LLMSuggester.prefetch`, the recipe's ``prefetch``) and
its prefetch thread is the one waiting here, so by the time a task is shown its suggestion has long been
ready: the pool keeps working on the tasks read ahead while the controller's queue is full. Because the order is
kept, the stream stays resumable (a restart seeks past the answered part of the source: see
:meth:`tuiannot.stream.Stream.reorder`).

What a task gets:

- a choice (several labels): ``accept`` = the labels suggested, preselected as ``--model``'s are;
- a yes/no question (one label): the suggested answer in ``meta["llm"]`` (``accept`` or ``reject``), which the
  screen shows with the task's meta, and in ``_llm["suggestion"]["answer"]`` for a screen that marks the key;
- spans: the suggested spans added to ``spans`` with ``source: "llm"`` and ``suggested: True`` (drawn as
  suggestions until the task is accepted, as ``--patterns`` and ``--model`` suggestions are). A task that
  comes with spans of its own is not sent: what it has is kept, as with ``--model``;
- ``_llm``: the URL (without credentials), the model, the prompt hash, the parameters, whether the reply's
  schema was sent, the suggestion as parsed, and the problems (counts by kind, and up to ten notes). The
  controller stores the task as shown with the answer, so ``_llm`` is kept beside what the person decided.

Nothing here raises for a reply or a server: a problem is counted (:data:`~tuiannot.llm.parse.PROBLEM_KINDS`),
logged on the ``tuiannot.llm`` logger with the task's input hash, and the task goes on with what could be used
(or plain). A server that stops answering mid-session (a connection refused or dropped, or no answer in time,
after the retries) gives plain tasks at once for :data:`DOWN_FOR` seconds, counted as ``server unavailable``;
then one request tries again. :meth:`LLMSuggester.status` is the short line of counts the progress bar shows,
:meth:`LLMSuggester.note` the sentence the summary prints.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, TypeVar

from ..errors import UserError
from ..sanitize import one_line
from ..tasks import Task
from ..storage import Database
from .client import LLMClient, LLMFailed, LLMUnavailable, Parameters, Reply
from .parse import PROBLEM_KINDS, SERVER_ERROR, UNAVAILABLE, Parsed, parse_labels, parse_spans
from .prompts import Prompt, load_prompt, prompt_hash

log = logging.getLogger("tuiannot.llm")

DOWN_FOR = 30.0  # seconds of plain tasks after the server stopped answering, before it is tried again
MAX_CONCURRENCY = 64


@dataclass
class _Outcome:
    parsed: Parsed
    structured: bool
    messages: list[dict[str, str]] | None = None  # what was sent, and the reply's raw text (the llm-io view)
    reply: str | None = None
    cached: bool = False  # the reply came from the database's cache


class _Pool:
    """``size`` daemon threads running submitted calls; :meth:`close` cancels what has not started."""

    def __init__(self, size: int) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = \
            queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"tuiannot-llm-{i}", daemon=True)
                         for i in range(size)]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self._jobs.put((future, fn, args))
        return future

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, fn, args = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as e:  # noqa: BLE001 (handed to whoever waits on the future)
                future.set_exception(e)

    def close(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job[0].cancel()
        for _ in self._threads:
            self._jobs.put(None)


T = TypeVar("T")


def look_ahead(tasks: Iterable[Task], ahead: int, start: Callable[[Task], T | None]) -> Iterator[T]:
    """What ``start`` returns for each task (None: the task is left out), in source order, with up to ``ahead``
    started ahead of the one handed on: ``start`` queues a task's requests on the pool, so they run while the
    annotator works. An exception reading ``tasks`` (``--strict``'s invalid record) is raised once what was read
    before it is handed on, as the stream would have. The look-ahead of :class:`LLMSuggester` and of
    :class:`~.tournament.Tournament`."""
    pending: deque[T] = deque()
    source = iter(tasks)
    exhausted = False
    error: Exception | None = None
    while True:
        while not exhausted and error is None and len(pending) < ahead:
            try:
                task = next(source)
            except StopIteration:
                exhausted = True
                break
            except Exception as e:  # noqa: BLE001 (raised below, after the tasks read before it)
                error = e
                break
            started = start(task)
            if started is not None:
                pending.append(started)
        if not pending:
            break
        yield pending.popleft()
    if error is not None:
        raise error


def wait_result(future: Future[T], stopping: threading.Event) -> T | None:
    """The future's result once it is in, or None once ``stopping`` is set (the session is closing)."""
    while not stopping.is_set():
        try:
            return future.result(timeout=0.2)
        except TimeoutError:
            continue
    return None


class ReplyCache:
    """The replies kept in the database for one dataset (``llm_cache``, see
    :mod:`tuiannot.storage.sqlite_caches`): a reply already had for the same URL, model, prompt hash and input is
    used instead of asking again. One connection shared by the workers, under a lock. ``refresh``
    (``--no-cache``): every task is asked again and its new reply kept."""

    def __init__(self, db: Database, dataset: str, refresh: bool = False) -> None:
        self.db, self.dataset, self.refresh = db, dataset, refresh
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        if self.refresh:
            return None
        with self._lock:
            return self.db.cached_replies(self.dataset, [key]).get(key)

    def put(self, key: str, value: dict[str, Any]) -> None:
        with self._lock:
            self.db.cache_reply(self.dataset, key, value)

    def close(self) -> None:
        with self._lock:
            self.db.close()


class LLMSuggester:
    """The stream step (call it with the stream's tasks) and its counts; see the module's docstring."""

    def __init__(self, client: LLMClient, prompt: Prompt, *, overlapping: bool = False, concurrency: int = 4,
                 parameters: Parameters | None = None, cache: ReplyCache | None = None) -> None:
        if client.model is None:
            raise ValueError("the client has no model: call client.check() first")
        self.client = client
        self.prompt = prompt
        self.model: str = client.model
        self.overlapping = overlapping
        self.concurrency = max(1, concurrency)
        self.parameters = parameters or Parameters()
        self.schema = prompt.schema()
        self.hash = prompt_hash(prompt, self.model, self.schema, self.parameters.as_dict())
        self.ahead = max(16, 4 * self.concurrency)
        """Tasks read past the one handed on (their requests queued or in flight)."""
        self.prefetch = max(8, 2 * self.concurrency)
        """Tasks the controller should hold ready for the screen (the recipe's ``prefetch``)."""
        self._lock = threading.Lock()
        self.handed = 0  # tasks handed on that were sent (or meant to be)
        self.suggested = 0  # of those, with a suggestion
        self.problems: Counter[str] = Counter()
        self.first_notes: dict[str, str] = {}  # the first note of each kind of problem, for the summary
        self.cache = cache
        self.cached = 0  # replies taken from the cache instead of asked
        self._down_until = 0.0
        self.finished = False  # the stream's tasks all handed on
        self._stopping = threading.Event()  # stop(): the reader is closing, stop waiting for replies

    # -- the step ----------------------------------------------------------------------
    def __call__(self, tasks: Iterator[Task]) -> Iterator[Task]:
        pool = _Pool(self.concurrency)

        def start(task: Task) -> tuple[Task, Future[_Outcome] | None]:
            return task, pool.submit(self._ask, task) if self.wants(task) else None

        try:
            # ahead + 1 pending: the one handed on next, and self.ahead read past it
            for task, future in look_ahead(tasks, self.ahead + 1, start):
                if future is None:
                    yield task
                    continue
                outcome = wait_result(future, self._stopping)
                if outcome is None:
                    return  # closing: what was not handed on is read again on the next start
                yield self._attach(task, outcome)
            self.finished = True
        finally:
            pool.close()

    def stop(self) -> None:
        """Stop waiting for replies (the session is ending): see :meth:`tuiannot.stream.Stream.stop`."""
        self._stopping.set()

    def cache_key(self, task: Task) -> str:
        """What decides a reply: the server, the prompt hash (prompt, model, schema, parameters), the input."""
        import hashlib
        import json

        what = [self.client.shown, self.hash, task.get("_input_hash"), task.get("text")]
        return hashlib.sha256(json.dumps(what, ensure_ascii=False, default=str).encode()).hexdigest()[:32]

    def wants(self, task: Task) -> bool:
        """Whether the task is sent: it has a text (and, for spans, tokens and no spans of its own)."""
        text = task.get("text")
        if not isinstance(text, str) or not text.strip():
            return False
        if self.prompt.kind == "spans":
            spans = task.get("spans") or []
            return isinstance(task.get("tokens"), list) and isinstance(spans, list) \
                and all(isinstance(s, dict) and s.get("suggested") for s in spans)
        return True

    def _ask(self, task: Task) -> _Outcome:
        """A worker thread: one request and its reply parsed; every failure a counted problem."""
        if time.monotonic() < self._down_until:
            parsed = Parsed()
            parsed.add(UNAVAILABLE, "not asked: the server stopped answering a moment ago")
            return _Outcome(parsed, False)
        structured = self.client.structured
        messages = self.prompt.messages(task["text"])
        key = self.cache_key(task)
        kept = self.cache.get(key) if self.cache is not None else None
        try:
            if kept is not None:
                reply = Reply(str(kept.get("text", "")), kept.get("finish_reason"), bool(kept.get("structured")))
                with self._lock:
                    self.cached += 1
            else:
                reply = self.client.chat(messages, self.schema, self.parameters)
                if self.cache is not None:
                    self.cache.put(key, {"model": self.model, "text": reply.text,
                                         "finish_reason": reply.finish_reason, "structured": reply.structured})
        except LLMUnavailable as e:
            self._down_until = time.monotonic() + DOWN_FOR
            parsed = Parsed()
            parsed.add(UNAVAILABLE, str(e))
            return _Outcome(parsed, structured, messages, f"(no reply: {e})")
        except LLMFailed as e:
            parsed = Parsed()
            parsed.add(SERVER_ERROR, str(e))
            return _Outcome(parsed, structured, messages, f"(no reply: {e})")
        except Exception as e:  # noqa: BLE001 (a suggestion is never worth a crash)
            parsed = Parsed()
            parsed.add(SERVER_ERROR, f"{type(e).__name__}: {e}")
            return _Outcome(parsed, structured, messages, f"(no reply: {type(e).__name__}: {e})")
        self._down_until = 0.0
        labels = list(self.prompt.labels)
        if self.prompt.kind == "textcat":
            parsed = parse_labels(reply.text, reply.finish_reason, labels, exclusive=self.prompt.exclusive)
        else:
            parsed = parse_spans(reply.text, reply.finish_reason, task["text"], task["tokens"], labels,
                                 overlapping=self.overlapping, taken=task.get("spans") or [])
        return _Outcome(parsed, reply.structured, messages, reply.text, cached=kept is not None)

    def _attach(self, task: Task, outcome: _Outcome) -> Task:
        """The prefetch thread, in source order: the suggestion and ``_llm`` put on the task, the counts kept."""
        parsed = outcome.parsed
        task = dict(task)
        if parsed.labels is not None:
            if self.prompt.binary:
                meta = task.get("meta")
                task["meta"] = {**(meta if isinstance(meta, dict) else {}), "llm": parsed.answer}
            else:
                task["accept"] = list(parsed.labels)
        elif parsed.spans is not None:
            own = [s for s in task.get("spans") or [] if isinstance(s, dict)]
            task["spans"] = sorted([*own, *parsed.spans], key=lambda s: (s["start"], s["end"]))
        task["_llm"] = {
            "url": self.client.shown, "model": self.model, "prompt": self.hash,
            "parameters": self.parameters.as_dict(), "structured": outcome.structured,
            "suggestion": parsed.suggestion, "problems": dict(parsed.problems),
            **({"notes": list(parsed.notes)} if parsed.notes else {}),
            **({"cached": True} if outcome.cached else {}),
        }
        if outcome.messages is not None:  # for the llm-io view while annotating; not stored (see strip_io)
            task[IO_KEY] = {"messages": outcome.messages, "reply": outcome.reply or ""}
        with self._lock:
            self.handed += 1
            self.suggested += parsed.suggestion is not None
            self.problems.update(parsed.problems)
            for note in parsed.notes:
                self.first_notes.setdefault(note.partition(":")[0], note)
        for note in parsed.notes:
            log.info("input %s: %s", task.get("_input_hash"), note)
        return task

    # -- what the screen and the summary say ---------------------------------------------
    @property
    def down(self) -> bool:
        return time.monotonic() < self._down_until

    def counts(self) -> tuple[int, int, dict[str, int]]:
        """Tasks handed on, of those suggested, and the problems by kind (in :data:`PROBLEM_KINDS` order)."""
        with self._lock:
            problems = {kind: self.problems[kind] for kind in PROBLEM_KINDS if self.problems[kind]}
            return self.handed, self.suggested, problems

    def status(self) -> str | None:
        """The progress bar's item: ``LLM 12 suggested, 2 mention not found``, and the server being down."""
        handed, suggested, problems = self.counts()
        parts = [f"LLM {suggested} suggested" + (f" ({self.cached} from the cache)" if self.cached else "")]
        parts += [f"{count} {kind}" for kind, count in problems.items()]
        line = ", ".join(parts)
        return f"{line}; server not answering: plain tasks" if self.down else line

    def note(self) -> str | None:
        """The summary's sentence (and the end of the source, when the stream got there)."""
        handed, suggested, problems = self.counts()
        if not handed:
            return None
        end = "The source has no more tasks. " if self.finished else ""
        said = "; problems: " + ", ".join(f"{count} {kind}" for kind, count in problems.items()) if problems \
            else ""
        with self._lock:
            first = [self.first_notes[kind] for kind in problems if kind in self.first_notes]
        if first:  # the reason behind a count (a context too small, a server refusing ...) is the useful part
            said += " (first: " + "; ".join(one_line(note, 160) for note in first[:2]) + ")"
        cached = f", {self.cached} of the replies from the cache" if self.cached else ""
        return (f"{end}LLM {self.model} at {self.client.shown}: {suggested} of {handed} tasks suggested{said}"
                f"{cached} (each answer keeps its suggestion in _llm).")

    def components(self) -> dict[str, Any]:
        """What a recipe returns beside its own components: the status line, the summary, the read-ahead."""
        return {"status": self.status, "finished_note": self.note, "prefetch": self.prefetch, "before_db": strip_io,
                "on_exit": self._on_exit}

    def _on_exit(self, controller: Any) -> None:
        """The session ends. The step reads ahead of the screen, so having handed on every task does not mean
        the person saw them all: the note says the source has no more tasks only if the controller ran out of
        them (``model-annotate``, which has no controller, reads the stream to its end)."""
        if controller is not None and not getattr(controller, "exhausted", True):
            self.finished = False
        self.close()

    def close(self) -> None:
        self.client.close()
        if self.cache is not None:
            self.cache.close()


IO_KEY = "_llm_io"
"""The raw prompt and reply of a task's request, for the llm-io view (``i``): shown, never stored."""


def strip_io(tasks: list[Task]) -> list[Task]:
    """``before_db``: the raw prompt and reply stay out of the stored answer (``_llm`` keeps the provenance)."""
    return [{k: v for k, v in task.items() if k != IO_KEY} for task in tasks]


def reply_cache(db: str | None, dataset: str, refresh: bool = False) -> ReplyCache:
    """The cache of replies in the database ``db`` (``--db``), for ``dataset`` (made now: the cache is its)."""
    from ..storage import connect

    database = connect(db)
    database.add_dataset(dataset)
    return ReplyCache(database, dataset, refresh)


def check_llm_options(llm: str | None, *, llm_model: str | None = None, prompt: str | None = None,
                      key_env: str | None = None, teach: bool = False, model: str | None = None,
                      timeout: float | None = None) -> None:
    """One-line errors for ``--llm`` options that do not go together."""
    if llm is None:
        given = [flag for flag, value in (("--llm-model", llm_model), ("--prompt", prompt),
                                          ("--llm-key-env", key_env), ("--llm-timeout", timeout))
                 if value is not None]
        if given:
            raise UserError(f"{', '.join(given)} go{'es' if len(given) == 1 else ''} with --llm URL")
        return
    if teach:
        raise UserError("--llm goes without --teach: --teach asks yes/no questions its own model chooses")
    if model:
        raise UserError("--llm and --model both suggest: choose one")


def llm_suggester(url: str, *, kind: str, labels: list[str], model: str | None = None, prompt: str | None = None,
                  exclusive: bool = False, overlapping: bool = False, concurrency: int = 4,
                  key_env: str | None = None, cache: ReplyCache | None = None,
                  timeout: float | None = None) -> LLMSuggester:
    """The step for ``--llm URL``: the prompt file checked, then the server (``GET /models``), before any screen."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise UserError(f"--llm-concurrency must be from 1 to {MAX_CONCURRENCY}, not {concurrency}")
    the_prompt = load_prompt(prompt, kind, labels, exclusive=exclusive)
    client = LLMClient(url, model=model, key_env=key_env, connections=concurrency, chat_timeout=timeout)
    try:
        client.check()
    except BaseException:
        client.close()
        raise
    return LLMSuggester(client, the_prompt, overlapping=overlapping, concurrency=concurrency, cache=cache)

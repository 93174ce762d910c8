"""Streams: lazy sequences of hashed tasks, with a record of what was skipped and why.

A recipe builds its stream from a :class:`~tuiannot.sources.Source` (or any
iterable of dicts) and a few per-task steps, for example adding the label it
asks about. Invalid records become one-line warnings naming file, line and
reason; under ``strict`` the first one ends the stream with
:class:`~tuiannot.errors.InvalidRecord`. Nothing is read before the stream is
iterated, and nothing is held but the current record.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Iterable, Iterator

from .errors import InvalidRecord
from .sources import Record, Source
from .tasks import Task, is_hash, set_hashes

Step = Callable[[Task], "Task | Iterable[Task] | None"]

MAX_KEPT_WARNINGS = 1000


class Stream:
    def __init__(self, source: Source | Iterable[Task], *, name: str | None = None) -> None:
        self.source = source
        source_name: str = getattr(source, "name", "<stream>")
        self.name = name or source_name
        self.strict = False
        self.invalid = 0  # records skipped
        self.problems = 0  # records kept, with a part left out (a misaligned span, say)
        self._line: int | None = None
        self.warnings: deque[str] = deque(maxlen=MAX_KEPT_WARNINGS)
        self.on_warning: Callable[[str], None] | None = None
        self._steps: list[Step] = []
        self._reorders: list[Callable[[Iterator[Task]], Iterator[Task]]] = []

    def reorder(self, transform: Callable[[Iterator[Task]], Iterator[Task]]) -> "Stream":
        """Add a whole-stream step (it sees the tasks as they come and yields them in its own order,
        e.g. the most informative first); warnings and progress stay the source's."""
        self._reorders.append(transform)
        return self

    def map(self, step: Step) -> "Stream":
        """Add a step: it returns the task (changed or not), several tasks, or None to drop it."""
        self._steps.append(step)
        return self

    def derive(self, source: Source | Iterable[Task]) -> "Stream":
        """A stream of another source through the same steps (gold tasks, say)."""
        other = Stream(source)
        other._steps = list(self._steps)
        other.strict = self.strict
        return other

    def derive_from(self, tasks: Iterable[Task]) -> Iterator[Task]:
        """Run plain tasks through this stream's steps."""
        other = self.derive(tasks)
        yield from other
        self.invalid += other.invalid
        self.warnings.extend(other.warnings)

    @property
    def progress(self) -> float | None:
        """How far through the source (bytes read / size), when the source knows."""
        return self.source.progress if isinstance(self.source, Source) else None

    def note(self, reason: str) -> None:
        """For steps: report a problem with the current record that does not drop it."""
        self.warn(self._line, reason, dropped=False)

    def warn(self, line: int | None, reason: str, dropped: bool = True) -> None:
        where = f"{self.name}:{line}" if line is not None else self.name
        message = f"{where}: {reason}"
        if dropped:
            self.invalid += 1
        else:
            self.problems += 1
        if self.strict:
            raise InvalidRecord(self.name, line or 0, reason)
        self.warnings.append(message)
        if self.on_warning is not None:
            self.on_warning(message)

    def _records(self) -> Iterator[Record]:
        if isinstance(self.source, Source):
            yield from self.source
            return
        for i, task in enumerate(self.source, 1):
            if isinstance(task, dict):
                yield Record(i, 0, task=task)
            else:
                yield Record(i, 0, error=f"expected a task (a dict), got {type(task).__name__}")

    def __iter__(self) -> Iterator[Task]:
        tasks = self._tasks()
        for transform in self._reorders:
            tasks = transform(tasks)
        yield from tasks

    def _tasks(self) -> Iterator[Task]:
        for record in self._records():
            self._line = record.line
            if record.error is not None:
                self.warn(record.line, record.error)
                continue
            yield from self._apply(record, record.task, 0)

    def _apply(self, record: Record, task: Any, step: int) -> Iterator[Task]:
        if step == len(self._steps):
            for key in ("_input_hash", "_task_hash"):
                if key in task and not is_hash(task[key]):
                    self.note(f"{key} {_shown(task[key])} is not a 64-bit hash: computed from the task instead")
            try:
                yield set_hashes(task)
            except (TypeError, ValueError) as e:
                self.warn(record.line, f"cannot hash the task ({e})")
            return
        try:
            result = self._steps[step](task)
        except ValueError as e:
            self.warn(record.line, str(e))
            return
        if result is None:
            return
        if isinstance(result, dict):
            yield from self._apply(record, result, step + 1)
        else:
            for item in result:
                yield from self._apply(record, item, step + 1)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."

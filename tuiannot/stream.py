"""Streams: lazy sequences of hashed tasks, with a record of what was skipped and why.

A recipe builds its stream from a :class:`~tuiannot.sources.Source` (or any
iterable of dicts) and a few per-task steps, for example adding the label it
asks about. Invalid records become one-line warnings naming file, line and
reason; under ``strict`` the first one ends the stream with
:class:`~tuiannot.errors.InvalidRecord`. Nothing is read before the stream is
iterated, and nothing is held but the current record.

The stream knows where in the source the task it last yielded was read
(:attr:`Stream.position`: the record's line, and the share of the source's bytes
before it), also through a reordering step that reads ahead and yields in its own
order (``--teach``): each task keeps its record's place. The screen shows that
place, not how far the reading has got, so read-ahead never looks like progress.
A step that reads ahead but keeps the order (``--llm``, which asks a model about
the tasks ahead of the annotator: ``reorder(step, keeps_order=True)``) leaves the
stream resumable: its tasks still come in the source's order, so a checkpoint
still means "everything before this record is done".
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from .errors import InvalidRecord
from .sources import Record, Source
from .tasks import Task, is_hash, set_hashes

Step = Callable[[Task], "Task | Iterable[Task] | None"]

MAX_KEPT_WARNINGS = 1000
MAX_PLACES_KEPT = 100_000  # places of tasks a reordering step holds back (a --teach pool is far smaller)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a served task was read: its record's line, the source's lines (None until counted, or when they
    cannot be, see :meth:`~tuiannot.sources.Source.line_count`) and the share of the source's bytes before the record
    (None for a pipe, whose size is unknown)."""

    line: int
    lines: int | None = None
    share: float | None = None


class Stream:
    def __init__(self, source: Source | Iterable[Task], *, name: str | None = None) -> None:
        self.source = source
        source_name: str = getattr(source, "name", "<stream>")
        self.name = name or source_name
        self.strict = False
        self.invalid = 0  # records skipped
        self.problems = 0  # records kept, with a part left out (a misaligned span, say)
        self._line: int | None = None
        self._place: tuple[int, int, int] | None = None  # the task last yielded: its record's line, bytes before
        # and after it
        self._read_to = 0  # byte offset after the record last read
        self.warnings: deque[str] = deque(maxlen=MAX_KEPT_WARNINGS)
        self.on_warning: Callable[[str], None] | None = None
        self._steps: list[Step] = []
        self._reorders: list[tuple[Callable[[Iterator[Task]], Iterator[Task]], bool]] = []
        self.stop_hooks: list[Callable[[], None]] = []  # told by stop(): a step waiting on something else returns
        self._invalid_before = 0  # invalid records read before the record of the task last yielded

    def reorder(self, transform: Callable[[Iterator[Task]], Iterator[Task]], *, keeps_order: bool = False
                ) -> "Stream":
        """Add a whole-stream step (it sees the tasks as they come and yields them in its own order,
        e.g. the most informative first); warnings and progress stay the source's.

        ``keeps_order``: the step yields the tasks it is given in the order given (changed or not, some perhaps
        left out), however far it reads ahead; the stream then stays :attr:`resumable`."""
        self._reorders.append((transform, keeps_order))
        return self

    def prefilter(self, transform: Callable[[Iterator[Task]], Iterator[Task]]) -> "Stream":
        """Add an order-keeping whole-stream step before every other (the controller's: tasks already done
        are dropped before a costly step sees them)."""
        self._reorders.insert(0, (transform, True))
        return self

    @property
    def has_reorders(self) -> bool:
        return bool(self._reorders)

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

    @property
    def position(self) -> Position | None:
        """Where the task last yielded was read in the source (None for a stream of plain tasks)."""
        if self._place is None or not isinstance(self.source, Source):
            return None
        line, before, _ = self._place
        size = self.source.size if self.source.progress is not None else None
        share = (min(1.0, before / size) if size else 1.0) if size is not None else None
        return Position(line, self.source.counted_lines, share)

    @property
    def record(self) -> tuple[int, int, int] | None:
        """The record of the task last yielded: (line, byte offset of its start, byte offset after it)."""
        return self._place if isinstance(self.source, Source) else None

    def resume_at(self, offset: int, line: int) -> None:
        """Start the next iteration at the record on ``line``, ``offset`` bytes in (see
        :meth:`~tuiannot.sources.Source.start_at`); ``resume_at(0, 1)`` starts at the beginning again."""
        assert isinstance(self.source, Source)
        self.source.start_at(offset, line)
        self._read_to = offset

    @property
    def resumable(self) -> bool:
        """Whether a resume may seek: a seekable source, read in order (no step that changes the order)."""
        return isinstance(self.source, Source) and self.source.seekable \
            and all(keeps_order for _, keeps_order in self._reorders)

    @property
    def invalid_before(self) -> int:
        """Invalid records read before the record of the task last yielded: :attr:`invalid` when that task was
        read, which a step reading ahead has gone past (what a resume checkpoint should save)."""
        return self._invalid_before if self._reorders else self.invalid

    def stop(self) -> None:
        """The reader is closing: a step waiting on something slow (a model server's reply) stops waiting."""
        for hook in self.stop_hooks:
            hook()

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
        if not self._reorders:
            yield from self._tasks()
            return
        if all(keeps_order for _, keeps_order in self._reorders):
            yield from self._in_order()
            return
        places: OrderedDict[Any, tuple[tuple[int, int, int] | None, int]] = OrderedDict()

        def placed(tasks: Iterator[Task]) -> Iterator[Task]:
            for task in tasks:
                places[task.get("_task_hash")] = (self._place, self.invalid)
                if len(places) > MAX_PLACES_KEPT:
                    places.popitem(last=False)
                yield task

        tasks = placed(self._tasks())
        for transform, _ in self._reorders:
            tasks = transform(tasks)
        for task in tasks:
            self._place, self._invalid_before = places.pop(task.get("_task_hash"), (None, self.invalid))
            yield task

    def _in_order(self) -> Iterator[Task]:
        """Through steps that keep the order: each task's place is the first one read with its key (those of
        tasks a step left out are passed over)."""
        places: deque[tuple[Any, tuple[int, int, int] | None, int]] = deque()

        def placed(tasks: Iterator[Task]) -> Iterator[Task]:
            for task in tasks:
                places.append((task.get("_task_hash"), self._place, self.invalid))
                if len(places) > MAX_PLACES_KEPT:
                    places.popleft()
                yield task

        tasks = placed(self._tasks())
        for transform, _ in self._reorders:
            tasks = transform(tasks)
        for task in tasks:
            key = task.get("_task_hash")
            if any(entry[0] == key for entry in places):
                while places[0][0] != key:
                    places.popleft()
                _, self._place, self._invalid_before = places.popleft()
            else:
                self._place, self._invalid_before = None, self.invalid
            yield task

    def _tasks(self) -> Iterator[Task]:
        for record in self._records():
            self._line = record.line
            self._place, self._read_to = (record.line, self._read_to, record.offset), record.offset
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

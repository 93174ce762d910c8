"""Copying everything from one database into another (``tuiannot db-migrate SRC DST``): SQLite to PostgreSQL, back,
or SQLite to SQLite. Headless; the command (:mod:`tuiannot.cli.migrate`) draws the progress and the report.

What is copied, per dataset (datasets in name order, each created in DST even when empty):

* every answer, in the order written, as the row it is (its columns read from SRC a page at a time and written
  into DST as they are, in batches of :data:`BATCH`, each batch one transaction: all or nothing). Not through
  ``add_answers``: the rows were checked when they were first stored, so they are not parsed and serialised
  again (that took most of the time: 2,800 answers/s into PostgreSQL, 1,000/s into SQLite, whose import also
  stages its rows and pauses between short transactions so as not to hold up annotators; a migration is not
  run under live annotators). PostgreSQL gets each batch by ``COPY`` into a temporary table, then one
  ``INSERT ... SELECT`` (the running totals counted set-wise, as ``add_answers`` does); SQLite by
  ``executemany`` in one transaction (its triggers count, ``flag_counts`` too: nothing of them is copied).
* the history of replaced answers (``answer_history``, schema 5), each row attached to the copy of its answer. The
  storage replaces an answer in place (same id) and a trigger keeps the version it replaced; ids differ between
  databases, so SRC's answer ids are mapped to DST's by pairing the answers with the same stored JSON in the order
  written (the n-th SRC answer with that JSON is the n-th DST answer with it: exact, but for twins with the same
  JSON, which are interchangeable). Only the SRC answers that have history are looked for, in the reads the copy
  and its check make anyway (no extra pass over the answers). Rows are written by plain ``INSERT`` into
  ``answer_history``, never by an ``UPDATE`` of ``answers`` (its trigger would make history of its own), in the
  order SRC wrote them (``history`` breaks ties of time by that order).
* the sessions' records (who started when, and how they ended), the resume checkpoints, and the LLM replies
  cached for the dataset, with their times. Claims are not copied: they are the leases of running sessions, and
  a database starts without any (the tasks come to whoever asks first).

A second run copies nothing twice: an answer is *the same* when its stored JSON is, and DST's answers are counted
(a multiset of digests) before copying, so a copy that was interrupted goes on where it stopped, and answers DST
had of its own stay and are counted apart. Sessions the same (by name, start time and record); checkpoints and
cached replies are upserted by key. A history row is the same when DST has one on the mapped answer with the same
JSON and the same time of replacement.

At the end each dataset is checked by reading DST back: every answer of SRC is in DST (as many times), DST's
running totals count what its rows hold, and the multiset hashes of the two (the sum of each answer's 64-bit
BLAKE2b digest, modulo 2**64: independent of order and of ids) agree when DST has nothing of its own. The same
for the history: every history row of SRC is in DST (a row's digest covers all its columns but the ids, and the
JSON of the answer it is attached to, so a row attached to another answer is missing), and the multiset hashes
agree when DST has no history of its own.

The tables beside the answers have the same columns in both backends; :class:`_Tables` reads and writes them
with each backend's connection (this module is in storage: it may speak SQL).
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Iterator

from .base import Database

BATCH = 5000
"""Answers written per transaction."""
PAGE = 5000
"""Answers read from SRC per query."""
COLUMNS = ("task_hash", "input_hash", "session", "answer", "labels", "view_id", "timestamp", "seconds", "content")
"""The columns of an answer's row, the same in both backends (``content``, the task's JSON, last)."""
HISTORY = ("task_hash", "input_hash", "session", "answer", "content", "replaced", "replaced_by")
"""The columns of a history row copied as they are (beside ``id``, ``answer_id`` and ``dataset_id``)."""


def digest(content: str) -> int:
    return int.from_bytes(hashlib.blake2b(content.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def history_digest(answer: int | None, row: tuple[Any, ...]) -> int:
    """A history row (:data:`HISTORY`) and the digest of the answer it is attached to (None: to no answer)."""
    task_hash, input_hash, session, verdict, content, replaced, replaced_by = row
    return digest(repr((answer, int(task_hash), int(input_hash), session, verdict, content, float(replaced),
                        replaced_by)))


def multiset_hash(digests: Counter[int]) -> str:
    return f"{sum(d * n for d, n in digests.items()) % (1 << 64):016x}"


@dataclass
class DatasetCopy:
    """What happened to one dataset, and what the check at the end found."""

    dataset: str
    source_answers: int
    copied: int  # answers written by this run
    already: int  # answers of SRC that DST had before this run
    destination_answers: int  # DST's answers after the copy (read back)
    missing: int  # answers of SRC not in DST after the copy: the check fails unless 0
    own: int  # answers DST has that SRC does not
    counted: int  # DST's running total (what `stats` says): must equal destination_answers
    source_hash: str
    destination_hash: str
    sessions: int  # session records copied
    checkpoints: int
    cached_replies: int
    source_history: int = 0  # replaced versions SRC keeps of the dataset's answers
    history_copied: int = 0
    history_already: int = 0
    destination_history: int = 0  # read back
    history_missing: int = 0  # history rows of SRC not in DST (or attached to another answer): fails the check
    history_own: int = 0
    source_history_hash: str = multiset_hash(Counter())
    destination_history_hash: str = multiset_hash(Counter())

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.counted == self.destination_answers and (
            self.own > 0 or self.source_hash == self.destination_hash) and self.history_missing == 0 and (
            self.history_own > 0 or self.source_history_hash == self.destination_history_hash)

    def report(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


Progress = Callable[[str, int, int], None]
"""``progress(dataset, answers read from SRC so far, answers SRC has)``."""


def copy_database(src: Database, dst: Database, progress: Progress | None = None,
                  batch: int | None = None) -> list[DatasetCopy]:
    """Copy every dataset of ``src`` into ``dst`` (see the module's docstring); one :class:`DatasetCopy` each."""
    return [copy_dataset(src, dst, name, progress, batch) for name in src.datasets()]


def _contents(db: Database, dataset: str) -> Counter[int]:
    return Counter(digest(c) for c in db.answers_json(dataset)) if db.has_dataset(dataset) else Counter()


def copy_dataset(src: Database, dst: Database, dataset: str, progress: Progress | None = None,
                 batch: int | None = None) -> DatasetCopy:
    batch = batch or BATCH
    total = src.count_answers(dataset)
    dst.add_dataset(dataset)
    there = _contents(dst, dataset)  # what DST has (from an earlier run, or of its own): not copied again
    source: Counter[int] = Counter()  # what was read from SRC, for the check
    copied = already = done = 0
    a, b = _Tables(src), _Tables(dst)
    replaced = a.history_answer_ids(dataset)  # SRC's answers that have history: their (digest, rank) noted
    wanted: dict[tuple[int, int], int] = {}
    pending: list[tuple[Any, ...]] = []
    for answer_id, *row in a.answers(dataset):
        done += 1
        d = digest(row[-1])
        if answer_id in replaced:
            wanted[d, source[d]] = answer_id
        source[d] += 1
        if there[d] > 0:
            there[d] -= 1
            already += 1
        else:
            pending.append(tuple(row))
        if len(pending) >= batch:
            copied += b.add_rows(dataset, pending)
            pending = []
        if progress is not None and done % 1000 == 0:
            progress(dataset, done, total)
    if pending:
        copied += b.add_rows(dataset, pending)
    if copied:
        b.analyze()
    if progress is not None:
        progress(dataset, done, max(total, done))
    del there
    sessions, checkpoints, replies = _copy_beside(src, dst, dataset)
    # read back; the n-th DST answer with a digest is the copy of the n-th SRC answer with it
    attached = b.history_answer_ids(dataset)  # DST's own history's answers, for its digests
    destination: Counter[int] = Counter()
    mapped: dict[int, int] = {}  # SRC answer id -> DST answer id
    digests: dict[int, int] = {}  # DST answer id -> digest, of those with history (now or after the copy)
    for answer_id, content in b.answers(dataset, ("content",)):
        d = digest(content)
        source_id = wanted.get((d, destination[d]))
        if source_id is not None:
            mapped[source_id] = answer_id
        if source_id is not None or answer_id in attached:
            digests[answer_id] = d
        destination[d] += 1
    source_digests = {answer_id: d for (d, _), answer_id in wanted.items()}
    history = _copy_history(a, b, dataset, mapped, source_digests, digests, batch)
    return DatasetCopy(
        dataset=dataset, source_answers=sum(source.values()), copied=copied, already=already,
        destination_answers=sum(destination.values()), missing=sum((source - destination).values()),
        own=sum((destination - source).values()), counted=dst.count_answers(dataset),
        source_hash=multiset_hash(source), destination_hash=multiset_hash(destination), sessions=sessions,
        checkpoints=checkpoints, cached_replies=replies, **history)


def _copy_history(a: "_Tables", b: "_Tables", dataset: str, mapped: dict[int, int], source_digests: dict[int, int],
                  digests: dict[int, int], batch: int) -> dict[str, Any]:
    """SRC's history rows that DST lacks, attached to the DST answers ``mapped`` names; then the check."""
    a_id, b_id = a.dataset_id(dataset), b.dataset_id(dataset)
    have = Counter((answer_id, digest(row[4]), float(row[5])) for _, answer_id, *row in b.history(b_id))
    source: Counter[int] = Counter()
    copied = already = 0
    pending: list[tuple[Any, ...]] = []
    insert = (f"INSERT INTO answer_history (answer_id, dataset_id, {', '.join(HISTORY)}) VALUES "
              f"({', '.join('?' * (len(HISTORY) + 2))})")
    for _, answer_id, *row in a.history(a_id):
        source[history_digest(source_digests.get(answer_id), tuple(row))] += 1
        target = mapped.get(answer_id)
        if target is None:  # an answer that is not in DST: the row is missing, and the check says so
            continue
        key = (target, digest(row[4]), float(row[5]))
        if have[key] > 0:
            have[key] -= 1
            already += 1
            continue
        pending.append((target, b_id, *row))
        if len(pending) >= batch:
            b.write(insert, pending)
            copied += len(pending)
            pending = []
    b.write(insert, pending)
    copied += len(pending)
    destination = Counter(history_digest(digests.get(answer_id), tuple(row)) for _, answer_id, *row in b.history(b_id))
    return {"source_history": sum(source.values()), "history_copied": copied, "history_already": already,
            "destination_history": sum(destination.values()),
            "history_missing": sum((source - destination).values()),
            "history_own": sum((destination - source).values()), "source_history_hash": multiset_hash(source),
            "destination_history_hash": multiset_hash(destination)}


def _copy_beside(src: Database, dst: Database, dataset: str) -> tuple[int, int, int]:
    """The dataset's session records, checkpoints and cached replies that DST lacks (or has otherwise)."""
    a, b = _Tables(src), _Tables(dst)
    a_id, b_id = a.dataset_id(dataset), b.dataset_id(dataset)
    query = "SELECT session, started, meta FROM sessions WHERE dataset_id = ? ORDER BY id"
    have = Counter(b.rows(query, (b_id,)))
    sessions = []
    for row in a.rows(query, (a_id,)):
        if have[row] > 0:
            have[row] -= 1
        else:
            sessions.append((b_id, *row))
    b.write("INSERT INTO sessions (dataset_id, session, started, meta) VALUES (?, ?, ?, ?)", sessions)
    copied = [len(sessions)]
    for table, time_column in (("checkpoints", "updated"), ("llm_cache", "created")):
        query = f"SELECT key, value, {time_column} FROM {table} WHERE dataset_id = ?"
        known = {key: value for key, value, _ in b.rows(query, (b_id,))}
        new = [(b_id, key, value, when) for key, value, when in a.rows(query, (a_id,)) if known.get(key) != value]
        b.write(f"INSERT INTO {table} (dataset_id, key, value, {time_column}) VALUES (?, ?, ?, ?) ON CONFLICT "
                f"(dataset_id, key) DO UPDATE SET value = excluded.value, {time_column} = excluded.{time_column}",
                new)
        copied.append(len(new))
    return copied[0], copied[1], copied[2]


class _Tables:
    """Rows of the tables beside the answers, through either backend's own connection (``?`` placeholders)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        from .sqlite import SQLiteDatabase

        self.sqlite = isinstance(db, SQLiteDatabase)

    def dataset_id(self, name: str) -> int:
        return int(self._guard(lambda: self.db._dataset_id(name, create=True), writing=True))  # type: ignore

    def answers(self, dataset: str, columns: tuple[str, ...] = COLUMNS) -> Iterator[tuple[Any, ...]]:
        """The dataset's answers as rows (``id``, then :data:`COLUMNS`), in the order written, a page per query."""
        if not self.db.has_dataset(dataset):
            return
        yield from self._pages("answers", ", ".join(f'"{c}"' for c in columns), self.dataset_id(dataset))

    def history_answer_ids(self, dataset: str) -> set[int]:
        """The ids of the dataset's answers that have history."""
        if not self.db.has_dataset(dataset):
            return set()
        return {int(r[0]) for r in self.rows("SELECT DISTINCT answer_id FROM answer_history WHERE dataset_id = ?",
                                             (self.dataset_id(dataset),))}

    def history(self, dataset_id: int) -> Iterator[tuple[Any, ...]]:
        """The dataset's history rows (``id``, ``answer_id``, then :data:`HISTORY`) in the order written."""
        yield from self._pages("answer_history", "answer_id, " + ", ".join(HISTORY), dataset_id)

    def _pages(self, table: str, columns: str, dataset_id: int) -> Iterator[tuple[Any, ...]]:
        last = -1
        while True:
            page = self.rows(f"SELECT id, {columns} FROM {table} WHERE dataset_id = ? AND id > ? ORDER BY id "
                             f"LIMIT {PAGE}", (dataset_id, last))
            yield from page
            if len(page) < PAGE:
                return
            last = page[-1][0]

    def add_rows(self, dataset: str, rows: list[tuple[Any, ...]]) -> int:
        """Write answers' rows (:data:`COLUMNS`) into the dataset, in one transaction."""
        db: Any = self.db
        columns = ", ".join(f'"{c}"' for c in COLUMNS)
        if self.sqlite:
            def sqlite_write() -> None:
                db._before_writing()
                with db._transaction():
                    dataset_id = db._dataset_id(dataset, create=True)
                    db.conn.executemany(f"INSERT INTO answers (dataset_id, {columns}) VALUES "
                                        f"(?, {', '.join('?' * len(COLUMNS))})", [(dataset_id, *r) for r in rows])
            self._guard(sqlite_write, writing=True)
            return len(rows)

        def postgres_write(conn: Any) -> None:
            # the dataset's row locked to share: a drop meanwhile waits for the batch (as add_answers)
            conn.execute("INSERT INTO datasets (name, created, meta) VALUES (%s, %s, '{}') ON CONFLICT (name) DO "
                         "NOTHING", (dataset, time.time()))
            dataset_id = conn.execute("SELECT id FROM datasets WHERE name = %s FOR KEY SHARE", (dataset,)).fetchone()[0]
            conn.execute("CREATE TEMP TABLE tuiannot_migrate (LIKE answers) ON COMMIT DROP")  # id: the order read
            with conn.cursor() as cursor, cursor.copy(f"COPY tuiannot_migrate (id, dataset_id, {columns}) FROM "
                                                      "STDIN") as copy:
                for i, row in enumerate(rows):
                    copy.write_row((i, dataset_id, *row))
            conn.execute(f"INSERT INTO answers (dataset_id, {columns}) SELECT dataset_id, {columns} FROM "
                         "tuiannot_migrate ORDER BY id")

        self._guard(lambda: db._transaction(postgres_write), writing=True)
        return len(rows)

    def analyze(self) -> None:
        """After a copy into PostgreSQL: fresh statistics and visibility map at once, as ``add_answers`` does."""
        if not self.sqlite:
            import psycopg

            try:
                self.db._run("VACUUM (ANALYZE) answers")  # type: ignore[attr-defined]
            except psycopg.Error:  # (a role that may not: autovacuum does it later)
                pass

    def rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if self.sqlite:
            return self._guard(lambda: [tuple(r) for r in self.db.conn.execute(sql, params)])  # type: ignore
        return self._guard(lambda: [tuple(r) for r in self.db._all(sql.replace("?", "%s"), params)])  # type: ignore

    def write(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        rows = list(rows)
        if not rows:
            return
        db: Any = self.db
        if self.sqlite:
            def sqlite_write() -> None:
                db._before_writing()  # the damage check, as every write of the backend
                with db._transaction():
                    db.conn.executemany(sql, rows)
            self._guard(sqlite_write, writing=True)
            return
        self._guard(lambda: db._transaction(lambda conn: conn.cursor().executemany(sql.replace("?", "%s"), rows)),
                    writing=True)

    def _guard(self, work: Callable[[], Any], writing: bool = False) -> Any:
        """``work()``, its backend's errors as the backend's one-line StorageError."""
        db: Any = self.db
        if self.sqlite:
            import sqlite3

            try:
                return work()
            except sqlite3.Error as e:
                raise db._error(e) from None
        import psycopg

        try:
            return work()
        except psycopg.Error as e:
            raise db._error(e, writing) from None

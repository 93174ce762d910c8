"""What the SQLite backend keeps of answers that were replaced, and its running totals of flags and comments
(issue 19).

Both tables are filled by triggers of schema 5 (:mod:`.sqlite_schema`), never by this module, so that no code path
replaces an answer without a trace and no count can drift from the answers:

* ``answer_history``: the row an ``UPDATE`` of ``answers`` replaced (undo then answer again, an edit), with when
  it was replaced and by which session. An answer's current version stays in ``answers`` under the same id
  (``answer_id`` here), so a whole story is the history rows of an id in order, then the answer itself.
* ``flag_counts``: per dataset and session, how many answers carry ``"_flagged": true`` and how many a comment,
  kept as the answers are written, so that ``stats`` reads a few rows whatever the number of answers.

:class:`HistoryTables` is a mixin of :class:`~.sqlite.SQLiteDatabase`: it uses the backend's connection and
dataset ids. Its methods are wrapped here as the backend's own are (every ``sqlite3`` error a one-line
:class:`~.base.StorageError`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterator

from .sqlite_safety import guarded

if TYPE_CHECKING:
    import sqlite3


def history_entry(row: tuple[Any, ...]) -> dict[str, Any]:
    """One replaced version as :meth:`~.base.Database.answer_history` yields it (both backends)."""
    history_id, answer_id, task_hash, input_hash, session, answer, content, replaced, replaced_by = row
    return {"history_id": int(history_id), "answer_id": int(answer_id), "task_hash": int(task_hash),
            "input_hash": int(input_hash), "session": session, "answer": answer, "task": json.loads(content),
            "replaced": float(replaced), "replaced_by": replaced_by}


HISTORY_COLUMNS = "id, answer_id, task_hash, input_hash, session, answer, content, replaced, replaced_by"


class HistoryTables:
    conn: "sqlite3.Connection"

    if TYPE_CHECKING:  # the backend's own
        def _dataset_id(self, name: str, create: bool = False) -> int:
            raise NotImplementedError

    def answer_history(self, dataset: str, input_hash: int | None = None) -> Iterator[dict[str, Any]]:
        dataset_id = self._dataset_id(dataset)  # an unknown dataset: UnknownDataset, naming the database
        sql = f"SELECT {HISTORY_COLUMNS} FROM answer_history WHERE dataset_id = ?"
        params: list[Any] = [dataset_id]
        if input_hash is not None:
            sql += " AND input_hash = ?"
            params.append(input_hash)
        cursor = self.conn.execute(sql + " ORDER BY input_hash, replaced, id", params)
        while rows := cursor.fetchmany(1000):
            yield from map(history_entry, rows)

    def flag_counts(self, dataset: str) -> dict[str, dict[str, int]]:
        dataset_id = self._dataset_id(dataset)
        return {session: {"flagged": int(flagged), "commented": int(commented)}
                for session, flagged, commented in self.conn.execute(
                    "SELECT session, flagged, commented FROM flag_counts WHERE dataset_id = ? ORDER BY session",
                    (dataset_id,))}


for _name, _method in list(vars(HistoryTables).items()):
    if callable(_method) and not _name.startswith("_"):
        setattr(HistoryTables, _name, guarded(_method))

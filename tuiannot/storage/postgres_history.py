"""What the PostgreSQL backend keeps of answers that were replaced, and its running totals of flags and comments
(issue 19), as :mod:`.sqlite_history` keeps them for SQLite: the same tables, filled by the triggers of schema 5
(:mod:`.postgres_schema`), read here. A mixin of :class:`~.postgres.PostgresDatabase`, using its pool and
dataset ids; its methods are wrapped as the backend's own are (every psycopg error a one-line
:class:`~.base.StorageError`, the URL's password masked).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from .postgres_connect import guarded
from .sqlite_history import HISTORY_COLUMNS, history_entry

PAGE = 1000
"""History rows read per query (each on a connection borrowed for it alone)."""


class PostgresHistory:
    if TYPE_CHECKING:  # the backend's own
        def _dataset_id(self, name: str, create: bool = False) -> int:
            raise NotImplementedError

        def _all(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[Any]:
            raise NotImplementedError

    def answer_history(self, dataset: str, input_hash: int | None = None) -> Iterator[dict[str, Any]]:
        dataset_id = self._dataset_id(dataset)  # an unknown dataset: UnknownDataset, naming the database
        where = "dataset_id = %s" + (" AND input_hash = %s" if input_hash is not None else "")
        params: list[Any] = [dataset_id, *([input_hash] if input_hash is not None else [])]
        # keyset pages in (input_hash, replaced, id) order: a query per page, no cursor held between them
        after = ""
        while True:
            rows = self._all(f"SELECT {HISTORY_COLUMNS} FROM answer_history WHERE {where}{after} "
                             f"ORDER BY input_hash, replaced, id LIMIT {PAGE}", params)
            yield from map(history_entry, rows)
            if len(rows) < PAGE:
                return
            last = rows[-1]
            after = " AND (input_hash, replaced, id) > (%s, %s, %s)"
            params = [*params[:2 if input_hash is not None else 1], last[3], last[7], last[0]]

    def flag_counts(self, dataset: str) -> dict[str, dict[str, int]]:
        dataset_id = self._dataset_id(dataset)
        return {session: {"flagged": int(flagged), "commented": int(commented)}
                for session, flagged, commented in self._all(
                    "SELECT session, flagged, commented FROM flag_counts WHERE dataset_id = %s "
                    'ORDER BY session COLLATE "C"', (dataset_id,))}


for _name, _method in list(vars(PostgresHistory).items()):
    if callable(_method) and not _name.startswith("_"):
        setattr(PostgresHistory, _name, guarded(_method, writes=False))

"""What the SQLite backend keeps beside the answers so that work is not done twice: resume checkpoints and the
replies of LLM servers.

Both are caches: losing one costs time (a longer scan, a request asked again), never an answer, and both belong
to a dataset (dropping it drops them). :class:`CacheTables` is a mixin of :class:`~.sqlite.SQLiteDatabase`: it
uses the backend's connection, transactions and dataset ids.

* ``checkpoints`` (schema 3): see :mod:`tuiannot.resume`.
* ``llm_cache`` (schema 4): a reply per key, where the key hashes what decides the reply — the server's URL, the
  model, the prompt hash (which covers the prompt, the reply's schema and the parameters) and the input's hash
  (see :mod:`tuiannot.llm.suggest`). The reply's text is kept as it came, not the suggestion parsed from it, so a
  better parser applies to cached replies too.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    import sqlite3

    from .sqlite_safety import Transaction


class CacheTables:
    conn: "sqlite3.Connection"

    if TYPE_CHECKING:  # the backend's own
        def _maybe_id(self, name: str) -> int | None:
            raise NotImplementedError

        def _transaction(self) -> "Transaction":
            raise NotImplementedError

    # -- resume checkpoints -------------------------------------------------------
    def checkpoint(self, dataset: str, key: str) -> dict[str, Any] | None:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return None
        row = self.conn.execute("SELECT value FROM checkpoints WHERE dataset_id = ? AND key = ?",
                                (dataset_id, key)).fetchone()
        return json.loads(row[0]) if row else None

    def save_checkpoint(self, dataset: str, key: str, value: dict[str, Any]) -> None:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return
        with self._transaction():  # nothing when the dataset went meanwhile: there is nothing to resume
            self.conn.execute("INSERT INTO checkpoints (dataset_id, key, value, updated) SELECT ?, ?, ?, ? "
                              "WHERE EXISTS (SELECT 1 FROM datasets WHERE id = ? AND name = ?) "
                              "ON CONFLICT (dataset_id, key) DO UPDATE SET value = excluded.value, "
                              "updated = excluded.updated",
                              (dataset_id, key, json.dumps(value), time.time(), dataset_id, dataset))

    # -- LLM replies --------------------------------------------------------------
    def cached_replies(self, dataset: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        dataset_id = self._maybe_id(dataset)
        keys = list(dict.fromkeys(keys))
        found: dict[str, dict[str, Any]] = {}
        if dataset_id is None or not keys:
            return found
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            rows = self.conn.execute(f"SELECT key, value FROM llm_cache WHERE dataset_id = ? AND key IN "
                                     f"({','.join('?' * len(chunk))})", [dataset_id, *chunk])
            found.update((key, json.loads(value)) for key, value in rows)
        return found

    def cache_reply(self, dataset: str, key: str, value: dict[str, Any]) -> None:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return
        with self._transaction():
            self.conn.execute("INSERT INTO llm_cache (dataset_id, key, value, created) SELECT ?, ?, ?, ? "
                              "WHERE EXISTS (SELECT 1 FROM datasets WHERE id = ?) "
                              "ON CONFLICT (dataset_id, key) DO UPDATE SET value = excluded.value, "
                              "created = excluded.created",
                              (dataset_id, key, json.dumps(value), time.time(), dataset_id))

    def cache_stats(self, dataset: str) -> dict[str, Any]:
        dataset_id = self._maybe_id(dataset)
        stats: dict[str, Any] = {"replies": 0, "bytes": 0, "first": None, "last": None, "by_model": {}}
        if dataset_id is None:
            return stats
        count, size, first, last = self.conn.execute(
            "SELECT count(*), coalesce(sum(length(value)), 0), min(created), max(created) FROM llm_cache "
            "WHERE dataset_id = ?", (dataset_id,)).fetchone()
        stats.update(replies=count, bytes=size, first=first, last=last)
        for model, n in self.conn.execute("SELECT json_extract(value, '$.model'), count(*) FROM llm_cache "
                                          "WHERE dataset_id = ? GROUP BY 1 ORDER BY 2 DESC", (dataset_id,)):
            stats["by_model"][str(model)] = n
        return stats

    def clear_cache(self, dataset: str) -> int:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return 0
        with self._transaction():
            return self.conn.execute("DELETE FROM llm_cache WHERE dataset_id = ?", (dataset_id,)).rowcount

"""What the PostgreSQL backend keeps beside the answers so that work is not done twice: resume checkpoints and
the replies of LLM servers, as :mod:`.sqlite_caches` keeps them for SQLite (the same tables, the same rules:
losing one costs time, never an answer; dropping a dataset drops them). A mixin of
:class:`~.postgres.PostgresDatabase`, using its pool and dataset ids.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from .postgres_connect import Pool


class PostgresCaches:
    _pool: "Pool"

    if TYPE_CHECKING:  # the backend's own
        def _maybe_id(self, name: str) -> int | None:
            raise NotImplementedError

        def _all(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[Any]:
            raise NotImplementedError

        def _run(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> None:
            raise NotImplementedError

    # -- resume checkpoints -------------------------------------------------------
    def checkpoint(self, dataset: str, key: str) -> dict[str, Any] | None:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return None
        rows = self._all("SELECT value FROM checkpoints WHERE dataset_id = %s AND key = %s", (dataset_id, key))
        return json.loads(rows[0][0]) if rows else None

    def save_checkpoint(self, dataset: str, key: str, value: dict[str, Any]) -> None:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return
        # nothing when the dataset went meanwhile: there is nothing to resume (its foreign key: a drop waits)
        self._run("INSERT INTO checkpoints (dataset_id, key, value, updated) SELECT %s, %s, %s, %s "
                  "WHERE EXISTS (SELECT 1 FROM datasets WHERE id = %s AND name = %s) "
                  "ON CONFLICT (dataset_id, key) DO UPDATE SET value = excluded.value, updated = excluded.updated",
                  (dataset_id, key, json.dumps(value), time.time(), dataset_id, dataset))

    # -- LLM replies --------------------------------------------------------------
    def cached_replies(self, dataset: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        dataset_id = self._maybe_id(dataset)
        keys = list(dict.fromkeys(keys))
        found: dict[str, dict[str, Any]] = {}
        if dataset_id is None or not keys:
            return found
        for start in range(0, len(keys), 1000):
            found.update((key, json.loads(value)) for key, value in self._all(
                "SELECT key, value FROM llm_cache WHERE dataset_id = %s AND key = ANY(%s::text[])",
                (dataset_id, keys[start:start + 1000])))
        return found

    def cache_reply(self, dataset: str, key: str, value: dict[str, Any]) -> None:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return
        self._run("INSERT INTO llm_cache (dataset_id, key, value, created) SELECT %s, %s, %s, %s "
                  "WHERE EXISTS (SELECT 1 FROM datasets WHERE id = %s) "
                  "ON CONFLICT (dataset_id, key) DO UPDATE SET value = excluded.value, created = excluded.created",
                  (dataset_id, key, json.dumps(value), time.time(), dataset_id))

    def cache_stats(self, dataset: str) -> dict[str, Any]:
        dataset_id = self._maybe_id(dataset)
        stats: dict[str, Any] = {"replies": 0, "bytes": 0, "first": None, "last": None, "by_model": {}}
        if dataset_id is None:
            return stats
        ((count, size, first, last),) = self._all(
            "SELECT count(*), coalesce(sum(length(value)), 0)::bigint, min(created), max(created) FROM llm_cache "
            "WHERE dataset_id = %s", (dataset_id,))
        stats.update(replies=count, bytes=int(size), first=first, last=last)
        nul = "strpos(value, '\\u0000') > 0"  # PostgreSQL cannot read a NUL of JSON as text: those read here
        by_model: dict[str, int] = {}
        for model, n in self._all(f"SELECT value::json ->> 'model', count(*) FROM llm_cache WHERE dataset_id = %s "
                                  f"AND NOT {nul} GROUP BY 1", (dataset_id,)):
            by_model[str(model)] = n
        for (value,) in self._all(f"SELECT value FROM llm_cache WHERE dataset_id = %s AND {nul}", (dataset_id,)):
            model = json.loads(value).get("model") if isinstance(json.loads(value), dict) else None
            by_model[str(model)] = by_model.get(str(model), 0) + 1
        stats["by_model"] = dict(sorted(by_model.items(), key=lambda kv: -kv[1]))
        return stats

    def clear_cache(self, dataset: str) -> int:
        dataset_id = self._maybe_id(dataset)
        if dataset_id is None:
            return 0
        ((count,),) = self._all("WITH gone AS (DELETE FROM llm_cache WHERE dataset_id = %s RETURNING 1) "
                                "SELECT count(*) FROM gone", (dataset_id,))
        return int(count)

"""Storage: the only package that speaks SQL. Use :func:`connect`."""

from __future__ import annotations

import os

from ..errors import UserError
from .base import (ClaimLost, Database, DatasetCounts, DatasetDropped, DatasetInUse, LiveSession, SessionCounts,
                   StorageError, UnknownDataset, default_location)

__all__ = ["ClaimLost", "Database", "DatasetCounts", "DatasetDropped", "DatasetInUse", "LiveSession",
           "SessionCounts", "StorageError", "UnknownDataset", "connect", "default_location"]


def connect(location: str | os.PathLike[str] | None = None) -> Database:
    """Open (creating if needed) the database at ``location``.

    ``location`` is a file path for SQLite; ``None`` means ``$TUIANNOT_DB``, else
    ``~/.tuiannot/tuiannot.db``. A new database file is readable by its owner only, or in a team folder by the
    folder's group too (see :mod:`.sharing`).
    """
    location = str(location) if location is not None else default_location()
    if location.startswith(("postgresql://", "postgres://")):
        raise UserError("the PostgreSQL backend is not available in this version; use a SQLite file path")
    from .sqlite import SQLiteDatabase

    return SQLiteDatabase(os.path.expanduser(location))

"""Storage: the only package that speaks SQL. Use :func:`connect`."""

from __future__ import annotations

import os

from ..errors import UserError
from .base import (ClaimLost, Database, DatasetCounts, DatasetDropped, DatasetInUse, LiveSession, SessionCounts,
                   StorageError, UnknownDataset, default_location, is_url, shown_location)

__all__ = ["ClaimLost", "Database", "DatasetCounts", "DatasetDropped", "DatasetInUse", "LiveSession",
           "SessionCounts", "StorageError", "UnknownDataset", "connect", "default_location", "is_url",
           "shown_location"]


def connect(location: str | os.PathLike[str] | None = None) -> Database:
    """Open (creating if needed) the database at ``location``.

    ``location`` is a file path for SQLite, or a ``postgresql://`` (``postgres://``) URL for PostgreSQL (see
    :mod:`.postgres_connect`); ``None`` means ``$TUIANNOT_DB``, else ``~/.tuiannot/tuiannot.db``. A new database
    file is readable by its owner only, or in a team folder by the folder's group too (see :mod:`.sharing`); a
    PostgreSQL schema is created on first use. Either backend is imported only when used.
    """
    location = str(location) if location is not None else default_location()
    if is_url(location):
        try:
            from .postgres import PostgresDatabase
        except ImportError as e:
            if e.name not in ("psycopg", "psycopg_binary", "psycopg_c"):
                raise
            raise UserError(f"{shown_location(location)}: the PostgreSQL backend needs psycopg; install it with: "
                            "pip install 'tuiannot[postgres]'") from None
        return PostgresDatabase(location)
    from .sqlite import SQLiteDatabase

    return SQLiteDatabase(os.path.expanduser(location))

"""The process-wide operational store, built once from the settings."""

from __future__ import annotations

from functools import lru_cache

from cxloop.config import get_settings
from cxloop.store.db import Database


@lru_cache(maxsize=1)
def get_database() -> Database:
    """The store named by ``CXLOOP_DATABASE_URL`` (or the SQLite file in ``CXLOOP_HOME``)."""
    return Database(get_settings().resolved_database_url)

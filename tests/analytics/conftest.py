"""Fixtures shared by the analytics tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cxloop.store.db import Database

# (operational store, warehouse): a DuckDB warehouse beside either store, and the warehouse in
# place on PostgreSQL (the operational database itself; SQLite has no in-place warehouse).
SETUPS = [("sqlite", "duckdb"), ("postgresql", "duckdb"), ("postgresql", "postgresql")]


@pytest.fixture(params=SETUPS, ids=["-".join(s) for s in SETUPS])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Database, str]]:
    """A migrated store and the URL of its warehouse."""
    store, warehouse = request.param
    db = Database(request.getfixturevalue("sqlite_url" if store == "sqlite" else "pg_url"))
    url = db.url if warehouse == "postgresql" else f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    yield db, url
    db.dispose()

"""Fixtures: real stores (SQLite and PostgreSQL), a served app, factories."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

# Before any cxloop import: the queue and the settings read these once per process.
_HOME = tempfile.mkdtemp(prefix="cxloop-test-home-")
os.environ["CXLOOP_HOME"] = _HOME
os.environ["CXLOOP_ENVIRONMENT"] = "test"
os.environ.pop("CXLOOP_DATABASE_URL", None)
os.environ.pop("CXLOOP_QUEUE_URL", None)

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, text

from cxloop.store.db import Database
from cxloop.web.app import create_app
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate, WorkspaceCredentials
from tests.services import postgres_cluster, redis_server

PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster for the whole run."""
    with postgres_cluster() as url:
        yield url


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh, empty PostgreSQL database."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{pg_server}/{name}"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A throwaway Redis server for the whole run."""
    with redis_server() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'cxloop.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A migrated store, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("pg_url")
    db = Database(url)
    yield db
    db.dispose()


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    """A migrated SQLite store (the default engine)."""
    database = Database(sqlite_url)
    yield database
    database.dispose()


@pytest.fixture
def make_workspace(db: Database):
    """Factory: a workspace with its keys."""

    def make(name: str = "Boutique Test", locale: str = "fr") -> WorkspaceCredentials:
        with db.session() as session:
            return workspaces.create_workspace(session, WorkspaceCreate(name=name, locale=locale))

    return make


@pytest.fixture
def make_user(db: Database):
    """Factory: a console user, member of the given workspaces."""

    def make(email: str, *workspace_ids: str, role: str = "owner", locale: str | None = None):
        with db.session() as session:
            user = workspaces.create_user(session, email=email, password=PASSWORD, locale=locale)
            for workspace_id in workspace_ids:
                workspaces.add_member(session, workspace_id=workspace_id, user=user, role=role)
            return user

    return make


@pytest.fixture
def app(db: Database) -> FastAPI:
    """The app over the SQLite store."""
    return create_app(db)

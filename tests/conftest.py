"""Fixtures: real stores (SQLite and PostgreSQL), a served app, a real worker, factories."""

from __future__ import annotations

import os
import shutil
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
from tests.helpers.console import PASSWORD
from tests.helpers.services import RunningWorker, postgres_cluster, redis_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster for the whole run."""
    with postgres_cluster() as url:
        yield url


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> str:
    """A database migrated to head once for the run, the template of every test's database."""
    name = "t_template"
    admin = create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    Database(f"{pg_server}/{name}").dispose()  # migrates, then lets go of every connection
    return name


@pytest.fixture
def pg_url(pg_server: str, pg_template: str) -> str:
    """A fresh PostgreSQL database, migrated to head (a copy of the run's template: the
    migrations themselves run once, and again in the tests that take them down and up)."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    admin.dispose()
    return f"{pg_server}/{name}"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A throwaway Redis server for the whole run."""
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once for the run."""
    path = tmp_path_factory.mktemp("template") / "cxloop.db"
    Database(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh SQLite file, migrated to head (a copy of the run's template)."""
    path = tmp_path / "cxloop.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


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


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def worker(
    request: pytest.FixtureRequest, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningWorker]:
    """A real consumer on a fresh queue (a SQLite file, or the throwaway Redis), wired and with
    every task loaded as `cxloop worker` is; its tasks use the test's store."""
    from huey.storage import RedisStorage, SqliteStorage

    from cxloop.config import get_settings
    from cxloop.store.runtime import get_database
    from cxloop.wiring import wire
    from cxloop.worker.queue import EmbeddedConsumer, huey
    from cxloop.worker.registry import load_tasks

    if request.param == "redis":
        name = "cxloop-test-" + uuid.uuid4().hex[:8]
        storage = RedisStorage(name, url=request.getfixturevalue("redis_url"))
    else:
        storage = SqliteStorage("cxloop", filename=str(tmp_path / "queue.db"))
    monkeypatch.setattr(huey, "storage", storage)
    # Tasks find the store through the settings, as in `cxloop worker`.
    monkeypatch.setenv("CXLOOP_DATABASE_URL", db.url)
    get_settings.cache_clear()
    get_database.cache_clear()
    wire()
    load_tasks()
    get_database()  # before the threads start, as `cxloop worker` does
    running = RunningWorker(huey)
    huey.signal()(running.heard)
    consumer = EmbeddedConsumer(
        huey, workers=2, worker_type="thread", periodic=False, check_worker_health=False,
        max_delay=0.2,
    )  # fmt: skip
    consumer.start()
    try:
        yield running
    finally:
        consumer.stop(graceful=True)
        huey.disconnect_signal(running.heard)
        storage.flush_all()
        storage.close()
        if request.param == "redis":
            storage.pool.disconnect()
        get_database().dispose()
        get_settings.cache_clear()
        get_database.cache_clear()

"""Fixtures: real stores (SQLite and PostgreSQL), a served app, a real worker, factories."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


# Huey's signals that leave a task at rest: it ran (or failed for good), or it waits in the
# schedule for its time.
AT_REST = {"complete", "error", "scheduled", "canceled", "revoked", "expired", "locked"}


class RunningWorker:
    """A real Huey consumer (threads) on a throwaway queue, running the app's tasks over the
    test's store; it hears every task this process enqueues, and when each one is done."""

    def __init__(self, huey: Any) -> None:
        self.huey = huey
        self.enqueued: list[tuple[str, tuple[Any, ...]]] = []
        self._latest: dict[str, str] = {}
        self._changed = threading.Condition()

    def heard(self, signal: str, task: Any, *_: Any) -> None:
        """Huey's signal receiver: what became of each task."""
        with self._changed:
            if signal == "enqueued":
                self.enqueued.append((task.name, tuple(task.args)))
            self._latest[task.id] = signal
            self._changed.notify_all()

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until every task enqueued so far has run, or waits in the schedule."""
        with self._changed:
            done = self._changed.wait_for(
                lambda: all(s in AT_REST for s in self._latest.values()), timeout
            )
            busy = {k: v for k, v in self._latest.items() if v not in AT_REST}
        assert done, f"tasks not done after {timeout} s: {busy}"

    def scheduled(self) -> list[tuple[str, tuple[Any, ...], dt.datetime]]:
        """The tasks waiting in Huey's schedule: (name, args, due time in UTC)."""
        return [
            (task.name, tuple(task.args), task.eta.replace(tzinfo=dt.UTC))
            for task in self.huey.scheduled()
        ]

    def skip_ahead(self, seconds: float) -> None:
        """Run now what the schedule holds for the next ``seconds``, as its time had come."""
        later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=seconds)
        for task in self.huey.read_schedule(later):
            task.eta = None
            self.huey.enqueue(task)
        self.settle()


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

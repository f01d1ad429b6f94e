"""Background work: delayed tasks survive a restart; `serve` runs workers in-process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from huey.storage import RedisStorage, SqliteStorage

from cxloop.store.db import Database
from cxloop.worker import service
from cxloop.worker.queue import huey
from cxloop.worker.tasks import HEARTBEAT
from tests.helpers.services import free_port, wait_for_port

CXLOOP = str(Path(sys.executable).with_name("cxloop"))
ENQUEUE = (
    "import sys; from cxloop.worker.tasks import heartbeat_once; "
    "print(heartbeat_once.schedule(delay=float(sys.argv[1])).id)"
)


def _env(tmp_path: Path, queue_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["CXLOOP_HOME"] = str(tmp_path / "home")
    env["CXLOOP_DATABASE_URL"] = f"sqlite:///{tmp_path / 'store.db'}"
    env.pop("CXLOOP_QUEUE_URL", None)
    if queue_url:
        env["CXLOOP_QUEUE_URL"] = queue_url
    return env


def _schedule(env: dict[str, str], delay: float) -> str:
    out = subprocess.run(
        [sys.executable, "-c", ENQUEUE, str(delay)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def _runs(db: Database, task_id: str) -> list[str]:
    with db.session() as session:
        return [r.status for r in service.runs_of(session, HEARTBEAT, task_id)]


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@contextmanager
def _queue(env: dict[str, str]) -> Iterator[Any]:
    """The storage of the queue the workers of ``env`` use, read from the outside."""
    url = env.get("CXLOOP_QUEUE_URL")
    if url:
        storage: Any = RedisStorage("cxloop", url=url)
    else:
        home = Path(env["CXLOOP_HOME"])
        home.mkdir(parents=True, exist_ok=True)
        storage = SqliteStorage("cxloop", filename=str(home / "queue.db"))
    try:
        yield storage
    finally:
        storage.close()
        if url:
            storage.pool.disconnect()


def _claimed(queue: Any, task_id: str) -> bool:
    """Whether a worker took the task off the queue and keeps it in the schedule for its time."""
    scheduled = [huey.serializer.deserialize(item).id for item in queue.scheduled_items()]
    return queue.queue_size() == 0 and scheduled == [task_id]


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_delayed_task_survives_a_worker_crash_and_runs_once(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    queue_url = request.getfixturevalue("redis_url") if backend == "redis" else None
    env = _env(tmp_path, queue_url)
    db = Database(env["CXLOOP_DATABASE_URL"])
    with _queue(env) as queue:
        queue.flush_all()
        # given a task scheduled 15 s ahead, waiting in the queue
        task_id = _schedule(env, 15)
        due = time.monotonic() + 15
        assert queue.queue_size() == 1 and queue.schedule_size() == 0
        # and a worker that claims it (off the queue, into the schedule), then dies (kill -9)
        first = subprocess.Popen([CXLOOP, "worker"], env=env, stderr=subprocess.DEVNULL)
        assert _wait_for(lambda: _claimed(queue, task_id), timeout=10)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert time.monotonic() < due  # killed before the task's time: it never ran
        assert _runs(db, task_id) == [] and _claimed(queue, task_id)
        # when a new worker starts
        second = subprocess.Popen([CXLOOP, "worker"], env=env, stderr=subprocess.DEVNULL)
        try:
            # then the task runs at its time, exactly once
            assert _wait_for(lambda: _runs(db, task_id) == ["done"], timeout=40)
            time.sleep(2)
            assert _runs(db, task_id) == ["done"]
            assert queue.queue_size() == 0 and queue.schedule_size() == 0
        finally:
            second.send_signal(signal.SIGINT)
            second.wait(timeout=20)
    db.dispose()


def test_serve_runs_workers_in_process(tmp_path: Path) -> None:
    env = _env(tmp_path, None)
    port = free_port()
    server = subprocess.Popen(
        [CXLOOP, "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL
    )
    db = Database(env["CXLOOP_DATABASE_URL"])
    try:
        wait_for_port(port, timeout=30)
        # when a task is queued while only the server runs
        task_id = _schedule(env, 0)
        # then the server's own consumer threads run it, and health shows a live worker
        assert _wait_for(lambda: _runs(db, task_id) == ["done"], timeout=20)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["worker_alive"] is True
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=20) == 0

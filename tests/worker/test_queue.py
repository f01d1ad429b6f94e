"""Background work: delayed tasks survive a restart; `serve` runs workers in-process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cxloop.store.db import Database
from cxloop.worker import service
from cxloop.worker.tasks import HEARTBEAT
from tests.services import free_port, wait_for_port

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


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_delayed_task_survives_a_worker_crash_and_runs_once(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    queue_url = request.getfixturevalue("redis_url") if backend == "redis" else None
    env = _env(tmp_path, queue_url)
    db = Database(env["CXLOOP_DATABASE_URL"])
    # given a task scheduled 6 s ahead and a worker that picks it up, then dies (kill -9)
    task_id = _schedule(env, 6)
    first = subprocess.Popen([CXLOOP, "worker"], env=env, stderr=subprocess.DEVNULL)
    time.sleep(3)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert _runs(db, task_id) == []
    # when a new worker starts
    second = subprocess.Popen([CXLOOP, "worker"], env=env, stderr=subprocess.DEVNULL)
    try:
        # then the task runs at its time, exactly once
        assert _wait_for(lambda: _runs(db, task_id) == ["done"], timeout=30)
        time.sleep(2)
        assert _runs(db, task_id) == ["done"]
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(timeout=20)


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

"""Real throwaway servers for the tests: PostgreSQL, Redis, and cxloop itself (its server and a
worker's consumer)."""

from __future__ import annotations

import datetime as dt
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def free_port() -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    """Block until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")


def _pg_tool(name: str) -> str:
    for directory in PG_BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: make test installs Debian's postgresql")
    return found


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """A PostgreSQL cluster in a temp folder on a loopback port; yields a server URL."""
    root = Path(tempfile.mkdtemp(prefix="cxloop-pg-"))
    data = root / "data"
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    if as_root:  # initdb refuses to run as root: run the cluster as the postgres user
        account = pwd.getpwnam("postgres")
        os.chown(root, account.pw_uid, account.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [
            *prefix,
            _pg_tool("initdb"),
            "-D",
            str(data),
            "-U",
            "cxloop",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [
            *prefix,
            _pg_tool("pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://cxloop@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*prefix, _pg_tool("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def redis_server() -> Iterator[str]:
    """A Redis server on a loopback port with persistence off; yields its URL."""
    redis_bin = shutil.which("redis-server")
    if redis_bin is None:
        raise RuntimeError("redis-server not found: make test installs Debian's redis-server")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="cxloop-redis-")
    proc = subprocess.Popen(
        [
            redis_bin,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on 127.0.0.1; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


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

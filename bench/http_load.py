"""HTTP/1.1 load for the ingest benchmark: an open-loop generator and a closed-loop saturation run.

Open loop: the send times are drawn in advance (Poisson arrivals at a fixed rate), and each
request is sent at its time whatever the earlier ones are doing: on an idle keep-alive
connection if there is one, on a new connection otherwise. Its latency runs from the
*scheduled* time to the last byte of the answer, so a server stall shows as the latency of
every request due during it (no coordinated omission), and a client that falls behind its
schedule is charged for it too. The client records how late each send was (the send lag) and
how much CPU it used, to show whether it kept up.

Closed loop: a fixed number of connections each send the next request as soon as the last is
answered; only the throughput it reaches means something (its latency is Little's law).

A bare asyncio client: requests are built as bytes before the clock starts, and answers are
parsed only as far as the status line and ``Content-Length``, so that the client costs far
less CPU per call than the server it measures (a general-purpose client library does not).
"""

from __future__ import annotations

import asyncio
import math
import random
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, server: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    """Wait until something listens on 127.0.0.1:``port`` (a server started as ``server``)."""
    for _ in range(int(seconds * 10)):
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def track_request(host: str, authorization: str, body: bytes) -> bytes:
    """One ``POST /v1/track`` as it goes on the wire."""
    head = (
        f"POST /v1/track HTTP/1.1\r\nHost: {host}\r\nAuthorization: {authorization}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def poisson_schedule(rate: float, seconds: float, seed: int) -> list[float]:
    """Send times in seconds from the start: Poisson arrivals at ``rate`` per second."""
    rng = random.Random(seed)
    times: list[float] = []
    at = rng.expovariate(rate)
    while at < seconds:
        times.append(at)
        at += rng.expovariate(rate)
    return times


class _ClosedError(Exception):
    """The server closed a kept-alive connection before answering."""


class _Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Wrap an open stream pair."""
        self.reader = reader
        self.writer = writer
        self.alive = True

    async def exchange(self, request: bytes) -> int:
        """Send one request, read its whole answer, return the status code."""
        self.writer.write(request)
        status = await self.reader.readline()
        if not status:
            raise _ClosedError
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                self.alive = False
        await self.reader.readexactly(length)
        return int(status.split(b" ", 2)[1])

    def close(self) -> None:
        """Close the socket."""
        self.alive = False
        self.writer.close()


@dataclass
class _Pool:
    """Idle keep-alive connections, most recently used first; opens more when none is idle."""

    host: str
    port: int
    limit: int
    idle: list[_Connection] = field(default_factory=list)
    every: list[_Connection] = field(default_factory=list)
    opened: int = 0
    waited: int = 0
    _free: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def open(self) -> _Connection:
        """A new connection (counted)."""
        self.opened += 1
        reader, writer = await asyncio.open_connection(self.host, self.port)
        connection = _Connection(reader, writer)
        self.every.append(connection)
        return connection

    async def acquire(self) -> _Connection:
        """An idle connection, a new one under the limit, or the next one freed."""
        if self.idle:
            return self.idle.pop()
        if self.opened - len(self.idle) < self.limit:
            return await self.open()
        self.waited += 1
        async with self._free:
            await self._free.wait_for(lambda: bool(self.idle))
        return self.idle.pop()

    async def release(self, connection: _Connection) -> None:
        """Give a connection back (or drop it if the server closed it)."""
        if not connection.alive:
            connection.close()
            self.opened -= 1
            connection = await self.open()
        self.idle.append(connection)
        async with self._free:
            self._free.notify()

    def close(self) -> None:
        """Close every connection, busy ones included."""
        for connection in self.every:
            connection.close()
        self.idle.clear()
        self.every.clear()


@dataclass
class OpenLoopRun:
    """What one open-loop run measured; latencies and lags in seconds."""

    rate: float
    seconds: float
    scheduled: int
    latencies: list[float]  # of the calls answered 2xx, from their scheduled time
    answered_indices: list[int]  # which requests (index in the list given) were answered 2xx
    unanswered: list[float]  # calls still unanswered when the run gave up: time waited so far
    send_lags: list[float]
    errors: int
    connections: int
    waited_for_connection: int
    client_cpu: float  # CPU seconds the client used per second of the run

    @property
    def answered(self) -> int:
        """Requests answered 2xx."""
        return len(self.latencies)

    def percentile(self, q: float) -> float:
        """The ``q`` quantile (nearest rank) of the latency, unanswered calls included.

        An unanswered call counts with the time it had waited when the run gave up: a lower
        bound, so the figure is one too when ``unanswered`` is not empty.
        """
        return quantile(self.latencies + self.unanswered, q)


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``values``, nearest rank (1.0 is the maximum)."""
    data = sorted(values)
    if not data:
        return math.nan
    return data[min(len(data) - 1, max(0, math.ceil(q * len(data)) - 1))]


async def open_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    rate: float,
    seconds: float,
    *,
    seed: int = 1,
    max_connections: int = 512,
    warm_connections: int = 16,
    drain_seconds: float = 30.0,
) -> OpenLoopRun:
    """Send ``requests`` (cycled) on a Poisson schedule at ``rate`` for ``seconds``."""
    loop = asyncio.get_running_loop()
    schedule = poisson_schedule(rate, seconds, seed)
    pool = _Pool(host, port, max_connections)
    for connection in await asyncio.gather(*(pool.open() for _ in range(warm_connections))):
        pool.idle.append(connection)
    latencies: list[float] = []
    answered: list[int] = []
    lags: list[float] = []
    errors = 0

    async def one(index: int, due: float) -> None:
        nonlocal errors
        request = requests[index % len(requests)]
        connection = await pool.acquire()
        lags.append(loop.time() - due)
        try:
            status = await connection.exchange(request)
        except (_ClosedError, ConnectionError, asyncio.IncompleteReadError):
            # A kept-alive connection the server had closed: resend on a new one, still
            # charged from the scheduled time.
            connection.close()
            pool.opened -= 1
            connection = await pool.open()
            status = await connection.exchange(request)
        if 200 <= status < 300:
            latencies.append(loop.time() - due)
            answered.append(index % len(requests))
        else:
            errors += 1
        await pool.release(connection)

    tasks: dict[asyncio.Task[None], float] = {}
    cpu = time.process_time()
    start = loop.time() + 0.05
    for k, offset in enumerate(schedule):
        due = start + offset
        if (delay := due - loop.time()) > 0:
            await asyncio.sleep(delay)
        tasks[asyncio.create_task(one(k, due))] = due
    pending: set[asyncio.Task[None]] = set()
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=drain_seconds)
    gave_up = loop.time()
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    errors += sum(1 for task in tasks if not task.cancelled() and task.exception() is not None)
    cpu = time.process_time() - cpu
    pool.close()
    return OpenLoopRun(
        rate=rate,
        seconds=seconds,
        scheduled=len(schedule),
        latencies=latencies,
        answered_indices=answered,
        unanswered=[gave_up - tasks[task] for task in pending],
        send_lags=lags,
        errors=errors,
        connections=pool.opened,
        waited_for_connection=pool.waited,
        client_cpu=cpu / (gave_up - start),
    )


async def settle(host: str, port: int, request: bytes, under: float, within: float) -> float:
    """Send ``request`` one at a time until one is answered in ``under`` seconds.

    After a run that overloaded the server, its backlog must drain before the next run
    starts. Gives up after ``within`` seconds; returns how long it waited.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < within:
        reader, writer = await asyncio.open_connection(host, port)
        connection = _Connection(reader, writer)
        sent = loop.time()
        await connection.exchange(request)
        connection.close()
        if loop.time() - sent < under:
            break
        await asyncio.sleep(0.2)
    return loop.time() - started


async def closed_loop(
    host: str, port: int, requests: Sequence[bytes], connections: int, seconds: float
) -> float:
    """Calls per second answered 2xx when ``connections`` clients send back to back."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    answered = 0

    async def client(index: int) -> None:
        nonlocal answered
        reader, writer = await asyncio.open_connection(host, port)
        connection = _Connection(reader, writer)
        k = index
        while loop.time() < deadline:
            if 200 <= await connection.exchange(requests[k % len(requests)]) < 300:
                answered += 1
            k += connections
        connection.close()

    started = loop.time()
    await asyncio.gather(*(client(i) for i in range(connections)))
    return answered / (loop.time() - started)

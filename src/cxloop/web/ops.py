"""Operations endpoints: /healthz and Prometheus /metrics."""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import text

from cxloop import __version__
from cxloop.errors import InvalidInput
from cxloop.store.db import Database
from cxloop.worker import service as worker

router = APIRouter(include_in_schema=False)


class Metrics:
    """The app's Prometheus collectors, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "cxloop_http_requests_total",
            "HTTP requests handled.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "cxloop_http_request_duration_seconds",
            "Time to answer HTTP requests.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.heartbeat = Gauge(
            "cxloop_worker_last_heartbeat_timestamp_seconds",
            "Unix time of the last worker heartbeat (0 if none).",
            registry=self.registry,
        )
        self.pending = Gauge(
            "cxloop_queue_pending_tasks", "Tasks waiting in the queue.", registry=self.registry
        )


def _heartbeat(db: Database) -> float:
    with db.session() as session:
        last = worker.last_run_at(session, "worker.heartbeat")
    return last.timestamp() if last else 0.0


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    """Liveness and readiness: the store answers; when the worker last beat."""
    db: Database = request.app.state.db
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any store failure makes us unhealthy
        return JSONResponse({"status": "error", "database": repr(exc)}, status_code=503)
    beat = _heartbeat(db)
    return JSONResponse(
        {
            "status": "ok",
            "version": __version__,
            "database": db.dialect,
            "worker_last_heartbeat": beat or None,
            "worker_alive": bool(beat) and time.time() - beat < 180,
        }
    )


LOOPBACK = {"127.0.0.1", "::1", "localhost", "testclient"}


def _may_scrape(request: Request) -> bool:
    token = request.app.state.settings.metrics_token
    if token:
        presented = request.headers.get("authorization", "")
        return hmac.compare_digest(presented.encode(), f"Bearer {token}".encode())
    # Without a token, only the machine itself may scrape.
    return request.client is not None and request.client.host in LOOPBACK


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text exposition (Bearer CXLOOP_METRICS_TOKEN, or loopback without one)."""
    if not _may_scrape(request):
        raise InvalidInput(
            "authorization", "metrics need the metrics token", status=401, code="unauthorized"
        )
    state: Metrics = request.app.state.metrics
    state.heartbeat.set(_heartbeat(request.app.state.db))
    from cxloop.worker.queue import huey

    state.pending.set(huey.pending_count())
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)

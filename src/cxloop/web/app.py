"""The application factory."""

from __future__ import annotations

import importlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cxloop import __version__, assistant, i18n
from cxloop.config import Settings, get_settings
from cxloop.ingest.router import WriteKeys
from cxloop.ingest.writer import IngestWriter
from cxloop.store.db import Database
from cxloop.store.registry import domain_modules
from cxloop.web import errors, ops, templating
from cxloop.web.limits import RateLimits
from cxloop.wiring import wire
from cxloop.workspaces import sessions

STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
}
# Production is served over HTTPS only: browsers must never try plain HTTP for a year.
HSTS = "max-age=31536000; includeSubDomains"


class ObserveMiddleware:
    """Sets the request's locale, counts and times requests, adds security headers.

    An HTML page that says nothing of caching gets ``Cache-Control: no-store``: console pages
    show a workspace's data, which a shared computer's cache must not keep after sign-out.
    With ``hsts``, every answer carries ``Strict-Transport-Security``.

    Plain ASGI rather than BaseHTTPMiddleware: it runs on every ingest call, so it must be cheap.
    """

    def __init__(
        self, app: ASGIApp, *, metrics: ops.Metrics, default_locale: str, hsts: bool = False
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.default_locale = default_locale
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = scope.get("session") or {}
        lang = session.get("lang")
        if lang not in i18n.LOCALES:
            accept = None
            for name, value in scope["headers"]:
                if name == b"accept-language":
                    accept = value.decode("latin-1")
            lang = i18n.negotiate(accept, self.default_locale)
        token = i18n.current_locale.set(lang)
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Language", lang)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Cache-Control", "no-store")
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            i18n.current_locale.reset(token)
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            method = scope["method"]
            self.metrics.requests.labels(method, path, str(status)).inc()
            self.metrics.latency.labels(method, path).observe(time.perf_counter() - started)


def create_app(
    database: Database | None = None,
    *,
    settings: Settings | None = None,
    with_worker: bool = False,
) -> FastAPI:
    """Build the API and console over ``database`` (the configured store by default), once
    the domains' hooks are wired (``cxloop.wiring``)."""
    wire()
    settings = settings or get_settings()
    if database is None:
        database = Database(settings.resolved_database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        consumer = None
        app.state.ingest_writer.start()
        if with_worker:
            from cxloop.worker.registry import load_tasks

            load_tasks()
            from cxloop.worker.queue import start_embedded

            consumer = start_embedded(settings.worker_threads)
        try:
            yield
        finally:
            app.state.ingest_writer.stop()
            if consumer is not None:
                from cxloop.worker.queue import stop_embedded

                stop_embedded(consumer)

    app = FastAPI(
        title="cxloop",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
        responses=errors.RESPONSES,
    )
    app.state.db = database
    app.state.settings = settings
    app.state.templates = templating.build_templates()
    app.state.metrics = ops.Metrics()
    app.state.ingest_writer = IngestWriter(database)
    app.state.write_keys = WriteKeys(database)
    app.state.rate_limits = RateLimits()
    # The shopping assistant's optional language model (CXLOOP_LLM_URL).
    app.state.llm = assistant.llm_client(settings)
    errors.install(app)
    templating.install(app)

    app.add_middleware(
        ObserveMiddleware,
        metrics=app.state.metrics,
        default_locale=settings.default_locale,
        hsts=settings.environment == "production",
    )
    # Added last so that it runs first: the session is there for the middleware above.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key(),
        session_cookie="cxloop_session",
        # The cookie only carries the server-side session's id; the store decides if it is live.
        max_age=int(sessions.LIFETIME.total_seconds()),
        same_site="lax",
        https_only=settings.environment == "production",
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(ops.router)
    for router in domain_routers():
        app.include_router(router)
    return app


def domain_routers() -> list[APIRouter]:
    """Every domain's routers (``routers`` in its ``router`` module), found by walking the
    package: a new domain's pages and API join the app without editing this file."""
    found: list[APIRouter] = []
    for name in domain_modules("router"):
        found.extend(importlib.import_module(name).routers)
    return found

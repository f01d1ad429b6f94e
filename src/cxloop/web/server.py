"""Running the app under uvicorn."""

from __future__ import annotations

import gc

import uvicorn

from cxloop.config import get_settings
from cxloop.store.runtime import get_database
from cxloop.web.app import create_app


def run_server(*, host: str, port: int, with_worker: bool) -> None:
    """Serve API and console on ``host:port`` until interrupted."""
    settings = get_settings()
    settings.served_at(host, port)  # survey links point here unless CXLOOP_PUBLIC_URL is set
    app = create_app(get_database(), settings=settings, with_worker=with_worker)
    # A full collection walks every object, the many the libraries load at start included, and
    # stalls every thread while it runs: it showed as the tail of ingest latency. Freezing the
    # start-up heap leaves later collections only what requests create.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True)

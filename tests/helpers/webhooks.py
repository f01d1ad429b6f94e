"""A webhook endpoint on 127.0.0.1 for the tests of alerts."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cxloop.config import get_settings


class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps what it receives (and can fail on demand)."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0
        # Called with each body before answering, e.g. to look at the store meanwhile.
        self.during: Callable[[bytes], None] | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.during is not None:
                    receiver.during(body)
                if receiver.fail_next:
                    receiver.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.calls.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def signature_of(workspace_id: str, body: bytes) -> str:
    """The ``X-Cxloop-Signature`` a workspace's webhook body carries (journeys, tickets)."""
    secret = get_settings().resolved_secret_key()
    key = hmac.new(secret.encode(), f"journey-webhooks:{workspace_id}".encode(), hashlib.sha256)
    digest = hmac.new(key.hexdigest().encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"

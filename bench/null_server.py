"""The ingest latency baseline: an ASGI app that reads the request and answers, doing nothing.

Served by uvicorn with the settings ``cxloop serve`` uses (``cxloop.web.server``: the same
event loop and HTTP parser, access log on, proxy headers), so that the same load against it
shows the floor that HTTP, uvicorn, the client and the shared machine set, without cxloop.

    .venv/bin/python bench/null_server.py --port 8001
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ANSWER = b'{"success":true}'


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Read the whole body, answer 200 with the body cxloop's ingest answers."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = bool(message.get("more_body"))
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(ANSWER)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": ANSWER})


def main() -> None:
    """Serve the app on 127.0.0.1 until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="info", proxy_headers=True)


if __name__ == "__main__":
    main()

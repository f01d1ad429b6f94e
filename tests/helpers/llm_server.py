"""A local OpenAI-compatible chat endpoint on 127.0.0.1, for the tests of the optional LLM.

It checks the documented request shape (``POST /v1/chat/completions``: a JSON object with a
``model`` string and ``messages``, each a ``role`` among system/user/assistant with a string
``content``; ``temperature`` a number and ``max_tokens`` a positive integer when given) and
answers ``400`` with an OpenAI-style error otherwise; a valid request gets a documented chat
completion (``id``, ``object``, ``created``, ``model``, ``choices``, ``usage``) whose message
is what ``answer`` returns for the request.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ROLES = ("system", "user", "assistant")
NOT_FOUND = {"error": {"message": "not found", "type": "invalid_request_error"}}


def _shape_error(body: Any) -> str | None:
    """What is wrong with a chat completion request, or ``None``."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: a string is required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: a non-empty list is required"
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            return "messages: each needs a role among system, user, assistant"
        if not isinstance(message.get("content"), str):
            return "messages: each needs a string content"
    temperature = body.get("temperature", 1)
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        return "temperature: a number is required"
    tokens = body.get("max_tokens", 1)
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
        return "max_tokens: a positive integer is required"
    return None


class LlmServer:
    """The endpoint's state: what it received, and how it behaves (change it at any time).

    - ``answer(request)``: the assistant message's content for a valid request;
    - ``status``: another status than 200 answers with an OpenAI-style error body;
    - ``delay``: seconds to wait before answering;
    - ``body``: bytes sent as they are (with status 200) instead of a completion.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []  # the valid JSON bodies received
        self.headers: list[dict[str, str]] = []  # their headers, lower-case names
        self.invalid: list[str] = []  # why requests were answered 400
        self.answer: Callable[[dict[str, Any]], str] = lambda request: "OK"
        self.status = 200
        self.delay = 0.0
        self.body: bytes | None = None
        self.url = ""
        self.stopping = threading.Event()

    def user_message(self, index: int = -1) -> str:
        """The user message of the ``index``-th request received."""
        return next(m["content"] for m in self.requests[index]["messages"] if m["role"] == "user")

    def system_message(self, index: int = -1) -> str:
        """The system message of the ``index``-th request received."""
        found = [m["content"] for m in self.requests[index]["messages"] if m["role"] == "system"]
        return found[0] if found else ""


def _handler(state: LlmServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._send(404, NOT_FOUND)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != "/v1/chat/completions":
                self._send(
                    404, {"error": {"message": "not found", "type": "invalid_request_error"}}
                )
                return
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            problem = _shape_error(body)
            if problem is None and "json" not in (self.headers.get("Content-Type") or ""):
                problem = "Content-Type: application/json is required"
            if problem is not None:
                state.invalid.append(problem)
                self._send(400, {"error": {"message": problem, "type": "invalid_request_error"}})
                return
            state.requests.append(body)
            state.headers.append({k.lower(): v for k, v in self.headers.items()})
            if state.delay and state.stopping.wait(state.delay):
                return
            if state.body is not None:
                self._send_bytes(200, state.body)
            elif state.status != 200:
                error = {"message": "the model failed", "type": "server_error"}
                self._send(state.status, {"error": error})
            else:
                self._send(200, _completion(body, state.answer(body)))

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            self._send_bytes(status, json.dumps(payload).encode())

        def _send_bytes(self, status: int, data: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test)

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler


def _completion(request: dict[str, Any], content: str) -> dict[str, Any]:
    """A chat completion as OpenAI documents it."""
    prompt = sum(len(m["content"].split()) for m in request["messages"])
    answered = len(content.split())
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": answered,
            "total_tokens": prompt + answered,
        },
    }


@contextmanager
def llm_server() -> Iterator[LlmServer]:
    """A running endpoint; its ``url`` is the base to configure (``http://127.0.0.1:N/v1``)."""
    state = LlmServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()


def closed_url() -> str:
    """The base URL of a port on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"

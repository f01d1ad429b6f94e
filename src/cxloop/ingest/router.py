"""Segment-compatible ingest: `/v1/{track,identify,page,screen,group,alias,batch}` and the
short paths analytics.js uses, its settings document, CORS, gzip, text/plain JSON."""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from cxloop import inputs, workspaces
from cxloop.errors import InvalidInput
from cxloop.ingest import webhooks
from cxloop.ingest.segment import SHORT_PATHS, parse_request
from cxloop.ingest.writer import IngestWriter
from cxloop.store.base import utcnow
from cxloop.store.db import Database

router = APIRouter(prefix="/v1", tags=["ingest"])
routers = (router, webhooks.router)
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    # Listed by name: a wildcard does not cover Authorization, and analytics.js sends
    # X-Retry-Count on retries.
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding, X-Retry-Count",
    "Access-Control-Max-Age": "86400",
}
KEY_TTL_SECONDS = 30.0
# A batch is 500 KB once unzipped (segment.MAX_BATCH_BYTES); what arrives may be a little more.
MAX_REQUEST_BYTES = 600 * 1024


class WriteKeys:
    """Write key → workspace, cached briefly (a revoked key stops working within the TTL)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: dict[str, tuple[str | None, float]] = {}

    def workspace_of(self, key: str) -> str | None:
        """The workspace of a valid write key, else None."""
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        with self._db.session() as session:
            owner = workspaces.resolve_key(session, key)
        workspace_id = owner.workspace_id if owner and owner.kind == "write" else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (workspace_id, now + KEY_TTL_SECONDS)
        return workspace_id


def _refused(status: int, code: str, detail: str, field: str) -> InvalidInput:
    """A refusal answered with the CORS headers, so that browsers let analytics.js read it."""
    return InvalidInput(field, detail, status=status, code=code, headers=CORS)


def _basic_user(header: str | None) -> str | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, _password = decoded.partition(":")
    return user or None


async def _ingest(request: Request, path_type: str) -> Response:
    received_at = utcnow()
    keys: WriteKeys = request.app.state.write_keys
    # A key in the Authorization header is checked before the body is read: a stranger's
    # request costs a header, not its body.
    header_key = _basic_user(request.headers.get("authorization"))
    workspace_id = keys.workspace_of(header_key) if header_key else None
    if header_key and workspace_id is None:
        raise _refused(401, "unauthorized", "unknown write key", "writeKey")
    try:
        raw = await inputs.capped_body(request, MAX_REQUEST_BYTES, status=400)
        messages, body_key = parse_request(
            path_type, raw, request.headers.get("content-encoding"), received_at
        )
    except InvalidInput as exc:
        raise _refused(exc.status, exc.code, exc.message, exc.field) from None
    if workspace_id is None:
        if body_key is None:
            raise _refused(
                401, "unauthorized", "write key required (Basic user name or writeKey)", "writeKey"
            )
        workspace_id = keys.workspace_of(body_key)
        if workspace_id is None:
            raise _refused(401, "unauthorized", "unknown write key", "writeKey")
    writer: IngestWriter = request.app.state.ingest_writer
    await writer.submit(workspace_id, messages)
    return JSONResponse({"success": True}, headers=CORS)


@router.options("/{path:path}", include_in_schema=False)
async def preflight(path: str) -> Response:
    """CORS preflight for browsers (analytics.js)."""
    return Response(status_code=204, headers=CORS)


@router.post("/m", include_in_schema=False)
async def client_metrics() -> Response:
    """analytics.js reports its own delivery metrics here; we take them and keep nothing."""
    return Response(status_code=200, headers=CORS)


@router.get("/projects/{write_key}/settings")
async def settings(request: Request, write_key: str) -> Response:
    """The settings document analytics.js loads first: it sends events back to this server."""
    keys: WriteKeys = request.app.state.write_keys
    if keys.workspace_of(write_key) is None:
        raise _refused(404, "not_found", "unknown write key", "writeKey")
    host = request.headers.get("x-forwarded-host") or request.url.netloc
    scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
    document: dict[str, Any] = {
        "integrations": {
            "Segment.io": {
                "apiKey": write_key,
                "apiHost": f"{host}/v1",
                "protocol": scheme,
                "unbundledIntegrations": [],
                "addBundledMetadata": True,
                "maybeBundledConfigIds": {},
            }
        },
        "plan": {
            "track": {"__default": {"enabled": True, "integrations": {}}},
            "identify": {"__default": {"enabled": True}},
            "group": {"__default": {"enabled": True}},
        },
        "edgeFunction": {},
        "analyticsNextEnabled": True,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "metrics": {"sampleRate": 0},
        "legacyVideoPluginsEnabled": False,
        "remotePlugins": [],
    }
    return JSONResponse(document, headers={**CORS, "Cache-Control": "max-age=60"})


_CALL: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {
            "type": "string",
            "enum": ["identify", "track", "page", "screen", "group", "alias"],
        },
        "userId": {"type": "string", "maxLength": 200},
        "anonymousId": {"type": "string", "maxLength": 200},
        "messageId": {"type": "string", "maxLength": 200},
        "event": {"type": "string", "maxLength": 200},
        "name": {"type": "string"},
        "groupId": {"type": "string", "maxLength": 200},
        "previousId": {"type": "string", "maxLength": 200},
        "timestamp": {"type": "string", "format": "date-time"},
        "sentAt": {"type": "string", "format": "date-time"},
        "properties": {"type": "object"},
        "traits": {"type": "object"},
        "context": {"type": "object"},
        "integrations": {"type": "object"},
        "writeKey": {"type": "string"},
    },
}
_BATCH: dict[str, Any] = {
    "type": "object",
    "required": ["batch"],
    "properties": {
        "batch": {"type": "array", "items": _CALL, "maxItems": 2500},
        "context": {"type": "object"},
        "sentAt": {"type": "string", "format": "date-time"},
        "writeKey": {"type": "string"},
    },
}


def _body(path_type: str) -> dict[str, Any]:
    """The OpenAPI request body of a path (JSON; analytics.js also sends it as text/plain)."""
    schema = _BATCH if path_type == "batch" else _CALL
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _route(path_type: str, path: str) -> None:
    async def endpoint(request: Request) -> Response:
        return await _ingest(request, path_type)

    endpoint.__name__ = f"ingest_{path.strip('/')}"
    endpoint.__doc__ = f"Segment `{path_type}` call(s), write key as Basic user name."
    router.add_api_route(
        path,
        endpoint,
        methods=["POST"],
        include_in_schema=len(path) > 2,
        openapi_extra=_body(path_type),
    )


for _short, _type in SHORT_PATHS.items():
    _route(_type, f"/{_type}")
    _route(_type, f"/{_short}")

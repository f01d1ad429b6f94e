"""Segment's tracking spec: parsing, limits and validation of incoming calls.

Follows the public spec (segment.com/docs/connections/spec): common fields (``type``,
``messageId``, ``timestamp``, ``sentAt``, ``context``, ``integrations``, ``userId`` /
``anonymousId``), per-type fields, and the documented limits: 32 KB per call, 500 KB per batch
request. We also cap a batch at 2,500 calls. A request is accepted or refused whole.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from cxloop import inputs
from cxloop.errors import InvalidInput

MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_EVENTS = 2500
TYPES = ("identify", "track", "page", "screen", "group", "alias")
SHORT_PATHS = {
    "i": "identify",
    "t": "track",
    "p": "page",
    "s": "screen",
    "g": "group",
    "a": "alias",
    "b": "batch",
}


def _refused(code: str, detail: str, where: str) -> InvalidInput:
    """A refused request (400, as in Segment's API) and where, a JSON path: ``batch[3].event``."""
    return InvalidInput(where, detail, status=400, code=code)


@dataclass
class Message:
    """One validated call, ready to store."""

    type: str
    message_id: str
    user_id: str | None
    anonymous_id: str | None
    event: str | None
    properties: dict[str, Any]
    traits: dict[str, Any]
    context: dict[str, Any]
    timestamp: dt.datetime
    sent_at: dt.datetime | None
    received_at: dt.datetime
    previous_id: str | None = None
    group_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def decode_body(raw: bytes, content_encoding: str | None, limit: int) -> Any:
    """The JSON document in a request body (gzip or plain; any content type), within ``limit``."""
    if content_encoding and content_encoding.strip().lower() == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(raw, limit + 1)
        except zlib.error:
            raise _refused("invalid_body", "body is not valid gzip", "body") from None
        if inflater.unconsumed_tail:
            raise _refused("too_large", f"body exceeds {limit} bytes once unzipped", "body")
    if len(raw) > limit:
        raise _refused("too_large", f"body exceeds {limit} bytes", "body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _refused("invalid_json", f"invalid JSON: {exc}", "body") from None


def parse_time(value: Any, where: str) -> dt.datetime | None:
    """An ISO 8601 time as aware UTC (no zone means UTC), within the input policy's years."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _refused("invalid_field", "must be an ISO 8601 string", where)
    try:
        return inputs.iso_datetime(value, where)
    except InvalidInput as exc:
        raise _refused("invalid_field", exc.message, where) from None


def _json(value: Any, where: str, *, depth_only: bool = False) -> Any:
    # depth_only: before the size is known, bounded only by the body's own size.
    bounds = {"max_nodes": MAX_BATCH_BYTES, "max_string": MAX_BATCH_BYTES} if depth_only else {}
    try:
        return inputs.json_value(value, where, **bounds)
    except InvalidInput as exc:
        raise _refused("invalid_field", exc.message, where) from None


def _id(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _refused("invalid_field", "must be a string", where)
    text = str(value)
    if len(text) > 200:
        raise _refused("invalid_field", "longer than 200 characters", where)
    return text


def _object(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _refused("invalid_field", "must be an object", where)
    return dict(_json(value, where))


def _size(item: dict[str, Any]) -> int:
    return len(orjson.dumps(item))


def validate_call(
    item: Any,
    where: str,
    received_at: dt.datetime,
    *,
    implied_type: str | None = None,
    batch_context: dict[str, Any] | None = None,
    check_size: bool = True,
) -> Message:
    """Check one call against the spec and turn it into a :class:`Message`."""
    if not isinstance(item, dict):
        raise _refused("invalid_call", "must be a JSON object", where)
    # Depth first: the size below is measured by encoding, which stops far sooner than decoding.
    for name, value in item.items():
        if isinstance(value, dict | list):
            _json(value, f"{where}.{name}", depth_only=True)
    if check_size and _size(item) > MAX_EVENT_BYTES:
        raise _refused("too_large", f"call exceeds {MAX_EVENT_BYTES} bytes", where)
    kind = item.get("type", implied_type)
    if implied_type and kind != implied_type:
        raise _refused(
            "invalid_field", f"type must be {implied_type!r} on this path", f"{where}.type"
        )
    if kind not in TYPES:
        raise _refused("invalid_field", f"type must be one of {', '.join(TYPES)}", f"{where}.type")
    user_id = _id(item.get("userId"), f"{where}.userId")
    anonymous_id = _id(item.get("anonymousId"), f"{where}.anonymousId")
    if user_id is None and anonymous_id is None:
        raise _refused("invalid_call", "userId or anonymousId is required", f"{where}.userId")
    context = _object(item.get("context"), f"{where}.context")
    if batch_context:
        context = {**batch_context, **context}
    integrations = _object(item.get("integrations"), f"{where}.integrations")
    if integrations:
        context = {**context, "integrations": integrations}
    message_id = _id(item.get("messageId"), f"{where}.messageId") or f"cx-{uuid.uuid4()}"
    original = parse_time(item.get("timestamp"), f"{where}.timestamp")
    sent_at = parse_time(item.get("sentAt"), f"{where}.sentAt")
    if original is None:
        timestamp = received_at
    elif sent_at is not None:
        # The client's clock may be wrong; the offset between its two readings is not.
        try:
            timestamp = inputs.shifted(received_at, original - sent_at, f"{where}.timestamp")
        except InvalidInput as exc:
            raise _refused("invalid_field", exc.message, exc.field) from None
    else:
        timestamp = original
    event: str | None = None
    properties = _object(item.get("properties"), f"{where}.properties")
    traits = _object(item.get("traits"), f"{where}.traits")
    previous_id = group_id = None
    if kind == "track":
        event = item.get("event")
        if not isinstance(event, str) or not event.strip():
            raise _refused("invalid_field", "track needs an event name", f"{where}.event")
        if len(event) > 200:
            raise _refused("invalid_field", "longer than 200 characters", f"{where}.event")
    elif kind in ("page", "screen"):
        name = item.get("name")
        if name is not None and not isinstance(name, str):
            raise _refused("invalid_field", "must be a string", f"{where}.name")
        event = name[:200] if name else None
        category = item.get("category")
        if isinstance(category, str) and category:
            properties = {**properties, "category": properties.get("category", category)}
    elif kind == "identify":
        traits = traits or _object(context.get("traits"), f"{where}.context.traits")
        properties = traits
    elif kind == "group":
        group_id = _id(item.get("groupId"), f"{where}.groupId")
        if group_id is None:
            raise _refused("invalid_field", "group needs a groupId", f"{where}.groupId")
        properties = {"groupId": group_id, "traits": traits}
    elif kind == "alias":
        previous_id = _id(item.get("previousId"), f"{where}.previousId")
        if previous_id is None or user_id is None:
            raise _refused(
                "invalid_field", "alias needs previousId and userId", f"{where}.previousId"
            )
        properties = {"previousId": previous_id}
    return Message(
        type=kind,
        message_id=message_id,
        user_id=user_id,
        anonymous_id=anonymous_id,
        event=event,
        properties=properties,
        traits=traits,
        context=context,
        timestamp=timestamp,
        sent_at=sent_at,
        received_at=received_at,
        previous_id=previous_id,
        group_id=group_id,
    )


def parse_request(
    path_type: str, raw: bytes, content_encoding: str | None, received_at: dt.datetime
) -> tuple[list[Message], str | None]:
    """Every call of a request, validated, with the body's ``writeKey`` if it has one."""
    if path_type == "batch":
        document = decode_body(raw, content_encoding, MAX_BATCH_BYTES)
        if not isinstance(document, dict):
            raise _refused("invalid_body", "must be a JSON object", "body")
        batch = document.get("batch")
        if not isinstance(batch, list):
            raise _refused("invalid_field", "batch must be an array", "batch")
        if len(batch) > MAX_BATCH_EVENTS:
            raise _refused("too_large", f"more than {MAX_BATCH_EVENTS} calls", "batch")
        context = _object(document.get("context"), "context")
        sent_at = document.get("sentAt")
        messages = []
        for index, item in enumerate(batch):
            if isinstance(item, dict) and sent_at is not None and "sentAt" not in item:
                item = {**item, "sentAt": sent_at}
            messages.append(
                validate_call(item, f"batch[{index}]", received_at, batch_context=context)
            )
        return messages, _write_key(document)
    document = decode_body(raw, content_encoding, MAX_EVENT_BYTES)
    message = validate_call(document, "body", received_at, implied_type=path_type, check_size=False)
    return [message], _write_key(document)


def _write_key(document: Any) -> str | None:
    key = document.get("writeKey") if isinstance(document, dict) else None
    return key if isinstance(key, str) and key else None

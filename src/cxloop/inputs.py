"""The input policy: what every entry point accepts before anything is stored.

Segment ingest, store webhooks, the survey page and widget, admin API bodies and CSV imports
check their values here, so that a value the store, the response serialiser or Python itself
cannot carry is refused at the edge as a 4xx naming the field, never met later as a 5xx:

- JSON: at most ``MAX_DEPTH`` levels and ``MAX_NODES`` keys and items in one stored value,
  strings and keys within ``MAX_STRING``, numbers finite and within 64 bits;
- scores: ASCII digits only, 0 to 10;
- money: at most ``MAX_CENTS`` minor units either way (the integer columns hold it);
- times: years ``MIN_YEAR`` to ``MAX_YEAR`` once normalised to UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import orjson
import yaml
from annotated_types import Interval
from starlette.requests import Request

from cxloop.errors import InvalidInput

MAX_DEPTH = 32
MAX_NODES = 10_000
MAX_STRING = 32 * 1024
MIN_YEAR = 1970
MAX_YEAR = 2200
EARLIEST = dt.datetime(MIN_YEAR, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(MAX_YEAR, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)
# The narrowest money column (prices) is a 32-bit integer of minor units.
MAX_CENTS = 2**31 - 1
MAX_AMOUNT = Decimal(MAX_CENTS) / 100
_INT64 = 2**63
# A row id in a path or query: what the store's 64-bit keys can hold.
RowId = Annotated[int, Interval(ge=1, le=_INT64 - 1)]
# A page number or offset in a query: within 32 bits, so that page times size stays in 64.
MAX_OFFSET = 2**31 - 1
PageNumber = Annotated[int, Interval(ge=-MAX_OFFSET, le=MAX_OFFSET)]
_SCORE = re.compile(r"[0-9]{1,2}")
_AMOUNT_TEXT = 64


def json_value(
    value: Any, field: str, *, max_nodes: int = MAX_NODES, max_string: int = MAX_STRING
) -> Any:
    """``value`` if it is JSON the store and the API can carry back; else refused."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise InvalidInput(field, f"nested deeper than {MAX_DEPTH} levels", status=400)
            nodes += len(item)
            if nodes > max_nodes:
                raise InvalidInput(field, f"more than {max_nodes} keys and items", status=400)
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str) or len(key) > max_string:
                        raise InvalidInput(field, "keys must be short strings", status=400)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            if len(item) > max_string:
                raise InvalidInput(field, f"a string is over {max_string} characters", status=400)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not -_INT64 <= item < _INT64:
                raise InvalidInput(field, "a number is outside 64 bits", status=400)
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                raise InvalidInput(field, "numbers must be finite", status=400)
        else:
            raise InvalidInput(field, "not a JSON value", status=400)
    return value


def json_document(raw: bytes, field: str = "body", *, max_nodes: int = MAX_NODES) -> Any:
    """The JSON document in ``raw`` (UTF-8), within the policy; a 400 otherwise.

    ``max_nodes`` may be raised for a document that is read rather than stored whole (a store's
    webhook); its strings are then bounded by the body only.
    """
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            field, f"body is not JSON: {exc}", status=400, code="invalid_json"
        ) from None
    max_string = MAX_STRING if max_nodes == MAX_NODES else len(raw)
    return json_value(document, field, max_nodes=max_nodes, max_string=max_string)


def yaml_document(text: str, field: str = "body") -> Any:
    """The YAML document in ``text``, within the JSON policy; a 400 otherwise.

    YAML's aliases let a few hundred bytes describe billions of nodes ("billion laughs"): the
    loader only links them, and the policy's node count refuses the document before anything
    walks it whole.
    """
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(field, f"invalid YAML: {exc}") from None
    return json_value(document, field)


def utc_datetime(value: dt.datetime, field: str) -> dt.datetime:
    """``value`` in UTC (naive means UTC), within years ``MIN_YEAR`` to ``MAX_YEAR``."""
    try:
        moment = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    except OverflowError:
        moment = None
    if moment is None or not EARLIEST <= moment <= LATEST:
        raise InvalidInput(field, f"must be a time between {MIN_YEAR} and {MAX_YEAR}")
    return moment


def iso_datetime(value: str, field: str, default_zone: dt.tzinfo = dt.UTC) -> dt.datetime:
    """An ISO 8601 time (``Z`` allowed; no offset means ``default_zone``) as aware UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field, f"not an ISO 8601 time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_zone)
    return utc_datetime(parsed, field)


def shifted(moment: dt.datetime, offset: dt.timedelta, field: str) -> dt.datetime:
    """``moment + offset`` (a clock-skew correction), refused rather than overflowing."""
    try:
        result = moment + offset
    except OverflowError:
        result = None
    if result is None or not EARLIEST <= result <= LATEST:
        raise InvalidInput(field, f"must be a time between {MIN_YEAR} and {MAX_YEAR}")
    return result


def score(value: object, field: str = "score", low: int = 0, high: int = 10) -> int | None:
    """A score typed or posted as text: ASCII digits from ``low`` to ``high``; blank is None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(field, f"must be an integer from {low} to {high}")
    text = str(value).strip() if isinstance(value, str | int) else None
    if text == "":
        return None
    if text is None or not _SCORE.fullmatch(text) or not low <= int(text) <= high:
        raise InvalidInput(field, f"must be an integer from {low} to {high}")
    return int(text)


def amount(value: object, field: str = "amount") -> Decimal:
    """A finite money amount within ``MAX_AMOUNT`` either way (``"12.90"``, ``12.9``, Decimal)."""
    if isinstance(value, bool):
        raise InvalidInput(field, "not an amount")
    if isinstance(value, Decimal):
        number = value
    else:
        text = repr(value) if isinstance(value, float) else str(value).strip()
        if len(text) > _AMOUNT_TEXT:
            raise InvalidInput(field, f"must be at most {MAX_AMOUNT} either way")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise InvalidInput(field, f"not an amount: {text[:40]!r}") from None
    if not number.is_finite():
        raise InvalidInput(field, "not an amount")
    if abs(number) > MAX_AMOUNT:
        raise InvalidInput(field, f"must be at most {MAX_AMOUNT} either way")
    return number


def text(value: str, field: str, max_length: int) -> str:
    """``value`` if it is at most ``max_length`` characters."""
    if len(value) > max_length:
        raise InvalidInput(field, f"longer than {max_length} characters")
    return value


async def capped_body(request: Request, limit: int, *, status: int = 413) -> bytes:
    """The request's body, refused once it declares or streams more than ``limit`` bytes.

    Read chunk by chunk, so a client that sends a huge (or chunked) body is refused after at most
    ``limit`` bytes, not after the server has buffered all of it.
    """
    declared = request.headers.get("content-length", "")
    refusal = InvalidInput("body", f"body over {limit} bytes", status=status, code="too_large")
    if declared.isdigit() and int(declared) > limit:
        raise refusal
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise refusal
        chunks.append(chunk)
    return b"".join(chunks)

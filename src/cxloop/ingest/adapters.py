"""What the webhook receiver shares with each store platform's adapter (Shopify, WooCommerce).

An adapter names its headers and maps each topic it understands to a handler that validates
the payload and writes it through ``commerce.records``. Payload models ignore fields they do
not use and check the ones they do: a store's payload is user input like any other.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)
from sqlalchemy.orm import Session

from cxloop import inputs
from cxloop.errors import InvalidInput

_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_GTIN = re.compile(r"^\d{8,14}$")


@dataclass(frozen=True)
class StoreContext:
    """The workspace a delivery is for, and what the payload does not say itself."""

    workspace_id: str
    currency: str
    shop_domain: str | None = None


@dataclass(frozen=True)
class Applied:
    """What a handler did: the subject (``order 1001``) and, if nothing was applied, why."""

    subject: str
    skipped: str | None = None


Handler = Callable[[Session, StoreContext, dict[str, Any]], Applied]


def _never_ping(_headers: Mapping[str, str], _body: bytes) -> bool:
    return False


@dataclass(frozen=True)
class Platform:
    """A store platform's webhook conventions and the topics cxloop applies."""

    name: str
    label: str
    signature_header: str
    topic_header: str
    delivery_header: str
    topics: Mapping[str, Handler]
    domain_header: str | None = None
    # WooCommerce checks a new webhook's URL with an unsigned ping that must get a 200.
    is_ping: Callable[[Mapping[str, str], bytes], bool] = field(default=_never_ping)


class Payload(BaseModel):
    """Base of the platforms' payload models: unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


M = TypeVar("M", bound=Payload)


def parse(model: type[M], payload: object) -> M:
    """Validate ``payload`` against ``model``, naming the first field at fault."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "body"
        raise InvalidInput(where, first.get("msg", "invalid"), code="invalid_payload") from None


def _blank_to_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _amount(value: object) -> object:
    if value is None or isinstance(value, bool | dict | list) or str(value).strip() == "":
        return value  # the model's own error names the type
    # Floats from JSON (WooCommerce line prices) go through their shortest text form; any
    # amount beyond what the money columns hold is refused here.
    try:
        return inputs.amount(value)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


def _non_negative(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0:
        raise ValueError("must be a non-negative amount")
    return value


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be an amount")
    return value


def _as_utc(value: dt.datetime) -> dt.datetime:
    # WooCommerce's *_gmt fields carry no offset but are UTC.
    try:
        return inputs.utc_datetime(value, "time")
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


Amount = Annotated[Decimal, BeforeValidator(_amount), AfterValidator(_non_negative)]
SignedAmount = Annotated[Decimal, BeforeValidator(_amount), AfterValidator(_finite)]
OptionalAmount = Annotated[
    Decimal | None,
    BeforeValidator(_blank_to_none),
    BeforeValidator(_amount),
    AfterValidator(lambda v: None if v is None else _non_negative(v)),
]
UtcDatetime = Annotated[dt.datetime, AfterValidator(_as_utc)]
OptionalUtcDatetime = Annotated[
    dt.datetime | None,
    BeforeValidator(_blank_to_none),
    AfterValidator(lambda v: None if v is None else _as_utc(v)),
]
# Shopify's times carry their offset.
AwareUtc = Annotated[AwareDatetime, AfterValidator(_as_utc)]
OptionalAwareUtc = Annotated[
    AwareDatetime | None, AfterValidator(lambda v: None if v is None else _as_utc(v))
]
# Seconds since 1970 (WooCommerce's tracking dates), within the policy's years.
EpochSeconds = Annotated[int, Field(ge=0, le=int(inputs.LATEST.timestamp()))]
Text = Annotated[str | None, BeforeValidator(_blank_to_none)]


def url_or_none(value: str | None) -> str | None:
    """``value`` if it is an http(s) URL, else None (a ``javascript:`` link is never kept)."""
    if value is None:
        return None
    value = value.strip()
    return value if _URL.match(value) and len(value) <= 2000 else None


def country_or_none(value: str | None) -> str | None:
    """A two-letter ISO country code, upper-cased, or None."""
    if value is None:
        return None
    value = value.strip().upper()
    return value if _COUNTRY.match(value) else None


def gtin_or_none(value: str | None) -> str | None:
    """A GTIN (8 to 14 digits), or None."""
    if value is None:
        return None
    value = value.strip()
    return value if _GTIN.match(value) else None


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "p", "li", "div", "tr", "h1", "h2", "h3", "h4"):
            self.parts.append("\n")


def plain_text(html: str | None) -> str:
    """The text of an HTML fragment (product descriptions), markup dropped, spaces tidied."""
    if not html:
        return ""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def first_option(names: Mapping[str, str | None], *wanted: str) -> str | None:
    """The value of the first option whose name (case-insensitive) is one of ``wanted``."""
    for name, value in names.items():
        if name.strip().lower() in wanted and value and value.strip():
            return value.strip()
    return None


COLOR_NAMES = ("color", "colour", "couleur", "coloris")
SIZE_NAMES = ("size", "taille", "pointure")

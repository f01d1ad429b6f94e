"""Bulk imports from files: customers, orders and the catalog (headers in docs/imports.md).

CSV files are UTF-8, separated by commas, semicolons or tabs (read from the header line), with
a decimal point or a decimal comma. The catalog also comes from Google Merchant Center feeds:
RSS/Atom XML with the ``g:`` namespace, or TSV with the feed's columns.

An import reads and checks the whole file before it writes anything (``read_file``), then
applies it in the caller's transaction (``apply``): a bad row stops it with the file, the line
and the reason, and nothing of the file is written; with ``skip_bad_rows`` the good rows are
applied and the bad ones reported. Rows are keyed by the store's ids (customer id, email or
phone; order id; SKU), so importing a file again updates what the first import wrote.

Times without an offset are in the workspace's time zone; a date alone is the start of that
day, except a promised delivery date, which means "by the end of that day".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from cxloop import csv_files, inputs, profiles
from cxloop.commerce import (
    ORDER_STATUSES,
    SHIPMENT_STATUSES,
    CustomerData,
    ItemData,
    OrderData,
    ProductData,
    RefundData,
    ShipmentData,
    to_cents,
    upsert_customer,
    upsert_order,
    upsert_product,
)
from cxloop.csv_files import BadRow
from cxloop.errors import InvalidInput
from cxloop.ingest.adapters import gtin_or_none, url_or_none
from cxloop.ingest.feeds import FeedError, sniff, xml_items
from cxloop.ingest.service import record_event
from cxloop.workspaces import audit, get_workspace

KINDS = ("customers", "orders", "catalog")
PLATFORM = "import"
Progress = Callable[[str, int, int], None]

CUSTOMER_COLUMNS = (
    "customer_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "country",
    "city",
    "locale",
    "created_at",
)
TRAIT_PREFIX = "trait_"
ORDER_COLUMNS = (
    "order_id",
    "placed_at",
    "customer_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "currency",
    "shipping",
    "discount",
    "total",
    "coupon",
    "status",
    "shipping_country",
    "channel",
    "cancelled_at",
    "refunded",
    "refunded_at",
)
LINE_COLUMNS = ("sku", "title", "quantity", "unit_price")
SHIPMENT_COLUMNS = (
    "shipment_id",
    "carrier",
    "method",
    "tracking_number",
    "shipment_status",
    "shipped_at",
    "promised_at",
    "delivered_at",
)
CATALOG_COLUMNS = (
    "id",
    "title",
    "description",
    "link",
    "image_link",
    "availability",
    "price",
    "sale_price",
    "brand",
    "gtin",
    "google_product_category",
    "product_type",
    "color",
    "size",
    "gender",
    "age_group",
    "item_group_id",
)
REQUIRED = {
    "customers": (),
    "orders": ("order_id", "placed_at", "sku", "quantity", "unit_price"),
    "catalog": ("id", "title", "price"),
}
AVAILABILITY = ("in_stock", "out_of_stock", "preorder", "backorder")
GENDERS = ("male", "female", "unisex")
AGE_GROUPS = ("newborn", "infant", "toddler", "kids", "adult")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ().\-]{4,24}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_AMOUNT = re.compile(r"^\d+(?:[.,]\d{1,2})?$", re.ASCII)
_PRICE = re.compile(r"^(\d+(?:[.,]\d{1,2})?)(?:\s*([A-Za-z]{3}))?$", re.ASCII)
_LOCALE = re.compile(r"^[a-z]{2}(?:[-_][A-Za-z]{2})?$")
_PROGRESS_EVERY = 64 * 1024


class _Invalid(ValueError):  # noqa: N818  (a refused value, not a failure)
    """A value refused; the message names the column."""


@dataclass(frozen=True)
class Skipped:
    """A line left out by ``skip_bad_rows``, and why."""

    line: int
    reason: str


@dataclass(frozen=True)
class Defaults:
    """What a file may leave out: the workspace's time zone and currency."""

    timezone: ZoneInfo
    currency: str


@dataclass
class Parsed:
    """A file read and checked: its records (with their first line) and the lines skipped."""

    kind: str
    path: str
    records: list[tuple[int, Any]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import did: records created, records that existed (updated), lines skipped."""

    imported: int = 0
    updated: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The JSON document ``cxloop import --json`` prints."""
        return {
            "imported": self.imported,
            "updated": self.updated,
            "skipped": [{"line": s.line, "reason": s.reason} for s in self.skipped],
        }


def defaults_of(session: Session, workspace_id: str) -> Defaults:
    """The time zone and currency of a workspace; InvalidInput if there is none."""
    workspace = get_workspace(session, workspace_id)
    if workspace is None:
        raise InvalidInput("--workspace", f"no workspace {workspace_id!r}")
    try:
        zone = ZoneInfo(workspace.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return Defaults(timezone=zone, currency=workspace.currency)


# Reading values ------------------------------------------------------------------------------


def _column(name: str) -> str:
    name = name.strip().lower().replace(" ", "_").replace("-", "_")
    return name.removeprefix("g:")


def _text(row: dict[str, str], column: str, size: int) -> str | None:
    value = row.get(column, "").strip()
    if not value:
        return None
    if len(value) > size:
        raise _Invalid(f"{column}: longer than {size} characters")
    return value


def _choice(row: dict[str, str], column: str, allowed: Iterable[str]) -> str | None:
    value = _text(row, column, 40)
    if value is None:
        return None
    value = value.lower().replace(" ", "_")
    allowed = tuple(allowed)
    if value not in allowed:
        raise _Invalid(f"{column}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _email(row: dict[str, str]) -> str | None:
    value = _text(row, "email", 320)
    if value is not None and not _EMAIL.match(value):
        raise _Invalid(f"email: {value!r} is not an email address")
    return value


def _phone(row: dict[str, str]) -> str | None:
    value = _text(row, "phone", 40)
    if value is not None and not _PHONE.match(value):
        raise _Invalid(f"phone: {value!r} is not a phone number")
    return value


def _country(row: dict[str, str], column: str) -> str | None:
    value = _text(row, column, 2)
    if value is not None and not value.isalpha():
        raise _Invalid(f"{column}: {value!r} is not a two-letter country code")
    return value.upper() if value else None


def _cents(row: dict[str, str], column: str, *, required: bool = False) -> int | None:
    value = row.get(column, "").strip().replace("\u00a0", "").replace(" ", "")
    if not value:
        if required:
            raise _Invalid(f"{column}: missing")
        return None
    if not _AMOUNT.match(value):
        raise _Invalid(f"{column}: {value!r} is not an amount like 12.90")
    return _to_cents(column, value)


def _to_cents(column: str, value: str) -> int:
    try:
        return to_cents(value.replace(",", "."))
    except ValueError as exc:
        raise _Invalid(f"{column}: {exc}") from None


def _quantity(row: dict[str, str]) -> int:
    value = row.get("quantity", "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 9 or int(value) < 1:
        raise _Invalid(f"quantity: {value!r} is not a whole number of 1 or more")
    if int(value) > 1_000_000:
        raise _Invalid(f"quantity: {value} is too large")
    return int(value)


def _currency(row: dict[str, str], default: str) -> str:
    value = row.get("currency", "").strip().upper()
    if not value:
        return default
    if not _CURRENCY.match(value):
        raise _Invalid(f"currency: {value!r} is not an ISO 4217 code like EUR")
    return value


def _moment(
    row: dict[str, str], column: str, zone: ZoneInfo, *, end_of_day: bool = False
) -> dt.datetime | None:
    value = row.get(column, "").strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            clock = dt.time(23, 59, 59) if end_of_day else dt.time(0, 0)
            moment = dt.datetime.combine(day, clock, tzinfo=zone)
        else:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
    except ValueError:
        raise _Invalid(f"{column}: {value!r} is not an ISO 8601 date or time") from None
    try:
        return inputs.utc_datetime(moment, column)
    except InvalidInput as exc:
        raise _Invalid(f"{column}: {value!r} {exc.message}") from None


# Reading files -------------------------------------------------------------------------------


class _Lines:
    """The lines of a text file, reporting how many bytes were read as they go."""

    def __init__(self, stream: IO[str], total: int, progress: Progress | None) -> None:
        self.stream = stream
        self.total = total
        self.progress = progress
        self.done = 0

    def __iter__(self) -> Iterator[str]:
        reported = 0
        for line in self.stream:
            self.done += len(line.encode("utf-8", "replace"))
            if self.progress is not None and self.done - reported >= _PROGRESS_EVERY:
                reported = self.done
                self.progress("reading", self.done, self.total)
            yield line
        if self.progress is not None:
            self.progress("reading", self.total, self.total)


def _records(lines: Iterable[str], label: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    header, rows = csv_files.records(lines, label)
    if not any(cell.strip() for cell in header):
        raise BadRow(label, 1, "empty file: a header line is needed")
    names = [_column(cell) for cell in header]
    for name in names:
        if not name:
            raise BadRow(label, 1, "a column has no name")
        if names.count(name) > 1:
            raise BadRow(label, 1, f"column {name!r} appears twice")
    return names, rows


def _check_header(kind: str, names: list[str], label: str) -> None:
    missing = [c for c in REQUIRED[kind] if c not in names]
    if missing:
        raise BadRow(label, 1, f"missing column(s): {', '.join(missing)}")
    if kind == "customers":
        if not {"customer_id", "email", "phone"} & set(names):
            raise BadRow(label, 1, "needs a customer_id, email or phone column")
        unknown = [n for n in names if n not in CUSTOMER_COLUMNS and not n.startswith(TRAIT_PREFIX)]
        hint = f" (custom traits: prefix them with {TRAIT_PREFIX})"
    elif kind == "orders":
        known = ORDER_COLUMNS + LINE_COLUMNS + SHIPMENT_COLUMNS
        unknown = [n for n in names if n not in known]
        hint = ""
    else:
        unknown = []  # feeds carry many more attributes: kept in the product's attributes
        hint = ""
    if unknown:
        raise BadRow(label, 1, f"unknown column(s): {', '.join(unknown)}{hint}")


def _rows(
    kind: str, path: Path, label: str, progress: Progress | None
) -> Iterator[tuple[int, dict[str, str] | _Invalid]]:
    """Each record as a dict of column to text (or the reason it cannot be one)."""
    total = path.stat().st_size
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            head = stream.read(4096)
            stream.seek(0)
            lines = _Lines(stream, total, progress)
            if kind == "catalog" and sniff(path, head) == "xml":
                try:
                    for line, item in xml_items(lines):
                        yield line, {_column(k): v for k, v in item.items()}
                except FeedError as exc:
                    raise BadRow(label, exc.line, exc.reason) from None
                return
            names, records = _records(lines, label)
            _check_header(kind, names, label)
            for line, record in records:
                if len(record) != len(names):
                    yield line, _Invalid(f"{len(record)} fields where the header has {len(names)}")
                else:
                    yield line, dict(zip(names, record, strict=True))
    except UnicodeDecodeError:
        raise BadRow(
            label, _line_of_bad_bytes(path), "not UTF-8 text (save the file as UTF-8)"
        ) from None


def _line_of_bad_bytes(path: Path) -> int:
    with path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1


# Rows to records -----------------------------------------------------------------------------


def _customer(row: dict[str, str], defaults: Defaults) -> tuple[CustomerData, dt.datetime | None]:
    locale = _text(row, "locale", 8)
    if locale is not None and not _LOCALE.match(locale):
        raise _Invalid(f"locale: {locale!r} is not a locale like fr or fr-FR")
    traits = {
        name.removeprefix(TRAIT_PREFIX): value.strip()[:500]
        for name, value in row.items()
        if name.startswith(TRAIT_PREFIX) and len(name) > len(TRAIT_PREFIX) and value.strip()
    }
    data = CustomerData(
        user_id=_text(row, "customer_id", 200),
        email=_email(row),
        phone=_phone(row),
        first_name=_text(row, "first_name", 100),
        last_name=_text(row, "last_name", 100),
        country=_country(row, "country"),
        city=_text(row, "city", 100),
        locale=locale,
        traits=traits,
    )
    if not (data.user_id or data.email or data.phone):
        raise _Invalid("customer_id, email, phone: one of them is needed")
    return data, _moment(row, "created_at", defaults.timezone)


def _product(row: dict[str, str], defaults: Defaults) -> ProductData:
    sku = _text(row, "id", 100) or _text(row, "sku", 100)
    if sku is None:
        raise _Invalid("id: missing")
    title = _text(row, "title", 300)
    if title is None:
        raise _Invalid("title: missing")
    price, currency = _price(row, "price", required=True)
    assert price is not None
    sale, sale_currency = _price(row, "sale_price")
    currency = currency or defaults.currency
    if sale is not None and (sale_currency or currency) != currency:
        raise _Invalid("sale_price: not in the currency of price")
    if sale is not None and sale >= price:
        sale = None  # not a sale; Merchant Center ignores it too
    urls = {}
    for column in ("link", "image_link"):
        value = _text(row, column, 2000)
        if value is not None and url_or_none(value) is None:
            raise _Invalid(f"{column}: {value!r} is not an http(s) URL")
        urls[column] = value
    gtin = _text(row, "gtin", 20)
    if gtin is not None and gtin_or_none(gtin) is None:
        raise _Invalid(f"gtin: {gtin!r} is not 8 to 14 digits")
    product_type = _text(row, "product_type", 750)
    google_category = _text(row, "google_product_category", 750)
    category = ""
    for path in (product_type, google_category):
        if path and not path.isdigit():
            category = path.split(">")[-1].strip()[:100]
            break
    size = _text(row, "size", 100)
    extras = {
        name: value.strip()[:500]
        for name, value in row.items()
        if name not in CATALOG_COLUMNS and name not in ("sku", "atom_id") and value.strip()
    }
    attributes: dict[str, Any] = {**extras}
    for name, value in (
        ("item_group_id", _text(row, "item_group_id", 100)),
        ("product_type", product_type),
        ("google_product_category", google_category),
    ):
        if value:
            attributes[name] = value
    return ProductData(
        sku=sku,
        title=title,
        price_cents=price,
        sale_price_cents=sale,
        currency=currency,
        description=_text(row, "description", 20_000) or "",
        category=category,
        brand=_text(row, "brand", 100) or "",
        color=_text(row, "color", 50),
        sizes=tuple(s.strip() for s in size.split(",") if s.strip()) if size else (),
        gender=_choice(row, "gender", GENDERS),
        age_group=_choice(row, "age_group", AGE_GROUPS),
        availability=_choice(row, "availability", AVAILABILITY) or "in_stock",
        url=urls["link"],
        image_url=urls["image_link"],
        gtin=gtin,
        attributes=attributes,
    )


def _price(
    row: dict[str, str], column: str, *, required: bool = False
) -> tuple[int | None, str | None]:
    value = row.get(column, "").strip().replace("\u00a0", " ")
    if not value:
        if required:
            raise _Invalid(f"{column}: missing")
        return None, None
    match = _PRICE.match(value)
    if match is None:
        raise _Invalid(f"{column}: {value!r} is not a price like 12.90 EUR")
    amount, currency = match.groups()
    if currency is not None and not _CURRENCY.match(currency.upper()):
        raise _Invalid(f"{column}: {currency!r} is not a currency code")
    return _to_cents(column, amount), currency.upper() if currency else None


@dataclass
class _Draft:
    """An order gathered from its lines."""

    first_line: int
    fields: dict[str, tuple[int, str]] = field(default_factory=dict)
    items: list[tuple[int, ItemData]] = field(default_factory=list)
    parcels: dict[str, dict[str, tuple[int, str]]] = field(default_factory=dict)


def _gather(
    store: dict[str, tuple[int, str]], row: dict[str, str], columns: Iterable[str], line: int
) -> None:
    """Keep the order-level (or parcel-level) values of a line; they must agree across lines."""
    for column in columns:
        value = row.get(column, "").strip()
        if not value:
            continue
        if column in store and store[column][1] != value:
            first = store[column][0]
            raise _Invalid(
                f"{column}: {value!r} differs from {store[column][1]!r} on line {first} "
                f"for the same order"
            )
        store.setdefault(column, (line, value))


def _line_item(row: dict[str, str]) -> ItemData:
    sku = _text(row, "sku", 100)
    if sku is None:
        raise _Invalid("sku: missing")
    unit = _cents(row, "unit_price", required=True)
    assert unit is not None
    return ItemData(
        sku=sku,
        title=_text(row, "title", 300) or sku,
        quantity=_quantity(row),
        unit_price_cents=unit,
    )


def _order(order_id: str, draft: _Draft, defaults: Defaults) -> OrderData:
    """The order a draft's lines describe; raises _Invalid naming the column."""
    row = {column: value for column, (_line, value) in draft.fields.items()}
    zone = defaults.timezone
    placed_at = _moment(row, "placed_at", zone)
    if placed_at is None:
        raise _Invalid("placed_at: missing")
    items = tuple(item for _line, item in draft.items)
    subtotal = sum(item.total_cents for item in items)
    shipping = _cents(row, "shipping") or 0
    discount = _cents(row, "discount") or 0
    total = _cents(row, "total")
    if total is None:
        total = subtotal - discount + shipping
        if total < 0:
            raise _Invalid("discount: larger than the lines and shipping")
    status = _choice(row, "status", ORDER_STATUSES)
    cancelled_at = _moment(row, "cancelled_at", zone)
    parcels = tuple(_parcel(order_id, pid, fields, zone) for pid, fields in draft.parcels.items())
    if status is None:
        if cancelled_at is not None:
            status = "cancelled"
        elif any(p.shipped_at or p.delivered_at for p in parcels):
            status = "fulfilled"
        else:
            status = "placed"
    if status == "cancelled" and cancelled_at is None:
        cancelled_at = placed_at  # the file does not say when: the order never counted
    refunded = _cents(row, "refunded") or 0
    refunds: tuple[RefundData, ...] = ()
    if refunded:
        when = _moment(row, "refunded_at", zone) or cancelled_at or placed_at
        refunds = (RefundData(external_id=PLATFORM, amount_cents=refunded, refunded_at=when),)
    customer = CustomerData(
        user_id=_text(row, "customer_id", 200),
        email=_email(row),
        phone=_phone(row),
        first_name=_text(row, "first_name", 100),
        last_name=_text(row, "last_name", 100),
    )
    return OrderData(
        external_id=order_id,
        placed_at=placed_at,
        currency=_currency(row, defaults.currency),
        items=items,
        subtotal_cents=subtotal,
        shipping_cents=shipping,
        discount_cents=discount,
        total_cents=total,
        status=status,
        customer=customer if (customer.user_id or customer.email or customer.phone) else None,
        coupon_code=_text(row, "coupon", 64),
        shipping_country=_country(row, "shipping_country"),
        channel=_text(row, "channel", 32) or "web",
        cancelled_at=cancelled_at,
        refunds=refunds,
        shipments=parcels,
    )


def _parcel(
    order_id: str, parcel_id: str, fields: dict[str, tuple[int, str]], zone: ZoneInfo
) -> ShipmentData:
    row = {column: value for column, (_line, value) in fields.items()}
    shipped = _moment(row, "shipped_at", zone)
    delivered = _moment(row, "delivered_at", zone)
    status = _choice(row, "shipment_status", SHIPMENT_STATUSES)
    if status is None:
        status = "delivered" if delivered else ("in_transit" if shipped else "pending")
    return ShipmentData(
        external_id=parcel_id,
        order_external_id=order_id,
        status=status,
        carrier=_text(row, "carrier", 50) or "",
        method=_text(row, "method", 50),
        tracking_number=_text(row, "tracking_number", 100),
        shipped_at=shipped,
        promised_at=_moment(row, "promised_at", zone, end_of_day=True),
        delivered_at=delivered,
    )


# Reading and applying ------------------------------------------------------------------------


def read_file(
    kind: str,
    path: Path,
    defaults: Defaults,
    *,
    skip_bad_rows: bool = False,
    progress: Progress | None = None,
) -> Parsed:
    """Read and check a whole file; raises BadRow on the first bad row unless skipping them."""
    if kind not in KINDS:
        raise InvalidInput("kind", f"must be one of {', '.join(KINDS)}")
    label = str(path)
    if not path.is_file():
        raise BadRow(label, 0, "no such file")
    parsed = Parsed(kind=kind, path=label)

    def refuse(line: int, reason: str) -> None:
        if not skip_bad_rows:
            raise BadRow(label, line, reason)
        parsed.skipped.append(Skipped(line, reason))

    drafts: dict[str, _Draft] = {}
    for line, row in _rows(kind, path, label, progress):
        if isinstance(row, _Invalid):
            refuse(line, str(row))
            continue
        try:
            if kind == "customers":
                parsed.records.append((line, _customer(row, defaults)))
            elif kind == "catalog":
                parsed.records.append((line, _product(row, defaults)))
            else:
                _add_line(drafts, row, line)
        except _Invalid as exc:
            refuse(line, str(exc))
    for order_id, draft in drafts.items():
        try:
            parsed.records.append((draft.first_line, _order(order_id, draft, defaults)))
        except _Invalid as exc:
            for line in sorted({draft.first_line, *(n for n, _ in draft.items)}):
                refuse(line, f"order {order_id}: {exc}")
    parsed.skipped.sort(key=lambda s: s.line)
    return parsed


def _add_line(drafts: dict[str, _Draft], row: dict[str, str], line: int) -> None:
    order_id = _text(row, "order_id", 100)
    if order_id is None:
        raise _Invalid("order_id: missing")
    item = _line_item(row)
    known = order_id in drafts
    draft = drafts[order_id] if known else _Draft(first_line=line)
    # Check the whole line before keeping any of it, so that a skipped line leaves no trace.
    fields, parcels = dict(draft.fields), {k: dict(v) for k, v in draft.parcels.items()}
    _gather(fields, row, (c for c in ORDER_COLUMNS if c != "order_id"), line)
    if any(row.get(c, "").strip() for c in SHIPMENT_COLUMNS):
        parcel_id = _text(row, "shipment_id", 100) or f"order-{order_id}"
        parcel = parcels.setdefault(parcel_id, {})
        _gather(parcel, row, (c for c in SHIPMENT_COLUMNS if c != "shipment_id"), line)
    _order_checks(fields)
    draft.fields, draft.parcels = fields, parcels
    draft.items.append((line, item))
    if not known:
        drafts[order_id] = draft


def _order_checks(fields: dict[str, tuple[int, str]]) -> None:
    """Check the order-level values as soon as a line gives them (errors on that line)."""
    row = {column: value for column, (_line, value) in fields.items()}
    _email(row)
    _phone(row)
    _country(row, "shipping_country")
    _choice(row, "status", ORDER_STATUSES)
    _currency(row, "EUR")
    for column in ("shipping", "discount", "total", "refunded"):
        _cents(row, column)
    zone = ZoneInfo("UTC")  # only the syntax is checked here
    for column in ("placed_at", "cancelled_at", "refunded_at"):
        _moment(row, column, zone)


def apply(
    session: Session,
    workspace_id: str,
    parsed: Parsed,
    *,
    actor: str = "cli",
    progress: Progress | None = None,
) -> ImportReport:
    """Write a checked file in the caller's transaction; re-applying it updates, never doubles."""
    report = ImportReport(skipped=list(parsed.skipped))
    total = len(parsed.records)
    newest_before = profiles.newest_customer_id(session, workspace_id)
    created_customers: set[int] = set()
    for done, (_line, record) in enumerate(parsed.records, start=1):
        if parsed.kind == "customers":
            data, at = record
            customer = upsert_customer(session, workspace_id, data, source=PLATFORM, at=at)
            # A customer is new if this import made it (ids only grow).
            assert customer is not None
            new = customer.id > newest_before and customer.id not in created_customers
            created_customers.add(customer.id)
            outcome = "created" if new else "updated"
        elif parsed.kind == "catalog":
            outcome = upsert_product(session, workspace_id, record)
        else:
            outcome = upsert_order(
                session, workspace_id, record, platform=PLATFORM, track=record_event
            ).outcome
        if outcome == "created":
            report.imported += 1
        else:
            report.updated += 1
        if progress is not None and (done % 200 == 0 or done == total):
            progress("writing", done, total)
    audit(
        session,
        actor=actor,
        action=f"import.{parsed.kind}",
        workspace_id=workspace_id,
        subject=Path(parsed.path).name[:200],
        data={
            "imported": report.imported,
            "updated": report.updated,
            "skipped": len(report.skipped),
        },
    )
    return report

"""Bulk imports (customers, orders, catalog) through the CLI, and the import service itself."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cxloop.commerce.models import Order, OrderItem, OrderRefund, Product, Shipment
from cxloop.ingest import imports
from cxloop.ingest.models import Event, WebhookSecret
from cxloop.profiles.models import Customer
from cxloop.store.db import Database
from cxloop.store.registry import load_models
from cxloop.workspaces.models import AuditEntry
from cxloop.workspaces.schemas import WorkspaceCreate
from cxloop.workspaces.service import create_workspace

CXLOOP = str(Path(sys.executable).with_name("cxloop"))
DATA = Path(__file__).parent.parent / "data" / "imports"
UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


class Shop:
    """A store file and a workspace in it, driven through the ``cxloop`` command."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.url = f"sqlite:///{tmp_path / 'store.db'}"
        created = self.run("workspace", "create", "Maison Colibri", "--json")
        assert created.returncode == 0, created.stderr
        self.workspace_id = json.loads(created.stdout)["workspace_id"]
        self.db = Database(self.url)

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        environ = dict(os.environ)
        environ["CXLOOP_HOME"] = str(self.tmp_path / "home")
        environ["CXLOOP_DATABASE_URL"] = self.url
        return subprocess.run(
            [CXLOOP, *args], env=environ, input=stdin, capture_output=True, text=True, timeout=120
        )

    def load(self, kind: str, name: str, *flags: str) -> subprocess.CompletedProcess[str]:
        return self.run("import", kind, str(DATA / name), "--workspace", self.workspace_id, *flags)

    def load_json(self, kind: str, name: str, *flags: str) -> dict[str, Any]:
        result = self.load(kind, name, "--json", *flags)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        document: dict[str, Any] = json.loads(result.stdout)
        return document

    def counts(self) -> dict[str, int]:
        return counts(self.db)

    def rows(self, model: Any, *order_by: Any) -> list[Any]:
        with self.db.session() as session:
            return list(session.scalars(select(model).order_by(*order_by)))


def counts(db: Database) -> dict[str, int]:
    with db.session() as session:
        return {
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in load_models().metadata.sorted_tables
        }


@pytest.fixture
def shop(tmp_path: Path) -> Any:
    store = Shop(tmp_path)
    yield store
    store.db.dispose()


# Customers -----------------------------------------------------------------------------------


def test_customers_import_and_a_second_file_updates_them(shop: Shop) -> None:
    # when a customers file is imported
    first = shop.load_json("customers", "customers.csv")
    # then each row is a customer, with its identifiers, reserved and custom traits
    assert first == {"imported": 3, "updated": 0, "skipped": []}
    camille, hugo, lea = shop.rows(Customer, Customer.id)
    assert (camille.user_id, camille.email, camille.phone, camille.city, camille.locale) == (
        "C-001",
        "camille.martin@example.fr",
        "+33612345678",
        "Lyon",
        "fr",
    )
    assert camille.traits["loyalty_tier"] == "gold"
    assert camille.first_seen_at == at("2025-11-02T09:30:00+01:00")
    # (a date alone is midnight in the workspace's time zone, Europe/Paris)
    assert hugo.first_seen_at == at("2025-12-14T00:00:00+01:00")
    assert (lea.user_id, lea.email, lea.first_name, lea.traits["loyalty_tier"]) == (
        None,
        "lea.dubois@example.fr",
        "Léa",
        "silver",
    )
    # when a second file (semicolon-separated) names Camille again and a new customer
    second = shop.load_json("customers", "customers_updated.csv")
    # then Camille is updated, not doubled
    assert second == {"imported": 1, "updated": 1, "skipped": []}
    customers = shop.rows(Customer, Customer.id)
    assert len(customers) == 4
    camille = customers[0]
    assert (camille.last_name, camille.city, camille.traits["loyalty_tier"]) == (
        "Martin-Roux",
        "Villeurbanne",
        "platinum",
    )
    assert (customers[3].user_id, customers[3].country, customers[3].locale) == (
        "C-004",
        "BE",
        "fr-BE",
    )


def test_a_bad_row_stops_the_import_and_leaves_the_store_unchanged(shop: Shop) -> None:
    # given a store
    before = shop.counts()
    # when a file with a bad third row is imported
    result = shop.load("customers", "customers_bad.csv", "--json")
    # then the import stops with the file, line and reason on one line, and writes nothing
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"cxloop: {DATA / 'customers_bad.csv'}:4: email: 'not-an-email' is not an email address\n"
    )
    assert shop.counts() == before


def test_skip_bad_rows_applies_the_good_rows_and_reports_the_bad_ones(shop: Shop) -> None:
    before = shop.counts()
    report = shop.load_json("customers", "customers_bad.csv", "--skip-bad-rows")
    assert report == {
        "imported": 3,
        "updated": 0,
        "skipped": [{"line": 4, "reason": "email: 'not-an-email' is not an email address"}],
    }
    assert [c.user_id for c in shop.rows(Customer, Customer.id)] == ["C-010", "C-011", "C-013"]
    after = shop.counts()
    assert (after["customers"], after["audit_log"]) == (3, before["audit_log"] + 1)


def test_the_human_report_lists_what_was_skipped(shop: Shop) -> None:
    result = shop.load("customers", "customers_bad.csv", "--skip-bad-rows")
    assert result.returncode == 0
    assert result.stdout == (
        f"{DATA / 'customers_bad.csv'}: 3 imported, 0 updated, 1 skipped\n"
        "  skipped line 4: email: 'not-an-email' is not an email address\n"
    )


# Orders --------------------------------------------------------------------------------------


def test_orders_import_with_lines_parcels_and_events_and_reimport_updates(shop: Shop) -> None:
    # given known customers
    shop.load_json("customers", "customers.csv")
    # when an orders file (one row per order line) is imported
    report = shop.load_json("orders", "orders.csv")
    # then each order is there once, on its customer, with its lines
    assert report == {"imported": 3, "updated": 0, "skipped": []}
    camille, hugo, lea = shop.rows(Customer, Customer.id)
    first, second, third = shop.rows(Order, Order.external_id)
    assert (first.external_id, first.customer_id, first.status) == (
        "CMD-1001",
        camille.id,
        "fulfilled",
    )
    assert (
        first.subtotal_cents,
        first.discount_cents,
        first.shipping_cents,
        first.total_cents,
    ) == (12880, 890, 490, 12480)
    assert first.coupon_code == "BIENVENUE10"
    assert first.placed_at == at("2026-02-03T14:05:00+01:00")
    assert [
        (i.sku, i.title, i.quantity, i.unit_price_cents, i.total_cents)
        for i in shop.rows(OrderItem, OrderItem.id)
        if i.order_id == first.id
    ] == [
        ("PULL-MER-M-MAR", "Pull en laine mérinos", 1, 8900, 8900),
        ("BONNET-COT", "Bonnet côtelé", 2, 1990, 3980),
    ]
    # (a time without offset is in the workspace's zone; "29,00" is a decimal comma)
    assert (second.customer_id, second.placed_at, second.total_cents) == (
        lea.id,
        at("2026-02-10T18:20:00+01:00"),
        2900,
    )
    assert (third.customer_id, third.status, third.cancelled_at) == (
        hugo.id,
        "cancelled",
        third.placed_at,
    )
    # and parcels carry their dates, a promised date being the end of that day
    parcel_1001, parcel_1002 = shop.rows(Shipment, Shipment.external_id)
    assert (parcel_1001.external_id, parcel_1001.carrier, parcel_1001.status) == (
        "order-CMD-1001",
        "Colissimo",
        "delivered",
    )
    assert parcel_1001.promised_at == at("2026-02-06T23:59:59+01:00")
    assert parcel_1001.delivered_at == at("2026-02-07T11:30:00+01:00")
    assert parcel_1002.shipped_at == at("2026-02-11T00:00:00+01:00")
    events = [(e.event, e.timestamp) for e in shop.rows(Event, Event.timestamp, Event.id)]
    assert events == [
        ("Order Completed", at("2026-02-03T14:05:00+01:00")),
        ("Order Shipped", at("2026-02-04T10:00:00+01:00")),
        ("Order Delivered", at("2026-02-07T11:30:00+01:00")),
        ("Order Completed", at("2026-02-10T18:20:00+01:00")),
        ("Order Shipped", at("2026-02-11T00:00:00+01:00")),
        ("Order Completed", at("2026-02-12T09:00:00+00:00")),
        ("Order Cancelled", at("2026-02-12T09:00:00+00:00")),
        ("Order Delivered", at("2026-02-13T16:00:00+01:00")),
    ]
    # when the same file is imported again
    before = shop.counts()
    again = shop.load_json("orders", "orders.csv")
    # then nothing is doubled: only the audit log records the second import
    assert again == {"imported": 0, "updated": 3, "skipped": []}
    after = shop.counts()
    assert after.pop("audit_log") == before.pop("audit_log") + 1
    assert after == before


def test_an_orders_file_with_a_refund_updates_the_order(shop: Shop) -> None:
    shop.load_json("orders", "orders.csv")
    report = shop.load_json("orders", "orders_updated.csv")
    assert report == {"imported": 0, "updated": 1, "skipped": []}
    (refund,) = shop.rows(OrderRefund, OrderRefund.id)
    assert (refund.amount_cents, refund.refunded_at) == (1990, at("2026-02-15T10:00:00+01:00"))
    order = shop.rows(Order, Order.external_id)[0]
    assert (order.status, order.refunded_cents) == ("fulfilled", 1990)
    # (a file gives no update time: the latest date it gives stands for it)
    updated = [e.timestamp for e in shop.rows(Event, Event.id) if e.event == "Order Updated"]
    assert updated == [at("2026-02-15T10:00:00+01:00")]
    refunded = [e for e in shop.rows(Event, Event.id) if e.event == "Order Refunded"]
    assert [(e.properties["order_id"], e.properties["total"]) for e in refunded] == [
        ("CMD-1001", 19.9)
    ]


def test_a_bad_order_line_stops_the_import_or_is_skipped(shop: Shop) -> None:
    before = shop.counts()
    refused = shop.load("orders", "orders_bad.csv")
    assert refused.returncode == 2
    assert refused.stderr == (
        f"cxloop: {DATA / 'orders_bad.csv'}:3: "
        "quantity: 'deux' is not a whole number of 1 or more\n"
    )
    assert shop.counts() == before
    report = shop.load_json("orders", "orders_bad.csv", "--skip-bad-rows")
    assert report == {
        "imported": 2,
        "updated": 0,
        "skipped": [{"line": 3, "reason": "quantity: 'deux' is not a whole number of 1 or more"}],
    }
    assert [o.external_id for o in shop.rows(Order, Order.external_id)] == ["CMD-2001", "CMD-2003"]


# Catalog -------------------------------------------------------------------------------------


def test_catalog_csv_and_merchant_center_feeds_import(shop: Shop) -> None:
    # when the catalog comes as CSV, as a Merchant Center TSV, RSS and Atom feed
    reports = [
        shop.load_json("catalog", name)
        for name in ("catalog.csv", "gmc_feed.tsv", "gmc_feed.xml", "gmc_feed_atom.xml")
    ]
    # then every item is a product
    assert reports == [{"imported": 2, "updated": 0, "skipped": []}] * 3 + [
        {"imported": 1, "updated": 0, "skipped": []}
    ]
    products = {p.sku: p for p in shop.rows(Product, Product.sku)}
    assert sorted(products) == [
        "BONNET-COT",
        "CHEMISE-OX-L-BLA",
        "PULL-MER-M-MAR",
        "ROBE-LIN-M-SAP",
        "ROBE-LIN-S-SAP",
        "TABLIER-TER",
        "TOTE-LIN-NAT",
    ]
    pull = products["PULL-MER-M-MAR"]
    assert (pull.price_cents, pull.sale_price_cents, pull.currency, pull.category) == (
        10900,
        8900,
        "EUR",
        "Pulls",
    )
    assert (pull.color, pull.sizes, pull.gender, pull.age_group, pull.gtin) == (
        "Bleu marine",
        ["M"],
        "female",
        "adult",
        "2001234567893",
    )
    assert pull.attributes == {
        "material": "laine mérinos",
        "item_group_id": "PULL-MER",
        "product_type": "Vêtements > Femme > Pulls",
        "google_product_category": "Apparel & Accessories > Clothing > Shirts & Tops",
    }
    # (RSS: plain <title>/<link>/<description> or g: ones; "in stock" is in_stock)
    robe_s, robe_m = products["ROBE-LIN-S-SAP"], products["ROBE-LIN-M-SAP"]
    assert (robe_s.title, robe_s.availability, robe_s.price_cents, robe_s.sale_price_cents) == (
        "Robe en lin – S",
        "in_stock",
        7900,
        5900,
    )
    assert robe_s.description == "Robe fluide en lin lavé & doublure coton."
    assert robe_s.url == "https://boutique.example.com/robe-lin?taille=S"
    assert (robe_m.title, robe_m.availability, robe_m.url) == (
        "Robe en lin – M",
        "out_of_stock",
        "https://boutique.example.com/robe-lin?taille=M",
    )
    assert robe_s.attributes["item_group_id"] == robe_m.attributes["item_group_id"] == "ROBE-LIN"
    chemise = products["CHEMISE-OX-L-BLA"]
    assert (chemise.title, chemise.description, chemise.url, chemise.availability) == (
        "Chemise oxford – L",
        "Chemise en coton oxford, col boutonné.",
        "https://boutique.example.com/chemise-oxford?taille=L",
        "backorder",
    )
    tote = products["TOTE-LIN-NAT"]
    assert (tote.price_cents, tote.sale_price_cents, tote.category, tote.gtin) == (
        2900,
        2400,
        "Sacs",
        "3760123456781",
    )
    # when a feed is imported again, its products are updated in place
    assert shop.load_json("catalog", "gmc_feed.xml") == {
        "imported": 0,
        "updated": 2,
        "skipped": [],
    }
    assert len(shop.rows(Product, Product.sku)) == 7


def test_a_bad_feed_item_stops_the_import(shop: Shop) -> None:
    before = shop.counts()
    result = shop.load("catalog", "gmc_feed_bad.xml")
    assert result.returncode == 2
    assert result.stderr == (
        f"cxloop: {DATA / 'gmc_feed_bad.xml'}:9: "
        "price: 'vingt euros' is not a price like 12.90 EUR\n"
    )
    assert shop.counts() == before


# Command-line refusals and webhook secrets ---------------------------------------------------


def test_an_unknown_workspace_or_missing_file_is_one_line_and_exit_2(shop: Shop) -> None:
    unknown = shop.run("import", "customers", str(DATA / "customers.csv"), "--workspace", "ws_x")
    assert (unknown.returncode, unknown.stderr) == (2, "cxloop: --workspace: no workspace 'ws_x'\n")
    missing = shop.load("customers", "nope.csv")
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1
    assert "does not exist" in missing.stderr


def test_webhook_secrets_are_set_from_the_command_line(shop: Shop) -> None:
    by_argument = shop.run(
        "webhook", "secret", "shopify", "shpss_abcdef0123456789", "--workspace", shop.workspace_id
    )
    by_stdin = shop.run(
        "webhook",
        "secret",
        "woocommerce",
        "--workspace",
        shop.workspace_id,
        "--json",
        stdin="wc-secret-Zq8Lr2Vx\n",
    )
    too_short = shop.run("webhook", "secret", "shopify", "short", "--workspace", shop.workspace_id)
    assert by_argument.returncode == 0, by_argument.stderr
    assert by_argument.stdout == (
        f"shopify webhook secret set; deliveries go to POST /webhooks/shopify/{shop.workspace_id}\n"
    )
    assert json.loads(by_stdin.stdout) == {
        "workspace_id": shop.workspace_id,
        "platform": "woocommerce",
        "path": f"/webhooks/woocommerce/{shop.workspace_id}",
    }
    assert (too_short.returncode, too_short.stderr) == (
        2,
        "cxloop: secret: must be at least 8 characters\n",
    )
    secrets = {(s.platform, s.secret) for s in shop.rows(WebhookSecret, WebhookSecret.id)}
    assert secrets == {("shopify", "shpss_abcdef0123456789"), ("woocommerce", "wc-secret-Zq8Lr2Vx")}
    # and the audit log says a secret was set, never what it is
    audits = [a for a in shop.rows(AuditEntry, AuditEntry.id) if a.action == "webhook.secret"]
    assert [(a.subject, a.data) for a in audits] == [("shopify", {}), ("woocommerce", {})]


# The import service, on SQLite and PostgreSQL -------------------------------------------------


@pytest.fixture
def workspace(any_db: Database) -> str:
    with any_db.session() as session:
        return create_workspace(session, WorkspaceCreate(name="Colibri")).workspace_id


def run_import(db: Database, workspace_id: str, kind: str, path: Path, **flags: Any) -> Any:
    with db.session() as session:
        defaults = imports.defaults_of(session, workspace_id)
    parsed = imports.read_file(kind, path, defaults, **flags)
    with db.session() as session:
        return imports.apply(session, workspace_id, parsed)


def test_importing_every_file_twice_doubles_nothing_on_both_engines(
    any_db: Database, workspace: str
) -> None:
    files = [
        ("customers", "customers.csv"),
        ("catalog", "catalog.csv"),
        ("catalog", "gmc_feed.xml"),
        ("orders", "orders.csv"),
        ("orders", "orders_updated.csv"),
    ]
    for kind, name in files:
        run_import(any_db, workspace, kind, DATA / name)
    first = counts(any_db)
    reports = [run_import(any_db, workspace, kind, DATA / name) for kind, name in files]
    again = counts(any_db)
    assert [(r.imported, r.updated) for r in reports] == [(0, 3), (0, 2), (0, 2), (0, 3), (0, 1)]
    assert again.pop("audit_log") == first.pop("audit_log") + len(files)
    assert again == first
    assert {k: first[k] for k in ("customers", "products", "orders", "order_items")} == {
        "customers": 3,
        "products": 4,
        "orders": 3,
        "order_items": 4,
    }
    with any_db.session() as session:
        linked = session.scalar(
            select(func.count()).select_from(OrderItem).where(OrderItem.product_id.is_not(None))
        )
    assert linked == 2  # PULL-MER-M-MAR and BONNET-COT are in the catalog, TOTE-LIN-NAT not


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("kind", "text", "line", "reason"),
    [
        ("customers", "", 1, "empty file: a header line is needed"),
        (
            "customers",
            "first_name,last_name\nA,B\n",
            1,
            "needs a customer_id, email or phone column",
        ),
        (
            "customers",
            "email,emial\na@example.fr,x\n",
            1,
            "unknown column(s): emial (custom traits: prefix them with trait_)",
        ),
        ("customers", "email,email\n", 1, "column 'email' appears twice"),
        ("customers", "email,phone\na@example.fr\n", 2, "1 fields where the header has 2"),
        (
            "customers",
            'customer_id,phone\nC-1,\n\nC-2,"abc"\n',
            4,
            "phone: 'abc' is not a phone number",
        ),
        ("orders", "order_id,sku,quantity\n", 1, "missing column(s): placed_at, unit_price"),
        (
            "orders",
            "order_id,placed_at,sku,quantity,unit_price\nA,2026-01-01,X,1,12.5.0\n",
            2,
            "unit_price: '12.5.0' is not an amount like 12.90",
        ),
        (
            "orders",
            "order_id,placed_at,sku,quantity,unit_price\nA,2026-01-01,X,1,1\nA,2026-01-02,Y,1,1\n",
            3,
            "placed_at: '2026-01-02' differs from '2026-01-01' on line 2 for the same order",
        ),
        (
            "orders",
            "order_id,placed_at,sku,quantity,unit_price\nA,,X,1,1\n",
            2,
            "order A: placed_at: missing",
        ),
        (
            "orders",
            "order_id,placed_at,sku,quantity,unit_price\nA,le 3 mars,X,1,1\n",
            2,
            "placed_at: 'le 3 mars' is not an ISO 8601 date or time",
        ),
        (
            "catalog",
            "id,title,price\nS1,Robe,12 €\n",
            2,
            "price: '12 €' is not a price like 12.90 EUR",
        ),
        (
            "catalog",
            "id,title,price,link\nS1,Robe,12.00,javascript:alert(1)\n",
            2,
            "link: 'javascript:alert(1)' is not an http(s) URL",
        ),
        (
            "catalog",
            "id,title,price,availability\nS1,Robe,12.00,maybe\n",
            2,
            "availability: 'maybe' is not one of in_stock, out_of_stock, preorder, backorder",
        ),
        (
            "catalog",
            "id,title,price,gtin\nS1,Robe,12.00,123\n",
            2,
            "gtin: '123' is not 8 to 14 digits",
        ),
    ],
)
def test_bad_files_are_refused_with_their_line_and_reason(
    tmp_path: Path, kind: str, text: str, line: int, reason: str
) -> None:
    path = write(tmp_path, f"{kind}.csv", text)
    defaults = imports.Defaults(timezone=imports.ZoneInfo("Europe/Paris"), currency="EUR")
    with pytest.raises(imports.BadRow) as refused:
        imports.read_file(kind, path, defaults)
    assert (refused.value.line, refused.value.reason) == (line, reason)
    assert str(refused.value) == f"{path}:{line}: {reason}"


def test_a_french_excel_file_is_read_bom_semicolons_decimal_commas(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "commandes.csv",
        "\ufefforder_id;placed_at;email;sku;title;quantity;unit_price;shipping\r\n"
        "F-1;2026-03-01 09:15;zoe@example.fr;ECH-01;Écharpe;2;24,50;4,90\r\n",
    )
    defaults = imports.Defaults(timezone=imports.ZoneInfo("Europe/Paris"), currency="EUR")
    parsed = imports.read_file("orders", path, defaults)
    ((line, order),) = parsed.records
    assert line == 2
    assert (order.external_id, order.subtotal_cents, order.shipping_cents, order.total_cents) == (
        "F-1",
        4900,
        490,
        5390,
    )
    assert order.placed_at == at("2026-03-01T09:15:00+01:00")


def test_a_file_that_is_not_utf8_names_its_first_bad_line(tmp_path: Path) -> None:
    path = write(tmp_path, "clients.csv", "email,first_name\na@example.fr,Zoé\n", "cp1252")
    defaults = imports.Defaults(timezone=imports.ZoneInfo("UTC"), currency="EUR")
    with pytest.raises(imports.BadRow) as refused:
        imports.read_file("customers", path, defaults)
    assert (refused.value.line, refused.value.reason) == (
        2,
        "not UTF-8 text (save the file as UTF-8)",
    )


def test_a_feed_with_a_dtd_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "feed.xml",
        '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">]>\n'
        '<rss xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>&a;</g:id>'
        "</item></channel></rss>\n",
    )
    defaults = imports.Defaults(timezone=imports.ZoneInfo("UTC"), currency="EUR")
    with pytest.raises(imports.BadRow) as refused:
        imports.read_file("catalog", path, defaults)
    assert (refused.value.line, refused.value.reason) == (
        2,
        "feeds with a DTD (<!DOCTYPE or <!ENTITY) are not accepted",
    )

"""Generated inputs at every entry point: whatever arrives, the answer is never a 5xx, and a 4xx
names the field at fault in the common body ``{"error", "detail", "field"}``.

``CXLOOP_FUZZ_EXAMPLES`` sets the examples per test (100 by default, about 40 seconds in all);
raise it for a deeper run. Each test prints the cases it ran and the 5xx it saw.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from cxloop.alerts import service as alerts
from cxloop.assistant import service as assistant
from cxloop.cases import service as cases
from cxloop.demo import nps as demo_nps
from cxloop.demo.generator import history_end
from cxloop.demo.service import build_demo
from cxloop.store.db import Database
from cxloop.web.app import domain_routers
from tests.helpers import factories as f
from tests.helpers.console import login
from tests.helpers.mail import Shop, queue_invitation
from tests.helpers.store_webhooks import Store, fixture, open_store

EXAMPLES = int(os.environ.get("CXLOOP_FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Tally:
    """Cases run and statuses seen by one generated test, printed at its end."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.statuses: Counter[int] = Counter()

    def check(self, response: Any) -> None:
        """No 5xx; a 4xx has the common body naming a field."""
        self.statuses[response.status_code] += 1
        assert response.status_code < 500, response.text[:500]
        if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
            body = response.json()
            assert set(body) == {"error", "detail", "field"}, body
            assert isinstance(body["field"], str), body

    def report(self) -> None:
        """One line: cases and 5xx."""
        seen = sum(self.statuses.values())
        fives = sum(n for code, n in self.statuses.items() if code >= 500)
        print(f"\nfuzz {self.name}: {seen} cases, {fives} 5xx, statuses {dict(self.statuses)}")


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


# Values --------------------------------------------------------------------------------------

edge_times = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59-05:00",
            "1970-01-01T00:00:00Z",
            "2200-12-31T23:59:59Z",
            "not a time",
            "",
        ]
    ),
    st.integers(),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
_shallow = st.one_of(
    st.lists(scalars, max_size=4), st.dictionaries(st.text(max_size=8), scalars, max_size=4)
)
json_values = st.one_of(
    scalars,
    _shallow,
    st.lists(_shallow, max_size=3),
    st.dictionaries(st.text(max_size=8), _shallow, max_size=3),
)


@st.composite
def deep(draw: st.DrawFn) -> Any:
    """JSON nested from a few levels to far beyond the policy's 32."""
    levels = draw(st.integers(min_value=1, max_value=400))
    value: Any = draw(scalars)
    for _ in range(levels):
        value = {"a": value} if draw(st.booleans()) else [value]
    return value


anything = st.one_of(json_values, deep(), edge_times)


@st.composite
def segment_call(draw: st.DrawFn, kind: str | None = None) -> dict[str, Any]:
    """A Segment call, mostly well formed, with any field possibly replaced by anything."""
    call: dict[str, Any] = {
        "type": kind
        or draw(st.sampled_from(["track", "identify", "page", "screen", "group", "alias"])),
        "userId": draw(st.one_of(st.text(min_size=1, max_size=10), anything)),
        "event": draw(st.one_of(st.text(min_size=1, max_size=10), anything)),
        "timestamp": draw(edge_times),
        "sentAt": draw(st.one_of(st.none(), edge_times)),
        "properties": draw(st.one_of(st.dictionaries(st.text(max_size=8), json_values), anything)),
        "traits": draw(st.one_of(st.dictionaries(st.text(max_size=8), json_values), anything)),
        "context": draw(st.one_of(st.just({}), anything)),
        "groupId": draw(st.text(max_size=5)),
        "previousId": draw(st.text(max_size=5)),
    }
    for name in draw(st.lists(st.sampled_from(sorted(call)), max_size=3, unique=True)):
        del call[name]
    return call


# Segment ingest --------------------------------------------------------------------------------


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def test_generated_segment_calls_never_answer_5xx(client: TestClient, make_workspace: Any) -> None:
    keys = make_workspace()
    tally = Tally("segment")

    @FUZZ
    @given(
        path=st.sampled_from(["track", "identify", "page", "screen", "group", "alias", "t", "i"]),
        call=segment_call(),
        batch=st.lists(segment_call(), max_size=4),
        batch_sent_at=st.one_of(st.none(), edge_times),
    )
    def run(
        path: str, call: dict[str, Any], batch: list[dict[str, Any]], batch_sent_at: Any
    ) -> None:
        tally.check(client.post(f"/v1/{path}", json=call, headers=basic(keys.write_key)))
        document: dict[str, Any] = {"batch": batch, "writeKey": keys.write_key}
        if batch_sent_at is not None:
            document["sentAt"] = batch_sent_at
        tally.check(client.post("/v1/batch", json=document))

    run()
    tally.report()


# Store webhooks --------------------------------------------------------------------------------

SHOPIFY_ORDER = json.loads(fixture("shopify", "orders_create"))
WOO_ORDER = json.loads(fixture("woocommerce", "order_created"))
money = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.floats(allow_nan=False),
    st.sampled_from(["1e30", "-1e30", "9" * 5000, "١٢", "12.90", ""]),
    st.integers(min_value=-(2**80), max_value=2**80),
)


@st.composite
def changed(
    draw: st.DrawFn, document: dict[str, Any], times: list[str], amounts: list[str]
) -> bytes:
    """A platform's example payload with a few of its dates, amounts or fields replaced."""
    payload = dict(document)
    for name in draw(st.lists(st.sampled_from(times), max_size=2)):
        payload[name] = draw(edge_times)
    for name in draw(st.lists(st.sampled_from(amounts), max_size=2)):
        payload[name] = draw(money)
    for name in draw(st.lists(st.sampled_from(sorted(document)), max_size=2)):
        payload[name] = draw(anything)
    return json.dumps(payload).encode()


@pytest.fixture
def store(app: FastAPI, db: Database, make_workspace: Any) -> Iterator[Store]:
    """A workspace with its webhook secrets, and a client that sends it signed deliveries."""
    with open_store(app, db, make_workspace) as opened:
        yield opened


def test_generated_signed_webhooks_never_answer_5xx(store: Store) -> None:
    tally = Tally("webhooks")
    shopify_times = ["created_at", "processed_at", "updated_at", "cancelled_at"]
    shopify_amounts = ["total_price", "subtotal_price", "total_discounts", "total_tax"]
    woo_times = ["date_created_gmt", "date_modified_gmt", "date_completed_gmt", "date_paid_gmt"]
    woo_amounts = ["total", "discount_total", "shipping_total", "total_tax"]

    @FUZZ
    @given(
        shopify=changed(SHOPIFY_ORDER, shopify_times, shopify_amounts),
        woo=changed(WOO_ORDER, woo_times, woo_amounts),
    )
    def run(shopify: bytes, woo: bytes) -> None:
        tally.check(store.shopify("orders/create", shopify))
        tally.check(store.woo("order.created", woo))

    run()
    tally.report()


@pytest.fixture
def token(db: Database, make_workspace: Any) -> str:
    return f.sent_invitation(db, make_workspace("Maison Lou").workspace_id, dt.datetime.now(dt.UTC))


# Survey page and widget --------------------------------------------------------------------------

form_values = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["٩", "９", "9" * 5000, "10", "0", "-1", "1e1"]),
    st.integers(min_value=-(2**40), max_value=2**40).map(str),
)


def test_generated_survey_forms_and_widget_calls_never_answer_5xx(
    client: TestClient,
    token: str,
    make_workspace: Any,
) -> None:
    keys = make_workspace("Widget")
    page = client.get(f"/s/{token}")
    match = re.search(r'name="key" value="([0-9a-f]+)"', page.text)
    assert match is not None
    form_key = match.group(1)
    tally = Tally("survey")

    @FUZZ
    @given(
        score=form_values,
        comment=st.text(max_size=50),
        seen=st.one_of(json_values, deep()),
        widget=st.dictionaries(st.sampled_from(["writeKey", "userId", "x"]), anything, max_size=3),
        user_id=st.one_of(st.text(max_size=20), anything),
    )
    def run(score: str, comment: str, seen: Any, widget: dict[str, Any], user_id: Any) -> None:
        tally.check(client.get(f"/s/{token}", params={"score": score}))
        tally.check(
            client.post(f"/s/{token}", data={"score": score, "key": form_key, "comment": comment})
        )
        tally.check(client.post(f"/s/{token}/seen", json={"key": form_key, "score": seen}))
        tally.check(client.post(f"/s/{token}/seen", json={"key": form_key, "score": score}))
        tally.check(client.post("/widget/v1/nps", json=widget))
        tally.check(
            client.post("/widget/v1/nps", json={"writeKey": keys.write_key, "userId": user_id})
        )

    run()
    tally.report()


# The admin API and the /v1 paths, from the OpenAPI document ----------------------------------


@pytest.fixture
def api(app: FastAPI, make_workspace: Any) -> Iterator[tuple[Any, dict[str, str], dict[str, str]]]:
    keys = make_workspace()
    with TestClient(app):  # runs the app's start-up (the ingest writer)
        schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
        yield schema, {"Authorization": f"Bearer {keys.admin_key}"}, basic(keys.write_key)


CONFORMANCE = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)


def _fuzz(operation: Any, headers: dict[str, str], tally: Tally) -> None:
    @FUZZ
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        response = case.call(headers={**(case.headers or {}), **headers})
        tally.check(response)
        case.validate_response(response, checks=CONFORMANCE)

    run()


def test_the_openapi_operations_never_answer_5xx(
    api: tuple[Any, dict[str, str], dict[str, str]],
) -> None:
    schema, admin, write = api
    tally = Tally("openapi")
    for result in schema.get_all_operations():
        operation = result.ok()
        # the store's calls (ingest, personalization) take the write key; the rest, the admin's
        public = operation.path.startswith(("/v1/", "/p/v1/"))
        _fuzz(operation, write if public else admin, tally)
    tally.report()


# Console pages, with generated query strings ----------------------------------------------------

# Values that have broken pages elsewhere: past 64 bits, negative, not ASCII digits, not numbers.
EDGE_QUERY = ["", "0", "-1", "2147483648", "9" * 30, "-" + "9" * 30, "1e309", "nan", "٣", "\x00"]
query_values = st.one_of(
    st.sampled_from(EDGE_QUERY),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=20),
)


def _console_pages() -> dict[str, list[str]]:
    """Every console page of a workspace (GET under ``/w/{workspace_id}``) and its query names.

    Found from the domains' routers, so a page added later is fuzzed without being listed here.
    """
    return {
        route.path: [param.name for param in route.dependant.query_params]
        for router in domain_routers()
        for route in router.routes
        if isinstance(route, APIRoute)
        and "GET" in route.methods
        and route.path.startswith("/w/{workspace_id}")
    }


def _first(html: str, pattern: str) -> str:
    match = re.search(pattern, html)
    assert match is not None, f"no link matching {pattern}"
    return match.group(1)


@pytest.fixture
def console(app: FastAPI, db: Database, make_user: Any) -> Iterator[tuple[TestClient, dict]]:
    """A signed-in owner of the demo store, and an example of each page's path parameters."""
    today = dt.datetime.now(dt.UTC).date()
    ws = build_demo(db, customers=150, seed=11, as_of=today).workspace_id
    demo_nps.run_history(db, ws, seed=11, end=history_end(today))
    make_user("owner@example.com", ws)
    customer = f.customer(db, ws, email="zoe@example.com")
    message_id = queue_invitation(db, Shop(ws, customer, "zoe@example.com"))
    with db.session() as session:
        rule = alerts.create_rule(
            session,
            ws,
            name="Détracteurs",
            kind="response",
            target="email",
            address="team@example.com",
            filters={"max_score": 6},
        )
        rule_id = rule.id
        case_id = cases.open_case(
            session, ws, title="Rappeler Zoé", customer_id=customer, actor="test"
        ).id
        conversation_id = assistant.start_conversation(
            session, ws, anonymous_id="anon-1", text="baskets blanches"
        ).conversation.id
    with TestClient(app) as test_client:
        login(test_client, "owner@example.com")
        home = f"/w/{ws}"
        examples = {
            "workspace_id": ws,
            "customer_id": _first(test_client.get(f"{home}/customers").text, r"/customers/(\d+)"),
            "message_id": str(message_id),
            "rule_id": str(rule_id),
            "case_id": str(case_id),
            "conversation_id": conversation_id,
            "key": _first(test_client.get(f"{home}/surveys").text, r"/surveys/([^\"/?]+)\""),
        }
        yield test_client, examples


def test_every_console_page_answers_generated_queries_without_a_5xx(
    app: FastAPI, console: tuple[TestClient, dict]
) -> None:
    client, examples = console
    pages = _console_pages()
    assert len(pages) >= 8, pages
    missing = {
        name for path in pages for name in re.findall(r"{(\w+)}", path) if name not in examples
    }
    assert not missing, f"give the console fixture an example of {missing}"
    tally = Tally("console")

    def url(path: str, own: bool) -> str:
        return path.format(**{k: v if own else "9" * 25 for k, v in examples.items()})

    # every query parameter of every page, at each edge value, on a page that exists
    for path, names in pages.items():
        tally.check(client.get(url(path, own=True)))
        tally.check(client.get(url(path, own=False).replace("9" * 25, examples["workspace_id"], 1)))
        for name in names:
            for value in EDGE_QUERY:
                tally.check(client.get(url(path, own=True), params={name: value}))

    # then mixed at random
    @FUZZ
    @given(path=st.sampled_from(sorted(pages)), data=st.data())
    def run(path: str, data: st.DataObject) -> None:
        names = pages[path]
        chosen = data.draw(st.lists(st.sampled_from(names), unique=True)) if names else []
        params = {name: data.draw(query_values) for name in chosen}
        tally.check(client.get(url(path, own=True), params=params))

    run()
    tally.report()

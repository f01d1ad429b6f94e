"""The worker trains each workspace's models when its orders changed and stores them; the web
process serves the stored models without training, and trains itself only when there are none
or they fell far behind."""

from __future__ import annotations

import datetime as dt
import pickle
import time
from typing import Any

from fastapi.testclient import TestClient

from cxloop.recommend import serving, tasks
from cxloop.store.db import Database
from cxloop.web.app import create_app
from tests.helpers import factories
from tests.helpers.catalog import stock_demo_catalog

NOW = dt.datetime.now(dt.UTC)


def _orders(db: Database, ws: str, skus: list[str], people: int) -> None:
    for n in range(people):
        buyer = factories.customer(db, ws)
        order_id, _ = factories.order(db, ws, buyer, NOW - dt.timedelta(days=n + 1))
        factories.order_items(db, ws, order_id, [(s, s, 1) for s in skus])


def test_the_worker_trains_and_the_web_serves_what_it_stored(
    db: Database, make_workspace: Any, monkeypatch: Any
) -> None:
    keys = make_workspace("Maison Lou")
    ws = keys.workspace_id
    stock_demo_catalog(db, ws)
    _orders(db, ws, ["ROB-0001", "ACC-0001"], 6)
    monkeypatch.setattr(tasks, "get_database", lambda: db)
    serving.forget_models(ws)
    # when the worker's task runs
    tasks.train_models.call_local()
    path = serving.stored_path(ws)
    assert path.exists()
    # then a web process serves the stored models, without training
    with db.session() as session:
        served = serving.models_of(session, ws)
        assert served.origin == "stored" and served.data is not None
        # the next run has nothing to do while nothing changed
        assert serving.train_and_store(session, ws) is False
    with TestClient(create_app(db)) as client:
        answer = client.get(
            "/p/v1/recommendations",
            params={"writeKey": keys.write_key, "placement": "product", "product_id": "ROB-0001"},
        )
        assert answer.status_code == 200 and len(answer.json()["products"]) == 10
    # new orders: the worker trains again
    _orders(db, ws, ["ROB-0002", "ACC-0002"], 3)
    with db.session() as session:
        assert serving.train_and_store(session, ws) is True


def test_without_a_worker_or_far_behind_the_web_trains_itself(
    db: Database, make_workspace: Any
) -> None:
    ws = make_workspace("Maison Lou").workspace_id
    stock_demo_catalog(db, ws)
    _orders(db, ws, ["ROB-0001", "ACC-0001"], 4)
    serving.forget_models(ws)
    with db.session() as session:
        assert serving.models_of(session, ws).origin == "trained"  # nothing stored yet
        serving.train_and_store(session, ws)
    # the stored models fall behind: orders came, and the worker has not run for an hour
    path = serving.stored_path(ws)
    stored = serving.load_stored(ws)
    assert stored is not None
    stored.trained_at = time.time() - 3600
    serving.store(path, stored)
    _orders(db, ws, ["ROB-0002"], 2)
    serving.forget_models(ws)
    with db.session() as session:
        fresh = serving.models_of(session, ws)
    assert fresh.origin == "trained" and fresh.data is not None
    assert "ROB-0002" in {str(i) for i in fresh.data.items}
    # an unreadable file is no model, nor one an older cxloop wrote (another shape)
    path.write_bytes(b"not a pickle")
    assert serving.load_stored(ws) is None
    path.write_bytes(pickle.dumps(fresh))  # the file of a cxloop that stored models bare
    assert serving.load_stored(ws) is None
    older = [*serving.stored_shape()[:-1], ("scipy", "0.1")]
    path.write_bytes(pickle.dumps({"shape": tuple(older), "trained": fresh}))
    assert serving.load_stored(ws) is None
    serving.store(path, fresh)
    again = serving.load_stored(ws)
    assert again is not None and again.stamp == fresh.stamp

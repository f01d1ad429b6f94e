"""The six playbooks, end to end with a running worker and a real SMTP server: the right
customers get the right message once; the others get nothing, for a recorded reason.

Waits of days are crossed by moving the runs' wake-up times back and letting the worker's
sweep find them, as it would once the time had come."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pyarrow as pa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from cxloop.cases.models import Case
from cxloop.commerce.models import Coupon
from cxloop.ingest import service as ingest
from cxloop.journeys import playbook, service, uplift
from cxloop.journeys import tasks as journey_tasks
from cxloop.journeys.models import JourneyRun, JourneyStep
from cxloop.profiles import service as profiles
from cxloop.profiles.models import Customer
from cxloop.segments import service as segments
from cxloop.segments.sql import column
from cxloop.store.base import utcnow
from cxloop.store.db import Database
from tests.helpers import factories as f
from tests.helpers.journeys import awake
from tests.helpers.mail import SmtpServer


def _switch_on(db: Database, ws: str, *keys: str) -> None:
    awake(db, ws)
    with db.session() as session:
        playbook.install(session, ws, keys, actor="test", status="active")


def _days_pass(db: Database, worker: Any, days: float) -> None:
    """Bring forward every wait ending within ``days``, then let the sweep take the runs."""
    now = utcnow()
    with db.session() as session:
        session.execute(
            update(JourneyRun)
            .where(
                JourneyRun.status.in_(("active", "waiting")),
                JourneyRun.wake_at <= now + dt.timedelta(days=days),
            )
            .values(wake_at=now - dt.timedelta(seconds=1))
        )
    journey_tasks.sweep()
    worker.settle()


def _mail(smtp: SmtpServer) -> dict[str, list[str]]:
    """Subjects received, by recipient."""
    found: dict[str, list[str]] = {}
    for message in smtp.inbox.messages():
        found.setdefault(str(message["To"]), []).append(str(message["Subject"]))
    return found


def _email(db: Database, cid: int) -> str:
    with db.session() as session:
        return session.get(Customer, cid).email or ""


def _customer_of(db: Database, response_id: int) -> int:
    from cxloop.surveys.models import Response

    with db.session() as session:
        cid = session.get(Response, response_id).customer_id
        assert cid is not None
        return cid


def _reasons(db: Database, cid: int) -> list[tuple[str, str, str]]:
    with db.session() as session:
        return [
            (kind, outcome, reason)
            for kind, outcome, reason in session.execute(
                select(JourneyStep.kind, JourneyStep.outcome, JourneyStep.reason)
                .where(JourneyStep.customer_id == cid)
                .order_by(JourneyStep.id)
            )
        ]


def _settled(worker: Any) -> None:
    worker.settle()
    worker.skip_ahead(3600)  # answers settle after the alerts' grace period
    worker.settle()


def test_every_playbook_installs_from_the_api(app: FastAPI, make_workspace: Any) -> None:
    owner = make_workspace()
    headers = {"Authorization": f"Bearer {owner.admin_key}"}
    with TestClient(app) as client:
        listed = client.get("/api/v1/journeys/playbooks", headers=headers).json()
        assert [p["key"] for p in listed] == list(playbook.KEYS)
        assert not any(p["installed"] for p in listed)
        for key in playbook.KEYS:
            made = client.post(f"/api/v1/journeys/playbooks/{key}", json={}, headers=headers)
            assert made.status_code == 201, made.text
            assert made.json()["name"]["fr"] and made.json()["name"]["en"]
        again = client.post("/api/v1/journeys/playbooks/win_back", json={}, headers=headers)
        assert again.status_code == 409
        assert (
            client.post("/api/v1/journeys/playbooks/nope", json={}, headers=headers).status_code
            == 404
        )
        assert all(
            p["installed"] for p in client.get("/api/v1/journeys/playbooks", headers=headers).json()
        )


def test_detractor_recovery(db, make_workspace, smtp, worker) -> None:
    ws = make_workspace().workspace_id
    _switch_on(db, ws, "detractor_recovery")
    cost = _customer_of(db, f.answer(db, ws, 2, "Les frais de livraison sont beaucoup trop chers"))
    quality = _customer_of(
        db, f.answer(db, ws, 3, "Le produit est arrivé cassé, qualité décevante")
    )
    gone = _customer_of(db, f.answer(db, ws, 1, "Livraison beaucoup trop chère"))
    happy = _customer_of(db, f.answer(db, ws, 10, "Parfait"))
    with db.session() as session:
        profiles.set_consent(session, ws, gone, "email", "denied", source="unsubscribe")
    _settled(worker)
    mail = _mail(smtp)
    assert mail == {
        _email(db, cost): ["Lou, la prochaine livraison est pour nous"],
        _email(db, quality): ["Lou, nous vous avons lu"],
    }
    with db.session() as session:
        coupons = {c.customer_id: c.kind for c in session.scalars(select(Coupon))}
        cased = sorted(c.customer_id for c in session.scalars(select(Case)))
    assert coupons == {cost: "free_shipping", gone: "free_shipping"}
    assert cased == sorted([cost, quality, gone])  # a person calls each one back
    assert ("send", "skipped", "consent_denied") in _reasons(db, gone)
    assert _reasons(db, happy) == []


def test_passive_conversion_and_promoter_advocacy(app, db, make_workspace, smtp, worker) -> None:
    ws = make_workspace().workspace_id
    _switch_on(db, ws, "passive_conversion", "promoter_advocacy")
    passive = _customer_of(db, f.answer(db, ws, 7, "Bien"))
    promoter = _customer_of(db, f.answer(db, ws, 10, "Génial"))
    _settled(worker)
    # The promoter is thanked at once, with the review link; the passive waits two days.
    [thanks] = smtp.inbox.messages()
    assert thanks["Subject"] == "Merci Lou ! Bienvenue au club"
    # The review link goes through a tracked link, which counts the click and sends the reader on.
    html = thanks.get_body(("html",)).get_content()
    tracked = re.search(r'href="https?://[^/"]+(/c/[^"]+)"', html)
    assert tracked is not None, html
    with TestClient(app) as client:
        followed = client.get(tracked.group(1), follow_redirects=False)
        assert followed.status_code == 302
        assert followed.headers["location"] == "https://www.trustpilot.com/evaluate/example.com"
        assert client.get(tracked.group(1)[:-3] + "xyz", follow_redirects=False).status_code == 404
    with db.session() as session:
        journey = service.get_journey(session, ws, "promoter_advocacy")
        assert journey is not None
        assert uplift.uplift(session, journey)["activity"]["clicked"] == 1
    _days_pass(db, worker, 2)
    assert _mail(smtp)[_email(db, passive)] == ["Un petit plus pour votre prochaine commande"]
    _days_pass(db, worker, 14)
    assert _mail(smtp)[_email(db, promoter)] == [
        "Merci Lou ! Bienvenue au club",
        "Un cadeau à partager",
    ]
    with db.session() as session:
        people = {c.id: c.traits for c in session.scalars(select(Customer))}
        coupons = {(c.customer_id, c.kind, c.value) for c in session.scalars(select(Coupon))}
    assert people[passive]["gift_in_next_parcel"] is True
    assert people[promoter]["vip"] is True
    assert coupons == {(passive, "percent", 10), (promoter, "percent", 15)}
    _days_pass(db, worker, 30)
    assert len(smtp.inbox.messages()) == 3  # nothing more


def _event(db: Database, ws: str, cid: int, name: str, order: str) -> None:
    with db.session() as session:
        ingest.record_event(
            session,
            ws,
            message_id=uuid.uuid4().hex,
            event_type="track",
            event=name,
            timestamp=utcnow(),
            properties={"order_id": order},
            customer_id=cid,
        )


def test_shipping_delay(db, make_workspace, smtp, worker) -> None:
    ws = make_workspace().workspace_id
    _switch_on(db, ws, "shipping_delay")
    on_time, late = f.customer(db, ws, first_name="Ana"), f.customer(db, ws, first_name="Bea")
    _event(db, ws, on_time, "Order Shipped", "#A1")
    _event(db, ws, late, "Order Shipped", "#B1")
    worker.settle()
    _event(db, ws, on_time, "Order Delivered", "#A1")
    _event(db, ws, late, "Order Delivered", "#B0")  # another order's parcel
    worker.settle()
    _days_pass(db, worker, 4)
    [apology] = smtp.inbox.messages()
    assert apology["To"] == _email(db, late)
    assert apology["Subject"] == "Votre colis prend du retard, nous sommes désolés"
    body = apology.get_body(("plain",)).get_content()
    assert "#B1" in body and "5,00 EUR de réduction" in body
    assert [r[1] for r in _reasons(db, on_time)] == ["waited", "exited"]


def _refresh(db: Database, ws: str, rows: list[dict[str, Any]]) -> None:
    """Refresh the workspace's segments from these facts, as an analytics run does."""
    facts = pa.table(
        {
            "customer_id": pa.array([r["customer_id"] for r in rows], pa.int64()),
            column("churn_band"): pa.array([r.get("churn_band") for r in rows], pa.string()),
            column("orders.count"): pa.array([r.get("orders") for r in rows], pa.float64()),
            column("propensity"): pa.array([r.get("propensity") for r in rows], pa.float64()),
        }
    )
    with db.session() as session:
        segments.refresh(session, ws, facts, at=utcnow(), actor="test")


def test_win_back_and_high_potential_welcome_start_when_scores_change(
    db, make_workspace, smtp, worker
) -> None:
    ws = make_workspace().workspace_id
    _switch_on(db, ws, "win_back", "high_potential_welcome")
    with db.session() as session:
        assert {s.key for s in segments.list_segments(session, ws)} == {
            "journey_win_back",
            "journey_high_potential_welcome",
        }
    drifting, loyal, newcomer, ordinary = (
        f.customer(db, ws, first_name=name) for name in ("Zoé", "Yan", "Xia", "Wil")
    )
    _refresh(
        db,
        ws,
        [
            {"customer_id": drifting, "churn_band": "high", "orders": 3, "propensity": 0.1},
            {"customer_id": loyal, "churn_band": "low", "orders": 5, "propensity": 0.2},
            {"customer_id": newcomer, "churn_band": "medium", "orders": 1, "propensity": 0.7},
            {"customer_id": ordinary, "churn_band": "medium", "orders": 1, "propensity": 0.05},
        ],
    )
    worker.settle()
    assert _mail(smtp) == {
        _email(db, drifting): ["Zoé, vous nous manquez"],
        _email(db, newcomer): ["Bienvenue chez nous, Xia"],
    }
    _days_pass(db, worker, 10)
    assert _mail(smtp)[_email(db, drifting)][-1] == "Votre code expire bientôt"
    # The next run with the same facts: still in the segment, no second entry.
    _refresh(
        db, ws, [{"customer_id": drifting, "churn_band": "high", "orders": 3, "propensity": 0.1}]
    )
    worker.settle()
    with db.session() as session:
        assert len(session.scalars(select(JourneyRun)).all()) == 2
        assert service.get_journey(session, ws, "win_back") is not None

"""Journeys with a running worker: a stored event or a settled NPS answer reaches the first
step within the worker's round, email goes out through a real SMTP server, the webhook is
signed, and each happens once."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

from sqlalchemy import select

from cxloop.cases.models import Case
from cxloop.channels.models import WebhookCall
from cxloop.commerce.models import Coupon
from cxloop.ingest import service as ingest
from cxloop.journeys import service
from cxloop.journeys.models import JourneyRun
from cxloop.store.db import Database
from tests.helpers import factories as f
from tests.helpers.journeys import awake
from tests.helpers.webhooks import signature_of

RECOVERY = """
key: detractor_recovery
priority: 90
trigger:
  event: NPS Answered
  when: "nps.category = 'detractor' and nps.blamed contains 'delivery_cost'"
steps:
  - coupon: {{kind: free_shipping, expires_in: 30d}}
  - send:
      subject: {{fr: "Livraison offerte, {{{{ first_name }}}}", en: "Free shipping"}}
      body:
        fr: "Votre code {{{{ coupon.code }}}} vous attend."
        en: "Your code {{{{ coupon.code }}}}"
  - webhook: {{url: "{url}"}}
  - case: {{title: "Rappeler {{{{ first_name }}}}", due_in: 1d}}
"""


def test_an_unhappy_answer_about_delivery_cost_gets_free_shipping_once(
    db, make_workspace, smtp, receiver, worker
) -> None:
    ws = make_workspace().workspace_id
    awake(db, ws)
    with db.session() as session:
        service.create_journey(
            session, ws, RECOVERY.format(url=receiver.url), actor="t", status="active"
        )
    angry = f.answer(db, ws, 2, "Les frais de livraison sont beaucoup trop chers")
    calm = f.answer(db, ws, 3, "Le produit est arrivé cassé")
    happy = f.answer(db, ws, 10, "Les frais de livraison sont raisonnables, parfait")
    worker.settle()
    # Answers settle after a grace period (the person may still add a word): skip ahead.
    worker.skip_ahead(3600)
    worker.settle()
    messages = smtp.inbox.messages()
    assert len(messages) == 1
    with db.session() as session:
        coupon = session.scalars(select(Coupon)).one()
        runs = session.scalars(select(JourneyRun)).all()
        case = session.scalars(select(Case)).one()
        call = session.scalars(select(WebhookCall)).one()
    assert len(runs) == 1 and runs[0].status == "done"
    assert messages[0]["Subject"] == "Livraison offerte, Lou"
    assert coupon.code in messages[0].get_body(("plain",)).get_content()
    assert case.customer_id == runs[0].customer_id and "NPS 2" in case.title + _note(db, case.id)
    assert call.status == "sent"
    [(headers, body)] = receiver.calls
    assert headers["X-Cxloop-Signature"] == signature_of(ws, body)
    assert headers["Idempotency-Key"] == call.idempotency_key
    assert json.loads(body)["coupon"]["code"] == coupon.code
    assert {angry, calm, happy}  # three answers, one journey entered
    # The same answer settled again (a retried task) changes nothing.
    from cxloop.journeys.tasks import answer_settled

    answer_settled(angry)
    worker.settle()
    assert len(smtp.inbox.messages()) == 1 and len(receiver.calls) == 1


def _note(db: Database, case_id: int) -> str:
    from cxloop.cases.models import CaseNote

    with db.session() as session:
        return " ".join(session.scalars(select(CaseNote.text).where(CaseNote.case_id == case_id)))


SHIPPING = """
key: shipping_delay
trigger: {event: Order Shipped}
steps:
  - wait: {event: Order Delivered, same_order: true, timeout: 2s, on_timeout: sorry}
  - exit: {}
  - id: sorry
    send: {subject: "Votre colis a du retard", body: "Toutes nos excuses.", marketing: false}
"""


def test_a_trigger_reaches_the_worker_and_a_short_wait_times_out_on_the_queue(
    db, make_workspace, smtp, worker
) -> None:
    ws = make_workspace().workspace_id
    with db.session() as session:
        service.create_journey(session, ws, SHIPPING, actor="t", status="active")
    cid = f.customer(db, ws)
    with db.session() as session:
        ingest.record_event(
            session,
            ws,
            message_id=uuid.uuid4().hex,
            event_type="track",
            event="Order Shipped",
            timestamp=dt.datetime.now(dt.UTC),
            properties={"order_id": "1001"},
            customer_id=cid,
        )
    worker.settle()
    with db.session() as session:
        run = session.scalars(select(JourneyRun)).one()
        assert run.status == "waiting"
    assert [name for name, *_ in worker.scheduled()] == ["advance_runs"]
    # The scheduler runs it when its time comes (2 s), with no sweep to help.
    deadline = time.monotonic() + 15
    while not smtp.inbox.envelopes and time.monotonic() < deadline:
        time.sleep(0.1)
    worker.settle()
    messages = smtp.inbox.messages()
    assert [m["Subject"] for m in messages] == ["Votre colis a du retard"]
    with db.session() as session:
        assert session.scalars(select(JourneyRun)).one().status == "done"

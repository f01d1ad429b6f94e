"""The demo store's NPS history: its surveys run over two years of deliveries.

What happened to each customer moves the score: a late parcel lowers it (the later, the lower),
paying for delivery lowers it a little, a refund or a lost parcel a lot; a loyal customer leans
higher. Verbatims say why, in the customer's language, in the words customers use: the reasons
behind low scores are mostly the late deliveries and delivery costs the generator put there, so
the dashboard tells that story.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select

from cxloop import commerce
from cxloop.store.db import Database
from cxloop.store.registry import load_models
from cxloop.surveys import rollups, stats
from cxloop.surveys import service as feedback
from cxloop.surveys.definitions import default_definition
from cxloop.surveys.schemas import NpsSummary
from cxloop.themes import Tagger, Tagging, default_taxonomy, drivers
from cxloop.themes import service as feedback_tagging

Progress = Callable[[str, int, int], None]
RESPONSE_RATE = 0.27
COMMENT_RATE = 0.45
COOLDOWN_DAYS = 90

# Verbatims by reason, per language. Several per reason, written the way customers write.
VERBATIMS: dict[str, dict[str, list[str]]] = {
    "late": {
        "fr": [
            "Livraison beaucoup trop longue, j'ai attendu presque deux semaines.",
            "Colis arrivé avec 5 jours de retard et aucune nouvelle du transporteur.",
            "Le suivi n'était jamais à jour, livré bien après la date annoncée.",
            "commande arrivée en retard pour l'anniversaire de ma fille, dommage",
            "Délais de livraison non respectés.",
        ],
        "en": [
            "Delivery took far too long, almost two weeks.",
            "Parcel arrived 5 days late and the tracking never updated.",
            "Late delivery, missed the birthday it was meant for.",
            "shipping was slow, way past the promised date",
        ],
    },
    "shipping_cost": {
        "fr": [
            "Les frais de port sont trop chers pour une petite commande.",
            "Bons produits mais 4,90 € de livraison c'est beaucoup.",
            "Dommage que la livraison ne soit pas offerte plus tôt.",
        ],
        "en": [
            "Shipping costs are too high for a small order.",
            "Nice products but paying for delivery put me off.",
        ],
    },
    "quality": {
        "fr": [
            "Le pull a bouloché après deux lavages.",
            "Couleur différente de la photo, un peu déçue.",
            "La taille taille petit, il a fallu échanger.",
        ],
        "en": [
            "The jumper pilled after two washes.",
            "Colour not as shown on the website.",
            "Runs small, had to exchange it.",
        ],
    },
    "refund": {
        "fr": [
            "Remboursement très long à obtenir, j'ai dû relancer trois fois.",
            "Colis perdu, il a fallu se battre pour être remboursée.",
        ],
        "en": [
            "Took ages to get my refund, had to chase three times.",
            "Parcel lost and the refund was a struggle.",
        ],
    },
    "praise": {
        "fr": [
            "Très bonne qualité, livraison rapide, je recommande !",
            "Service client au top et produits conformes.",
            "Toujours satisfaite de mes commandes, bravo.",
            "Jolis vêtements pour enfants, bien emballés.",
            "Rapide et soigné, rien à redire.",
        ],
        "en": [
            "Great quality and fast delivery, highly recommend!",
            "Lovely clothes, well packaged, arrived quickly.",
            "Customer service was really helpful.",
            "Always happy with my orders.",
        ],
    },
    "meh": {
        "fr": [
            "Bien dans l'ensemble, mais le choix de tailles est limité.",
            "Correct, un peu cher pour la qualité.",
            "Le site est parfois lent pendant le paiement.",
        ],
        "en": [
            "Fine overall but the size range is limited.",
            "OK, a bit pricey for the quality.",
            "Checkout on the website was a bit slow.",
        ],
    },
}


def _reason(
    score: int, late_days: float, paid_shipping: bool, refunded: bool, rng: np.random.Generator
) -> str:
    if score >= 9:
        return "praise"
    if refunded:
        return "refund"
    if late_days > 0 and rng.random() < 0.85:
        return "late"
    if paid_shipping and rng.random() < 0.6:
        return "shipping_cost"
    # Only a customer who paid for shipping complains about its cost; an unhappy one with no
    # incident has reasons of all kinds: the product, or the price, the range, the site.
    if score <= 6:
        return "quality" if rng.random() < 0.5 else "meh"
    return "meh"


def run_history(
    db: Database,
    workspace_id: str,
    *,
    seed: int,
    end: dt.datetime,
    progress: Progress | None = None,
) -> int:
    """Add the two proposed surveys and two years of answers to them; returns the answers."""
    # Asked by email, and in conversation with the shop's assistant.
    definition = default_definition("shipment_delivered").model_copy(
        update={"channels": ["email", "chat"]}
    )
    with db.session() as session:
        survey = feedback.save_survey(session, workspace_id, definition, actor="demo")
        feedback.save_survey(
            session,
            workspace_id,
            default_definition("order_placed").model_copy(update={"active": False}),
            actor="demo",
        )
        survey.created_at = end - dt.timedelta(days=800)
        survey_id = survey.id
    tables = load_models().metadata.tables
    orders, shipments, customers = tables["orders"], tables["shipments"], tables["customers"]
    with db.session() as session:
        rows = session.execute(
            select(
                shipments.c.id,
                shipments.c.order_id,
                shipments.c.delivered_at,
                shipments.c.promised_at,
                orders.c.customer_id,
                orders.c.shipping_cents,
                orders.c.refunded_cents,
                orders.c.status,
                customers.c.locale,
                customers.c.country,
                customers.c.email,
            )
            .join(orders, orders.c.id == shipments.c.order_id)
            .join(customers, customers.c.id == orders.c.customer_id)
            .where(
                shipments.c.workspace_id == workspace_id,
                shipments.c.delivered_at.is_not(None),
                shipments.c.delivered_at < end,
            )
            .order_by(shipments.c.delivered_at, shipments.c.id)
        ).all()
        next_invitation = (session.scalar(select(func.max(tables["invitations"].c.id))) or 0) + 1
    rng = np.random.default_rng(seed + 4_242)
    last_asked: dict[int, dt.datetime] = {}
    orders_seen: dict[int, int] = {}
    invitations: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []
    delay = dt.timedelta(hours=definition.delay_hours)
    for (
        shipment_id,
        order_id,
        delivered,
        promised,
        customer_id,
        shipping,
        refunded,
        status,
        locale,
        country,
        email,
    ) in rows:
        orders_seen[customer_id] = orders_seen.get(customer_id, 0) + 1
        sent = delivered + delay
        if sent >= end or status == "cancelled" or not email:
            continue
        previous = last_asked.get(customer_id)
        if previous is not None and sent - previous < dt.timedelta(days=COOLDOWN_DAYS):
            continue
        last_asked[customer_id] = sent
        lang = "en" if (locale or "fr").startswith("en") else "fr"
        invitation_id = next_invitation + len(invitations)
        answered = rng.random() < RESPONSE_RATE
        opened = answered or rng.random() < 0.45
        late_days = max(0.0, (delivered - promised).total_seconds() / 86400) if promised else 0.0
        responded_at = sent + dt.timedelta(hours=float(rng.exponential(14))) if answered else None
        invitation = {
            "id": invitation_id,
            "workspace_id": workspace_id,
            "survey_id": survey_id,
            "customer_id": customer_id,
            "subject_key": f"shipment:{shipment_id}",
            "order_id": order_id,
            "shipment_id": shipment_id,
            "touchpoint": "after_delivery",
            "channel": "email",
            "locale": lang,
            "status": "sent",
            "token": secrets.token_urlsafe(24),
            "scheduled_at": sent,
            "sent_at": sent,
            "delivered_at": sent + dt.timedelta(seconds=30),
            "opened_at": sent + dt.timedelta(hours=2) if opened else None,
            "clicked_at": responded_at,
            "responded_at": responded_at,
            "commented_at": None,
            "expires_at": sent + dt.timedelta(days=30),
            "created_at": sent,
        }
        invitations.append(invitation)
        if not answered or responded_at is None:
            continue
        # The story: a base that leans towards promoters, pulled down by what went wrong.
        base = rng.normal(8.9, 1.4) + min(orders_seen[customer_id] - 1, 4) * 0.25
        base -= min(late_days, 10) * 0.75 + (1.0 if late_days > 0 else 0.0)
        base -= 0.9 if shipping else 0.0
        base -= 4.0 if refunded or status == "refunded" else 0.0
        score = int(np.clip(round(base), 0, 10))
        comment = ""
        if rng.random() < COMMENT_RATE + (0.25 if score <= 6 else 0.0):
            reason = _reason(score, late_days, bool(shipping), bool(refunded), rng)
            bank = VERBATIMS[reason][lang]
            comment = bank[int(rng.integers(0, len(bank)))]
            invitation["commented_at"] = responded_at
        responses.append(
            {
                "workspace_id": workspace_id,
                "survey_id": survey_id,
                "invitation_id": invitation_id,
                "customer_id": customer_id,
                "score": score,
                "category": feedback.category_of(score),
                "comment": comment,
                "followup": "",
                "status": "confirmed",
                "channel": "email",
                "touchpoint": "after_delivery",
                "locale": lang,
                "country": country,
                "order_id": order_id,
                "themes": [],
                "sentiment": None,
                "mentions": [],
                "created_at": responded_at,
                "confirmed_at": responded_at,
                "updated_at": responded_at,
            }
        )
    # Each verbatim tagged as a recorded answer is (themes, sentiment, per-theme sentiment);
    # the banks repeat, so each distinct text is tagged once.
    tagger = Tagger(default_taxonomy())
    tagged: dict[str, Tagging] = {}
    for response in responses:
        if response["comment"]:
            tagging = tagged.get(response["comment"])
            if tagging is None:
                tagging = tagged[response["comment"]] = tagger.tag(response["comment"])
            response["themes"] = list(tagging.themes)
            response["sentiment"] = round(tagging.sentiment, 3)
            response["mentions"] = feedback_tagging.mentions_of(tagging)
    with db.session() as session:
        # What recording an answer copies from its order, for the dashboard's breakdowns.
        for start in range(0, len(responses), 5000):
            chunk = responses[start : start + 5000]
            facets = commerce.order_facets(session, [r["order_id"] for r in chunk])
            for response in chunk:
                response["segment"], response["categories"] = facets.get(
                    response.pop("order_id"), (None, "")
                )
        for start in range(0, len(invitations), 5000):
            session.execute(insert(tables["invitations"]), invitations[start : start + 5000])
            if progress is not None:
                progress("nps", min(start + 5000, len(invitations)), len(invitations))
        for start in range(0, len(responses), 5000):
            session.execute(insert(tables["responses"]), responses[start : start + 5000])
        if session.get_bind().dialect.name == "postgresql":
            session.execute(
                select(
                    func.setval(
                        "invitations_id_seq",
                        select(func.max(tables["invitations"].c.id)).scalar_subquery(),
                    )
                )
            )
    with db.session() as session:
        rollups.fill_funnel(session, workspace_id, end)
    return len(responses)


def summary(db: Database, workspace_id: str) -> NpsSummary:
    """The NPS of the workspace's confirmed answers."""
    responses = load_models().metadata.tables["responses"]
    with db.session() as session:
        scores = session.scalars(
            select(responses.c.score).where(
                responses.c.workspace_id == workspace_id, responses.c.status == "confirmed"
            )
        ).all()
    return stats.nps_summary(list(scores))


def top_drivers(db: Database, workspace_id: str, limit: int = 5) -> list[str]:
    """The themes that cost the most NPS points (detractors mentioning them), worst first."""
    with db.session() as session:
        report = drivers.drivers_for(session, workspace_id)
    return [d.theme for d in report.drivers if d.impact > 0][:limit]

"""Site campaigns as merchants manage them (create from YAML, change, switch on, pause,
archive; each change audited), the decision a page asks for, the clicks, and the report.

A decision (``decide``) reads the visitor's facts: the customer's (scores, orders, the last
NPS answer, their segments) when the page proves who they are, the visit's last 30 minutes
from the events their browser sent, and the page asking. Campaigns are tried by priority: a
banner fills one of the page's places, a message pops up (one per page). A campaign's
condition must hold, the visitor must be under its frequency cap, and the first variant whose
condition holds is the one; a stable draw keeps a share of visitors in its holdout, who are
recorded and shown nothing, so that the report compares them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cxloop import analytics, i18n, ingest, journeys, segments, workspaces
from cxloop.errors import InvalidInput
from cxloop.personalize.definition import Plan, Variant, read
from cxloop.personalize.models import Campaign, Impression
from cxloop.personalize.visit import PAGE_TYPES, visit_facts
from cxloop.store.base import utcnow

STATUSES = ("draft", "active", "paused", "archived")
MAX_SLOTS = 20


@lru_cache(maxsize=2048)
def plan_of(source: str) -> Plan:
    """The plan of a stored definition (read once per text)."""
    return read(source)


def get_campaign(session: Session, workspace_id: str, key: str) -> Campaign | None:
    """The workspace's campaign of that key."""
    return session.scalar(
        select(Campaign).where(Campaign.workspace_id == workspace_id, Campaign.key == key)
    )


def found_campaign(session: Session, workspace_id: str, key: str) -> Campaign:
    campaign = get_campaign(session, workspace_id, key)
    if campaign is None:
        raise InvalidInput(
            "key", i18n.gettext("no campaign of that key"), status=404, code="not_found"
        )
    return campaign


def list_campaigns(session: Session, workspace_id: str) -> list[Campaign]:
    """The workspace's campaigns, by key."""
    return list(
        session.scalars(
            select(Campaign).where(Campaign.workspace_id == workspace_id).order_by(Campaign.key)
        )
    )


def create_campaign(
    session: Session, workspace_id: str, source: str, *, actor: str, status: str = "draft"
) -> Campaign:
    """A new campaign from its YAML (version 1); audited."""
    spec = read(source)
    if get_campaign(session, workspace_id, spec.key) is not None:
        raise InvalidInput(
            "key",
            i18n.gettext("a campaign of that key exists already"),
            status=409,
            code="conflict",
        )
    if status not in ("draft", "active"):
        raise InvalidInput("status", i18n.gettext("a new campaign is a draft or active"))
    now = utcnow()
    campaign = Campaign(
        workspace_id=workspace_id,
        key=spec.key,
        status=status,
        version=1,
        source=source,
        created_at=now,
        updated_at=now,
    )
    session.add(campaign)
    session.flush()
    workspaces.audit(
        session,
        actor=actor,
        action="campaigns.created",
        workspace_id=workspace_id,
        subject=spec.key,
        data={"version": 1, "status": status},
    )
    return campaign


def update_campaign(
    session: Session, workspace_id: str, key: str, source: str, *, actor: str
) -> Campaign:
    """A new version of the campaign (its key cannot change); audited. Unchanged text is no
    new version."""
    campaign = found_campaign(session, workspace_id, key)
    if campaign.status == "archived":
        raise InvalidInput(
            "key", i18n.gettext("an archived campaign cannot change"), status=409, code="conflict"
        )
    spec = read(source)
    if spec.key != key:
        raise InvalidInput("definition", i18n.gettext("key: a campaign keeps its key"))
    if source == campaign.source:
        return campaign
    campaign.version += 1
    campaign.source = source
    campaign.updated_at = utcnow()
    workspaces.audit(
        session,
        actor=actor,
        action="campaigns.updated",
        workspace_id=workspace_id,
        subject=key,
        data={"version": campaign.version},
    )
    return campaign


def set_status(
    session: Session, workspace_id: str, key: str, status: str, *, actor: str
) -> Campaign:
    """Switch a campaign on (``active``), pause it or archive it (for good); audited."""
    if status not in STATUSES or status == "draft":
        raise InvalidInput("status", i18n.gettext("active, paused or archived"))
    campaign = found_campaign(session, workspace_id, key)
    if campaign.status == "archived" and status != "archived":
        raise InvalidInput(
            "status",
            i18n.gettext("an archived campaign stays archived"),
            status=409,
            code="conflict",
        )
    if campaign.status != status:
        before, campaign.status, campaign.updated_at = campaign.status, status, utcnow()
        workspaces.audit(
            session,
            actor=actor,
            action="campaigns.status",
            workspace_id=workspace_id,
            subject=key,
            data={"from": before, "to": status},
        )
    return campaign


# Deciding ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visitor:
    """Who asks: the browser's anonymous id (none without consent), the customer when the page
    proved it, the page and its places."""

    anonymous_id: str | None
    customer_id: int | None
    page_type: str = "other"
    page_category: str | None = None
    slots: tuple[str, ...] = ()
    leaving: bool = False
    locale: str = "fr"
    first_name: str = ""


@dataclass
class Decision:
    campaign: str
    kind: str
    slot: str
    variant: str
    token: str
    texts: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "kind": self.kind,
            "slot": self.slot or None,
            "variant": self.variant,
            "token": self.token,
            **self.texts,
        }


def facts_for(
    session: Session, workspace_id: str, visitor: Visitor, now: dt.datetime
) -> dict[str, Any]:
    """Everything a campaign's condition may read about this visitor, now."""
    facts: dict[str, Any] = {}
    if visitor.customer_id is not None:
        facts.update(
            analytics.facts_of(session, workspace_id, [visitor.customer_id], now).get(
                visitor.customer_id, {}
            )
        )
        facts["segments"] = segments.segments_of(session, workspace_id, visitor.customer_id)
    if visitor.anonymous_id:
        facts.update(visit_facts(session, workspace_id, visitor.anonymous_id, now))
    facts["visit.leaving"] = visitor.leaving
    facts["visit.known"] = visitor.customer_id is not None
    facts["page.type"] = visitor.page_type if visitor.page_type in PAGE_TYPES else "other"
    facts["page.category"] = visitor.page_category
    return facts


def _shown_lately(session: Session, campaign_id: int, visitor: str, since: dt.datetime) -> int:
    return int(
        session.scalar(
            select(func.count(Impression.id)).where(
                Impression.campaign_id == campaign_id,
                Impression.visitor == visitor,
                Impression.shown_at >= since,
            )
        )
        or 0
    )


def _variant(spec: Plan, facts: dict[str, Any]) -> Variant | None:
    for variant in spec.variants:
        if not variant.when or segments.matches(segments.parse(variant.when), facts):
            return variant
    return None


def _texts(variant: Variant, locale: str, values: dict[str, str]) -> dict[str, str]:
    out = {"title": journeys.fill(variant.title.get(locale), values)}
    if variant.body is not None:
        out["body"] = journeys.fill(variant.body.get(locale), values)
    if variant.link:
        out["link"] = variant.link
        out["cta"] = variant.cta.get(locale) if variant.cta else ""
    if variant.image:
        out["image"] = variant.image
    return out


def decide(
    session: Session, workspace_id: str, visitor: Visitor, *, now: dt.datetime | None = None
) -> list[Decision]:
    """What this page shows this visitor: banners for its places, at most one message; every
    decision (the holdout's too) recorded. Without an anonymous id (no consent), banners only,
    nothing recorded, no holdout. ``now``: the clock (a replayed history's)."""
    now = now or utcnow()
    rows = session.scalars(
        select(Campaign).where(Campaign.workspace_id == workspace_id, Campaign.status == "active")
    ).all()
    plans = sorted(((plan_of(c.source), c) for c in rows), key=lambda p: (-p[0].priority, p[1].key))
    slots = set(visitor.slots[:MAX_SLOTS])
    plans = [
        (spec, c)
        for spec, c in plans
        if (spec.kind == "banner" and spec.slot in slots)
        or (spec.kind == "message" and visitor.anonymous_id)
    ]
    if not plans:
        return []
    facts = facts_for(session, workspace_id, visitor, now)
    place_of = workspaces.get_workspace(session, workspace_id)
    values = {"first_name": visitor.first_name, "store_name": getattr(place_of, "name", "") or ""}
    decided: list[Decision] = []
    taken: set[str] = set()
    for spec, campaign in plans:
        place = spec.slot if spec.kind == "banner" else "~message"
        if place in taken:
            continue
        if spec.when and not segments.matches(segments.parse(spec.when), facts):
            continue
        variant = _variant(spec, facts)
        if variant is None:
            continue
        shown = Decision(spec.key, spec.kind, spec.slot, variant.key, "", {})
        shown.texts = _texts(variant, visitor.locale, values)
        if visitor.anonymous_id is None:  # no consent: shown, not recorded
            taken.add(place)
            decided.append(shown)
            continue
        since = now - dt.timedelta(seconds=spec.cap.per_seconds)
        if _shown_lately(session, campaign.id, visitor.anonymous_id, since) >= spec.cap.shows:
            continue
        subject: int | str = visitor.customer_id or visitor.anonymous_id
        held = journeys.in_holdout(f"site:{spec.key}", subject, spec.holdout)
        shown.token = uuid.uuid4().hex
        session.add(
            Impression(
                workspace_id=workspace_id,
                campaign_id=campaign.id,
                variant=variant.key,
                held_out=held,
                visitor=visitor.anonymous_id,
                customer_id=visitor.customer_id,
                token=shown.token,
                shown_at=now,
            )
        )
        taken.add(place)
        if not held:
            decided.append(shown)
    session.flush()
    return decided


def record_click(
    session: Session, workspace_id: str, token: str, *, at: dt.datetime | None = None
) -> bool:
    """The visitor followed the decision's link (the first click counts); whether the token
    was this workspace's."""
    result = session.execute(
        update(Impression)
        .where(Impression.workspace_id == workspace_id, Impression.token == token)
        .values(clicked_at=func.coalesce(Impression.clicked_at, at or utcnow()))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# Reporting -----------------------------------------------------------------------------------


@dataclass
class _Group:
    visitors: dict[str, tuple[dt.datetime, int | None]] = field(default_factory=dict)
    shown: int = 0
    clicked: set[str] = field(default_factory=set)
    converted: set[str] = field(default_factory=set)
    revenue: float = 0.0


def _revenue(properties: dict[str, Any]) -> float:
    for name in ("revenue", "total"):
        value = properties.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return 0.0


def report(session: Session, campaign: Campaign) -> dict[str, Any]:
    """Per variant and for the holdout: decisions, visitors, clicks, and conversions (the goal
    event within its window after a visitor's first decision) with revenue; then every variant
    together against the holdout (the difference of conversion rates, Newcombe's interval)."""
    spec = plan_of(campaign.source)
    groups: dict[str, _Group] = defaultdict(_Group)
    rows = session.execute(
        select(
            Impression.variant,
            Impression.held_out,
            Impression.visitor,
            Impression.customer_id,
            Impression.shown_at,
            Impression.clicked_at,
        ).where(Impression.campaign_id == campaign.id)
    )
    for variant, held, visitor, customer_id, shown_at, clicked_at in rows:
        group = groups["holdout" if held else variant]
        group.shown += 1
        earlier = group.visitors.get(visitor)
        if earlier is None or shown_at < earlier[0]:
            group.visitors[visitor] = (shown_at, customer_id or (earlier[1] if earlier else None))
        if clicked_at is not None:
            group.clicked.add(visitor)
    window = dt.timedelta(seconds=spec.goal.within_seconds)
    everyone = {v: first for g in groups.values() for v, first in g.visitors.items()}
    if everyone:
        since = min(first for first, _c in everyone.values())
        moments = ingest.event_moments(
            session,
            campaign.workspace_id,
            spec.goal.event,
            since,
            anonymous_ids=sorted(everyone),
            customer_ids=sorted({c for _f, c in everyone.values() if c is not None}),
        )
        by_visitor: dict[str, list[tuple[dt.datetime, float]]] = defaultdict(list)
        by_customer: dict[int, list[tuple[dt.datetime, float]]] = defaultdict(list)
        for anonymous_id, customer_id, at, properties in moments:
            if anonymous_id:
                by_visitor[anonymous_id].append((at, _revenue(properties)))
            if customer_id is not None:
                by_customer[customer_id].append((at, _revenue(properties)))
        for group in groups.values():
            for visitor, (first, customer_id) in group.visitors.items():
                seen = {*by_visitor.get(visitor, []), *by_customer.get(customer_id or -1, [])}
                inside = [amount for at, amount in seen if first <= at <= first + window]
                if inside:
                    group.converted.add(visitor)
                    group.revenue += sum(inside)
    listed = [v.key for v in spec.variants if v.key in groups] + [
        k for k in groups if k != "holdout" and k not in {v.key for v in spec.variants}
    ]
    variants = []
    for key in [*listed, "holdout"] if "holdout" in groups or spec.holdout else listed:
        group = groups.get(key, _Group())
        n = len(group.visitors)
        variants.append(
            {
                "variant": key,
                "shown": group.shown,
                "visitors": n,
                "clicks": len(group.clicked),
                "conversions": len(group.converted),
                "conversion_rate": len(group.converted) / n if n else None,
                "revenue": round(group.revenue, 2),
            }
        )
    treated = [g for k, g in groups.items() if k != "holdout"]
    control = groups.get("holdout", _Group())
    against = journeys.proportions(
        (sum(len(g.converted) for g in treated), sum(len(g.visitors) for g in treated)),
        (len(control.converted), len(control.visitors)),
    )
    return {
        "campaign": campaign.key,
        "goal": {"event": spec.goal.event, "within_seconds": spec.goal.within_seconds},
        "variants": variants,
        "against_holdout": against,
    }

"""Alert rules over the admin API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cxloop.alerts import service as alerts
from cxloop.alerts.schemas import AlertRuleCreate
from cxloop.web.deps import AdminDep, SessionDep

api = APIRouter(prefix="/api/v1", tags=["admin"])
routers = (api,)


@api.post("/alert-rules", status_code=201)
def create_alert_rule(
    owner: AdminDep, session: SessionDep, rule: AlertRuleCreate
) -> dict[str, Any]:
    """Add an alert: new answers matching ``filters`` (e.g. ``{"max_score": 6}``), or silence."""
    created = alerts.create_rule(session, owner.workspace_id, actor="api", **rule.model_dump())
    return {"id": created.id, **rule.model_dump(exclude={"secret"})}


@api.get("/alert-rules")
def list_alert_rules(owner: AdminDep, session: SessionDep) -> list[dict[str, Any]]:
    """The workspace's alert rules (secrets are never shown)."""
    return [
        {
            "id": r.id,
            "name": r.name,
            "kind": r.kind,
            "target": r.target,
            "address": r.address,
            "filters": r.filters,
            "slack_format": r.slack_format,
            "active": r.active,
        }
        for r in alerts.rules_of(session, owner.workspace_id)
    ]

"""Alert rules over the admin API."""

from __future__ import annotations

from fastapi import APIRouter, Response

from cxloop.alerts import service as alerts
from cxloop.alerts.models import AlertRule
from cxloop.alerts.schemas import AlertRuleCreate, AlertRulePublic, AlertRuleUpdate
from cxloop.inputs import RowId
from cxloop.web.deps import AdminDep, SessionDep

api = APIRouter(prefix="/api/v1", tags=["admin"])
routers = (api,)


def _public(rule: AlertRule) -> AlertRulePublic:
    return AlertRulePublic(
        id=rule.id,
        name=rule.name,
        kind=rule.kind,
        target=rule.target,
        address=rule.address,
        filters=rule.filters or {},
        slack_format=rule.slack_format,
        active=rule.active,
        signed=bool(rule.secret),
    )


@api.post("/alert-rules", status_code=201)
def create_alert_rule(
    owner: AdminDep, session: SessionDep, rule: AlertRuleCreate
) -> AlertRulePublic:
    """Add an alert: new answers matching ``filters`` (e.g. ``{"max_score": 6}``), or silence."""
    created = alerts.create_rule(session, owner.workspace_id, actor="api", **rule.model_dump())
    return _public(created)


@api.get("/alert-rules")
def list_alert_rules(owner: AdminDep, session: SessionDep) -> list[AlertRulePublic]:
    """The workspace's alert rules (secrets are never shown)."""
    return [_public(r) for r in alerts.rules_of(session, owner.workspace_id)]


@api.put("/alert-rules/{rule_id}")
def update_alert_rule(
    owner: AdminDep, session: SessionDep, rule_id: RowId, changes: AlertRuleUpdate
) -> AlertRulePublic:
    """Change a rule: the fields given (``{"active": false}`` switches it off), checked as a
    new rule's are; ``"secret": null`` removes its secret."""
    rule = alerts.update_rule(
        session, owner.workspace_id, rule_id, actor="api", **changes.changes()
    )
    return _public(rule)


@api.delete("/alert-rules/{rule_id}", status_code=204, response_class=Response)
def delete_alert_rule(owner: AdminDep, session: SessionDep, rule_id: RowId) -> Response:
    """Delete a rule and the record of its deliveries."""
    alerts.delete_rule(session, owner.workspace_id, rule_id, actor="api")
    return Response(status_code=204)

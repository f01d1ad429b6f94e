"""A workspace's scenarios: the built-in ones (``data/scenarios/*.yaml``), overridden by the
workspace's own versions with the same key, plus its own; each can be switched off.

A row of ``assistant_scenarios`` holds the workspace's YAML (empty: the built-in's, as when a
built-in is only switched off). Every change is validated first, then written and audited in
the caller's transaction. Parsed scenarios are kept per source text, so a conversation's turn
reads the rows but parses nothing new.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxloop import workspaces
from cxloop.assistant.models import Scenario as ScenarioRow
from cxloop.assistant.scenarios import KEY, Scenario, parse
from cxloop.errors import InvalidInput
from cxloop.i18n import gettext as _
from cxloop.store.base import utcnow

MAX_SCENARIOS = 50  # a workspace's own rows


@cache
def builtin_sources() -> dict[str, str]:
    """The built-in scenarios' YAML by key, in key order."""
    folder = resources.files("cxloop.assistant").joinpath("data/scenarios")
    found: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            found[entry.name.removesuffix(".yaml")] = entry.read_text("utf-8")
    return found


@lru_cache(maxsize=512)
def parsed(source: str) -> Scenario:
    """The scenario of ``source``, parsed once per distinct text."""
    return parse(source)


@dataclass(frozen=True)
class Entry:
    """A scenario as the console lists it."""

    key: str
    source: str
    builtin: bool  # cxloop ships one with this key
    custom: bool  # the workspace has its own version (or its own scenario)
    enabled: bool
    updated_at: dt.datetime | None
    scenario: Scenario | None  # None when the source no longer validates
    error: str = ""


def _rows(session: Session, workspace_id: str) -> dict[str, ScenarioRow]:
    rows = session.scalars(
        select(ScenarioRow)
        .where(ScenarioRow.workspace_id == workspace_id)
        .order_by(ScenarioRow.key)
    )
    return {row.key: row for row in rows}


def _entry(key: str, row: ScenarioRow | None) -> Entry:
    builtin = builtin_sources().get(key)
    source = (row.source if row is not None else "") or builtin or ""
    try:
        scenario: Scenario | None = parsed(source)
        error = ""
    except InvalidInput as exc:
        scenario, error = None, f"{exc.field}: {exc.message}"
    return Entry(
        key=key,
        source=source,
        builtin=builtin is not None,
        custom=row is not None and bool(row.source),
        enabled=row.enabled if row is not None else True,
        updated_at=row.updated_at if row is not None else None,
        scenario=scenario,
        error=error,
    )


def entries(session: Session, workspace_id: str) -> list[Entry]:
    """Every scenario of the workspace, built-in or its own, switched on or off, by key."""
    rows = _rows(session, workspace_id)
    keys = sorted(set(builtin_sources()) | set(rows))
    return [_entry(key, rows.get(key)) for key in keys]


def entry(session: Session, workspace_id: str, key: str) -> Entry | None:
    """One scenario of the workspace, or ``None`` when it has none of that key."""
    row = session.scalar(
        select(ScenarioRow).where(ScenarioRow.workspace_id == workspace_id, ScenarioRow.key == key)
    )
    if row is None and key not in builtin_sources():
        return None
    return _entry(key, row)


def scenarios_for(session: Session, workspace_id: str) -> dict[str, Scenario]:
    """The scenarios the assistant runs for this workspace: switched on and valid, by key."""
    return {
        e.key: e.scenario
        for e in entries(session, workspace_id)
        if e.enabled and e.scenario is not None
    }


def _row(session: Session, workspace_id: str, key: str) -> ScenarioRow | None:
    return session.scalar(
        select(ScenarioRow).where(ScenarioRow.workspace_id == workspace_id, ScenarioRow.key == key)
    )


def save_scenario(
    session: Session, workspace_id: str, key: str, source: str, *, actor: str
) -> Scenario:
    """Validate ``source`` and make it the workspace's scenario ``key`` (audited)."""
    if not KEY.match(key):
        raise InvalidInput("key", _("lower case letters, digits and underscores, from a letter"))
    scenario = parse(source)
    if scenario.key != key:
        raise InvalidInput("key", _("the key cannot change here"))
    row = _row(session, workspace_id, key)
    if row is None:
        count = len(_rows(session, workspace_id))
        if count >= MAX_SCENARIOS:
            raise InvalidInput(
                "key", _("at most %(n)s scenarios per workspace") % {"n": MAX_SCENARIOS}
            )
        row = ScenarioRow(workspace_id=workspace_id, key=key, source=source, enabled=True)
        session.add(row)
    row.source = source
    row.updated_at = utcnow()
    workspaces.audit(
        session,
        actor=actor,
        action="assistant.scenario_saved",
        workspace_id=workspace_id,
        subject=key,
        data={"builtin": key in builtin_sources()},
    )
    session.flush()
    return scenario


def set_enabled(
    session: Session, workspace_id: str, key: str, enabled: bool, *, actor: str
) -> None:
    """Switch a scenario on or off (audited); a built-in keeps its built-in text."""
    row = _row(session, workspace_id, key)
    if row is None:
        if key not in builtin_sources():
            raise _unknown()
        row = ScenarioRow(workspace_id=workspace_id, key=key, source="", enabled=enabled)
        session.add(row)
    row.enabled = enabled
    row.updated_at = utcnow()
    workspaces.audit(
        session,
        actor=actor,
        action="assistant.scenario_enabled" if enabled else "assistant.scenario_disabled",
        workspace_id=workspace_id,
        subject=key,
    )
    session.flush()


def reset_scenario(session: Session, workspace_id: str, key: str, *, actor: str) -> None:
    """Back to the built-in scenario, switched on (audited); the workspace's own scenario,
    which has no built-in, is deleted."""
    row = _row(session, workspace_id, key)
    if row is None:
        if key not in builtin_sources():
            raise _unknown()
        return
    session.delete(row)
    workspaces.audit(
        session,
        actor=actor,
        action="assistant.scenario_reset",
        workspace_id=workspace_id,
        subject=key,
        data={"builtin": key in builtin_sources()},
    )
    session.flush()


def _unknown() -> InvalidInput:
    return InvalidInput("key", _("no scenario of that key"), status=404, code="not_found")

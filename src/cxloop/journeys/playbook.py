"""The seeds' playbooks, ready to switch on: six journeys with French and English texts, in
``playbooks/`` (one YAML file each, read like any journey's definition).

- ``detractor_recovery``: a case to call back, a place to vent, free shipping when delivery was
  the problem;
- ``passive_conversion``: a gift in the next parcel and 10% off;
- ``promoter_advocacy``: the VIP club, a public review request, a code to share;
- ``shipping_delay``: an apology and 5 off when a parcel is not delivered four days after
  shipping, before the customer complains;
- ``win_back``: 15% off and a reminder when churn risk turns high;
- ``high_potential_welcome``: a welcome gift for a first-time customer likely to become a top
  one.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from cxloop import i18n
from cxloop.errors import InvalidInput
from cxloop.journeys import service
from cxloop.journeys.definition import Definition, read
from cxloop.journeys.models import Journey

FOLDER = Path(__file__).parent / "playbooks"
KEYS = (
    "detractor_recovery",
    "passive_conversion",
    "promoter_advocacy",
    "shipping_delay",
    "win_back",
    "high_potential_welcome",
)


@lru_cache(maxsize=len(KEYS))
def source_of(key: str) -> str:
    """The YAML of a playbook."""
    if key not in KEYS:
        raise InvalidInput(
            "key", i18n.gettext("no playbook of that key"), status=404, code="not_found"
        )
    return (FOLDER / f"{key}.yaml").read_text(encoding="utf-8")


def definition_of(key: str) -> Definition:
    """A playbook's definition."""
    return read(source_of(key))


def install(
    session: Session,
    workspace_id: str,
    keys: tuple[str, ...] = KEYS,
    *,
    actor: str,
    status: str = "draft",
) -> list[Journey]:
    """Make journeys of these playbooks (those the workspace does not have yet); audited each."""
    made = []
    for key in keys:
        if service.get_journey(session, workspace_id, key) is None:
            made.append(
                service.create_journey(
                    session, workspace_id, source_of(key), actor=actor, status=status
                )
            )
    return made

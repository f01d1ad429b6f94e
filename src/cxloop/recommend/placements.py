"""Placements and their settings: where the store shows recommendations, which strategy fills
each, whether it may show what the customer already bought, and the products pinned first or
never shown there. Defaults hold until a merchant changes one (console or API; audited).

| placement | default strategy | buying again |
|---|---|---|
| `home`, `email` | `for_you`: the model measured best on the workspace's own orders | yes |
| `product`, `cart` | `goes_with`: best measured: bought together, similar, best sellers | no |
| `assistant` | `bought_together` with the products shown (its "what goes with it?") | no |
| `similar` | `similar`: the same kind of product, by its words | yes |
| `upsell` | `upsell`: a better product of the same kind, a price step above | no |
| `recent` | `recently_viewed` by this visitor | yes |

A list its strategy left short is filled with `similar` (products shown), `popular_in_segment`
and `popular_in_persona` (a known customer), then best sellers (the shown products' categories
first); `upsell` and `recently_viewed` mean what they say and are never filled (an empty list:
nothing to show).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from cxloop import i18n, workspaces
from cxloop.errors import InvalidInput
from cxloop.recommend.models import PlacementSettings
from cxloop.store.base import utcnow

PLACEMENTS = ("home", "product", "cart", "email", "assistant", "similar", "upsell", "recent")
STRATEGIES = (
    "for_you",
    "goes_with",
    "bought_together",
    "similar",
    "upsell",
    "recently_viewed",
    "popular_in_segment",
    "popular_in_persona",
    "popularity",
)
MAX_LISTED = 50
_SKU = re.compile(r"^[^\s,]{1,100}$")


@dataclass(frozen=True)
class Placement:
    strategy: str
    repeats: bool
    pinned: tuple[str, ...] = field(default_factory=tuple)
    banned: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        found = asdict(self)
        return {**found, "pinned": list(self.pinned), "banned": list(self.banned)}


DEFAULTS: dict[str, Placement] = {
    "home": Placement("for_you", True),
    "email": Placement("for_you", True),
    "product": Placement("goes_with", False),
    "cart": Placement("goes_with", False),
    "assistant": Placement("bought_together", False),
    "similar": Placement("similar", True),
    "upsell": Placement("upsell", False),
    "recent": Placement("recently_viewed", True),
}


def placements_of(session: Session, workspace_id: str) -> dict[str, Placement]:
    """Every placement's settings (the defaults where the workspace changed nothing)."""
    row = session.get(PlacementSettings, workspace_id)
    stored = row.placements if row is not None else {}
    found = dict(DEFAULTS)
    for name, values in stored.items():
        if name in DEFAULTS and isinstance(values, dict):
            found[name] = _read(name, {**DEFAULTS[name].to_json(), **values})
    return found


def _skus(value: object, field_: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_LISTED:
        raise InvalidInput(
            field_, i18n.gettext("a list of at most %(n)s product ids") % {"n": MAX_LISTED}
        )
    for item in value:
        if not isinstance(item, str) or not _SKU.match(item):
            raise InvalidInput(field_, i18n.gettext("product ids without spaces or commas"))
    return tuple(dict.fromkeys(value))


def _read(name: str, values: dict[str, Any]) -> Placement:
    unknown = set(values) - {"strategy", "repeats", "pinned", "banned"}
    if unknown:
        raise InvalidInput(
            f"{name}.{sorted(unknown)[0]}",
            i18n.gettext("unknown; expected one of %(names)s")
            % {"names": "strategy, repeats, pinned, banned"},
        )
    strategy = values.get("strategy")
    if strategy not in STRATEGIES:
        raise InvalidInput(
            f"{name}.strategy",
            i18n.gettext("one of %(names)s") % {"names": ", ".join(STRATEGIES)},
        )
    repeats = values.get("repeats")
    if not isinstance(repeats, bool):
        raise InvalidInput(f"{name}.repeats", i18n.gettext("true or false"))
    return Placement(
        strategy=str(strategy),
        repeats=repeats,
        pinned=_skus(values.get("pinned", []), f"{name}.pinned"),
        banned=_skus(values.get("banned", []), f"{name}.banned"),
    )


def set_placements(
    session: Session, workspace_id: str, changes: object, *, actor: str
) -> dict[str, Placement]:
    """Change some placements' settings (each checked before anything is written); audited.
    ``changes``: placement → some of {strategy, repeats, pinned, banned}."""
    current = placements_of(session, workspace_id)
    if not isinstance(changes, dict):
        raise InvalidInput("placements", i18n.gettext("a mapping of names to values"))
    for name, values in changes.items():
        if name not in DEFAULTS:
            raise InvalidInput(
                name, i18n.gettext("one of %(names)s") % {"names": ", ".join(PLACEMENTS)}
            )
        if not isinstance(values, dict):
            raise InvalidInput(name, i18n.gettext("a mapping of names to values"))
        current[name] = _read(name, {**current[name].to_json(), **values})
    row = session.get(PlacementSettings, workspace_id)
    if row is None:
        row = PlacementSettings(workspace_id=workspace_id)
        session.add(row)
    row.placements = {
        name: placement.to_json()
        for name, placement in current.items()
        if placement != DEFAULTS[name]
    }
    row.updated_at = utcnow()
    workspaces.audit(
        session,
        actor=actor,
        action="recommend.placements",
        workspace_id=workspace_id,
        data={"changed": sorted(changes)},
    )
    return current

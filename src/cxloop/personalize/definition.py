"""A site campaign's definition: the YAML a merchant writes, read into a checked plan.

The schema (docs/personalize.md)::

    key: kids_books                    # lower case, digits, underscores
    name: {fr: "…", en: "…"}           # or one text
    kind: banner | message             # a banner fills a marked place; a message pops up
    slot: home_hero                    # a banner's place (data-cxloop-slot="home_hero")
    priority: 50                       # 0..100: the higher is decided first
    holdout: 10                        # percent of visitors shown nothing (0..50), measured
    when: "visit.category_views >= 3"  # optional: who and when, in the segments' language
    cap: {shows: 3, per: 1d}           # at most 3 decisions per visitor a day (holdout too)
    goal: {event: Order Completed, within: 7d}    # a conversion, counted per variant
    variants:                          # the first whose ``when`` holds is shown
      - key: vip
        when: "segments contains 'vip'"
        title: {fr: "…", en: "…"}
        body: {fr: "…", en: "…"}       # optional; {{ first_name }} and {{ store_name }}
        link: https://shop.example/…   # optional, with its label ``cta``
        cta: {fr: "…", en: "…"}
        image: https://…               # optional
      - key: everyone
        title: "…"

The readers are the journeys' (``journeys.mapping_of``…): errors name their path, in the
reader's language, and a condition is parsed when the definition is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cxloop import i18n, journeys

KINDS = ("banner", "message")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SLOT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_URL = re.compile(r"^https?://[^\s<>\"]{1,2000}$")
MAX_VARIANTS = 20
TOP = ("key", "name", "kind", "slot", "priority", "holdout", "when", "cap", "goal", "variants")
VARIANT = ("key", "when", "title", "body", "link", "cta", "image")


@dataclass(frozen=True)
class Cap:
    shows: int
    per_seconds: int


@dataclass(frozen=True)
class Variant:
    key: str
    when: str
    title: journeys.Text
    body: journeys.Text | None
    link: str
    cta: journeys.Text | None
    image: str


@dataclass(frozen=True)
class Plan:
    key: str
    name: journeys.Text
    kind: str
    slot: str
    priority: int
    holdout: int
    when: str
    cap: Cap
    goal: journeys.Goal
    variants: tuple[Variant, ...]


def _key(value: object, where: str) -> str:
    if not isinstance(value, str) or not KEY.match(value):
        raise journeys.fail(
            where, i18n.gettext("lower case letters, digits and underscores, from a letter")
        )
    return value


def _url(value: object, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not _URL.match(value):
        raise journeys.fail(where, i18n.gettext("a web address (http or https)"))
    return value


def _variant(value: object, index: int) -> Variant:
    where = f"variants[{index}]"
    spec = journeys.mapping_of(value, where)
    journeys.only(spec, VARIANT, where)
    title = journeys.text_of(spec.get("title"), f"{where}.title")
    assert title is not None
    link = _url(spec.get("link"), f"{where}.link")
    cta = journeys.text_of(spec.get("cta"), f"{where}.cta", required=False)
    if cta is not None and not link:
        raise journeys.fail(f"{where}.cta", i18n.gettext("a button needs a link"))
    return Variant(
        key=_key(spec.get("key", f"variant_{index + 1}"), f"{where}.key"),
        when=journeys.condition_of(spec["when"], f"{where}.when") if "when" in spec else "",
        title=title,
        body=journeys.text_of(spec.get("body"), f"{where}.body", required=False),
        link=link,
        cta=cta,
        image=_url(spec.get("image"), f"{where}.image"),
    )


def _cap(value: object) -> Cap:
    if value is None:
        return Cap(shows=3, per_seconds=86_400)
    spec = journeys.mapping_of(value, "cap")
    journeys.only(spec, ("shows", "per"), "cap")
    return Cap(
        shows=journeys.integer_of(spec.get("shows", 3), "cap.shows", 1, 1000),
        per_seconds=journeys.duration(spec.get("per", "1d"), "cap.per"),
    )


def build(document: object) -> Plan:
    """The checked plan of a parsed definition (a mapping, as YAML or JSON give it)."""
    spec = journeys.mapping_of(document, "")
    journeys.only(spec, TOP, "")
    key = _key(spec.get("key"), "key")
    name = journeys.text_of(spec.get("name", key), "name")
    assert name is not None
    kind = spec.get("kind")
    if kind not in KINDS:
        raise journeys.fail("kind", i18n.gettext("banner or message"))
    slot = spec.get("slot", "")
    if kind == "banner" and (not isinstance(slot, str) or not SLOT.match(slot)):
        raise journeys.fail(
            "slot", i18n.gettext("the name of the place on the page, such as home_hero")
        )
    if kind == "message" and slot:
        raise journeys.fail("slot", i18n.gettext("a message has no place: it pops up"))
    listed = spec.get("variants")
    if not isinstance(listed, list) or not listed:
        raise journeys.fail("variants", i18n.gettext("a list of at least one variant"))
    if len(listed) > MAX_VARIANTS:
        raise journeys.fail(
            "variants", i18n.gettext("at most %(n)s variants") % {"n": MAX_VARIANTS}
        )
    variants = tuple(_variant(v, i) for i, v in enumerate(listed))
    keys = [v.key for v in variants]
    for i, variant_key in enumerate(keys):
        if variant_key == "holdout":
            raise journeys.fail(f"variants[{i}].key", i18n.gettext("kept for the holdout"))
        if variant_key in keys[:i]:
            raise journeys.fail(f"variants[{i}].key", i18n.gettext("used by another variant"))
    goal = journeys.goal_of(spec.get("goal") or {"event": "Order Completed", "within": "7d"})
    assert goal is not None
    return Plan(
        key=key,
        name=name,
        kind=str(kind),
        slot=str(slot or ""),
        priority=journeys.integer_of(spec.get("priority", 50), "priority", 0, 100),
        holdout=journeys.integer_of(spec.get("holdout", 0), "holdout", 0, 50),
        when=journeys.condition_of(spec["when"], "when") if "when" in spec else "",
        cap=_cap(spec.get("cap")),
        goal=goal,
        variants=variants,
    )


def read(source: str) -> Plan:
    """The checked plan of a YAML definition; ``journeys.DefinitionError`` says where."""
    return build(journeys.load(source))

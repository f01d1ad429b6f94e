"""A journey's definition: the YAML a merchant writes, read into a checked, immutable plan.

The schema (docs/journeys.md)::

    key: detractor_recovery            # lower case, digits, underscores
    name: {fr: "…", en: "…"}           # or one text
    priority: 80                       # 0..100: the higher wins the frequency cap
    holdout: 10                        # percent of entrants who receive nothing (0..50)
    reentry: never | always | 30d      # 30d: again once 30 days passed since the last entry
    goal: {event: Order Completed, within: 30d}   # met: the journey ends, counted converted
    trigger:                           # one of event, segment, score, schedule
      event: NPS Answered
      when: "nps.category = 'detractor'"          # optional condition (segments' language)
    steps:
      - id: sorry                      # optional; defaults to step_<n>
        send: {channel: email, subject: {fr: …, en: …}, body: {fr: …, en: …},
               recommendations: 4}     # optional: products chosen for the customer (1..12)
      - wait: 2d                       # or {until: "10:00"} or {event: …, same_order: true,
                                       #      timeout: 10d, on_timeout: <step id>}
      - branch: {if: "orders.count > 1", then: <step id>, else: <step id>}
      - coupon: {kind: percent | fixed | free_shipping, value: 10, expires_in: 30d}
      - webhook: {url: https://…, body: {…}}
      - case: {title: {fr: …, en: …}, due_in: 2d, owner: someone@shop.fr}
      - set: {field: vip, value: true}
      - exit: {}

Every error names where it is (``steps[2].wait.timeout``) and why, in the reader's language.
Conditions are parsed by ``segments.parse`` when the definition is read, so a journey that
validates never fails on its own condition later.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from cxloop import i18n, segments
from cxloop.errors import InvalidInput
from cxloop.journeys import templates

MAX_YAML = 64 * 1024
MAX_STEPS = 100
MAX_TEXT = 10_000
KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_DURATION = re.compile(r"^\s*(\d{1,6})\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_URL = re.compile(r"^https?://[^\s<>\"]{1,2000}$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
CHANNELS = ("email", "sms", "onsite", "push")
COUPON_KINDS = ("percent", "fixed", "free_shipping")
REENTRY = ("never", "always")
STEP_KINDS = ("send", "wait", "branch", "coupon", "webhook", "case", "set", "exit")
TRIGGERS = ("event", "segment", "score", "schedule")
LANGS = ("fr", "en")
# Customer fields a ``set`` step may write (the rest are traits, free names).
_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class DefinitionError(InvalidInput):
    """A definition we refuse: ``where`` is the path in the YAML."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__("definition", f"{where}: {message}" if where else message)
        self.where = where


def fail(where: str, message: str) -> DefinitionError:
    return DefinitionError(where, message)


# The plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A text in French and English (one of them may be missing: the other stands in)."""

    fr: str
    en: str

    def get(self, locale: str | None) -> str:
        """The text for ``locale`` (French unless English is asked and present)."""
        if (locale or "").startswith("en"):
            return self.en or self.fr
        return self.fr or self.en


@dataclass(frozen=True)
class Trigger:
    kind: str  # event, segment, score, schedule
    event: str = ""
    segment: str = ""
    score: str = ""  # a condition on scores, entered when it becomes true
    every_seconds: int = 0
    at: str = ""  # HH:MM for a schedule
    when: str = ""


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    # send
    channel: str = ""
    subject: Text | None = None
    body: Text | None = None
    link: str = ""
    link_label: Text | None = None
    marketing: bool = True
    recommendations: int = 0  # products chosen for the customer, in an email
    # wait
    seconds: int = 0
    until: str = ""
    event: str = ""
    same_order: bool = False
    timeout_seconds: int = 0
    on_timeout: str = ""
    # branch
    condition: str = ""
    then: str = ""
    otherwise: str = ""
    # coupon
    coupon_kind: str = ""
    value: float = 0.0
    expires_seconds: int = 0
    # webhook
    url: str = ""
    payload: Mapping[str, Any] = field(default_factory=dict)
    # case
    title: Text | None = None
    due_seconds: int = 0
    owner: str = ""
    # set
    set_field: str = ""
    set_value: Any = None


@dataclass(frozen=True)
class Goal:
    event: str
    within_seconds: int


@dataclass(frozen=True)
class Definition:
    key: str
    name: Text
    priority: int
    holdout: int
    reentry: str  # never, always, or "after"
    reentry_seconds: int
    goal: Goal | None
    trigger: Trigger
    steps: tuple[Step, ...]

    def index_of(self, step_id: str) -> int:
        """The position of step ``step_id``."""
        for i, step in enumerate(self.steps):
            if step.id == step_id:
                return i
        raise KeyError(step_id)

    @property
    def events(self) -> set[str]:
        """Every event name this journey listens to: its trigger, its waits, its goal."""
        names = {self.trigger.event} if self.trigger.kind == "event" else set()
        names |= {s.event for s in self.steps if s.kind == "wait" and s.event}
        if self.goal is not None:
            names.add(self.goal.event)
        return names


# Reading -------------------------------------------------------------------------------------


def duration(value: object, where: str) -> int:
    """Seconds of a duration such as ``90s``, ``15m``, ``2h``, ``3d`` or ``1w``."""
    found = _DURATION.match(str(value)) if isinstance(value, str | int) else None
    if isinstance(value, bool) or found is None:
        raise fail(where, i18n.gettext("a duration such as 30m, 2h, 3d or 1w"))
    seconds = int(found.group(1)) * _UNITS[found.group(2)]
    if seconds <= 0 or seconds > 366 * 86_400:
        raise fail(where, i18n.gettext("a duration between 1 second and a year"))
    return seconds


def text_of(value: object, where: str, *, required: bool = True) -> Text | None:
    if value is None and not required:
        return None
    if isinstance(value, str):
        texts = {"fr": value, "en": value}
    elif isinstance(value, Mapping):
        unknown = set(value) - set(LANGS)
        if unknown:
            raise fail(where, i18n.gettext("languages are fr and en"))
        texts = {lang: value.get(lang) or "" for lang in LANGS}
        if not all(isinstance(t, str) for t in texts.values()):
            raise fail(where, i18n.gettext("a text, or one per language (fr, en)"))
    else:
        raise fail(where, i18n.gettext("a text, or one per language (fr, en)"))
    if not any(t.strip() for t in texts.values()):
        raise fail(where, i18n.gettext("must not be empty"))
    if any(len(t) > MAX_TEXT for t in texts.values()):
        raise fail(where, i18n.gettext("at most %(n)s characters") % {"n": MAX_TEXT})
    for lang, template in texts.items():
        try:
            templates.check(str(template))
        except templates.TemplateError as exc:
            raise fail(
                f"{where}.{lang}" if isinstance(value, Mapping) else where, str(exc)
            ) from exc
    return Text(fr=str(texts["fr"]), en=str(texts["en"]))


def mapping_of(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise fail(where, i18n.gettext("a mapping of names to values"))
    return value


def only(value: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for name in value:
        if name not in allowed:
            raise fail(
                f"{where}.{name}" if where else str(name),
                i18n.gettext("unknown; expected one of %(names)s") % {"names": ", ".join(allowed)},
            )


def condition_of(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(where, i18n.gettext("a condition in the segments' language"))
    try:
        segments.parse(value, field=where)
    except segments.ExpressionError as exc:
        raise fail(where, exc.message) from exc
    return value.strip()


def name_of(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise fail(where, i18n.gettext("a name of 1 to 200 characters"))
    return value.strip()


def integer_of(value: object, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise fail(
            where, i18n.gettext("a whole number from %(a)s to %(b)s") % {"a": low, "b": high}
        )
    return value


def _trigger(value: object) -> Trigger:
    where = "trigger"
    spec = mapping_of(value, where)
    only(spec, (*TRIGGERS, "when", "every", "at"), where)
    kinds = [k for k in TRIGGERS if k in spec]
    if len(kinds) != 1:
        raise fail(where, i18n.gettext("exactly one of event, segment, score, schedule"))
    kind = kinds[0]
    when = condition_of(spec["when"], f"{where}.when") if "when" in spec else ""
    if kind == "event":
        return Trigger(kind, event=name_of(spec["event"], f"{where}.event"), when=when)
    if kind == "segment":
        key = spec["segment"]
        if not isinstance(key, str) or not KEY.match(key):
            raise fail(f"{where}.segment", i18n.gettext("a segment key"))
        return Trigger(kind, segment=key, when=when)
    if kind == "score":
        return Trigger(kind, score=condition_of(spec["score"], f"{where}.score"), when=when)
    schedule = mapping_of(spec["schedule"], f"{where}.schedule")
    only(schedule, ("every", "at", "segment"), f"{where}.schedule")
    every = duration(schedule.get("every", "1d"), f"{where}.schedule.every")
    if every < 3600:
        raise fail(f"{where}.schedule.every", i18n.gettext("at least an hour"))
    at = str(schedule.get("at", ""))
    if at and not _TIME.match(at):
        raise fail(f"{where}.schedule.at", i18n.gettext("a time of day such as 09:30"))
    key = schedule.get("segment")
    if not isinstance(key, str) or not KEY.match(key):
        raise fail(f"{where}.schedule.segment", i18n.gettext("a segment key"))
    return Trigger(kind, segment=key, every_seconds=every, at=at, when=when)


_STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "send": ("channel", "subject", "body", "link", "link_label", "marketing", "recommendations"),
    "wait": ("until", "event", "same_order", "timeout", "on_timeout"),
    "branch": ("if", "then", "else"),
    "coupon": ("kind", "value", "expires_in"),
    "webhook": ("url", "body"),
    "case": ("title", "due_in", "owner"),
    "set": ("field", "value"),
    "exit": (),
}


def _step(value: object, index: int) -> Step:
    where = f"steps[{index}]"
    spec = mapping_of(value, where)
    only(spec, ("id", *STEP_KINDS), where)
    kinds = [k for k in STEP_KINDS if k in spec]
    if len(kinds) != 1:
        raise fail(
            where, i18n.gettext("exactly one action: %(kinds)s") % {"kinds": ", ".join(STEP_KINDS)}
        )
    kind = kinds[0]
    step_id = spec.get("id", f"step_{index + 1}")
    if not isinstance(step_id, str) or not STEP_ID.match(step_id):
        raise fail(f"{where}.id", i18n.gettext("lower case letters, digits and underscores"))
    here = f"{where}.{kind}"
    body = spec[kind]
    if kind == "wait" and not isinstance(body, Mapping):
        return Step(step_id, kind, seconds=duration(body, here))
    if kind == "exit" and body in (None, {}):
        return Step(step_id, kind)
    body = mapping_of(body, here)
    only(body, _STEP_FIELDS[kind], here)
    if kind == "send":
        channel = body.get("channel", "email")
        if channel not in CHANNELS:
            raise fail(
                f"{here}.channel", i18n.gettext("one of %(names)s") % {"names": ", ".join(CHANNELS)}
            )
        subject = text_of(body.get("subject"), f"{here}.subject", required=channel == "email")
        marketing = body.get("marketing", True)
        if not isinstance(marketing, bool):
            raise fail(f"{here}.marketing", i18n.gettext("true or false"))
        link = body.get("link", "")
        if link and (not isinstance(link, str) or not _URL.match(link)):
            raise fail(f"{here}.link", i18n.gettext("an http(s) URL"))
        return Step(
            step_id,
            kind,
            channel=channel,
            subject=subject,
            body=text_of(body.get("body"), f"{here}.body"),
            link=link,
            link_label=text_of(body.get("link_label"), f"{here}.link_label", required=False),
            marketing=marketing,
            recommendations=_recommendations(body, channel, here),
        )
    if kind == "wait":
        return _wait(step_id, body, here)
    if kind == "branch":
        if "if" not in body:
            raise fail(f"{here}.if", i18n.gettext("is required"))
        return Step(
            step_id,
            kind,
            condition=condition_of(body["if"], f"{here}.if"),
            then=_target(body.get("then", ""), f"{here}.then"),
            otherwise=_target(body.get("else", ""), f"{here}.else"),
        )
    if kind == "coupon":
        coupon_kind = body.get("kind")
        if coupon_kind not in COUPON_KINDS:
            raise fail(
                f"{here}.kind",
                i18n.gettext("one of %(names)s") % {"names": ", ".join(COUPON_KINDS)},
            )
        value = body.get("value", 0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(f"{here}.value", i18n.gettext("a number"))
        if coupon_kind == "percent" and not 0 < value <= 100:
            raise fail(f"{here}.value", i18n.gettext("a percentage above 0, at most 100"))
        if coupon_kind == "fixed" and not 0 < value <= 100_000:
            raise fail(f"{here}.value", i18n.gettext("an amount above 0"))
        return Step(
            step_id,
            kind,
            coupon_kind=str(coupon_kind),
            value=float(value),
            expires_seconds=duration(body.get("expires_in", "30d"), f"{here}.expires_in"),
        )
    if kind == "webhook":
        url = body.get("url")
        if not isinstance(url, str) or not _URL.match(url):
            raise fail(f"{here}.url", i18n.gettext("an http(s) URL"))
        payload = body.get("body", {})
        return Step(step_id, kind, url=url, payload=dict(mapping_of(payload, f"{here}.body")))
    if kind == "case":
        owner = body.get("owner", "")
        if not isinstance(owner, str) or len(owner) > 320:
            raise fail(f"{here}.owner", i18n.gettext("an email address"))
        return Step(
            step_id,
            kind,
            title=text_of(body.get("title"), f"{here}.title"),
            due_seconds=duration(body.get("due_in", "2d"), f"{here}.due_in"),
            owner=owner.strip(),
        )
    if kind == "set":
        name = body.get("field")
        if not isinstance(name, str) or not _FIELD.match(name):
            raise fail(f"{here}.field", i18n.gettext("lower case letters, digits and underscores"))
        value = body.get("value")
        if not isinstance(value, str | int | float | bool) or (
            isinstance(value, str) and len(value) > 500
        ):
            raise fail(f"{here}.value", i18n.gettext("a text, number, or true/false"))
        return Step(step_id, kind, set_field=name, set_value=value)
    return Step(step_id, kind)


def _recommendations(body: Mapping[str, Any], channel: str, here: str) -> int:
    if "recommendations" not in body:
        return 0
    if channel != "email":
        raise fail(f"{here}.recommendations", i18n.gettext("only an email shows products"))
    return integer_of(body["recommendations"], f"{here}.recommendations", 1, 12)


def _target(value: object, where: str) -> str:
    if value in ("", None):
        return ""
    if not isinstance(value, str) or not STEP_ID.match(value):
        raise fail(where, i18n.gettext("the id of a step"))
    return value


def _wait(step_id: str, body: Mapping[str, Any], here: str) -> Step:
    if "until" in body:
        if set(body) != {"until"}:
            raise fail(here, i18n.gettext("until stands alone"))
        until = str(body["until"])
        if not _TIME.match(until):
            raise fail(f"{here}.until", i18n.gettext("a time of day such as 09:30"))
        return Step(step_id, "wait", until=until)
    if "event" not in body:
        raise fail(here, i18n.gettext("a duration, {until: HH:MM} or {event: …, timeout: …}"))
    same_order = body.get("same_order", False)
    if not isinstance(same_order, bool):
        raise fail(f"{here}.same_order", i18n.gettext("true or false"))
    if "timeout" not in body:
        raise fail(f"{here}.timeout", i18n.gettext("a wait for an event needs a timeout"))
    return Step(
        step_id,
        "wait",
        event=name_of(body["event"], f"{here}.event"),
        same_order=same_order,
        timeout_seconds=duration(body["timeout"], f"{here}.timeout"),
        on_timeout=_target(body.get("on_timeout", ""), f"{here}.on_timeout"),
    )


def goal_of(value: object) -> Goal | None:
    if value is None:
        return None
    spec = mapping_of(value, "goal")
    only(spec, ("event", "within"), "goal")
    return Goal(
        event=name_of(spec.get("event"), "goal.event"),
        within_seconds=duration(spec.get("within", "30d"), "goal.within"),
    )


def _reentry(value: object) -> tuple[str, int]:
    if value in REENTRY:
        return str(value), 0
    try:
        return "after", duration(value, "reentry")
    except DefinitionError as exc:
        raise fail("reentry", i18n.gettext("never, always, or a duration such as 30d")) from exc


def load(source: str) -> object:
    """The document of a YAML definition (at most ``MAX_YAML`` bytes), not checked yet."""
    if len(source.encode()) > MAX_YAML:
        raise fail("", i18n.gettext("at most %(n)s bytes") % {"n": MAX_YAML})
    try:
        return yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise fail(where, i18n.gettext("this is not valid YAML")) from exc


def read(source: str) -> Definition:
    """The checked plan of a YAML definition; ``DefinitionError`` says where and why not."""
    return build(load(source))


def build(document: object) -> Definition:
    """The checked plan of a parsed definition (a mapping, as YAML or JSON give it)."""
    spec = mapping_of(document, "")
    only(spec, ("key", "name", "priority", "holdout", "reentry", "goal", "trigger", "steps"), "")
    key = spec.get("key")
    if not isinstance(key, str) or not KEY.match(key):
        raise fail("key", i18n.gettext("lower case letters, digits and underscores, from a letter"))
    name = text_of(spec.get("name", key), "name")
    assert name is not None
    if "trigger" not in spec:
        raise fail("trigger", i18n.gettext("is required"))
    steps_spec = spec.get("steps")
    if not isinstance(steps_spec, list) or not steps_spec:
        raise fail("steps", i18n.gettext("a list of at least one step"))
    if len(steps_spec) > MAX_STEPS:
        raise fail("steps", i18n.gettext("at most %(n)s steps") % {"n": MAX_STEPS})
    steps = tuple(_step(s, i) for i, s in enumerate(steps_spec))
    ids = [s.id for s in steps]
    for i, step_id in enumerate(ids):
        if step_id in ids[:i]:
            raise fail(f"steps[{i}].id", i18n.gettext("used by another step"))
    for i, step in enumerate(steps):
        for name_, target in (
            ("then", step.then),
            ("else", step.otherwise),
            ("on_timeout", step.on_timeout),
        ):
            if target and target not in ids:
                raise fail(f"steps[{i}].{step.kind}.{name_}", i18n.gettext("no step has this id"))
    reentry, reentry_seconds = _reentry(spec.get("reentry", "never"))
    return Definition(
        key=key,
        name=name,
        priority=integer_of(spec.get("priority", 50), "priority", 0, 100),
        holdout=integer_of(spec.get("holdout", 0), "holdout", 0, 50),
        reentry=reentry,
        reentry_seconds=reentry_seconds,
        goal=goal_of(spec.get("goal")),
        trigger=_trigger(spec["trigger"]),
        steps=steps,
    )


def next_time(after: dt.datetime, hhmm: str, zone: dt.tzinfo) -> dt.datetime:
    """The first moment at or after ``after`` when the clock in ``zone`` shows ``hhmm`` (UTC)."""
    hour, minute = (int(p) for p in hhmm.split(":"))
    local = after.astimezone(zone)
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate < local:
        candidate = (candidate + dt.timedelta(days=1)).replace(hour=hour, minute=minute)
    return candidate.astimezone(dt.UTC)

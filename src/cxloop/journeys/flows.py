"""What the console says of a journey, in the reader's language: its trigger and each step as a
sentence, durations in words. ``name(code, group)`` gives a code's label (the console's
``labels.label``, handed in by the router)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from babel.dates import format_timedelta

from cxloop import i18n
from cxloop.journeys.definition import Definition, Step

_ = i18n.gettext
Namer = Callable[[str, str], str]


def duration(seconds: int) -> str:
    """``2 days``, ``3 hours``… in the reader's language."""
    return format_timedelta(seconds, threshold=1.0, locale=i18n.current_locale.get())


def _quoted(text: str) -> str:
    return _("“%(text)s”") % {"text": text}


def trigger_sentence(spec: Definition, name: Namer) -> str:
    """When customers enter, as a sentence."""
    trigger = spec.trigger
    if trigger.kind == "event":
        text = _("When the event %(event)s comes") % {
            "event": _quoted(name(trigger.event, "event"))
        }
    elif trigger.kind == "segment":
        text = _("When a customer enters the segment %(key)s") % {"key": _quoted(trigger.segment)}
    elif trigger.kind == "score":
        text = _("When a customer's scores come to meet %(condition)s") % {
            "condition": _quoted(trigger.score)
        }
    else:
        text = _("Every %(every)s, the members of the segment %(key)s") % {
            "every": duration(trigger.every_seconds),
            "key": _quoted(trigger.segment),
        }
    if trigger.when:
        text = _("%(when)s, if %(condition)s") % {"when": text, "condition": _quoted(trigger.when)}
    return text


def step_sentence(step: Step, locale: str, name: Namer) -> str:
    """What a step does, as a sentence."""
    if step.kind == "send":
        what = (
            step.subject.get(locale)
            if step.subject
            else (step.body.get(locale) if step.body else "")
        )
        return _("Send %(channel)s: %(subject)s") % {
            "channel": name(step.channel, "message_channel"),
            "subject": _quoted(what[:120]),
        }
    if step.kind == "wait":
        if step.event:
            text = _("Wait for %(event)s, at most %(timeout)s") % {
                "event": _quoted(name(step.event, "event")),
                "timeout": duration(step.timeout_seconds),
            }
            if step.same_order:
                text = _("%(text)s, for the same order") % {"text": text}
            if step.on_timeout:
                text = _("%(text)s; then, if it did not come, go to %(step)s") % {
                    "text": text,
                    "step": _quoted(step.on_timeout),
                }
            return text
        if step.until:
            return _("Wait until %(time)s in the customer's time zone") % {"time": step.until}
        return _("Wait %(duration)s") % {"duration": duration(step.seconds)}
    if step.kind == "branch":
        return _("If %(condition)s, go to %(then)s, else to %(else)s") % {
            "condition": _quoted(step.condition),
            "then": _quoted(step.then) if step.then else _("the next step"),
            "else": _quoted(step.otherwise) if step.otherwise else _("the next step"),
        }
    if step.kind == "coupon":
        return _("Make a coupon: %(kind)s %(value)s, valid %(duration)s") % {
            "kind": name(step.coupon_kind, "coupon_kind"),
            "value": "" if step.coupon_kind == "free_shipping" else f"({step.value:g})",
            "duration": duration(step.expires_seconds),
        }
    if step.kind == "webhook":
        return _("Call the webhook %(url)s") % {"url": step.url}
    if step.kind == "case":
        return _("Open a case for %(owner)s, due in %(duration)s") % {
            "owner": step.owner or _("the team"),
            "duration": duration(step.due_seconds),
        }
    if step.kind == "set":
        return _("Set the field %(field)s to %(value)s") % {
            "field": _quoted(step.set_field),
            "value": _quoted(str(step.set_value)),
        }
    return _("End the journey")


def flow(spec: Definition, locale: str, name: Namer) -> list[dict[str, Any]]:
    """The steps in order, each with its id, kind and sentence."""
    return [
        {"id": step.id, "kind": step.kind, "text": step_sentence(step, locale, name)}
        for step in spec.steps
    ]

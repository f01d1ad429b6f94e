"""Journey definitions: the YAML schema, read into a plan, refused with the place and reason."""

from __future__ import annotations

import pytest

from cxloop.journeys.definition import DefinitionError, duration, read

GOOD = """
key: detractor_recovery
name: {fr: "Reconquête des détracteurs", en: "Detractor recovery"}
priority: 80
holdout: 10
reentry: 30d
goal: {event: Order Completed, within: 30d}
trigger:
  event: NPS Answered
  when: "nps.category = 'detractor'"
steps:
  - id: shipping_gift
    coupon: {kind: free_shipping, expires_in: 30d}
  - id: sorry
    send:
      subject: {fr: "Désolés, {{ first_name }}", en: "Sorry, {{ first_name }}"}
      body: {fr: "Votre code : {{ coupon.code }}", en: "Your code: {{ coupon.code }}"}
  - wait: {event: Order Delivered, same_order: true, timeout: 10d, on_timeout: ticket}
  - branch: {if: "orders.count > 1", then: done, else: ticket}
  - id: ticket
    case: {title: "Rappeler {{ first_name }}", due_in: 2d, owner: sav@shop.fr}
  - webhook: {url: "https://helpdesk.example/tickets", body: {priority: high}}
  - set: {field: recovered, value: true}
  - wait: 2d
  - wait: {until: "10:00"}
  - id: done
    exit: {}
"""


def test_a_full_definition_is_read_into_its_plan() -> None:
    plan = read(GOOD)
    assert plan.key == "detractor_recovery"
    assert plan.name.get("en") == "Detractor recovery"
    assert plan.name.get("fr-CA") == "Reconquête des détracteurs"
    assert (plan.priority, plan.holdout, plan.reentry, plan.reentry_seconds) == (
        80,
        10,
        "after",
        30 * 86400,
    )
    assert plan.goal is not None and plan.goal.event == "Order Completed"
    assert plan.trigger.kind == "event" and plan.trigger.when == "nps.category = 'detractor'"
    kinds = [s.kind for s in plan.steps]
    assert kinds == [
        "coupon",
        "send",
        "wait",
        "branch",
        "case",
        "webhook",
        "set",
        "wait",
        "wait",
        "exit",
    ]
    wait = plan.steps[2]
    assert (wait.event, wait.same_order, wait.timeout_seconds, wait.on_timeout) == (
        "Order Delivered",
        True,
        10 * 86400,
        "ticket",
    )
    assert plan.steps[3].then == "done" and plan.index_of("ticket") == 4
    assert plan.steps[2].id == "step_3"  # ids default to the step's place
    assert plan.events == {"NPS Answered", "Order Delivered", "Order Completed"}


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (("key: detractor_recovery", "key: Détracteurs"), "key"),
        (("priority: 80", "priority: 101"), "priority"),
        (("holdout: 10", "holdout: 90"), "holdout"),
        (("reentry: 30d", "reentry: sometimes"), "reentry"),
        (("within: 30d", "within: soon"), "goal.within"),
        (("  when: \"nps.category = 'detractor'\"", '  when: "nps.category = "'), "trigger.when"),
        (("  event: NPS Answered\n", "  event: NPS Answered\n  segment: vip\n"), "trigger"),
        (("kind: free_shipping", "kind: half_price"), "steps[0].coupon.kind"),
        (
            ("timeout: 10d, on_timeout: ticket", "timeout: 10d, on_timeout: nowhere"),
            "steps[2].wait.on_timeout",
        ),
        (
            (
                "{event: Order Delivered, same_order: true, timeout: 10d, on_timeout: ticket}",
                "{event: Order Delivered}",
            ),
            "steps[2].wait.timeout",
        ),
        (("then: done", "then: Done!"), "steps[3].branch.then"),
        (('url: "https://helpdesk.example/tickets"', 'url: "ftp://x"'), "steps[5].webhook.url"),
        (("  - wait: 2d", "  - wait: 2 days"), "steps[7].wait"),
        (('{until: "10:00"}', '{until: "25:00"}'), "steps[8].wait.until"),
        (("  - id: ticket", "  - id: sorry"), "steps[4].id"),
        (
            ("Votre code : {{ coupon.code }}", "Votre code : {{ coupon.code"),
            "steps[1].send.body.fr",
        ),
        (
            ("  - set: {field: recovered, value: true}", "  - set: {field: recovered, value: [1]}"),
            "steps[6].set.value",
        ),
        (
            ("  - id: done\n    exit: {}", "  - id: done\n    exit: {}\n    send: {body: hi}"),
            "steps[9]",
        ),
        (("priority: 80", "priority: 80\ncolour: blue"), "colour"),
    ],
)
def test_a_wrong_definition_is_refused_where_it_is_wrong(
    change: tuple[str, str], where: str
) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(DefinitionError) as caught:
        read(GOOD.replace(old, new))
    assert caught.value.where == where
    assert caught.value.field == "definition"
    assert caught.value.message.startswith(f"{where}: ")


def test_what_is_not_yaml_or_not_a_journey_is_refused() -> None:
    with pytest.raises(DefinitionError) as caught:
        read("key: [unclosed")
    assert caught.value.where.startswith("line ")
    for text in ("", "- a list", "key: x\n"):
        with pytest.raises(DefinitionError):
            read(text)
    with pytest.raises(DefinitionError) as caught:
        read("key: a\ntrigger: {event: X}\nsteps: []\n")
    assert caught.value.where == "steps"
    with pytest.raises(DefinitionError):
        read("x: '" + "a" * 70_000 + "'")


def test_a_trigger_is_one_of_four_kinds() -> None:
    base = "key: j\nsteps: [{exit: {}}]\ntrigger: "
    assert read(base + "{segment: vip}").trigger.segment == "vip"
    assert read(base + "{score: \"churn_band = 'high'\"}").trigger.score == "churn_band = 'high'"
    scheduled = read(base + "{schedule: {every: 1d, at: '09:30', segment: lapsed}}").trigger
    assert (scheduled.kind, scheduled.every_seconds, scheduled.at, scheduled.segment) == (
        "schedule",
        86400,
        "09:30",
        "lapsed",
    )
    with pytest.raises(DefinitionError) as caught:
        read(base + "{schedule: {every: 10m, segment: lapsed}}")
    assert caught.value.where == "trigger.schedule.every"


def test_durations() -> None:
    assert [duration(v, "x") for v in ("90s", "15m", "2h", "3d", "1w")] == [
        90,
        900,
        7200,
        259200,
        604800,
    ]
    for bad in ("0s", "2y", "-1d", True, 5, "400d"):
        with pytest.raises(DefinitionError):
            duration(bad, "x")

"""Scenarios: the YAML a merchant writes (checked, with errors that say where), the built-in
ones, a gift finder run through the real service, the workspace's own versions (audited),
switching off, leaving a scenario, the steps whose service hook is missing, and the console's
editor."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cxloop import i18n
from cxloop.assistant import dialogue, scenario_store, scenarios, service
from cxloop.assistant.catalog import index_of
from cxloop.assistant.intents import model_for
from cxloop.assistant.scenario_store import builtin_sources
from cxloop.errors import InvalidInput
from cxloop.store.db import Database
from cxloop.web.app import create_app
from cxloop.workspaces.models import AuditEntry
from tests.helpers.catalog import stock_demo_catalog
from tests.helpers.console import csrf_of, login

HELLO = """
key: hello
name: {fr: "Bonjour", en: "Hello"}
trigger: {phrases: ["coucou la boutique"]}
steps:
  - id: hi
    say: {fr: "Bonjour !", en: "Hello!"}
"""


@pytest.fixture
def shop(db: Database, make_workspace) -> Any:
    keys = make_workspace("Maison Lou")
    stock_demo_catalog(db, keys.workspace_id, seed=1)
    return keys


def _fr(message: str) -> str:
    """A message as a French reader gets it (translated once the catalog has it)."""
    with i18n.speaking("fr"):
        return i18n.gettext(message)


def _refusal(source: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        scenarios.parse(source)
    return refused.value


def _steps(*lines: str) -> str:
    return HELLO.split("steps:")[0] + "steps:\n" + "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("source", "field", "message"),
    [
        ("key: [unclosed\nname: x", "line 2", "YAML"),
        (_steps("  - {id: a, jump: {}}"), "steps[0].jump", "unknown"),
        (_steps("  - {id: a, say: {fr: Bonjour}}"), "steps[0].say.en", "required"),
        (
            _steps(
                "  - {id: a, ask: {text: {fr: Q, en: Q}, slot: s, buttons: "
                "[{label: {fr: A, en: A}, value: a}, {label: {fr: B, en: B}, value: b}]}}",
                "  - {id: b, branch: {slot: s, cases: {a: nowhere}}}",
            ),
            "steps[1].branch.cases.a",
            "no step has this id",
        ),
        (
            _steps(
                "  - {id: a, ask: {text: {fr: Q, en: Q}, slot: s, buttons: "
                "[{label: {fr: A, en: A}, value: a}]}}"
            ),
            "steps[0].ask.buttons",
            "at least 2",
        ),
        (
            _steps(*[f"  - {{id: s{i}, say: {{fr: a, en: a}}}}" for i in range(51)]),
            "steps",
            "at most 50 steps",
        ),
        (
            _steps(
                "  - {id: a, say: {fr: a, en: a}, next: b}",
                "  - {id: b, say: {fr: b, en: b}, next: a}",
            ),
            "steps[0]",
            "loop",
        ),
        (_steps("  - {id: a, say: {fr: 'Bonjour {who}', en: Hi}}"), "steps[0].say.fr", "who"),
        (_steps("  - {id: a, say: {fr: '" + "x" * 501 + "', en: a}}"), "steps[0].say.fr", "500"),
        (
            HELLO.replace('phrases: ["coucou la boutique"]', "intents: [search]"),
            "trigger.intents[0]",
            "phrases",
        ),
    ],
)
def test_a_wrong_scenario_is_refused_with_where_and_why(
    source: str, field: str, message: str
) -> None:
    refused = _refusal(source)
    assert refused.field == field
    assert message in refused.message


def test_every_built_in_scenario_validates_under_its_file_name() -> None:
    sources = builtin_sources()
    assert set(sources) == {
        "delivery_problem",
        "faq",
        "gift_finder",
        "nps",
        "order_status",
        "product_finder",
    }
    for key, source in sources.items():
        assert scenarios.parse(source).key == key


def _start(db: Database, shop: Any, text: str, locale: str = "fr") -> service.Exchange:
    with db.session() as session:
        return service.start_conversation(
            session, shop.workspace_id, anonymous_id="anon-7", locale=locale, text=text
        )


def _press(db: Database, shop: Any, cid: str, reply: Any, label: str) -> Any:
    button = next(b for b in reply.payload["buttons"] if b["label"] == label)
    with db.session() as session:
        exchange = service.post_message(
            session, shop.workspace_id, cid, text=label, payload=button["payload"]
        )
        return exchange.messages[-1]


def _say(db: Database, shop: Any, cid: str, text: str) -> Any:
    with db.session() as session:
        return service.post_message(session, shop.workspace_id, cid, text=text).messages[-1]


def _state(db: Database, shop: Any, cid: str) -> dict[str, Any]:
    with db.session() as session:
        return dict(service.get_conversation(session, shop.workspace_id, cid).state)


def test_the_gift_finder_asks_for_whom_the_age_and_the_budget_then_shows_what_fits(
    db: Database, shop: Any
) -> None:
    # given a shopper who asks for a gift without saying more
    started = _start(db, shop, "je cherche un cadeau")
    cid, question = started.conversation.id, started.messages[-1]
    assert question.text == "Avec plaisir ! Pour qui est ce cadeau ?"
    assert [b["label"] for b in question.payload["buttons"]] == [
        "Une femme",
        "Un homme",
        "Un enfant",
        "Un bébé",
    ]
    assert question.payload["buttons"][2]["payload"] == {"slot": {"name": "who", "value": "kids"}}
    # when she answers a child, 5 or older, under 40 euros
    age = _press(db, shop, cid, question, "Un enfant")
    assert age.text == "Quel âge a l'enfant ?"
    budget = _press(db, shop, cid, age, "5 ans et plus")
    assert budget.text == "Quel est votre budget ?"
    shown = _press(db, shop, cid, budget, "Moins de 40 €")
    # then products for children of that age, in stock, within the budget
    products = shown.payload["products"]
    assert products and len(products) <= dialogue.SHOWN
    assert all(
        p["age_group"] == "kids" and p["price"] <= 40 and p["availability"] == "in_stock"
        for p in products
    )
    assert "40,00" in shown.text
    # and the scenario is over; the conversation goes on from what it found
    state = _state(db, shop, cid)
    assert "scenario" not in state
    assert state["shown"] == [p["id"] for p in products]
    compared = _say(db, shop, cid, "lequel est le mieux ?")
    assert compared.payload["comparison"]


def test_a_typed_answer_counts_like_the_button(db: Database, shop: Any) -> None:
    started = _start(db, shop, "gift idea", locale="en")
    assert started.messages[-1].text == "Happy to help! Who is the gift for?"
    budget = _say(db, shop, started.conversation.id, "a man")
    assert budget.text == "What is your budget?"
    assert _state(db, shop, started.conversation.id)["scenario"]["slots"]["who"] == "men"


def test_asking_for_products_or_saying_stop_leaves_the_scenario(db: Database, shop: Any) -> None:
    # given a shopper in the gift finder
    cid = _start(db, shop, "je cherche un cadeau").conversation.id
    # when she asks for products instead of answering
    found = _say(db, shop, cid, "des baskets blanches pour femme à moins de 80 €")
    # then she gets them, and the scenario is left
    assert found.payload["products"]
    assert all(p["color"] == "blanc" for p in found.payload["products"])
    assert "scenario" not in _state(db, shop, cid)
    # and « stop » ends a scenario with no more questions
    cid = _start(db, shop, "je cherche un cadeau").conversation.id
    stopped = _say(db, shop, cid, "stop")
    assert stopped.text == _fr("All right, let's leave it there. What else can I do for you?")
    assert not stopped.payload.get("buttons")
    assert "scenario" not in _state(db, shop, cid)


def test_an_answer_that_fits_no_button_is_asked_again_with_a_person_offered(
    db: Database, shop: Any
) -> None:
    cid = _start(db, shop, "je cherche un cadeau").conversation.id
    again = _say(db, shop, cid, "euh")
    assert again.text == (
        f"{_fr('Please choose one of the answers below.')} Avec plaisir ! Pour qui est ce cadeau ?"
    )
    labels = [b["label"] for b in again.payload["buttons"]]
    assert labels[:4] == ["Une femme", "Un homme", "Un enfant", "Un bébé"]
    assert again.payload["buttons"][-1]["payload"] == {"intent": "human"}


def test_a_request_that_names_what_it_wants_stays_a_search(db: Database, shop: Any) -> None:
    asked = _start(db, shop, "un cadeau pour un enfant de 5 ans").messages[-1]
    assert "Quel type de produit" in asked.text
    assert all("set" in b["payload"] for b in asked.payload["buttons"])


def test_the_workspace_s_version_replaces_the_built_in_and_is_audited(
    db: Database, shop: Any
) -> None:
    # given the merchant's own gift finder, saved through the service
    source = builtin_sources()["gift_finder"].replace(
        "Avec plaisir ! Pour qui est ce cadeau ?", "Un cadeau ? Pour qui ?"
    )
    with db.session() as session:
        scenario_store.save_scenario(
            session, shop.workspace_id, "gift_finder", source, actor="lou@example.com"
        )
    # when a shopper asks for a gift
    question = _start(db, shop, "je cherche un cadeau").messages[-1]
    # then the merchant's question is asked, and the change was audited
    assert question.text == "Un cadeau ? Pour qui ?"
    with db.session() as session:
        audited = session.execute(
            select(AuditEntry.action, AuditEntry.actor, AuditEntry.subject).where(
                AuditEntry.workspace_id == shop.workspace_id,
                AuditEntry.action.like("assistant.scenario%"),
            )
        ).all()
        assert audited == [("assistant.scenario_saved", "lou@example.com", "gift_finder")]
        # and a wrong one is refused before anything is written
        with pytest.raises(InvalidInput) as refused:
            scenario_store.save_scenario(
                session, shop.workspace_id, "gift_finder", "key: gift_finder", actor="lou"
            )
        assert refused.value.field == "name"
        # and going back to the built-in is audited too
        scenario_store.reset_scenario(session, shop.workspace_id, "gift_finder", actor="lou")
    assert _start(db, shop, "je cherche un cadeau").messages[-1].text == (
        "Avec plaisir ! Pour qui est ce cadeau ?"
    )


def test_a_scenario_switched_off_no_longer_starts(db: Database, shop: Any) -> None:
    with db.session() as session:
        scenario_store.set_enabled(session, shop.workspace_id, "gift_finder", False, actor="lou")
        assert "gift_finder" not in scenario_store.scenarios_for(session, shop.workspace_id)
    reply = _start(db, shop, "je cherche un cadeau").messages[-1]
    assert "Pour qui est ce cadeau" not in reply.text
    with db.session() as session:
        scenario_store.set_enabled(session, shop.workspace_id, "gift_finder", True, actor="lou")
        assert "gift_finder" in scenario_store.scenarios_for(session, shop.workspace_id)


def _context(db: Database, shop: Any, lang: str = "fr") -> dialogue.Context:
    """The engine's context with no service hook: what a step says when it cannot act."""
    with db.session() as session:
        index = index_of(session, shop.workspace_id)
    return dialogue.Context(
        index=index,
        intents=model_for(),
        lang=lang,
        scenarios={k: scenario_store.parsed(s) for k, s in builtin_sources().items()},
    )


ORDERS = "I can't look up orders here. Someone from the team can tell you where it is."


@pytest.mark.parametrize(
    ("text", "key", "says"),
    [
        ("où est ma commande ?", "order_status", ORDERS),
        ("mon colis n'est pas arrivé", "delivery_problem", ORDERS),
        (
            "comment faire un retour ?",
            "faq",
            "I can't look through the shop's answers here. Someone from the team can answer you.",
        ),
        (
            "je veux donner mon avis",
            "nps",
            "I can't take your rating here. Someone from the team can hear you.",
        ),
    ],
)
def test_a_step_without_its_hook_says_it_cannot_and_offers_a_person(
    db: Database, shop: Any, text: str, key: str, says: str
) -> None:
    ctx = _context(db, shop)
    with i18n.speaking("fr"):
        state, reply = dialogue.respond({}, dialogue.Turn(text), ctx)
    assert reply.intent == key
    assert reply.text.endswith(_fr(says))
    assert reply.buttons[-1]["payload"] == {"intent": "human"}
    assert not reply.handoff and "scenario" not in state


def test_the_case_and_coupon_steps_without_their_hooks_say_so(db: Database, shop: Any) -> None:
    ctx = _context(db, shop, "en")
    ctx.order_status = lambda number, email: dialogue.Reply("Your order #1042 is on its way.")
    with i18n.speaking("en"):
        state, what = dialogue.respond({}, dialogue.Turn("my parcel is late"), ctx)
        assert what.text.startswith("I'm sorry") and "#1042" in what.text
        assert state["scenario"]["step"] == "what"
        pressed = what.buttons[0]
        state, reply = dialogue.respond(
            state, dialogue.Turn(pressed["label"], pressed["payload"]), ctx
        )
    assert reply.text == (
        "I can't pass your request on to the team from here. Someone can take it now."
    )
    assert reply.buttons == [{"label": "Talk to a person", "payload": {"intent": "human"}}]
    assert "scenario" not in state


def test_the_widget_sends_a_scenario_button_and_a_wrong_one_is_refused(
    db: Database, shop: Any
) -> None:
    with TestClient(create_app(db)) as client:
        started = client.post(
            "/assistant/v1/conversations",
            json={"writeKey": shop.write_key, "anonymousId": "a", "locale": "fr",
                  "text": "je cherche un cadeau"},
        ).json()  # fmt: skip
        cid = started["conversation_id"]
        button = started["messages"][-1]["buttons"][0]
        url = f"/assistant/v1/conversations/{cid}/messages"
        said = client.post(
            url, json={"writeKey": shop.write_key, "text": button["label"], **button}
        )
        assert said.status_code == 200
        assert said.json()["messages"][-1]["text"] == "Quel est votre budget ?"
        wrong = client.post(
            url,
            json={
                "writeKey": shop.write_key,
                "text": "x",
                "payload": {"slot": {"name": "who", "value": "x" * 201}},
            },
        )
        assert wrong.status_code == 422 and wrong.json()["field"] == "payload.slot.value"


def test_the_editor_shows_checks_saves_and_switches_scenarios(
    db: Database, shop: Any, make_user
) -> None:
    make_user("lou@example.com", shop.workspace_id, role="owner", locale="fr")
    make_user("ann@example.com", shop.workspace_id, role="owner", locale="en")
    make_user("lea@example.com", shop.workspace_id, role="agent", locale="fr")
    base = f"/w/{shop.workspace_id}/assistant/scenarios"
    with TestClient(create_app(db), follow_redirects=False) as client:
        login(client, "ann@example.com")
        listed = client.get(base)
        assert listed.status_code == 200 and "Gift finder" in listed.text
        assert "Scenarios" in listed.text
    with TestClient(create_app(db), follow_redirects=False) as client:
        login(client, "lou@example.com")
        listed = client.get(base)
        assert listed.status_code == 200 and "Idée cadeau" in listed.text
        page = client.get(f"{base}/gift_finder")
        assert page.status_code == 200 and "key: gift_finder" in page.text
        token = csrf_of(page.text)
        # a wrong YAML is refused, with where and why, and the text kept (escaped)
        wrong = builtin_sources()["gift_finder"].replace("value: kids", "value: [kids")
        refused = client.post(
            f"{base}/gift_finder",
            data={"csrf_token": token, "action": "save", "source": wrong + "# <b>x</b>"},
        )
        assert refused.status_code == 422
        assert "YAML" in refused.text and "line" in refused.text
        assert "# &lt;b&gt;x&lt;/b&gt;" in refused.text
        no_english = HELLO.replace("key: hello", "key: gift_finder").replace(', en: "Hello"', "")
        missing = client.post(
            f"{base}/gift_finder",
            data={"csrf_token": token, "action": "validate", "source": no_english},
        )
        assert missing.status_code == 422 and "name.en" in missing.text
        # a valid one is checked, then saved
        mine = builtin_sources()["gift_finder"].replace("Un bébé", "Un nourrisson")
        checked = client.post(
            f"{base}/gift_finder", data={"csrf_token": token, "action": "validate", "source": mine}
        )
        assert checked.status_code == 200 and 'role="status"' in checked.text
        saved = client.post(
            f"{base}/gift_finder", data={"csrf_token": token, "action": "save", "source": mine}
        )
        assert saved.status_code == 303
        assert "Un nourrisson" in client.get(saved.headers["location"]).text
        # a new scenario, then switched off
        new = client.get(base, params={"new": "hello"})
        assert new.status_code == 303 and new.headers["location"] == f"{base}/hello"
        assert "key: hello" in client.get(f"{base}/hello").text
        made = client.post(
            f"{base}/hello", data={"csrf_token": token, "action": "save", "source": HELLO}
        )
        assert made.status_code == 303
        off = client.post(f"{base}/hello", data={"csrf_token": token, "action": "disable"})
        assert off.status_code == 303
    with db.session() as session:
        running = scenario_store.scenarios_for(session, shop.workspace_id)
        assert "hello" not in running and "gift_finder" in running
        assert any(b.label.fr == "Un nourrisson" for b in running["gift_finder"].steps[0].buttons)
    # an agent reads but does not change
    with TestClient(create_app(db), follow_redirects=False) as client:
        login(client, "lea@example.com")
        assert client.get(f"{base}/gift_finder").status_code == 200
        page = client.get(base)
        refused_agent = client.post(
            f"{base}/gift_finder",
            data={"csrf_token": csrf_of(page.text), "action": "disable"},
        )
        assert page.status_code == 200 and refused_agent.status_code in (403, 404)

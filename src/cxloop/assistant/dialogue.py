"""The dialogue engine: what the assistant answers to a shopper's message, deterministically.

It reads the message's intent (``intents``) and filters (``filters``), keeps what it learnt in
the conversation's state, and answers like a shop assistant:

- a request for products searches the catalog with everything understood so far; a broad
  request gets the clarifying question that best splits the products left (the facet whose
  values divide them most evenly: kind, age, budget, colour, size...), with buttons;
- products come with buttons to refine (a size, a budget) and with the filters understood;
- « compare » puts the products shown side by side;
- a request for a person, or two failures in a row, hands the conversation to the team.

Nothing here touches the store: the service reads and writes the conversation around it. The
assistant only ever names products the search returned, with the catalog's prices.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from babel.numbers import format_currency

from cxloop.assistant.filters import AGE_GROUPS, Filters
from cxloop.assistant.intents import Reader
from cxloop.assistant.search import CatalogIndex, CatalogItem, SearchResult
from cxloop.i18n import gettext as _

if TYPE_CHECKING:
    from cxloop.assistant.scenarios import Scenario

SHOWN = 4  # products in one reply
BROAD = 12  # more candidates than this, with questions left to ask: ask one
MAX_QUESTIONS = 2  # clarifying questions per request
MAX_BUTTONS = 6
FAILS_BEFORE_HANDOFF = 2
FACETS = ("category", "age_group", "gender", "price", "color", "size")
# How much a facet's split is worth asking about: the kind of product first, sizes last.
FACET_WEIGHTS = {
    "category": 1.4,
    "age_group": 1.2,
    "gender": 1.0,
    "price": 1.1,
    "color": 0.7,
    "size": 0.5,
}


@dataclass(frozen=True)
class Turn:
    """A shopper's message: text, and the payload of the button pressed, if any."""

    text: str
    payload: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Answer:
    """An answer found elsewhere (the FAQ), with where it comes from."""

    text: str
    source: str


@dataclass
class Context:
    """What the engine works with: the catalog, the intent model, the reader's language, and
    what the service lets it do beyond the catalog (each hook ``None`` when not available).

    - ``faq(text)``: the merchant's answer to a question, with its source, or ``None``;
    - ``order_status(number, email)``: the reply about an order (both empty: the identified
      customer's latest order); it never says whether a number exists for a wrong email;
    - ``nps_question()``: the 0–10 question with its buttons, when this shopper may be asked now;
    - ``compensate(reason)``: a coupon within the merchant's limits, as a reply, or ``None``;
    - ``open_case(summary)``: a case for the team, its id, or ``None``;
    - ``complements(skus)``: products bought with these, best first (public dicts).

    ``scenarios`` are the workspace's enabled scenarios by key (``scenarios``).
    """

    index: CatalogIndex
    intents: Reader
    lang: str
    faq: Callable[[str], Answer | None] | None = None
    order_status: Callable[[str, str], Reply] | None = None
    nps_question: Callable[[], Reply | None] | None = None
    compensate: Callable[[str], Reply | None] | None = None
    open_case: Callable[[str], str | None] | None = None
    complements: Callable[[Sequence[str]], list[dict[str, Any]]] | None = None
    scenarios: Mapping[str, Scenario] = field(default_factory=dict)


@dataclass
class Reply:
    """The assistant's answer: text, products, buttons, what it understood and did."""

    text: str
    intent: str = ""
    products: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[dict[str, Any]] = field(default_factory=list)
    filters: dict[str, Any] = field(default_factory=dict)
    comparison: list[dict[str, Any]] = field(default_factory=list)
    source: str = ""
    handoff: bool = False
    ended_well: bool = False
    unanswered: bool = False
    # What a hook's reply came to, for a scenario's branch: "ok", "failed", or "" (not said).
    outcome: str = ""

    def payload(self) -> dict[str, Any]:
        """What the widget shows besides the text (stored with the message)."""
        found: dict[str, Any] = {}
        for name in ("products", "buttons", "filters", "comparison", "source"):
            value = getattr(self, name)
            if value:
                found[name] = value
        if self.handoff:
            found["handoff"] = True
        if self.unanswered:
            found["unanswered"] = True
        return found


# Filters kept in the conversation's state (JSON) -------------------------------------------


def filters_to_state(filters: Filters) -> dict[str, Any]:
    """Filters as JSON for the state (prices stay in cents)."""
    return {
        "min_price": filters.min_price,
        "max_price": filters.max_price,
        "colors": sorted(filters.colors),
        "sizes": sorted(filters.sizes),
        "gender": filters.gender,
        "age_groups": sorted(filters.age_groups),
        "brands": sorted(filters.brands),
        "categories": sorted(filters.categories),
        "in_stock": filters.in_stock,
    }


def filters_from_state(state: Mapping[str, Any] | None) -> Filters:
    """The filters a state holds (empty when it holds none)."""
    if not state:
        return Filters()

    def cents(name: str) -> int | None:
        value = state.get(name)
        return int(value) if isinstance(value, int | float) else None

    def values(name: str) -> frozenset[str]:
        found = state.get(name) or []
        return frozenset(str(v) for v in found) if isinstance(found, list) else frozenset()

    gender = state.get("gender")
    return Filters(
        min_price=cents("min_price"),
        max_price=cents("max_price"),
        colors=values("colors"),
        sizes=values("sizes"),
        gender=gender if gender in ("female", "male") else None,
        age_groups=values("age_groups"),
        brands=values("brands"),
        categories=values("categories"),
        in_stock=bool(state.get("in_stock")),
    )


def _kept_for_new_request(filters: Filters) -> Filters:
    """What carries over to a request for another kind of product: who it is for, the budget."""
    return Filters(
        min_price=filters.min_price,
        max_price=filters.max_price,
        gender=filters.gender,
        age_groups=filters.age_groups,
    )


# Words shoppers read ------------------------------------------------------------------------


def money(cents: int, currency: str, lang: str) -> str:
    """An amount in the reader's locale (« 74,90 € », "€74.90")."""
    return format_currency(cents / 100, currency, locale="fr_FR" if lang == "fr" else "en_GB")


def age_label(group: str) -> str:
    """A Google Merchant age group in words."""
    labels = {
        "newborn": _("Newborn (0–3 months)"),
        "infant": _("Baby (3–12 months)"),
        "toddler": _("Toddler (1–5 years)"),
        "kids": _("Child (5–13 years)"),
        "adult": _("Adult"),
    }
    return labels.get(group, group)


def gender_label(gender: str) -> str:
    """A Google Merchant gender in words."""
    return {"female": _("Women"), "male": _("Men"), "unisex": _("Unisex")}.get(gender, gender)


def describe(filters: Filters, currency: str, lang: str, index: CatalogIndex) -> str:
    """The filters understood, in words (« blanc · femme · 80,00 € maximum »)."""
    parts: list[str] = []
    parts += sorted(index.translate("category", c, lang) for c in filters.categories)
    parts += sorted(index.translate("color", c, lang) for c in filters.colors)
    if filters.gender:
        parts.append(gender_label(filters.gender))
    parts += [age_label(a) for a in AGE_GROUPS if a in filters.age_groups]
    parts += [_("size %(size)s") % {"size": s} for s in sorted(filters.sizes)]
    parts += sorted(filters.brands)
    if filters.min_price is not None and filters.max_price is not None:
        parts.append(
            _("%(low)s to %(high)s")
            % {
                "low": money(filters.min_price, currency, lang),
                "high": money(filters.max_price, currency, lang),
            }
        )
    elif filters.max_price is not None:
        parts.append(_("up to %(amount)s") % {"amount": money(filters.max_price, currency, lang)})
    elif filters.min_price is not None:
        parts.append(_("from %(amount)s") % {"amount": money(filters.min_price, currency, lang)})
    if filters.in_stock:
        parts.append(_("in stock"))
    return " · ".join(parts)


# The engine ---------------------------------------------------------------------------------


def respond(state: dict[str, Any], turn: Turn, ctx: Context) -> tuple[dict[str, Any], Reply]:
    """The reply to ``turn`` and the conversation's new state."""
    state = dict(state)
    if ctx.scenarios or state.get("scenario"):
        # A scenario under way, or one the message starts, answers first. (Imported here:
        # scenarios build on this module.)
        from cxloop.assistant import scenarios

        routed = scenarios.route(state, turn, ctx)
        if routed is not None:
            return routed
    payload = dict(turn.payload or {})
    if payload.get("intent") == "human":
        return state, _handoff(state, asked=True)
    if payload.get("intent") == "complements":
        return _complements(state, ctx)
    chosen = payload.get("set")
    if isinstance(chosen, Mapping):
        return _search(state, ctx, "", chosen=chosen)
    reading = ctx.intents.read(turn.text)
    intent = str(reading.intent)
    parsed = ctx.index.parse(turn.text)
    if intent == "human":
        return state, _handoff(state, asked=True)
    if intent in ("greet",) and not parsed.filters and len(parsed.words) <= 2:
        return _reset_fails(state), Reply(
            _(
                "Hello! What are you looking for today? Tell me what you need, for whom, and your "
                "budget."
            ),
            intent="greet",
        )
    if intent in ("thanks", "bye") and not parsed.filters:
        text = (
            _("You're welcome! Have a lovely day.")
            if intent == "thanks"
            else _("Goodbye, and see you soon!")
        )
        return _reset_fails(state), Reply(text, intent=intent, ended_well=True)
    if intent == "compare":
        return _compare(state, ctx)
    if intent == "coupon":
        return _reset_fails(state), Reply(
            _(
                "I can't create discount codes myself. Our current offers are shown on the "
                "products' prices; if you need help with an order, I can pass you to the team."
            ),
            intent="coupon",
            buttons=[_human_button()],
        )
    if intent in ("faq", "order_status") or (ctx.faq is not None and not parsed.filters):
        answer = ctx.faq(turn.text) if ctx.faq is not None else None
        if answer is not None:
            return _reset_fails(state), Reply(
                answer.text, intent="faq", source=answer.source, ended_well=False
            )
        if intent in ("faq", "order_status"):
            return _failed(
                state,
                Reply(
                    _(
                        "I don't have the answer to that question. Someone from the team can "
                        "answer it."
                    ),
                    intent=intent,
                    buttons=[_human_button()],
                    unanswered=True,
                ),
            )
    return _search(state, ctx, turn.text, intent=intent or "search")


def _reset_fails(state: dict[str, Any]) -> dict[str, Any]:
    state["fails"] = 0
    return state


def _human_button() -> dict[str, Any]:
    return {"label": _("Talk to a person"), "payload": {"intent": "human"}}


def _handoff(state: dict[str, Any], *, asked: bool) -> Reply:
    state["handoff"] = True
    text = (
        _(
            "Of course: I'm passing you to someone from the team. They will answer here, in this "
            "window."
        )
        if asked
        else _(
            "I'm sorry, I'm not managing to help you. I'm passing you to someone from the "
            "team: they will answer here, in this window."
        )
    )
    return Reply(text, intent="human", handoff=True)


def _failed(state: dict[str, Any], reply: Reply) -> tuple[dict[str, Any], Reply]:
    state["fails"] = int(state.get("fails", 0)) + 1
    if state["fails"] >= FAILS_BEFORE_HANDOFF:
        handed = _handoff(state, asked=False)
        handed.unanswered = reply.unanswered
        return state, handed
    return state, reply


def _search(
    state: dict[str, Any],
    ctx: Context,
    text: str,
    *,
    chosen: Mapping[str, Any] | None = None,
    intent: str = "search",
) -> tuple[dict[str, Any], Reply]:
    index = ctx.index
    current = filters_from_state(state.get("filters"))
    words: list[str] = list(state.get("words") or [])
    if chosen is not None:
        filters = current.merged(_chosen_filters(chosen))
        state.setdefault("asked", [])
        facet = str(chosen.get("facet") or "")
        if facet and facet not in state["asked"]:
            state["asked"].append(facet)
    else:
        parsed = index.parse(text)
        new_words = [w.text for w in parsed.words]
        content = [w for w in new_words if index.knows(w)]
        said = parsed.filters
        someone_else = (said.gender is not None and said.gender != current.gender) or (
            bool(said.age_groups) and said.age_groups != current.age_groups
        )
        if content and content != words:
            # Another kind of product: who it is for and the budget carry over, unless the
            # shopper now speaks of someone else.
            kept = Filters() if someone_else else _kept_for_new_request(current)
            filters = kept.merged(said)
            words = content
            state["asked"] = []
        elif someone_else:
            filters = said
            words = content
            state["asked"] = []
        else:
            filters = current.merged(said)
        if not content and not parsed.filters and not words:
            return _failed(
                state,
                Reply(
                    _(
                        "I'm not sure I understood. Could you tell me what you are looking for "
                        "(a kind of product, a colour, a budget)?"
                    ),
                    intent=intent,
                    unanswered=True,
                ),
            )
    state["filters"] = filters_to_state(filters)
    state["words"] = words
    query = " ".join(words)
    result = index.search(query, limit=SHOWN, base=filters, in_stock=True)
    understood = describe(filters, index.currency, ctx.lang, index)
    if not result.hits:
        return _failed(
            state,
            Reply(
                (
                    _("I found nothing in stock for: %(what)s. Could you loosen a criterion?")
                    % {"what": understood or query}
                )
                if understood or query
                else _("I found nothing in stock for that. Could you describe it differently?"),
                intent=intent,
                filters=result.filters.understood(),
                buttons=[_human_button()],
            ),
        )
    _reset_fails(state)
    asked = list(state.get("asked") or [])
    if result.total > BROAD and len(asked) < MAX_QUESTIONS:
        question = _best_question(index, result, filters, asked, ctx.lang)
        if question is not None:
            facet, text_asked, buttons = question
            state["asked"] = [*asked, facet]
            state["pending"] = facet
            lead = (
                _("I have %(count)s products for: %(what)s.")
                % {"count": result.total, "what": understood}
                if understood
                else _("I have %(count)s products for that.") % {"count": result.total}
            )
            return state, Reply(
                f"{lead} {text_asked}",
                intent=intent,
                buttons=buttons,
                filters=result.filters.understood(),
            )
    state["pending"] = ""
    state["shown"] = [hit.item.sku for hit in result.hits]
    products = [hit.item.public(ctx.lang) for hit in result.hits]
    if understood:
        text_shown = _("Here is what I found in stock for: %(what)s.") % {"what": understood}
    else:
        text_shown = _("Here is what I found in stock.")
    buttons = _refinements(index, result, filters, ctx.lang)
    if ctx.complements is not None:
        buttons.append(_complements_button())
    return state, Reply(
        text_shown,
        intent=intent,
        products=products,
        buttons=buttons,
        filters=result.filters.understood(),
    )


def _chosen_filters(chosen: Mapping[str, Any]) -> Filters:
    def texts(name: str) -> frozenset[str]:
        value = chosen.get(name)
        if isinstance(value, str) and value:
            return frozenset({value[:100]})
        return frozenset()

    def cents(name: str) -> int | None:
        value = chosen.get(name)
        return int(value) if isinstance(value, int) and 0 <= value < 10**9 else None

    gender = chosen.get("gender")
    ages = chosen.get("age_group")
    return Filters(
        min_price=cents("min_price"),
        max_price=cents("max_price"),
        colors=texts("color"),
        sizes=texts("size"),
        gender=gender if gender in ("female", "male") else None,
        age_groups=frozenset({ages}) if ages in AGE_GROUPS else frozenset(),
        brands=texts("brand"),
        categories=texts("category"),
    )


def _best_question(
    index: CatalogIndex,
    result: SearchResult,
    filters: Filters,
    asked: list[str],
    lang: str,
) -> tuple[str, str, list[dict[str, Any]]] | None:
    """The facet whose values split the candidates most evenly, as a question with buttons."""
    rows = index.candidates(result)
    if rows.size == 0:
        return None
    best: tuple[float, str, list[tuple[Any, int]]] | None = None
    for facet in FACETS:
        if facet in asked or _already_set(filters, facet):
            continue
        counts = _facet_counts(index, rows, facet)
        if len(counts) < 2:
            continue
        total = sum(counts.values())
        shares = [c / total for c in counts.values()]
        entropy = -sum(s * math.log(s) for s in shares if s > 0)
        # Too many values make poor buttons: count only what the buttons can show.
        entropy = min(entropy, math.log(MAX_BUTTONS)) * FACET_WEIGHTS[facet]
        if best is None or entropy > best[0]:
            best = (entropy, facet, counts.most_common(MAX_BUTTONS - 1))
    if best is None:
        return None
    _entropy, facet, values = best
    buttons = [_facet_button(index, facet, value, lang) for value, _count in values]
    if facet != "price":
        buttons = sorted(buttons, key=lambda b: str(b["label"]))
    buttons.append({"label": _("No preference"), "payload": {"set": {"facet": facet}}})
    questions = {
        "category": _("What kind of product?"),
        "age_group": _("For what age?"),
        "gender": _("For whom?"),
        "price": _("What is your budget?"),
        "color": _("Which colour?"),
        "size": _("Which size?"),
    }
    return facet, questions[facet], buttons


def _already_set(filters: Filters, facet: str) -> bool:
    return bool(
        {
            "category": filters.categories,
            "age_group": filters.age_groups,
            "gender": filters.gender,
            "price": filters.max_price is not None or filters.min_price is not None,
            "color": filters.colors,
            "size": filters.sizes,
        }[facet]
    )


def _facet_counts(index: CatalogIndex, rows: np.ndarray, facet: str) -> Counter[Any]:
    items = [index.items[int(r)] for r in rows]
    if facet == "price":
        prices = sorted(i.unit_price_cents for i in items)
        if len(prices) < 6:
            return Counter()
        low = _round_price(prices[len(prices) // 3])
        high = _round_price(prices[2 * len(prices) // 3])
        if not 0 < low < high:
            return Counter()
        bands: Counter[Any] = Counter()
        for price in prices:
            band = (None, low) if price <= low else (low, high) if price <= high else (high, None)
            bands[band] += 1
        return bands
    if facet == "size":
        return Counter(size for item in items for size in item.sizes)
    if facet == "gender":
        return Counter(i.gender for i in items if i.gender in ("female", "male"))
    return Counter(getattr(i, facet) for i in items if getattr(i, facet))


def _round_price(cents: int) -> int:
    euros = cents / 100
    step = 5 if euros < 50 else 10 if euros < 200 else 50
    return int(math.ceil(euros / step) * step) * 100


def _facet_button(index: CatalogIndex, facet: str, value: Any, lang: str) -> dict[str, Any]:
    currency = index.currency
    if facet == "price":
        low, high = value
        if low is None:
            label = _("Up to %(amount)s") % {"amount": money(high, currency, lang)}
        elif high is None:
            label = _("Over %(amount)s") % {"amount": money(low, currency, lang)}
        else:
            label = _("%(low)s to %(high)s") % {
                "low": money(low, currency, lang),
                "high": money(high, currency, lang),
            }
        chosen: dict[str, Any] = {"facet": "price"}
        if low is not None:
            chosen["min_price"] = low + 1 if high is not None or low else low
        if high is not None:
            chosen["max_price"] = high
        return {"label": label, "payload": {"set": chosen}}
    if facet == "age_group":
        label = age_label(str(value))
    elif facet == "gender":
        label = gender_label(str(value))
    elif facet in ("category", "color"):
        label = index.translate(facet, str(value), lang)
    else:
        label = str(value)
    return {"label": label, "payload": {"set": {"facet": facet, facet: value}}}


def _refinements(
    index: CatalogIndex, result: SearchResult, filters: Filters, lang: str
) -> list[dict[str, Any]]:
    """Buttons under the products: sizes when they have sizes, else a budget; a person."""
    rows = index.candidates(result)
    buttons: list[dict[str, Any]] = []
    if not filters.sizes:
        sizes = _facet_counts(index, rows, "size")
        if sizes:
            order = {s: i for i, s in enumerate(index.size_order)}
            for size in sorted(sizes, key=lambda s: order.get(s, len(order)))[:10]:
                buttons.append(_facet_button(index, "size", size, lang))
    return buttons


def _complements_button() -> dict[str, Any]:
    return {"label": _("What goes with it?"), "payload": {"intent": "complements"}}


def _complements(state: dict[str, Any], ctx: Context) -> tuple[dict[str, Any], Reply]:
    """Products often bought with those shown (co-purchases), in stock."""
    shown = [str(s) for s in state.get("shown") or []][:SHOWN]
    found = ctx.complements(shown) if ctx.complements is not None and shown else []
    if not found:
        return state, Reply(
            _("I have no suggestion to go with these yet. Tell me what else you need."),
            intent="complements",
        )
    return state, Reply(
        _("Customers who bought these often took these too."),
        intent="complements",
        products=found,
    )


def _compare(state: dict[str, Any], ctx: Context) -> tuple[dict[str, Any], Reply]:
    shown = [str(s) for s in state.get("shown") or []][:3]
    items = [item for item in (ctx.index.item(sku) for sku in shown) if item is not None]
    if len(items) < 2:
        return _failed(
            state,
            Reply(
                _(
                    "Show me first what you are looking for, and I will compare two or three "
                    "products for you."
                ),
                intent="compare",
            ),
        )
    _reset_fails(state)
    rows = [_comparison_row(item, ctx) for item in items]
    cheapest = min(items, key=lambda i: i.unit_price_cents)
    text = _("Here they are side by side. The least expensive is %(title)s.") % {
        "title": cheapest.text("title", ctx.lang)
    }
    return state, Reply(
        text,
        intent="compare",
        comparison=rows,
        products=[item.public(ctx.lang) for item in items],
    )


def _comparison_row(item: CatalogItem, ctx: Context) -> dict[str, Any]:
    return {
        "id": item.sku,
        "title": item.text("title", ctx.lang),
        "price": money(item.unit_price_cents, item.currency, ctx.lang),
        "brand": item.brand,
        "color": item.text("color", ctx.lang),
        "material": str(item.attributes.get("material", "")),
        "sizes": ", ".join(item.sizes),
        "availability": item.availability,
    }

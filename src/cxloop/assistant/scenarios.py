"""Scenarios: conversations the merchant writes in YAML, without code, and the engine runs them.

The schema (docs/assistant-scenarios.md)::

    key: gift_finder                     # lower case, digits, underscores (up to 40)
    name: {fr: "…", en: "…"}
    trigger:                             # at least one of:
      intents: [order_status]            #   intents read in the message (not search, human)
      phrases: ["idée cadeau", "gift idea"]   # words the message contains
    steps:                               # up to 50; each has an id and one kind
      - id: who
        ask:                             # a question; its answer goes into a slot
          text: {fr: "…", en: "…"}
          slot: who
          buttons: [{label: {fr: …, en: …}, value: women}, …]   # 2 to 8; or free text with
          # validate: email | order_number | text
      - id: route
        branch: {slot: who, cases: {kids: age}, else: budget}   # or {outcome: <step id>, …}
      - id: find
        search: {query: "{who} {age}", filters: {max_price: "{budget}"}}
      - id: show
        products: {text: {fr: …, en: …}}
      - {id: hello, say: {fr: …, en: …}}
      - {id: answer, faq: {question: "{message}"}}
      - {id: lookup, order: {number: "{order}", email: "{email}", quiet: false}}
      - {id: rate, nps: {}}
      - {id: sorry, coupon: {reason: delivery_problem}}
      - {id: report, case: {summary: "…{order}…", text: {fr: …, en: …}}}
      - {id: person, handoff: {}}
      - {id: bye, end: {text: {fr: …, en: …}}}

A step goes on to the next one in the list, or to its ``next``. Running stops at an ask (the
shopper answers) and when the scenario ends (``end``, ``handoff``, ``nps``, or after the last
step). ``{name}`` in a text or a template is a slot's value; ``{message}`` is the message that
started the scenario, ``{case}`` the case opened. A loop must go through an ask: the engine never
runs in circles on its own.

Each error names where it is (``steps[2].ask.buttons``) and why, in the reader's language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from cxloop.assistant import dialogue
from cxloop.assistant.dialogue import Context, Reply, Turn
from cxloop.assistant.filters import AGE_GROUPS, Filters
from cxloop.assistant.intents import builtin_examples
from cxloop.errors import InvalidInput
from cxloop.folding import fold
from cxloop.i18n import gettext as _

MAX_YAML = 32 * 1024
MAX_STEPS = 50
MAX_TEXT = 500
MAX_VALUE = 200  # a slot's value
MAX_BUTTONS = 8
MAX_PHRASES = 30
MAX_TRIES = 2  # answers that fit no button before the scenario lets the dialogue answer
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
LANGS = ("fr", "en")
STEP_KINDS = (
    "say",
    "ask",
    "branch",
    "search",
    "products",
    "faq",
    "order",
    "nps",
    "coupon",
    "case",
    "handoff",
    "end",
)
ENDING = ("nps", "handoff", "end")
# Steps whose outcome (ok or failed) a branch can read.
WITH_OUTCOME = ("search", "products", "faq", "order", "coupon", "case")
OUTCOMES = ("ok", "failed")
VALIDATIONS = ("email", "order_number", "text")
FILTERS = ("category", "color", "size", "brand", "gender", "age_group", "min_price", "max_price")
BUILTIN_SLOTS = ("message", "case")
# Intents a trigger may not use: a product request stays a search, a person stays a person.
NOT_TRIGGERS = ("search", "human")
STOP_WORDS = frozenset(
    {
        "stop",
        "annuler",
        "annule",
        "arrete",
        "arreter",
        "laisse tomber",
        "non merci",
        "cancel",
        "quit",
        "exit",
        "never mind",
        "nevermind",
        "no thanks",
    }
)
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_ORDER_NUMBER = re.compile(r"#?\s?([A-Za-z]{0,6}[-_]?\d[\w-]{1,29})")
_WORD = re.compile(r"[a-z0-9]+")


def _fail(where: str, message: str) -> InvalidInput:
    return InvalidInput(where or "scenario", message)


# The plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A text in French and English."""

    fr: str
    en: str

    def get(self, lang: str) -> str:
        """The text in the reader's language."""
        return self.en if lang.startswith("en") else self.fr


@dataclass(frozen=True)
class Button:
    """An answer to an ask: what the shopper reads, and the slot's value it gives."""

    label: Text
    value: str


@dataclass(frozen=True)
class Step:
    """One step: its kind and what that kind needs (the other fields stay empty)."""

    id: str
    kind: str
    next: str = ""
    text: Text | None = None
    # ask
    slot: str = ""
    buttons: tuple[Button, ...] = ()
    validate: str = ""
    # branch: on a slot's value, or on a step's outcome
    on_slot: str = ""
    on_outcome: str = ""
    cases: tuple[tuple[str, str], ...] = ()
    otherwise: str = ""
    # search
    query: str = ""
    filters: tuple[tuple[str, str], ...] = ()
    # faq, order, coupon, case
    question: str = ""
    number: str = ""
    email: str = ""
    quiet: bool = False
    reason: str = ""
    summary: str = ""


@dataclass(frozen=True)
class Trigger:
    """What starts a scenario: intents read in a message, or phrases it contains (folded)."""

    intents: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Scenario:
    """A checked scenario, ready to run."""

    key: str
    name: Text
    trigger: Trigger
    steps: tuple[Step, ...]
    source: str = field(default="", compare=False, repr=False)

    def step(self, step_id: str) -> Step | None:
        """The step with this id, if any."""
        for step in self.steps:
            if step.id == step_id:
                return step
        return None

    def after(self, step: Step) -> str:
        """The id of the step that follows ``step`` ("" when the scenario ends there)."""
        if step.next:
            return step.next
        position = self.steps.index(step)
        return self.steps[position + 1].id if position + 1 < len(self.steps) else ""


# Reading -------------------------------------------------------------------------------------


def parse(source: str) -> Scenario:
    """The checked scenario of a YAML document; ``InvalidInput`` names where and why not."""
    if len(source.encode()) > MAX_YAML:
        raise _fail("source", _("at most %(n)s bytes") % {"n": MAX_YAML})
    try:
        document = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "source"
        raise _fail(where, _("this is not valid YAML")) from exc
    return replace(build(document), source=source)


def build(document: object) -> Scenario:
    """The checked scenario of a parsed document (a mapping, as YAML or JSON give it)."""
    spec = _mapping(document, "")
    _only(spec, ("key", "name", "trigger", "steps"), "")
    key = spec.get("key")
    if not isinstance(key, str) or not KEY.match(key):
        raise _fail("key", _("lower case letters, digits and underscores, from a letter"))
    if "name" not in spec:
        raise _fail("name", _("is required"))
    name = _text(spec["name"], "name")
    if "trigger" not in spec:
        raise _fail("trigger", _("is required"))
    trigger = _trigger(spec["trigger"])
    listed = spec.get("steps")
    if not isinstance(listed, list) or not listed:
        raise _fail("steps", _("a list of at least one step"))
    if len(listed) > MAX_STEPS:
        raise _fail("steps", _("at most %(n)s steps") % {"n": MAX_STEPS})
    steps = tuple(_step(s, f"steps[{i}]") for i, s in enumerate(listed))
    _check_links(steps)
    return Scenario(key=key, name=name, trigger=trigger, steps=steps)


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, _("a mapping of names to values"))
    return value


def _only(value: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    allowed = tuple(allowed)
    for name in value:
        if name not in allowed:
            raise _fail(
                f"{where}.{name}" if where else str(name),
                _("unknown; expected one of %(names)s") % {"names": ", ".join(allowed)},
            )


def _text(value: object, where: str) -> Text:
    spec = _mapping(value, where)
    _only(spec, LANGS, where)
    texts: dict[str, str] = {}
    for lang in LANGS:
        found = spec.get(lang)
        if found is None:
            raise _fail(f"{where}.{lang}", _("is required"))
        if not isinstance(found, str) or not found.strip():
            raise _fail(f"{where}.{lang}", _("must not be empty"))
        if len(found) > MAX_TEXT:
            raise _fail(f"{where}.{lang}", _("at most %(n)s characters") % {"n": MAX_TEXT})
        texts[lang] = found.strip()
    return Text(fr=texts["fr"], en=texts["en"])


def _template(value: object, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _fail(where, _("a text, where {slot} stands for a slot's value"))
    if len(value) > MAX_TEXT:
        raise _fail(where, _("at most %(n)s characters") % {"n": MAX_TEXT})
    return value.strip()


def _slot_name(value: object, where: str) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise _fail(where, _("a slot name: lower case letters, digits and underscores"))
    return value


def _step_id(value: object, where: str) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise _fail(where, _("a step id: lower case letters, digits and underscores"))
    return value


def _trigger(value: object) -> Trigger:
    where = "trigger"
    spec = _mapping(value, where)
    _only(spec, ("intents", "phrases"), where)
    known = sorted({intent for intent, _phrase in builtin_examples()} - set(NOT_TRIGGERS))
    intents: list[str] = []
    listed = spec.get("intents") or []
    if not isinstance(listed, list) or len(listed) > len(known):
        raise _fail(f"{where}.intents", _("a list of intents"))
    for i, intent in enumerate(listed):
        if intent in NOT_TRIGGERS:
            raise _fail(
                f"{where}.intents[{i}]",
                _("a scenario cannot take every %(intent)s message: use phrases")
                % {"intent": intent},
            )
        if intent not in known:
            raise _fail(
                f"{where}.intents[{i}]",
                _("unknown; expected one of %(names)s") % {"names": ", ".join(known)},
            )
        intents.append(str(intent))
    phrases: list[tuple[str, ...]] = []
    listed = spec.get("phrases") or []
    if not isinstance(listed, list) or len(listed) > MAX_PHRASES:
        raise _fail(f"{where}.phrases", _("a list of at most %(n)s phrases") % {"n": MAX_PHRASES})
    for i, phrase in enumerate(listed):
        words = tuple(_words(phrase)) if isinstance(phrase, str) and len(phrase) <= 100 else ()
        if not words:
            raise _fail(f"{where}.phrases[{i}]", _("a phrase of 1 to 100 characters"))
        phrases.append(words)
    if not intents and not phrases:
        raise _fail(where, _("at least one intent or one phrase"))
    return Trigger(intents=tuple(intents), phrases=tuple(phrases))


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def _options(value: object, where: str) -> Mapping[str, Any]:
    """A step's settings: a mapping, or nothing for a step that needs none."""
    return {} if value is None else _mapping(value, where)


def _step(value: object, where: str) -> Step:
    spec = _mapping(value, where)
    kinds = [k for k in spec if k in STEP_KINDS]
    _only(spec, ("id", "next", *STEP_KINDS), where)
    if "id" not in spec:
        raise _fail(f"{where}.id", _("is required"))
    step_id = _step_id(spec["id"], f"{where}.id")
    if len(kinds) != 1:
        raise _fail(
            where, _("exactly one kind of step: %(names)s") % {"names": ", ".join(STEP_KINDS)}
        )
    kind = kinds[0]
    here = f"{where}.{kind}"
    body = spec[kind]
    step = Step(id=step_id, kind=kind)
    if "next" in spec:
        if kind in ENDING or kind == "branch":
            raise _fail(f"{where}.next", _("this kind of step does not go on to another"))
        step = replace(step, next=_step_id(spec["next"], f"{where}.next"))
    if kind == "say":
        return replace(step, text=_text(body, here))
    if kind == "ask":
        return _ask(step, body, here)
    if kind == "branch":
        return _branch(step, body, here)
    options = _options(body, here)
    if kind == "search":
        _only(options, ("query", "filters"), here)
        query = _template(options.get("query"), f"{here}.query")
        filters = _options(options.get("filters"), f"{here}.filters")
        _only(filters, FILTERS, f"{here}.filters")
        pairs = tuple((n, _template(v, f"{here}.filters.{n}")) for n, v in filters.items())
        if not query and not pairs:
            raise _fail(here, _("a query, filters, or both"))
        return replace(step, query=query, filters=pairs)
    if kind == "faq":
        _only(options, ("question",), here)
        question = _template(options.get("question", "{message}"), f"{here}.question")
        return replace(step, question=question or "{message}")
    if kind == "order":
        _only(options, ("number", "email", "quiet"), here)
        quiet = options.get("quiet", False)
        if not isinstance(quiet, bool):
            raise _fail(f"{here}.quiet", _("true or false"))
        return replace(
            step,
            number=_template(options.get("number"), f"{here}.number"),
            email=_template(options.get("email"), f"{here}.email"),
            quiet=quiet,
        )
    if kind == "coupon":
        _only(options, ("reason",), here)
        reason = options.get("reason")
        if not isinstance(reason, str) or not NAME.match(reason):
            raise _fail(f"{here}.reason", _("a reason: lower case letters, digits, underscores"))
        return replace(step, reason=reason)
    if kind == "case":
        _only(options, ("summary", "text"), here)
        summary = _template(options.get("summary"), f"{here}.summary")
        if not summary:
            raise _fail(f"{here}.summary", _("is required"))
        text = _text(options["text"], f"{here}.text") if "text" in options else None
        return replace(step, summary=summary, text=text)
    # products, nps, handoff, end: an optional text
    _only(options, ("text",) if kind != "nps" else (), here)
    return replace(step, text=_text(options["text"], f"{here}.text") if "text" in options else None)


def _ask(step: Step, body: object, here: str) -> Step:
    options = _mapping(body, here)
    _only(options, ("text", "slot", "buttons", "validate"), here)
    if "text" not in options:
        raise _fail(f"{here}.text", _("is required"))
    text = _text(options["text"], f"{here}.text")
    slot = _slot_name(options.get("slot"), f"{here}.slot")
    if slot in BUILTIN_SLOTS:
        raise _fail(f"{here}.slot", _("this slot is the engine's own"))
    buttons: list[Button] = []
    if "buttons" in options:
        listed = options["buttons"]
        if not isinstance(listed, list) or len(listed) < 2:
            raise _fail(f"{here}.buttons", _("at least 2"))
        if len(listed) > MAX_BUTTONS:
            raise _fail(f"{here}.buttons", _("at most %(n)s") % {"n": MAX_BUTTONS})
        for i, item in enumerate(listed):
            where = f"{here}.buttons[{i}]"
            button = _mapping(item, where)
            _only(button, ("label", "value"), where)
            if "label" not in button:
                raise _fail(f"{where}.label", _("is required"))
            value = button.get("value", "")
            if isinstance(value, int | float) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str) or len(value) > MAX_VALUE:
                raise _fail(
                    f"{where}.value", _("a text of at most %(n)s characters") % {"n": MAX_VALUE}
                )
            buttons.append(Button(_text(button["label"], f"{where}.label"), value.strip()))
    validate = options.get("validate", "" if buttons else "text")
    if buttons and "validate" in options:
        raise _fail(f"{here}.validate", _("only for a free-text answer (without buttons)"))
    if not buttons and validate not in VALIDATIONS:
        raise _fail(
            f"{here}.validate",
            _("unknown; expected one of %(names)s") % {"names": ", ".join(VALIDATIONS)},
        )
    return replace(step, text=text, slot=slot, buttons=tuple(buttons), validate=str(validate))


def _branch(step: Step, body: object, here: str) -> Step:
    options = _mapping(body, here)
    _only(options, ("slot", "outcome", "cases", "else"), here)
    if ("slot" in options) == ("outcome" in options):
        raise _fail(here, _("either a slot or an outcome"))
    on_slot = _slot_name(options["slot"], f"{here}.slot") if "slot" in options else ""
    on_outcome = _step_id(options["outcome"], f"{here}.outcome") if "outcome" in options else ""
    cases = _mapping(options.get("cases"), f"{here}.cases")
    if not cases:
        raise _fail(f"{here}.cases", _("at least one case"))
    pairs: list[tuple[str, str]] = []
    for value, target in cases.items():
        name = str(value) if not isinstance(value, bool) else ("true" if value else "false")
        if on_outcome and name not in OUTCOMES:
            raise _fail(
                f"{here}.cases.{name}",
                _("unknown; expected one of %(names)s") % {"names": ", ".join(OUTCOMES)},
            )
        pairs.append((name, _step_id(target, f"{here}.cases.{name}")))
    otherwise = _step_id(options["else"], f"{here}.else") if "else" in options else ""
    return replace(
        step, on_slot=on_slot, on_outcome=on_outcome, cases=tuple(pairs), otherwise=otherwise
    )


def _check_links(steps: tuple[Step, ...]) -> None:
    """Step ids unique, every link to a step that exists, slots asked before they are used
    somewhere, and no loop that runs without waiting for the shopper."""
    ids = [s.id for s in steps]
    for i, step_id in enumerate(ids):
        if step_id in ids[:i]:
            raise _fail(f"steps[{i}].id", _("used by another step"))
    kinds = {s.id: s.kind for s in steps}
    slots = {s.slot for s in steps if s.kind == "ask"} | set(BUILTIN_SLOTS)
    searched = False
    for i, step in enumerate(steps):
        where = f"steps[{i}]"
        links = [(f"{where}.next", step.next)] if step.next else []
        links += [(f"{where}.branch.cases.{v}", t) for v, t in step.cases]
        if step.otherwise:
            links.append((f"{where}.branch.else", step.otherwise))
        for path, target in links:
            if target not in kinds:
                raise _fail(path, _("no step has this id"))
        if step.on_outcome and kinds.get(step.on_outcome) not in WITH_OUTCOME:
            raise _fail(
                f"{where}.branch.outcome",
                _("the id of a step with an outcome (%(names)s)")
                % {"names": ", ".join(WITH_OUTCOME)},
            )
        if step.on_slot and step.on_slot not in slots:
            raise _fail(f"{where}.branch.slot", _("no ask fills this slot"))
        searched = searched or step.kind == "search"
        if step.kind == "products" and not searched:
            raise _fail(where, _("products show a search's results: put a search step before"))
        for path, template in _templates(step, where):
            for name in _PLACEHOLDER.findall(template):
                if name not in slots:
                    raise _fail(path, _("no ask fills the slot {%(name)s}") % {"name": name})
    _check_loops(steps)


def _templates(step: Step, where: str) -> Iterable[tuple[str, str]]:
    kind = f"{where}.{step.kind}"
    if step.text is not None:
        prefix = kind if step.kind == "say" else f"{kind}.text"
        yield f"{prefix}.fr", step.text.fr
        yield f"{prefix}.en", step.text.en
    for name in ("query", "question", "number", "email", "summary"):
        value = getattr(step, name)
        if value:
            yield f"{kind}.{name}", value
    for name, value in step.filters:
        yield f"{kind}.filters.{name}", value


def _check_loops(steps: tuple[Step, ...]) -> None:
    """A loop must pass an ask: the engine runs on its own only until a step waits."""
    scenario = Scenario(key="x", name=Text("x", "x"), trigger=Trigger(), steps=steps)
    edges: dict[str, list[str]] = {}
    for step in steps:
        if step.kind == "ask" or step.kind in ENDING:
            edges[step.id] = []
        elif step.kind == "branch":
            following = step.otherwise or scenario.after(step)
            edges[step.id] = [t for _v, t in step.cases] + [following]
        else:
            edges[step.id] = [scenario.after(step)]
    done: set[str] = set()
    for i, start in enumerate(s.id for s in steps):
        stack = [(start, iter(edges[start]))]
        on_path = {start}
        while stack:
            node, targets = stack[-1]
            target = next(targets, None)
            if target is None:
                stack.pop()
                on_path.discard(node)
                done.add(node)
                continue
            if not target or target in done:
                continue
            if target in on_path:
                raise _fail(
                    f"steps[{i}]",
                    _("a loop that never waits for the shopper: put an ask in it"),
                )
            on_path.add(target)
            stack.append((target, iter(edges[target])))


# Triggers and leaving ------------------------------------------------------------------------


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    return any(tuple(words[i : i + size]) == phrase for i in range(len(words) - size + 1))


def _asks_for_products(text: str, intent: str, ctx: Context, besides: Iterable[str] = ()) -> bool:
    """Whether a message is a request for products: filters, or words the catalog knows."""
    if intent not in ("", "search", "compare", "complements"):
        return False
    parsed = ctx.index.parse(text)
    if parsed.filters:
        return True
    skip = set(besides)
    return any(w.text not in skip and ctx.index.knows(w.text) for w in parsed.words)


def triggered(text: str, intent: str, ctx: Context, *, exclude: str = "") -> Scenario | None:
    """The scenario this message starts, if any: a phrase it contains first, then its intent.
    A phrase never takes a request for products (« un cadeau pour un enfant de 5 ans »)."""
    if not text.strip():
        return None
    words = _words(text)
    ordered = [ctx.scenarios[k] for k in sorted(ctx.scenarios) if k != exclude]
    for scenario in ordered:
        for phrase in scenario.trigger.phrases:
            if _contains(words, phrase):
                besides = {*phrase, "".join(phrase)}
                if not _asks_for_products(text, intent, ctx, besides):
                    return scenario
    for scenario in ordered:
        if intent and intent in scenario.trigger.intents:
            return scenario
    return None


def route(state: dict[str, Any], turn: Turn, ctx: Context) -> tuple[dict[str, Any], Reply] | None:
    """The reply when a scenario takes the turn: the one under way, or one the message starts;
    ``None`` lets the dialogue answer (the scenario, if any, is left)."""
    current = state.get("scenario")
    payload = dict(turn.payload or {})
    if isinstance(current, Mapping):
        scenario = ctx.scenarios.get(str(current.get("key", "")))
        if scenario is None or "intent" in payload or "set" in payload:
            state.pop("scenario", None)
            return None
        return advance(scenario, state, turn, ctx)
    if current is not None:
        state.pop("scenario", None)
    if payload or not ctx.scenarios:
        return None
    intent = str(ctx.intents.read(turn.text).intent)
    scenario = triggered(turn.text, intent, ctx)
    if scenario is None:
        return None
    return start(scenario, state, ctx, message=turn.text)


# Running -------------------------------------------------------------------------------------


def start(
    scenario: Scenario, state: dict[str, Any], ctx: Context, *, message: str = ""
) -> tuple[dict[str, Any], Reply]:
    """Begin ``scenario``: run its steps until one waits for the shopper, or it ends."""
    state["fails"] = 0
    state["scenario"] = {
        "key": scenario.key,
        "step": scenario.steps[0].id,
        "slots": {"message": " ".join(message.split())[:MAX_TEXT]},
        "outcomes": {},
        "found": [],
        "tries": 0,
    }
    return state, _Run(scenario, state, ctx).go(scenario.steps[0].id)


def advance(
    scenario: Scenario, state: dict[str, Any], turn: Turn, ctx: Context
) -> tuple[dict[str, Any], Reply]:
    """The shopper's answer to the scenario's question, then the steps that follow.

    The shopper can leave: « stop » or « annuler » ends the scenario; a request for a person, a
    request for products, or another scenario's request go where they belong instead.
    """
    current = dict(state["scenario"])
    step = scenario.step(str(current.get("step", "")))
    if step is None or step.kind != "ask":  # the scenario changed since: start afresh
        return _leave(state, turn, ctx)
    value = _answer(step, turn)
    stop = " ".join(_words(turn.text)) in STOP_WORDS and not turn.payload
    if stop and (value is None or not step.buttons):  # « non merci » may be a button
        state.pop("scenario", None)
        return state, Reply(
            _("All right, let's leave it there. What else can I do for you?"),
            intent=scenario.key,
        )
    if value is None:
        return _not_an_answer(scenario, step, state, turn, ctx)
    if not turn.payload and not step.buttons and step.validate == "text":
        # Free text answers anything, except a request for a person or for products.
        intent = str(ctx.intents.read(turn.text).intent)
        if intent == "human" or (intent == "search" and ctx.index.parse(turn.text).filters):
            return _leave(state, turn, ctx)
    slots = dict(current.get("slots") or {})
    slots[step.slot] = value[:MAX_VALUE]
    state["scenario"] = {**current, "slots": slots, "tries": 0}
    return state, _Run(scenario, state, ctx).go(scenario.after(step))


def _answer(step: Step, turn: Turn) -> str | None:
    """The slot's value this turn gives, or ``None`` when it does not answer the ask."""
    chosen = (turn.payload or {}).get("slot")
    if isinstance(chosen, Mapping) and chosen.get("name") == step.slot:
        value = chosen.get("value")
        if step.buttons:
            return str(value) if any(b.value == value for b in step.buttons) else None
        return str(value) if isinstance(value, str) else None
    text = " ".join(turn.text.split())
    if step.buttons:
        said = fold(text).strip(" .!?")
        for button in step.buttons:
            if said in {fold(button.label.fr), fold(button.label.en)} or (
                button.value and said == fold(button.value)
            ):
                return button.value
        return None
    if step.validate == "email":
        found = _EMAIL.search(text)
        return found.group().strip(".") if found else None
    if step.validate == "order_number":
        for match in _ORDER_NUMBER.finditer(_EMAIL.sub(" ", text)):
            number = match.group(1).strip("-_")
            if sum(c.isdigit() for c in number) >= 3:
                return number
        return None
    return text or None


def _leave(state: dict[str, Any], turn: Turn, ctx: Context) -> tuple[dict[str, Any], Reply]:
    state.pop("scenario", None)
    return dialogue.respond(state, turn, ctx)


def _not_an_answer(
    scenario: Scenario, step: Step, state: dict[str, Any], turn: Turn, ctx: Context
) -> tuple[dict[str, Any], Reply]:
    """A message that does not answer the ask: the shopper may be going elsewhere."""
    intent = str(ctx.intents.read(turn.text).intent) if turn.text.strip() else ""
    other = triggered(turn.text, intent, ctx, exclude=scenario.key)
    if other is not None:
        state.pop("scenario", None)
        return start(other, state, ctx, message=turn.text)
    current = dict(state["scenario"])
    tries = int(current.get("tries") or 0) + 1
    if intent == "human" or tries >= MAX_TRIES or _asks_for_products(turn.text, intent, ctx):
        return _leave(state, turn, ctx)
    state["scenario"] = {**current, "tries": tries}
    if step.buttons:
        hint = _("Please choose one of the answers below.")
    elif step.validate == "email":
        hint = _("That doesn't look like an email address.")
    elif step.validate == "order_number":
        hint = _("That doesn't look like an order number (it is in your confirmation email).")
    else:
        hint = _("I didn't get that.")
    question = _ask_reply(step, _Run(scenario, state, ctx))
    question.text = f"{hint} {question.text}"
    question.buttons.append(_human_button())
    return state, question


def _human_button() -> dict[str, Any]:
    return {"label": _("Talk to a person"), "payload": {"intent": "human"}}


def render(template: str, slots: Mapping[str, Any]) -> str:
    """A template with each ``{slot}`` replaced by its value ("" when not filled)."""
    text = _PLACEHOLDER.sub(lambda m: str(slots.get(m.group(1), "") or ""), template)
    return " ".join(text.split())


def _ask_reply(step: Step, run: _Run) -> Reply:
    assert step.text is not None
    buttons = [
        {
            "label": button.label.get(run.ctx.lang),
            "payload": {"slot": {"name": step.slot, "value": button.value}},
        }
        for button in step.buttons
    ]
    return Reply(run.say(step.text), intent=run.scenario.key, buttons=buttons)


class _Run:
    """One turn's run of a scenario: the steps it goes through and what they say."""

    def __init__(self, scenario: Scenario, state: dict[str, Any], ctx: Context) -> None:
        self.scenario = scenario
        self.state = state
        self.ctx = ctx
        self.parts: list[Reply] = []

    @property
    def memory(self) -> dict[str, Any]:
        found: dict[str, Any] = self.state["scenario"]
        return found

    @property
    def slots(self) -> dict[str, Any]:
        return dict(self.memory.get("slots") or {})

    def say(self, text: Text) -> str:
        return render(text.get(self.ctx.lang), self.slots)

    def outcome(self, step: Step, ok: bool) -> None:
        self.memory["outcomes"] = {**(self.memory.get("outcomes") or {}), step.id: OUTCOMES[not ok]}

    def go(self, step_id: str) -> Reply:
        """Run from ``step_id`` until a step waits for the shopper or the scenario ends."""
        for _hop in range(2 * len(self.scenario.steps) + 2):
            step = self.scenario.step(step_id) if step_id else None
            if step is None:
                return self.finish(ended=True)
            self.memory["step"] = step.id
            if step.kind == "ask":
                self.parts.append(_ask_reply(step, self))
                return self.finish(ended=False)
            following = getattr(self, f"_{step.kind}")(step)
            if following is None:
                return self.finish(ended=True)
            step_id = following
        return self.finish(ended=True)  # validation forbids loops without an ask; a last guard

    def finish(self, *, ended: bool) -> Reply:
        """The turn's reply: what the steps said, the last buttons, the products shown."""
        if ended:
            self.state.pop("scenario", None)
        parts = self.parts
        reply = Reply(
            " ".join(p.text for p in parts if p.text),
            intent=self.scenario.key,
            products=[p for part in parts for p in part.products][: dialogue.SHOWN],
            filters=next((p.filters for p in reversed(parts) if p.filters), {}),
            comparison=next((p.comparison for p in reversed(parts) if p.comparison), []),
            source=next((p.source for p in reversed(parts) if p.source), ""),
            handoff=any(p.handoff for p in parts),
            ended_well=any(p.ended_well for p in parts),
            unanswered=any(p.unanswered for p in parts),
        )
        for part in parts:
            for button in part.buttons:
                if button not in reply.buttons:
                    reply.buttons.append(button)
        if reply.handoff:
            self.state["handoff"] = True
            reply.buttons = [b for b in reply.buttons if b["payload"] != {"intent": "human"}]
        if not reply.text:
            reply.text = _("What else can I do for you?")
        return reply

    def cannot(self, what: str) -> None:
        """A step whose hook the service does not offer: say so, offer a person, stop."""
        self.parts.append(Reply(what, buttons=[_human_button()], unanswered=True))

    # The steps: each returns the next step's id, or None when the scenario ends there.

    def _say(self, step: Step) -> str | None:
        assert step.text is not None
        self.parts.append(Reply(self.say(step.text)))
        return self.scenario.after(step)

    def _branch(self, step: Step) -> str | None:
        if step.on_slot:
            value = fold(str(self.slots.get(step.on_slot, "")))
            chosen = next((t for v, t in step.cases if fold(v) == value), None)
        else:
            outcome = (self.memory.get("outcomes") or {}).get(step.on_outcome, "failed")
            chosen = next((t for v, t in step.cases if v == outcome), None)
        return chosen or step.otherwise or self.scenario.after(step)

    def _search(self, step: Step) -> str | None:
        index = self.ctx.index
        slots = self.slots
        parsed = index.parse(render(step.query, slots))
        filters = parsed.filters.merged(_explicit_filters(step, slots))
        words = [w.text for w in parsed.words if index.knows(w.text)]
        result = index.search(" ".join(words), limit=dialogue.SHOWN, base=filters, in_stock=True)
        if not result.hits and words and filters:
            # The words found nothing within the answers: the answers count more.
            result = index.search("", limit=dialogue.SHOWN, base=filters, in_stock=True)
            words = []
        # The dialogue goes on from here: « compare », a size, another colour.
        self.state["filters"] = dialogue.filters_to_state(filters)
        self.state["words"] = words
        self.state["asked"] = []
        self.memory["found"] = [hit.item.sku for hit in result.hits]
        self.memory["understood"] = result.filters.understood()
        self.outcome(step, bool(result.hits))
        return self.scenario.after(step)

    def _products(self, step: Step) -> str | None:
        index = self.ctx.index
        items = [index.item(str(sku)) for sku in self.memory.get("found") or []]
        shown = [item for item in items if item is not None]
        filters = dialogue.filters_from_state(self.state.get("filters"))
        understood = dialogue.describe(filters, index.currency, self.ctx.lang, index)
        self.outcome(step, bool(shown))
        if not shown:
            text = (
                _("I found nothing in stock for: %(what)s. Could you loosen a criterion?")
                % {"what": understood}
                if understood
                else _("I found nothing in stock for that. Could you describe it differently?")
            )
            self.parts.append(Reply(text, buttons=[_human_button()]))
            return self.scenario.after(step)
        if step.text is not None:
            text = self.say(step.text)
        elif understood:
            text = _("Here is what I found in stock for: %(what)s.") % {"what": understood}
        else:
            text = _("Here is what I found in stock.")
        self.state["shown"] = [item.sku for item in shown]
        self.state["pending"] = ""
        self.parts.append(
            Reply(
                text,
                products=[item.public(self.ctx.lang) for item in shown],
                filters=dict(self.memory.get("understood") or {}),
            )
        )
        return self.scenario.after(step)

    def _faq(self, step: Step) -> str | None:
        if self.ctx.faq is None:
            self.cannot(
                _(
                    "I can't look through the shop's answers here. Someone from the team can "
                    "answer you."
                )
            )
            return None
        answer = self.ctx.faq(render(step.question, self.slots))
        self.outcome(step, answer is not None)
        if answer is None:
            self.parts.append(
                Reply(
                    _(
                        "I don't have the answer to that question. Someone from the team can "
                        "answer it."
                    ),
                    buttons=[_human_button()],
                    unanswered=True,
                )
            )
        else:
            self.parts.append(Reply(answer.text, source=answer.source))
        return self.scenario.after(step)

    def _order(self, step: Step) -> str | None:
        if self.ctx.order_status is None:
            self.cannot(
                _("I can't look up orders here. Someone from the team can tell you where it is.")
            )
            return None
        slots = self.slots
        reply = self.ctx.order_status(render(step.number, slots), render(step.email, slots))
        ok = reply.outcome == "ok" if reply.outcome else not reply.unanswered and not reply.handoff
        self.outcome(step, ok)
        if ok or not step.quiet:
            self.parts.append(reply)
        return None if reply.handoff else self.scenario.after(step)

    def _nps(self, step: Step) -> str | None:
        if self.ctx.nps_question is None:
            self.cannot(_("I can't take your rating here. Someone from the team can hear you."))
            return None
        question = self.ctx.nps_question()
        if question is None:
            self.parts.append(
                Reply(
                    _("Thank you! I can't take your rating right now. What else can I do for you?")
                )
            )
        else:
            self.parts.append(question)
        return None

    def _coupon(self, step: Step) -> str | None:
        if self.ctx.compensate is None:
            self.cannot(
                _("I can't offer a compensation myself. Someone from the team can look into it.")
            )
            return None
        given = self.ctx.compensate(step.reason)
        self.outcome(step, given is not None)
        if given is not None:
            self.parts.append(given)
        return self.scenario.after(step)

    def _case(self, step: Step) -> str | None:
        if self.ctx.open_case is None:
            self.cannot(
                _("I can't pass your request on to the team from here. Someone can take it now.")
            )
            return None
        case_id = self.ctx.open_case(render(step.summary, self.slots)[:MAX_TEXT])
        self.outcome(step, case_id is not None)
        if case_id is None:
            self.cannot(
                _("I couldn't pass your request on to the team. Someone from the team can help.")
            )
            return None
        self.memory["slots"] = {**self.slots, "case": case_id}
        text = (
            self.say(step.text)
            if step.text is not None
            else _("I've passed your request on to the team (reference %(case)s).")
            % {"case": case_id}
        )
        self.parts.append(Reply(text))
        return self.scenario.after(step)

    def _handoff(self, step: Step) -> str | None:
        text = (
            self.say(step.text)
            if step.text is not None
            else _(
                "Of course: I'm passing you to someone from the team. They will answer here, in "
                "this window."
            )
        )
        self.parts.append(Reply(text, handoff=True))
        return None

    def _end(self, step: Step) -> str | None:
        if step.text is not None:
            self.parts.append(Reply(self.say(step.text)))
        return None


def _explicit_filters(step: Step, slots: Mapping[str, Any]) -> Filters:
    """A search step's ``filters``, each rendered with the slots; empty or unknown values are
    left out (a « no preference » answer)."""
    values = {name: render(template, slots) for name, template in step.filters}
    found: dict[str, Any] = {}
    for name in ("min_price", "max_price"):
        amount = values.get(name, "").replace(",", ".").strip(" €$£")
        try:
            cents = round(float(amount) * 100) if amount else None
        except ValueError:
            cents = None
        if cents is not None and 0 <= cents < 10**9:
            found[name] = cents
    gender = values.get("gender", "")
    if gender in ("female", "male"):
        found["gender"] = gender
    ages = frozenset(a.strip() for a in values.get("age_group", "").split(",")) & set(AGE_GROUPS)
    if ages:
        found["age_groups"] = ages
    for name, attribute in (
        ("category", "categories"),
        ("color", "colors"),
        ("size", "sizes"),
        ("brand", "brands"),
    ):
        if values.get(name):
            found[attribute] = frozenset({values[name]})
    return Filters(**found)

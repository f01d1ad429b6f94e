"""The segment expression language: one condition over a customer's facts (fields and scores,
last NPS answer, orders and parcels) and, for a journey's trigger, the event that fired it.

It is parsed here, by hand (never ``eval``), into a small tree; ``sql.py`` compiles the tree to
an Ibis predicate for batch membership, and ``evaluate`` runs it in-process on one customer's
facts for real-time triggers. Both follow SQL's three-valued logic: a comparison with a missing
value is unknown, ``and``/``or``/``not`` are Kleene's, and a customer is in when the whole
condition is true. The grammar (docs/segments.md)::

    condition   := disjunction
    disjunction := conjunction ("or" conjunction)*
    conjunction := negation ("and" negation)*
    negation    := "not" negation | test
    test        := "(" condition ")"
                 | operand [ compare operand | ["not"] "in" list | "contains" text
                           | "is" ["not"] "null" ]
    compare     := "=" | "!=" | "<" | "<=" | ">" | ">="
    operand     := field | number | text | "true" | "false"
    list        := "[" literal ("," literal)* "]"
    field       := name ("." name)*

Keywords are case-blind. Texts are quoted with ``"`` or ``'`` (a backslash escapes the quote or
itself). Numbers compare with numbers, texts with texts (``=``, ``!=`` and ``in`` only: an order
on texts would depend on the database's collation), yes/no fields stand alone or compare with
``true``/``false``, and lists of texts (the themes of the last NPS answer) take ``contains``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cxloop import i18n
from cxloop.errors import InvalidInput

Kind = Literal["number", "text", "bool", "list", "any"]
Value = float | int | str | bool


@dataclass(frozen=True)
class FieldSpec:
    """A fact a condition can test: its kind, and whether batch membership knows it (an event's
    fields exist only while a trigger fires)."""

    kind: Kind
    batch: bool = True


# The customer's facts, by the name conditions use (``sql.column`` gives the table's column).
FIELDS: dict[str, FieldSpec] = {
    # RFM and the models (analytics)
    "recency_days": FieldSpec("number"),
    "frequency": FieldSpec("number"),
    "monetary": FieldSpec("number"),
    "r": FieldSpec("number"),
    "f": FieldSpec("number"),
    "m": FieldSpec("number"),
    "rfm_segment": FieldSpec("text"),
    "clv_12m": FieldSpec("number"),
    "p_alive": FieldSpec("number"),
    "expected_orders_90d": FieldSpec("number"),
    "next_order_days": FieldSpec("number"),
    "churn_band": FieldSpec("text"),
    "propensity": FieldSpec("number"),
    "persona": FieldSpec("text"),
    # The customer
    "locale": FieldSpec("text"),
    "country": FieldSpec("text"),
    "has_email": FieldSpec("bool"),
    # Orders and parcels
    "orders.count": FieldSpec("number"),
    "orders.revenue": FieldSpec("number"),
    "orders.last_days": FieldSpec("number"),
    "orders.first_days": FieldSpec("number"),
    "shipments.count": FieldSpec("number"),
    "shipments.late": FieldSpec("number"),
    "shipments.last_late": FieldSpec("bool"),
    # The last NPS answer
    "nps.score": FieldSpec("number"),
    "nps.category": FieldSpec("text"),
    "nps.days_ago": FieldSpec("number"),
    "nps.themes": FieldSpec("list"),
    "nps.praised": FieldSpec("list"),
    "nps.blamed": FieldSpec("list"),
    # The event that fires a trigger (its properties: ``event.properties.<name>``)
    "event.name": FieldSpec("text", batch=False),
    # The visit, known to the site's decisions only (``POST /p/v1/decide``): the visitor's
    # last 30 minutes, the page asking, and the segments the customer is in.
    "visit.pages": FieldSpec("number", batch=False),
    "visit.views": FieldSpec("number", batch=False),
    "visit.category": FieldSpec("text", batch=False),
    "visit.category_views": FieldSpec("number", batch=False),
    "visit.cart_items": FieldSpec("number", batch=False),
    "visit.cart_value": FieldSpec("number", batch=False),
    "visit.leaving": FieldSpec("bool", batch=False),
    "visit.known": FieldSpec("bool", batch=False),
    "page.type": FieldSpec("text", batch=False),
    "page.category": FieldSpec("text", batch=False),
    "segments": FieldSpec("list", batch=False),
}
EVENT_PROPERTIES = "event.properties."
COMPARE = ("=", "!=", "<", "<=", ">", ">=")
ORDERED = ("<", "<=", ">", ">=")
MAX_LENGTH = 4_000
MAX_DEPTH = 40


# --- The tree ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A fact by name; ``kind`` from ``FIELDS`` (``any`` for an event property)."""

    name: str
    kind: Kind


@dataclass(frozen=True)
class Const:
    """A number, a text, or true/false."""

    value: Value

    @property
    def kind(self) -> Kind:
        """``bool``, ``number`` or ``text``."""
        return _kind_of(self.value)


Operand = Field | Const


@dataclass(frozen=True)
class Compare:
    """``left op right``."""

    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True)
class In:
    """``operand [not] in [values]``."""

    operand: Operand
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True)
class Contains:
    """``field contains "text"`` (a list of texts)."""

    field: Field
    value: str


@dataclass(frozen=True)
class IsNull:
    """``operand is [not] null``."""

    operand: Operand
    negated: bool = False


@dataclass(frozen=True)
class Truth:
    """A yes/no field standing alone."""

    field: Field


@dataclass(frozen=True)
class And:
    """All of ``items``."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Any of ``items``."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """The negation of ``item``."""

    item: Node


Node = Compare | In | Contains | IsNull | Truth | And | Or | Not


def _kind_of(value: Value) -> Kind:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "text"


# --- Reading -------------------------------------------------------------------------------


class ExpressionError(InvalidInput):
    """A condition we cannot read: ``position`` (0-based, in characters) and why."""

    def __init__(self, field: str, position: int, message: str) -> None:
        located = i18n.gettext("at character %(n)s: %(why)s") % {"n": position + 1, "why": message}
        super().__init__(field, located)
        self.position = position


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      | (?P<text>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
      | (?P<op>!=|<=|>=|=|<|>|\(|\)|\[|\]|,)
    )""",
    re.VERBOSE,
)
KEYWORDS = {"and", "or", "not", "in", "contains", "is", "null", "true", "false"}


@dataclass(frozen=True)
class _Token:
    kind: str  # number, text, name, keyword, op, end
    text: str
    position: int


def _tokens(source: str, field: str) -> list[_Token]:
    found: list[_Token] = []
    at = 0
    while True:
        while at < len(source) and source[at].isspace():
            at += 1
        if at >= len(source):
            found.append(_Token("end", "", at))
            return found
        match = _TOKEN.match(source, at)
        if match is None or match.end() == at:
            if source[at] in "\"'":
                raise ExpressionError(field, at, i18n.gettext("this text has no closing quote"))
            raise ExpressionError(
                field, at, i18n.gettext("unexpected %(text)s") % {"text": repr(source[at])}
            )
        kind = match.lastgroup or "op"
        text = match.group(kind)
        start = match.start(kind)
        if kind == "name" and text.lower() in KEYWORDS:
            kind, text = "keyword", text.lower()
        found.append(_Token(kind, text, start))
        at = match.end()


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1], flags=re.DOTALL)


class _Parser:
    def __init__(self, source: str, field: str) -> None:
        self.field = field
        self.tokens = _tokens(source, field)
        self.at = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.at]

    def fail(self, message: str, token: _Token | None = None) -> ExpressionError:
        return ExpressionError(self.field, (token or self.token).position, message)

    def took(self, kind: str, text: str | None = None) -> bool:
        token = self.token
        if token.kind == kind and (text is None or token.text == text):
            self.at += 1
            return True
        return False

    def expect(self, kind: str, text: str, what: str) -> None:
        if not self.took(kind, text):
            raise self.fail(i18n.gettext("expected %(what)s") % {"what": what})

    def condition(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(i18n.gettext("the condition nests too deep"))
        items = [self.conjunction()]
        while self.took("keyword", "or"):
            items.append(self.conjunction())
        self.depth -= 1
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self) -> Node:
        items = [self.negation()]
        while self.took("keyword", "and"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else And(tuple(items))

    def negation(self) -> Node:
        if self.took("keyword", "not"):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(i18n.gettext("the condition nests too deep"))
            item = self.negation()
            self.depth -= 1
            return Not(item)
        return self.test()

    def test(self) -> Node:
        if self.took("op", "("):
            inner = self.condition()
            self.expect("op", ")", "')'")
            return inner
        start = self.token
        left = self.operand()
        token = self.token
        if token.kind == "op" and token.text in COMPARE:
            self.at += 1
            right = self.operand()
            return _checked_compare(token.text, left, right, self, token)
        if self.took("keyword", "not"):
            self.expect("keyword", "in", "'in'")
            return self.membership(left, token, negated=True)
        if self.took("keyword", "in"):
            return self.membership(left, token, negated=False)
        if self.took("keyword", "contains"):
            return self.contains(left, token)
        if self.took("keyword", "is"):
            negated = self.took("keyword", "not")
            self.expect("keyword", "null", "'null'")
            return IsNull(left, negated)
        if left.kind in ("bool", "any") and isinstance(left, Field):
            return Truth(left)
        raise self.fail(
            i18n.gettext("%(what)s is not a condition: compare it with something")
            % {"what": _shown(left)},
            start,
        )

    def operand(self) -> Operand:
        token = self.token
        if token.kind == "number":
            self.at += 1
            number = float(token.text)
            if not math.isfinite(number):
                raise self.fail(i18n.gettext("this number is too large"), token)
            return Const(int(number) if number.is_integer() and abs(number) < 2**53 else number)
        if token.kind == "text":
            self.at += 1
            return Const(_unquote(token.text))
        if token.kind == "keyword" and token.text in ("true", "false"):
            self.at += 1
            return Const(token.text == "true")
        if token.kind == "name":
            self.at += 1
            return _field(token, self)
        if token.kind == "end":
            raise self.fail(i18n.gettext("the condition ends too early"))
        raise self.fail(i18n.gettext("expected a field or a value, not %(text)s") % _seen(token))

    def literal(self) -> Value:
        operand = self.operand()
        if isinstance(operand, Field):
            raise self.fail(
                i18n.gettext("a list holds values, not fields"), self.tokens[self.at - 1]
            )
        return operand.value

    def membership(self, left: Operand, token: _Token, *, negated: bool) -> In:
        self.expect("op", "[", "'['")
        values = [self.literal()]
        while self.took("op", ","):
            values.append(self.literal())
        self.expect("op", "]", "']'")
        for value in values:
            _same_kind(left, Const(value), self, token)
        if left.kind in ("list", "bool"):
            raise self.fail(i18n.gettext("'in' takes a number or a text"), token)
        return In(left, tuple(values), negated)

    def contains(self, left: Operand, token: _Token) -> Contains:
        if not (isinstance(left, Field) and left.kind == "list"):
            raise self.fail(i18n.gettext("'contains' applies to a list, such as nps.themes"), token)
        value = self.operand()
        if not (isinstance(value, Const) and isinstance(value.value, str)):
            raise self.fail(i18n.gettext("'contains' takes a text"), token)
        return Contains(left, value.value)


def _seen(token: _Token) -> dict[str, str]:
    return {"text": repr(token.text) if token.kind != "end" else i18n.gettext("the end")}


def _shown(operand: Operand) -> str:
    return operand.name if isinstance(operand, Field) else repr(operand.value)


def _field(token: _Token, parser: _Parser) -> Field:
    name = token.text
    spec = FIELDS.get(name)
    if spec is not None:
        return Field(name, spec.kind)
    if name.startswith(EVENT_PROPERTIES) and len(name) > len(EVENT_PROPERTIES):
        return Field(name, "any")
    raise parser.fail(i18n.gettext("unknown field %(name)s") % {"name": repr(name)}, token)


def _same_kind(left: Operand, right: Operand, parser: _Parser, token: _Token) -> None:
    if "any" in (left.kind, right.kind) or left.kind == right.kind:
        return
    raise parser.fail(
        i18n.gettext("%(left)s (%(a)s) and %(right)s (%(b)s) cannot be compared")
        % {
            "left": _shown(left),
            "right": _shown(right),
            "a": _kind_label(left.kind),
            "b": _kind_label(right.kind),
        },
        token,
    )


def _kind_label(kind: Kind) -> str:
    labels = {
        "number": i18n.gettext("a number"),
        "text": i18n.gettext("a text"),
        "bool": i18n.gettext("yes or no"),
        "list": i18n.gettext("a list"),
    }
    return labels.get(kind, kind)


def _checked_compare(
    op: str, left: Operand, right: Operand, parser: _Parser, token: _Token
) -> Compare:
    kinds = {left.kind, right.kind} - {"any"}
    if "list" in kinds:
        raise parser.fail(i18n.gettext("a list takes 'contains', not %(op)s") % {"op": op}, token)
    _same_kind(left, right, parser, token)
    if op in ORDERED and kinds & {"text", "bool"}:
        raise parser.fail(
            i18n.gettext("texts and yes/no values take =, != or 'in', not %(op)s") % {"op": op},
            token,
        )
    return Compare(op, left, right)


def parse(source: str, *, field: str = "condition") -> Node:
    """The tree of a condition, or an ``ExpressionError`` naming ``field`` and the position."""
    if len(source) > MAX_LENGTH:
        raise ExpressionError(
            field,
            MAX_LENGTH,
            i18n.gettext("a condition has at most %(n)s characters") % {"n": MAX_LENGTH},
        )
    parser = _Parser(source, field)
    if parser.token.kind == "end":
        raise parser.fail(i18n.gettext("the condition is empty"))
    node = parser.condition()
    if parser.token.kind != "end":
        raise parser.fail(i18n.gettext("unexpected %(text)s") % _seen(parser.token))
    return node


def fields_of(node: Node) -> set[str]:
    """The names of the fields a condition reads."""
    match node:
        case Compare(_, left, right):
            return {o.name for o in (left, right) if isinstance(o, Field)}
        case In(operand, _, _) | IsNull(operand, _):
            return {operand.name} if isinstance(operand, Field) else set()
        case Contains(field, _) | Truth(field):
            return {field.name}
        case And(items) | Or(items):
            return set().union(*(fields_of(item) for item in items))
        case Not(item):
            return fields_of(item)
    raise TypeError(node)


# --- Writing back --------------------------------------------------------------------------


def _literal(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _operand(operand: Operand) -> str:
    return operand.name if isinstance(operand, Field) else _literal(operand.value)


def render(node: Node) -> str:
    """The condition as text that ``parse`` reads back into the same tree."""
    match node:
        case Compare(op, left, right):
            return f"{_operand(left)} {op} {_operand(right)}"
        case In(operand, values, negated):
            listed = ", ".join(_literal(v) for v in values)
            return f"{_operand(operand)} {'not in' if negated else 'in'} [{listed}]"
        case Contains(field, value):
            return f"{field.name} contains {_literal(value)}"
        case IsNull(operand, negated):
            return f"{_operand(operand)} is {'not null' if negated else 'null'}"
        case Truth(field):
            return field.name
        case And(items):
            return " and ".join(f"({render(item)})" for item in items)
        case Or(items):
            return " or ".join(f"({render(item)})" for item in items)
        case Not(item):
            return f"not ({render(item)})"
    raise TypeError(node)


# --- Evaluating one customer ---------------------------------------------------------------


def _value(operand: Operand, facts: Mapping[str, Any]) -> Any:
    if isinstance(operand, Const):
        return operand.value
    if operand.name.startswith(EVENT_PROPERTIES):
        properties = facts.get("event.properties") or {}
        return properties.get(operand.name[len(EVENT_PROPERTIES) :])
    return facts.get(operand.name)


def _comparable(a: Any, b: Any) -> bool:
    """Both numbers (not yes/no), both texts or both yes/no: an event property of another kind
    compares as unknown."""
    kinds = {_kind_of(v) if isinstance(v, bool | int | float | str) else "other" for v in (a, b)}
    return len(kinds) == 1 and "other" not in kinds


def _compare(op: str, a: Any, b: Any) -> bool | None:
    if a is None or b is None or not _comparable(a, b):
        return None
    if (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return None
    match op:
        case "=":
            return bool(a == b)
        case "!=":
            return bool(a != b)
        case "<":
            return bool(a < b)
        case "<=":
            return bool(a <= b)
        case ">":
            return bool(a > b)
        case ">=":
            return bool(a >= b)
    raise ValueError(op)


def evaluate(node: Node, facts: Mapping[str, Any]) -> bool | None:
    """The condition on one customer's ``facts`` (field name to value; a missing or None value
    is unknown; ``event.properties`` maps an event's properties): True, False or None (unknown:
    not in)."""
    match node:
        case Compare(op, left, right):
            return _compare(op, _value(left, facts), _value(right, facts))
        case In(operand, values, negated):
            value = _value(operand, facts)
            if value is None:
                return None
            found = [_compare("=", value, v) for v in values]
            inside = True if True in found else (None if None in found else False)
            return inside if not negated or inside is None else not inside
        case Contains(field, value):
            listed = facts.get(field.name)
            if listed is None:
                return None
            return value in listed
        case IsNull(operand, negated):
            missing = _value(operand, facts) is None
            return not missing if negated else missing
        case Truth(field):
            value = _value(field, facts)
            return value if isinstance(value, bool) else None
        case And(items):
            results = [evaluate(item, facts) for item in items]
            return False if False in results else (None if None in results else True)
        case Or(items):
            results = [evaluate(item, facts) for item in items]
            return True if True in results else (None if None in results else False)
        case Not(item):
            result = evaluate(item, facts)
            return None if result is None else not result
    raise TypeError(node)


def matches(node: Node, facts: Mapping[str, Any]) -> bool:
    """Whether a customer with ``facts`` is in: the condition is true (not unknown)."""
    return evaluate(node, facts) is True


__all__ = [
    "FIELDS",
    "And",
    "Compare",
    "Const",
    "Contains",
    "ExpressionError",
    "Field",
    "In",
    "IsNull",
    "Node",
    "Not",
    "Or",
    "Truth",
    "evaluate",
    "fields_of",
    "matches",
    "parse",
    "render",
]

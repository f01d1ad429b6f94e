"""The segment expression language: reading, errors that point at the position, writing back,
three-valued evaluation, and the same answer from SQL (DuckDB through Ibis) as in-process."""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxloop import i18n, segments
from cxloop.segments.expression import (
    FIELDS,
    And,
    Compare,
    Const,
    Contains,
    Field,
    In,
    IsNull,
    Node,
    Not,
    Or,
    Truth,
)


def test_a_condition_reads_into_its_tree_with_precedence_and_case_blind_keywords() -> None:
    # given a condition mixing or, and, not, in, contains and null tests
    text = (
        'nps.score <= 6 AND nps.blamed contains "delivery_cost" or not churn_band in ["low"]'
        " and clv_12m is not null or shipments.last_late"
    )
    # when it is parsed
    tree = segments.parse(text)
    # then "and" binds tighter than "or", and each test has its kind
    score = Field("nps.score", "number")
    assert tree == Or(
        (
            And(
                (
                    Compare("<=", score, Const(6)),
                    Contains(Field("nps.blamed", "list"), "delivery_cost"),
                )
            ),
            And(
                (
                    Not(In(Field("churn_band", "text"), ("low",))),
                    IsNull(Field("clv_12m", "number"), negated=True),
                )
            ),
            Truth(Field("shipments.last_late", "bool")),
        )
    )
    # and written back, it reads into the same tree
    assert segments.parse(segments.render(tree)) == tree


@pytest.mark.parametrize(
    ("text", "position", "english"),
    [
        ("nps.score >", 11, "the condition ends too early"),
        ("favourite_colour = 'red'", 0, "unknown field 'favourite_colour'"),
        ('rfm_segment < "loyal"', 12, "texts and yes/no values take =, != or 'in', not <"),
        ('nps.themes = "price"', 11, "a list takes 'contains', not ="),
        ("nps.score = 'nine'", 10, "nps.score (a number) and 'nine' (a text) cannot be compared"),
        ('persona = "fan', 10, "this text has no closing quote"),
        ("(r > 3 and f > 3", 16, "expected ')'"),
        ("r > 3 f > 3", 6, "unexpected 'f'"),
        ("clv_12m", 0, "clv_12m is not a condition: compare it with something"),
        ("r in [1, f]", 9, "a list holds values, not fields"),
        ("r > 3 ; drop table customers", 6, "unexpected ';'"),
        ("", 0, "the condition is empty"),
    ],
)
def test_a_condition_that_cannot_be_read_says_where_and_why(
    text: str, position: int, english: str
) -> None:
    # when a faulty condition is parsed
    with pytest.raises(segments.ExpressionError) as caught:
        segments.parse(text, field="segment.condition")
    # then the error names the field, the character and the reason
    assert caught.value.field == "segment.condition"
    assert caught.value.position == position
    assert caught.value.message == f"at character {position + 1}: {english}"


def test_errors_read_in_french_too() -> None:
    with i18n.speaking("fr"), pytest.raises(segments.ExpressionError) as caught:
        segments.parse("nps.score >")
    assert caught.value.message == "au caractère 12 : la condition s'arrête trop tôt"


def test_deep_nesting_and_long_conditions_are_refused_not_crashed() -> None:
    with pytest.raises(segments.ExpressionError):
        segments.parse("(" * 500 + "r > 1" + ")" * 500)
    with pytest.raises(segments.ExpressionError):
        segments.parse("not " * 500 + "r > 1")
    with pytest.raises(segments.ExpressionError):
        segments.parse(" or ".join(["r > 1"] * 1000))


def test_evaluation_follows_three_valued_logic() -> None:
    # given a customer with no NPS answer yet and a churn band
    facts = {"churn_band": "high", "nps.score": None, "nps.themes": None}

    def value(text: str) -> bool | None:
        return segments.evaluate(segments.parse(text), facts)

    # then a test on the missing answer is unknown, and so is its negation
    assert value("nps.score <= 6") is None
    assert value("not nps.score <= 6") is None
    assert value("nps.score not in [9, 10]") is None
    assert value('nps.themes contains "price"') is None
    # and unknown and false is false, unknown or true is true
    assert value('nps.score <= 6 and churn_band = "low"') is False
    assert value('nps.score <= 6 or churn_band = "high"') is True
    assert value("nps.score is null") is True
    # and a customer is in only when the condition is true
    assert not segments.matches(segments.parse("nps.score <= 6"), facts)


def test_event_properties_are_read_live_and_refused_in_batch() -> None:
    # given a trigger's condition on the event and one of its properties
    tree = segments.parse('event.name = "Order Completed" and event.properties.total >= 100')
    # when it is evaluated on events
    fired = {"event.name": "Order Completed", "event.properties": {"total": 120}}
    odd = {"event.name": "Order Completed", "event.properties": {"total": "a lot"}}
    assert segments.evaluate(tree, fired) is True
    assert segments.evaluate(tree, odd) is None  # a property of another kind: unknown
    # and batch membership refuses it, naming the field
    table = ibis.memtable(pa.table({"customer_id": [1]}))
    with pytest.raises(segments.ExpressionError) as caught:
        segments.predicate(tree, table)
    assert "'event.name'" in caught.value.message


# --- SQL and in-process agree ------------------------------------------------------------

BATCH = {name: spec for name, spec in FIELDS.items() if spec.batch}
WORDS = ["low", "high", "champions", "fr", "été", 'say "hi"', "", "price", "delivery_cost"]
NUMBERS = st.one_of(st.integers(-3, 12), st.sampled_from([0.5, 2.25, -1.5, 1e6, 0.1 + 0.2, 0.3]))


def _value(kind: str) -> st.SearchStrategy[Any]:
    if kind == "number":
        return st.one_of(st.none(), NUMBERS.map(float))
    if kind == "text":
        return st.one_of(st.none(), st.sampled_from(WORDS))
    if kind == "bool":
        return st.one_of(st.none(), st.booleans())
    return st.one_of(st.none(), st.lists(st.sampled_from(WORDS), max_size=3))


CUSTOMER = st.fixed_dictionaries({name: _value(spec.kind) for name, spec in BATCH.items()})
BY_KIND = {
    kind: sorted(n for n, s in BATCH.items() if s.kind == kind)
    for kind in ("number", "text", "bool", "list")
}


def _constant(kind: str) -> st.SearchStrategy[Any]:
    if kind == "number":
        return NUMBERS
    if kind == "text":
        return st.sampled_from(WORDS)
    return st.booleans()


@st.composite
def _test(draw: st.DrawFn) -> Node:
    kind = draw(st.sampled_from(["number", "text", "bool", "list"]))
    field = Field(draw(st.sampled_from(BY_KIND[kind])), kind)  # type: ignore[arg-type]
    if kind == "list":
        return Contains(field, draw(st.sampled_from(WORDS)))
    shape = draw(st.sampled_from(["compare", "in", "null", "truth", "fields"]))
    if shape == "null":
        return IsNull(field, draw(st.booleans()))
    if shape == "truth" and kind == "bool":
        return Truth(field)
    if shape == "in" and kind != "bool":
        values = tuple(draw(st.lists(_constant(kind), min_size=1, max_size=3)))
        return In(field, values, draw(st.booleans()))
    ops = ["<", "<=", ">", ">=", "=", "!="] if kind == "number" else ["=", "!="]
    op = draw(st.sampled_from(ops))
    if shape == "fields":
        other = Field(draw(st.sampled_from(BY_KIND[kind])), kind)  # type: ignore[arg-type]
        return Compare(op, field, other)
    constant = Const(draw(_constant(kind)))
    return Compare(op, field, constant) if draw(st.booleans()) else Compare(op, constant, field)


CONDITION = st.recursive(
    _test(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
        inner.map(Not),
    ),
    max_leaves=8,
)


def _table(customers: list[dict[str, Any]]) -> Any:
    columns: dict[str, pa.Array] = {"customer_id": pa.array(range(len(customers)), pa.int64())}
    kinds = {"number": pa.float64(), "text": pa.string(), "bool": pa.bool_()}
    for name, spec in BATCH.items():
        kind = kinds.get(spec.kind, pa.list_(pa.string()))
        columns[segments.column(name)] = pa.array([c[name] for c in customers], kind)
    return pa.table(columns)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    customers=st.lists(CUSTOMER, min_size=1, max_size=12),
    conditions=st.lists(CONDITION, min_size=1, max_size=4),
)
def test_sql_membership_and_in_process_evaluation_agree(
    customers: list[dict[str, Any]], conditions: list[Node]
) -> None:
    # given customers with facts, some missing, in a DuckDB table
    con = ibis.duckdb.connect()
    table = con.create_table("facts", _table(customers))
    for condition in conditions:
        # when a condition is written, read back, and run both ways
        tree = segments.parse(segments.render(condition))
        assert tree == condition
        in_sql = set(segments.members(tree, table).to_pyarrow().column("customer_id").to_pylist())
        in_process = {i for i, c in enumerate(customers) if segments.matches(tree, c)}
        # then the same customers are in
        assert in_sql == in_process, segments.render(tree)
    con.disconnect()

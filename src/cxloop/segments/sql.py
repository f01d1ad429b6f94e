"""A condition (``expression.py``) compiled to an Ibis predicate over a table of customer facts,
one row per customer and a column per field (``column``): batch membership runs in the
warehouse, DuckDB or PostgreSQL, with SQL's three-valued logic, as ``expression.evaluate`` does
in-process."""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa

from cxloop import i18n
from cxloop.segments.expression import (
    FIELDS,
    And,
    Compare,
    Const,
    Contains,
    ExpressionError,
    In,
    IsNull,
    Node,
    Not,
    Operand,
    Or,
    Truth,
    fields_of,
)


def column(name: str) -> str:
    """A field's column in a facts table: ``nps.score`` is ``nps_score``."""
    return name.replace(".", "_")


def _operand(operand: Operand, table: Any) -> Any:
    if isinstance(operand, Const):
        return ibis.literal(operand.value)
    return table[column(operand.name)]


def _predicate(node: Node, table: Any) -> Any:
    match node:
        case Compare(op, left, right):
            a, b = _operand(left, table), _operand(right, table)
            match op:
                case "=":
                    return a == b
                case "!=":
                    return a != b
                case "<":
                    return a < b
                case "<=":
                    return a <= b
                case ">":
                    return a > b
                case ">=":
                    return a >= b
        case In(operand, values, negated):
            value = _operand(operand, table)
            return value.notin(list(values)) if negated else value.isin(list(values))
        case Contains(field, value):
            return table[column(field.name)].contains(value)
        case IsNull(operand, negated):
            value = _operand(operand, table)
            return value.notnull() if negated else value.isnull()
        case Truth(field):
            return table[column(field.name)]
        case And(items):
            result = _predicate(items[0], table)
            for item in items[1:]:
                result = result & _predicate(item, table)
            return result
        case Or(items):
            result = _predicate(items[0], table)
            for item in items[1:]:
                result = result | _predicate(item, table)
            return result
        case Not(item):
            return ~_predicate(item, table)
    raise TypeError(node)


def predicate(node: Node, table: Any, *, field: str = "condition") -> Any:
    """The condition as an Ibis boolean over ``table``'s rows (NULL where unknown); an
    ``ExpressionError`` if it reads a field batch membership does not know (an event's)."""
    for name in sorted(fields_of(node)):
        spec = FIELDS.get(name)
        if spec is None or not spec.batch:
            raise ExpressionError(
                field,
                0,
                i18n.gettext("%(name)s exists only while an event fires a journey")
                % {"name": repr(name)},
            )
    return _predicate(node, table)


def members(node: Node, table: Any, *, key: str = "customer_id") -> Any:
    """The ``key`` of the rows for which the condition is true, as an Ibis table."""
    return table.filter(predicate(node, table)).select(key)


def member_lists(
    facts: pa.Table, nodes: list[Node], *, key: str = "customer_id"
) -> list[list[int]]:
    """For each condition, the ``key`` of the rows of ``facts`` (an Arrow table of customer
    facts) it is true for, sorted; evaluated in one in-memory DuckDB."""
    con = ibis.duckdb.connect()
    try:
        table = con.create_table("facts", facts)
        return [
            con.to_pyarrow(members(node, table, key=key).order_by(key)).column(key).to_pylist()
            for node in nodes
        ]
    finally:
        con.disconnect()


__all__ = ["column", "member_lists", "members", "predicate"]

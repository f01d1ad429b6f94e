"""Segments: the expression language over a customer's facts, compiled to SQL for batch
membership and evaluated in-process for real-time triggers.

This package's facade: what other domains may use. They import the package
(``from cxloop import segments``), never one of its modules (checked by import-linter).
"""

from cxloop.segments.expression import (
    FIELDS,
    ExpressionError,
    FieldSpec,
    Node,
    evaluate,
    fields_of,
    matches,
    parse,
    render,
)
from cxloop.segments.sql import column, members, predicate

__all__ = [
    "FIELDS",
    "ExpressionError",
    "FieldSpec",
    "Node",
    "column",
    "evaluate",
    "fields_of",
    "matches",
    "members",
    "parse",
    "predicate",
    "render",
]

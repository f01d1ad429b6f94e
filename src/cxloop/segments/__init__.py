"""Segments: the condition language over a customer's facts, compiled to SQL for batch
membership and evaluated in-process for real-time triggers; dynamic and static segments, their
members, and each customer's entries and exits.

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
from cxloop.segments.schemas import Changes, SegmentChangePublic
from cxloop.segments.service import (
    dynamic_keys,
    ensure_segment,
    history,
    list_segments,
    members_of,
    on_entry,
    reconsider,
    refresh,
    segments_of,
)
from cxloop.segments.sql import column, members, predicate

__all__ = [
    "FIELDS",
    "Changes",
    "ExpressionError",
    "FieldSpec",
    "Node",
    "SegmentChangePublic",
    "column",
    "dynamic_keys",
    "ensure_segment",
    "evaluate",
    "fields_of",
    "history",
    "list_segments",
    "matches",
    "members",
    "members_of",
    "on_entry",
    "parse",
    "predicate",
    "reconsider",
    "refresh",
    "render",
    "segments_of",
]

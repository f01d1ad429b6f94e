"""Journeys: definitions in YAML (versioned), the engine that takes customers through their
steps exactly once, the guardrails on messages, the holdouts that measure them.

The definition readers (``load``, ``mapping_of``, ``text_of``…) and the holdout draw and its
comparison (``in_holdout``, ``proportions``) serve the other definitions written like a
journey's (the site's campaigns).

This package's facade: what other domains may use. They import the package
(``from cxloop import journeys``), never one of its modules (checked by import-linter).
"""

from cxloop.journeys.definition import (
    Definition,
    DefinitionError,
    Goal,
    Text,
    condition_of,
    duration,
    fail,
    goal_of,
    integer_of,
    load,
    mapping_of,
    name_of,
    only,
    read,
    text_of,
)
from cxloop.journeys.engine import in_holdout
from cxloop.journeys.service import customer_runs, get_journey, list_journeys, summary
from cxloop.journeys.templates import fill
from cxloop.journeys.uplift import proportions

__all__ = [
    "Definition",
    "DefinitionError",
    "Goal",
    "Text",
    "condition_of",
    "customer_runs",
    "duration",
    "fail",
    "fill",
    "get_journey",
    "goal_of",
    "in_holdout",
    "integer_of",
    "list_journeys",
    "load",
    "mapping_of",
    "name_of",
    "only",
    "proportions",
    "read",
    "summary",
    "text_of",
]

"""Journeys: definitions in YAML (versioned), the engine that takes customers through their
steps exactly once, the guardrails on messages, the holdouts that measure them.

This package's facade: what other domains may use. They import the package
(``from cxloop import journeys``), never one of its modules (checked by import-linter).
"""

from cxloop.journeys.definition import Definition, DefinitionError, read
from cxloop.journeys.service import customer_runs, get_journey, list_journeys, summary

__all__ = [
    "Definition",
    "DefinitionError",
    "customer_runs",
    "get_journey",
    "list_journeys",
    "read",
    "summary",
]

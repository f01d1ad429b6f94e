"""Cases for people: a customer's problem with an owner, a status, a due date and notes.

This package's facade: what other domains may use. They import the package
(``from cxloop import cases``), never one of its modules (checked by import-linter).
"""

from cxloop.cases.models import Case, CaseNote
from cxloop.cases.service import (
    add_note,
    count_cases,
    get_case,
    hear_answer,
    hear_events,
    list_cases,
    note_customer,
    open_case,
    update_case,
)

__all__ = [
    "Case",
    "CaseNote",
    "add_note",
    "count_cases",
    "get_case",
    "hear_answer",
    "hear_events",
    "list_cases",
    "note_customer",
    "open_case",
    "update_case",
]

"""The shopping assistant: a salesperson on the store's pages, connected to the catalog.

This package's facade: what other domains may use. They import the package
(``from cxloop import assistant``), never one of its modules (checked by import-linter).
"""

from cxloop.assistant.catalog import forget_index, index_of, search_catalog
from cxloop.assistant.faq import FaqRow, import_faq, read_file
from cxloop.assistant.filters import Filters
from cxloop.assistant.llm import client_from as llm_client
from cxloop.assistant.search import CatalogIndex, CatalogItem, SearchResult
from cxloop.assistant.service import (
    Exchange,
    agent_reply,
    answers_through,
    close_conversation,
    post_message,
    record_click,
    start_conversation,
)

__all__ = [
    "CatalogIndex",
    "CatalogItem",
    "Exchange",
    "FaqRow",
    "Filters",
    "SearchResult",
    "agent_reply",
    "answers_through",
    "close_conversation",
    "forget_index",
    "import_faq",
    "index_of",
    "llm_client",
    "post_message",
    "read_file",
    "record_click",
    "search_catalog",
    "start_conversation",
]

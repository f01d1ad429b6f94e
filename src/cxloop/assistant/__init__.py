"""The shopping assistant: a salesperson on the store's pages, connected to the catalog.

This package's facade: what other domains may use. They import the package
(``from cxloop import assistant``), never one of its modules (checked by import-linter).
"""

from cxloop.assistant.catalog import forget_index, index_of, search_catalog
from cxloop.assistant.filters import Filters
from cxloop.assistant.search import CatalogIndex, CatalogItem, SearchResult

__all__ = [
    "CatalogIndex",
    "CatalogItem",
    "Filters",
    "SearchResult",
    "forget_index",
    "index_of",
    "search_catalog",
]

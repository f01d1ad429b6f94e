"""Every domain's models, found by walking the package, so that the metadata is complete.

Alembic and the tests need every table. A new domain's ``models.py`` is found without editing
a list here, and nothing imports a domain's models at import time of the store.
"""

from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy import Table

import cxloop
from cxloop.store.base import Base


def domain_modules(leaf: str) -> list[str]:
    """The ``cxloop.<domain>.<leaf>`` modules that exist, in name order."""
    found = []
    for package in pkgutil.iter_modules(cxloop.__path__):
        if not package.ispkg:
            continue
        name = f"cxloop.{package.name}.{leaf}"
        if importlib.util.find_spec(name) is not None:
            found.append(name)
    return sorted(found)


def load_models() -> type[Base]:
    """Import every domain's ``models`` module; returns the declarative base they fill."""
    for name in domain_modules("models"):
        importlib.import_module(name)
    return Base


def referencing_tables(column: str, *, exclude: tuple[str, ...] = ()) -> list[Table]:
    """Every table, whatever domain owns it, with a column of this name (dependency order)."""
    return [
        table
        for table in load_models().metadata.sorted_tables
        if column in table.c and table.name not in exclude
    ]

"""Every domain's ``tasks`` module, imported on demand so that a consumer knows them all."""

from __future__ import annotations

import importlib

from cxloop.store.registry import domain_modules


def load_tasks() -> list[str]:
    """Import every ``cxloop.<domain>.tasks`` module (at a consumer's or an app's start)."""
    names = domain_modules("tasks")
    for name in names:
        importlib.import_module(name)
    return names

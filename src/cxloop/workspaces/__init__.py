"""Workspaces (one per store), users, memberships and API keys.

This package's facade: what other domains may use. They import the package
(``from cxloop import workspaces``), never one of its modules (checked by import-linter).
"""

from cxloop.workspaces.models import Workspace
from cxloop.workspaces.service import (
    audit,
    get_workspace,
    names_of,
    resolve_key,
    workspace_ids,
    write_key_of,
)

__all__ = [
    "Workspace",
    "audit",
    "get_workspace",
    "names_of",
    "resolve_key",
    "workspace_ids",
    "write_key_of",
]

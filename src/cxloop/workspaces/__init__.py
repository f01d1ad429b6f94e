"""Workspaces (one per store), users, memberships and API keys."""

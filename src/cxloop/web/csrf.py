"""CSRF protection for console forms: a per-session token checked on every POST."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from cxloop.errors import InvalidInput


def token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    value = request.session.get("csrf")
    if not isinstance(value, str):
        value = secrets.token_urlsafe(32)
        request.session["csrf"] = value
    return value


def check(request: Request, presented: str | None) -> None:
    """Refuse the request (403) unless ``presented`` is the session's token."""
    expected = request.session.get("csrf")
    if (
        not isinstance(expected, str)
        or not presented
        or not hmac.compare_digest(expected, presented)
    ):
        raise InvalidInput(
            "csrf_token", "missing or wrong CSRF token", status=403, code="csrf_failed"
        )

"""Signing in to the console from a test client."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    """The CSRF token of a console page's form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


def login(
    client: TestClient, email: str, password: str = PASSWORD, next: str = "/"
) -> httpx.Response:
    """Sign in through the sign-in form."""
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token, "next": next},
    )

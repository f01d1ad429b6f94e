"""The one refusal, ``InvalidInput``: answered once over HTTP and once on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cxloop.cli import main
from cxloop.errors import InvalidInput
from cxloop.web import errors


def test_a_refusal_answers_http_with_its_status_body_and_headers() -> None:
    # given an app with the common handlers, a view refusing a key and one refusing a value
    app = FastAPI()
    errors.install(app)

    @app.get("/locked")
    def locked() -> None:
        raise InvalidInput(
            "authorization",
            "admin key required",
            status=401,
            code="unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.get("/page")
    def page() -> None:
        raise InvalidInput("limit", "must be between 1 and 500")

    # when
    with TestClient(app) as client:
        refused, invalid = client.get("/locked"), client.get("/page")
    # then each answers its status and the common body naming the field
    assert (refused.status_code, refused.json()) == (
        401,
        {"error": "unauthorized", "detail": "admin key required", "field": "authorization"},
    )
    assert refused.headers["www-authenticate"] == "Bearer"
    assert (invalid.status_code, invalid.json()) == (
        422,
        {"error": "invalid_request", "detail": "must be between 1 and 500", "field": "limit"},
    )
    assert "www-authenticate" not in invalid.headers


def test_a_refusal_is_one_line_on_stderr_and_exit_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a scores file whose third line is out of range
    path = tmp_path / "scores.csv"
    path.write_text("score\n9\n11\n")
    # when the command reads it
    with pytest.raises(SystemExit) as exited:
        main(["nps", "stats", str(path)])
    # then it stops with status 2 and one line naming the file and the line
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == (
        "",
        f"cxloop: {path}:3: score must be an integer from 0 to 10\n",
    )

"""One shape for every API error: ``{"error", "detail", "field"}`` with a 4xx status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from cxloop.errors import InvalidInput


def _answer(exc: InvalidInput) -> JSONResponse:
    """The HTTP answer to a refusal: its status, its headers and the common body."""
    return JSONResponse(exc.document(), exc.status, headers=exc.headers or None)


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the common shape."""

    @app.exception_handler(InvalidInput)
    async def _refused(_request: Request, exc: InvalidInput) -> JSONResponse:
        return _answer(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        return _answer(InvalidInput(field, first.get("msg", "invalid")))

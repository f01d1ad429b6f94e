"""One shape for every API error: ``{"error", "detail", "field"}`` with a 4xx status."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from cxloop.errors import InvalidInput


class ApiError(HTTPException):
    """An HTTP error with a machine code and the field at fault."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.code = code
        self.field = field


def _body(code: str, detail: str, field: str | None) -> dict[str, Any]:
    return {"error": code, "detail": detail, "field": field}


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the common shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            _body(exc.code, str(exc.detail), exc.field), exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        return JSONResponse(_body("invalid_request", first.get("msg", "invalid"), field), 422)

    @app.exception_handler(InvalidInput)
    async def _refused(_request: Request, exc: InvalidInput) -> JSONResponse:
        return JSONResponse(_body("invalid_request", exc.message, exc.field), 422)

"""One shape for every API error: ``{"error", "detail", "field"}`` with a 4xx status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from cxloop.errors import InvalidInput


class ErrorBody(BaseModel):
    """A refusal: the machine code, the message, and the field (or header, or file) at fault."""

    error: str
    detail: str
    field: str


# Every operation of the OpenAPI document answers its refusals with this body.
RESPONSES: dict[int | str, dict[str, object]] = {
    "4XX": {"model": ErrorBody, "description": "Refused: the field at fault and why"}
}


def _answer(exc: InvalidInput) -> JSONResponse:
    """The HTTP answer to a refusal: its status, its headers and the common body."""
    return JSONResponse(exc.document(), exc.status, headers=exc.headers or None)


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the common shape."""

    @app.exception_handler(InvalidInput)
    async def _refused(_request: Request, exc: InvalidInput) -> JSONResponse:
        return _answer(exc)

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        # Routing and body-parsing refusals (404, 405, a body that is not JSON) in the same shape.
        field = {404: "path", 405: "method"}.get(exc.status_code, "body")
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
        return _answer(
            InvalidInput(
                field, str(exc.detail), status=exc.status_code, code=code, headers=exc.headers
            )
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        return _answer(InvalidInput(field, first.get("msg", "invalid")))

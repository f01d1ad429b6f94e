"""The one error every domain raises for a refusal, and what the CLI and the HTTP layer make of it.

A refusal names the field (or header, or file) at fault and says why. Over HTTP it answers
``{"error": code, "detail": message, "field": field}`` with its 4xx ``status`` and ``headers``
(``cxloop.web.errors``, the one handler); on the command line it is one line on stderr and
exit status 2 (``cxloop.cli.main``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class InvalidInput(ValueError):  # noqa: N818  (reads better than InvalidInputError)
    """A caller gave a value we refuse; ``field`` names it, ``status`` and ``code`` answer it."""

    def __init__(
        self,
        field: str,
        message: str,
        *,
        status: int = 422,
        code: str = "invalid_request",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status
        self.code = code
        self.headers = dict(headers or {})

    def document(self) -> dict[str, Any]:
        """The HTTP answer's body: the machine code, the message and the field at fault."""
        return {"error": self.code, "detail": self.message, "field": self.field}

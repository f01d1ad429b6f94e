"""Errors every domain raises for the CLI and the HTTP layer to turn into clear answers."""

from __future__ import annotations


class InvalidInput(ValueError):  # noqa: N818  (reads better than InvalidInputError)
    """A caller gave a value we refuse; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

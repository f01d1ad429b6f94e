"""The texts merchants write in journeys: Jinja in a sandbox, so that a template reads the
customer's fields, the coupon and the NPS answer it is given, and nothing else.

``{{ first_name }}``, ``{{ coupon.code }}``, ``{{ nps.score }}``, ``{{ store_name }}``…
(docs/journeys.md lists them). A missing value renders as nothing; a template that cannot be
parsed is refused when the journey is saved, never when a message goes out. Rendered texts are
plain: the email template escapes them into its HTML.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from cxloop import i18n

MAX_OUTPUT = 20_000


class TemplateError(ValueError):
    """A text that cannot be a template."""


@lru_cache(maxsize=1)
def _environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(autoescape=False, trim_blocks=True, lstrip_blocks=True)


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Any:
    return _environment().from_string(source)


def check(source: str) -> None:
    """Refuse a text Jinja cannot parse, saying where."""
    try:
        _compiled(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(
            i18n.gettext("template error on line %(n)s: %(why)s")
            % {"n": exc.lineno, "why": exc.message}
        ) from exc


def fill(source: str, values: Mapping[str, Any]) -> str:
    """The text with ``values`` put in; what the sandbox refuses renders as the bare text."""
    try:
        text: str = _compiled(source).render(dict(values))
    except (SecurityError, UndefinedError, TypeError, ValueError, ArithmeticError):
        return source
    return text[:MAX_OUTPUT]


def paragraphs(text: str) -> list[list[str]]:
    """A plain text as paragraphs (blank lines between them) of lines."""
    blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n")]
    return [[line.strip() for line in block.split("\n")] for block in blocks if block]

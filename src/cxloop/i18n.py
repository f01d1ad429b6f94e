"""French and English: Babel message catalogs, the current locale, negotiation."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("en", "fr")
LOCALE_DIR = Path(__file__).parent / "locale"
current_locale: ContextVar[str] = ContextVar("current_locale", default="en")


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> NullTranslations:
    """The compiled catalog for ``locale`` (read from its .po file once)."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale not in LOCALES or not path.exists():
        return NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def supported(locale: str | None) -> str:
    """``fr`` or ``en`` from a locale such as ``fr-BE`` or ``FR``; English for anything else."""
    short = (locale or "").strip().lower()[:2]
    return short if short in LOCALES else "en"


@contextmanager
def speaking(locale: str | None) -> Iterator[str]:
    """Translate in ``locale`` (see ``supported``) inside the block; yields the language used."""
    lang = supported(locale)
    token = current_locale.set(lang)
    try:
        yield lang
    finally:
        current_locale.reset(token)


def gettext(message: str) -> str:
    """``message`` in the current locale."""
    return translations(current_locale.get()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form in the current locale."""
    return translations(current_locale.get()).ungettext(singular, plural, n)


_ = gettext


def negotiate(accept_language: str | None, default: str = "en") -> str:
    """The best of our locales for an Accept-Language header."""
    if not accept_language:
        return default
    ranked: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()[:2]
        quality = 1.0
        for param in pieces[1:]:
            name, _sep, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag in LOCALES:
            ranked.append((quality, tag))
    if not ranked:
        return default
    return max(ranked, key=lambda item: item[0])[1]

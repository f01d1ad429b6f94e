"""Jinja2 environment: autoescaped, translated, with locale-aware number filters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from babel.dates import format_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from cxloop import i18n
from cxloop.themes import Taxonomy

TEMPLATES = Path(__file__).parent / "templates"


def _money(value: float, currency: str = "EUR") -> str:
    return format_currency(value, currency, locale=i18n.current_locale.get())


def _number(value: float) -> str:
    return format_decimal(value, locale=i18n.current_locale.get())


def _datetime(value: dt.datetime) -> str:
    return format_datetime(value, format="medium", locale=i18n.current_locale.get())


def _decimal(value: float, signed: bool = False) -> str:
    """One decimal in the reader's locale ("6,8" in French), with its sign when asked."""
    text = format_decimal(abs(value), format="#,##0.0", locale=i18n.current_locale.get())
    if signed or value < 0:
        return ("+" if value >= 0 else "−") + text
    return text


def _percent(value: float) -> str:
    return format_percent(value, format="#,##0.0%", locale=i18n.current_locale.get())


def _theme_label(key: str, taxonomy: Taxonomy) -> str:
    """A theme's name in the reader's language (its key when the taxonomy no longer has it)."""
    try:
        return taxonomy.theme(key).label(i18n.current_locale.get())
    except KeyError:
        return key


def build_templates() -> Jinja2Templates:
    """The console's templates, with gettext bound to the request's locale."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["money"] = _money
    env.filters["number"] = _number
    env.filters["percent"] = _percent
    env.filters["decimal"] = _decimal
    env.filters["datetime"] = _datetime
    env.filters["theme_label"] = _theme_label
    return Jinja2Templates(env=env)

"""Themes' Pydantic models: a taxonomy (the document a merchant edits; the default one is in
``taxonomy.py``), key drivers, theme trends and spikes, corrections as the API takes them."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from cxloop import inputs
from cxloop.errors import InvalidInput
from cxloop.surveys import NpsSummary

Period = Literal["week", "month"]
# The console's languages: every theme has a label in both.
Locale = Literal["fr", "en"]
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
Phrase = str


@functools.cache
def iso_639_1() -> frozenset[str]:
    """The ISO 639-1 language codes (two lowercase letters), from Babel's CLDR data."""
    from babel import Locale as BabelLocale

    names = BabelLocale("en").languages
    codes = (str(code) for code in names)
    return frozenset(code for code in codes if len(code) == 2 and code.isalpha() and code.islower())


def _language_code(code: str) -> str:
    if code not in iso_639_1():
        raise ValueError(
            f"{code!r} is not an ISO 639-1 language code (two lowercase letters: fr, en, de…)"
        )
    return code


# A language in a taxonomy: fr and en, and room for others (de, it, nl…) by their ISO 639-1 code.
LangCode = Annotated[str, AfterValidator(_language_code)]


class Theme(BaseModel):
    """One theme of a taxonomy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=KEY_PATTERN)
    # Keyed by ISO 639-1 code: fr and en labels are required, other languages are optional.
    labels: dict[LangCode, str]
    definitions: dict[LangCode, str] = Field(default_factory=dict)
    seeds: dict[LangCode, tuple[Phrase, ...]] = Field(default_factory=dict)
    excludes: dict[LangCode, tuple[Phrase, ...]] = Field(default_factory=dict)
    merged_from: tuple[str, ...] = ()

    @field_validator("labels")
    @classmethod
    def _both_labels(cls, value: dict[str, str]) -> dict[str, str]:
        missing = {"fr", "en"} - {lang for lang, label in value.items() if label.strip()}
        if missing:
            raise ValueError(f"needs a label in {', '.join(sorted(missing))}")
        if any(len(label) > 100 for label in value.values()):
            raise ValueError("a label is at most 100 characters")
        return value

    @field_validator("definitions")
    @classmethod
    def _short_definitions(cls, value: dict[str, str]) -> dict[str, str]:
        if any(len(text) > 1000 for text in value.values()):
            raise ValueError("a definition is at most 1000 characters")
        return value

    @field_validator("seeds", "excludes")
    @classmethod
    def _phrases(cls, value: dict[str, tuple[Phrase, ...]]) -> dict[str, tuple[Phrase, ...]]:
        for phrases in value.values():
            if len(phrases) > 500:
                raise ValueError("at most 500 phrases per language")
            for phrase in phrases:
                if not phrase.strip() or len(phrase) > 200:
                    raise ValueError("a phrase is 1 to 200 characters, not blank")
        return value

    @field_validator("merged_from")
    @classmethod
    def _old_keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import re

        for old in value:
            if not re.fullmatch(KEY_PATTERN, old):
                raise ValueError(f"{old!r} is not a theme key")
        return value

    def label(self, lang: str) -> str:
        """The label in ``lang`` when the theme has one, else the English one."""
        return self.labels.get(lang) or self.labels["en"]

    def seeds_in(self, lang: str) -> tuple[Phrase, ...]:
        """The seed phrases in ``lang``."""
        return next((phrases for code, phrases in self.seeds.items() if code == lang), ())

    def excludes_in(self, lang: str) -> tuple[Phrase, ...]:
        """The exclude phrases in ``lang``."""
        return next((phrases for code, phrases in self.excludes.items() if code == lang), ())


class Taxonomy(BaseModel):
    """The themes of one workspace, in the order they are shown."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    themes: tuple[Theme, ...] = Field(min_length=1, max_length=100)

    @property
    def keys(self) -> tuple[str, ...]:
        """Theme keys in taxonomy order."""
        return tuple(theme.key for theme in self.themes)

    def theme(self, key: str) -> Theme:
        """The theme with this key (or that merged it); KeyError when there is none."""
        resolved = self.resolve(key)
        if resolved is None:
            raise KeyError(key)
        return next(theme for theme in self.themes if theme.key == resolved)

    def resolve(self, key: str) -> str | None:
        """The current key for a key or an old one (``merged_from``); None if unknown."""
        for theme in self.themes:
            if theme.key == key:
                return key
        for theme in self.themes:
            if key in theme.merged_from:
                return theme.key
        return None

    @classmethod
    def from_document(cls, document: Any) -> Taxonomy:
        """A taxonomy from a mapping (JSON or parsed YAML); a bad one names its field."""
        if not isinstance(document, dict):
            raise InvalidInput("body", "a taxonomy is a mapping with a 'themes' list")
        try:
            taxonomy = cls.model_validate(document)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"] if p != "[key]") or "body"
            raise InvalidInput(field, first["msg"]) from None
        taxonomy._check_keys()
        return taxonomy

    @classmethod
    def from_yaml(cls, text: str) -> Taxonomy:
        """A taxonomy from YAML text."""
        return cls.from_document(inputs.yaml_document(text))

    def to_yaml(self) -> str:
        """The taxonomy as YAML, in a stable order, for the API and the editor."""
        return yaml.safe_dump(
            self.model_dump(mode="json"), allow_unicode=True, sort_keys=False, width=100
        )

    def _check_keys(self) -> None:
        seen: dict[str, str] = {}
        for i, theme in enumerate(self.themes):
            if theme.key in seen:
                raise InvalidInput(f"themes.{i}.key", f"{theme.key!r} is used twice")
            seen[theme.key] = f"themes.{i}.key"
        for i, theme in enumerate(self.themes):
            for j, old in enumerate(theme.merged_from):
                where = f"themes.{i}.merged_from.{j}"
                if old == theme.key:
                    raise InvalidInput(where, f"{old!r} is this theme's own key")
                if old in seen:
                    raise InvalidInput(where, f"{old!r} is still the key of another theme")
                seen[old] = where


class Driver(BaseModel):
    """One theme's weight on the NPS: shares by category, impact, promoter lift, regression."""

    theme: str
    # Answers mentioning the theme, in all and per category.
    mentions: int
    detractors: int
    passives: int
    promoters: int
    # Of the answers of a category, the share mentioning the theme; None when there are none.
    detractor_share: float | None
    passive_share: float | None
    promoter_share: float | None
    # NPS points gained if its detractors had been passives: 100 × detractors / n; Wilson 95%.
    impact: float
    impact_ci95: tuple[float, float]
    # NPS points its promoters carry: 100 × promoters / n; Wilson 95%.
    promoter_lift: float
    promoter_lift_ci95: tuple[float, float]
    # OLS: score points (0–10 scale) when the theme is mentioned, other themes held fixed, with
    # its t 95% interval; None when it cannot be estimated (see the module).
    coefficient: float | None
    coefficient_ci95: tuple[float, float] | None
    # Fewer than SMALL_MENTIONS mentions: read the intervals, not the figures.
    small_sample: bool


class DriversReport(BaseModel):
    """The key drivers of a workspace's NPS over a range: the NPS and one row per theme."""

    n: int
    nps: NpsSummary
    # Of the n answers, those in another language than French or English and without themes:
    # counted in the NPS, left out of every driver figure (their text was not read).
    not_tagged: int = 0
    # Most damaging first (impact), see ``key_drivers``; over the n − not_tagged other answers.
    drivers: list[Driver]


class ThemeSeries(BaseModel):
    """One theme over the periods of a trend: mentions and share of the period's answers."""

    theme: str
    mentions: list[int]
    # mentions / answers of the period; None for a period without answers.
    share: list[float | None]


class ThemeTrend(BaseModel):
    """Themes per period (weeks start Monday 00:00 UTC, months on the 1st), every period kept."""

    period: Period
    periods: list[dt.date]
    responses: list[int]
    themes: list[ThemeSeries]


class Spike(BaseModel):
    """A theme's share in one period well above its share over the periods before."""

    theme: str
    period_start: dt.date
    mentions: int
    responses: int
    share: float
    baseline_periods: int
    baseline_mentions: int
    baseline_responses: int
    baseline_share: float
    # Two-proportion z score (pooled) and the one-sided Fisher exact p-value.
    z: float
    p_value: float


class ThemesCorrection(BaseModel):
    """The themes a person says an answer's verbatim is about."""

    themes: list[str] = Field(max_length=100)

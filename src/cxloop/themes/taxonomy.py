"""A workspace's themes: what the merchant renames, adds, splits or merges (in YAML or the console).

A theme has a key, a label and a definition in fr and en, seed phrases per language, and
optional excludes (phrases that look like the theme and are not). ``merged_from`` lists old
keys that now mean this theme, so answers tagged before a rename or a merge still count.

The ten default themes (DESIGN.md, "Default NPS themes") keep a richer built-in lexicon behind
their keys (``lexicon.py``); their seeds are the readable part a merchant sees. A theme uses the
built-in lexicon of its own key and of each default key in its ``merged_from``: renaming
``delivery_delay`` to ``shipping_speed`` with ``merged_from: [delivery_delay]`` keeps it, and
a theme split off with a new key starts from its seeds alone.
"""

from __future__ import annotations

from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cxloop.errors import InvalidInput

Locale = Literal["fr", "en"]
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
Phrase = str


class Theme(BaseModel):
    """One theme of a taxonomy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=KEY_PATTERN)
    labels: dict[Locale, str]
    definitions: dict[Locale, str] = Field(default_factory=dict)
    seeds: dict[Locale, tuple[Phrase, ...]] = Field(default_factory=dict)
    excludes: dict[Locale, tuple[Phrase, ...]] = Field(default_factory=dict)
    merged_from: tuple[str, ...] = ()

    @field_validator("labels")
    @classmethod
    def _both_labels(cls, value: dict[Locale, str]) -> dict[Locale, str]:
        missing = {"fr", "en"} - {lang for lang, label in value.items() if label.strip()}
        if missing:
            raise ValueError(f"needs a label in {', '.join(sorted(missing))}")
        if any(len(label) > 100 for label in value.values()):
            raise ValueError("a label is at most 100 characters")
        return value

    @field_validator("definitions")
    @classmethod
    def _short_definitions(cls, value: dict[Locale, str]) -> dict[Locale, str]:
        if any(len(text) > 1000 for text in value.values()):
            raise ValueError("a definition is at most 1000 characters")
        return value

    @field_validator("seeds", "excludes")
    @classmethod
    def _phrases(cls, value: dict[Locale, tuple[Phrase, ...]]) -> dict[Locale, tuple[Phrase, ...]]:
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
        """The label in ``lang`` (English unless ``fr``)."""
        return self.labels["fr"] if lang == "fr" else self.labels["en"]

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
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInput("body", f"invalid YAML: {exc}") from None
        return cls.from_document(document)

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


DEFAULT_THEMES: tuple[dict[str, Any], ...] = (
    {
        "key": "delivery_delay",
        "labels": {"fr": "Délais de livraison", "en": "Delivery time"},
        "definitions": {
            "fr": "Rapidité et ponctualité de la livraison, colis perdus, suivi, points relais.",
            "en": "Delivery speed and punctuality, lost parcels, tracking, pick-up points.",
        },
        "seeds": {
            "fr": [
                "livraison rapide",
                "retard de livraison",
                "colis perdu",
                "suivi du colis",
                "point relais",
                "délai de livraison",
                "Colissimo",
                "Chronopost",
            ],
            "en": [
                "fast delivery",
                "late delivery",
                "lost parcel",
                "tracking",
                "took ages",
                "pick-up point",
                "Royal Mail",
                "courier",
            ],
        },
    },
    {
        "key": "delivery_cost",
        "labels": {"fr": "Frais de livraison", "en": "Delivery cost"},
        "definitions": {
            "fr": "Frais de port, seuils et codes de livraison gratuite, frais de retour.",
            "en": "Shipping fees, free-shipping thresholds and codes, return shipping fees.",
        },
        "seeds": {
            "fr": [
                "frais de port",
                "livraison gratuite",
                "livraison offerte",
                "frais de livraison trop chers",
                "frais de retour",
            ],
            "en": [
                "shipping costs",
                "free delivery",
                "free shipping",
                "postage",
                "delivery charge",
                "return postage",
            ],
        },
    },
    {
        "key": "product_quality",
        "labels": {"fr": "Qualité des produits", "en": "Product quality"},
        "definitions": {
            "fr": "Qualité, défauts, casse, état à l'arrivée, conformité à la description, "
            "mauvais article, couleur ou taille.",
            "en": "Quality, defects, breakage, condition on arrival, not as described, wrong "
            "item, colour or size.",
        },
        "seeds": {
            "fr": [
                "bonne qualité",
                "produit défectueux",
                "arrivé cassé",
                "conforme à la description",
                "taille petit",
                "mauvais article",
                "couleur différente",
            ],
            "en": [
                "good quality",
                "faulty",
                "arrived broken",
                "as described",
                "runs small",
                "wrong item",
                "fell apart",
            ],
        },
    },
    {
        "key": "price",
        "labels": {"fr": "Prix", "en": "Price"},
        "definitions": {
            "fr": "Prix, rapport qualité-prix, promotions, réductions, coûts cachés.",
            "en": "Prices, value for money, promotions, discounts, hidden costs.",
        },
        "seeds": {
            "fr": [
                "prix",
                "trop cher",
                "rapport qualité prix",
                "promotion",
                "code promo",
                "frais cachés",
            ],
            "en": ["price", "expensive", "value for money", "discount", "sale", "hidden fees"],
        },
    },
    {
        "key": "customer_service",
        "labels": {"fr": "Service client", "en": "Customer service"},
        "definitions": {
            "fr": "Service client, SAV, conseillers, chat, réactivité, résolution.",
            "en": "Support, after-sales, staff, chat, responsiveness, resolution.",
        },
        "seeds": {
            "fr": [
                "service client",
                "SAV",
                "conseillère",
                "aucune réponse",
                "réactif",
                "injoignable",
            ],
            "en": [
                "customer service",
                "support",
                "helpful staff",
                "no reply",
                "live chat",
                "resolved",
            ],
        },
    },
    {
        "key": "website_ux",
        "labels": {"fr": "Site et paiement", "en": "Website and checkout"},
        "definitions": {
            "fr": "Le site ou l'application de la boutique, la commande, le paiement, le compte.",
            "en": "The store's site or app, checkout, payment, account.",
        },
        "seeds": {
            "fr": ["site", "application", "paiement", "navigation", "mon compte", "bug"],
            "en": ["website", "app", "checkout", "payment", "easy to navigate", "login"],
        },
    },
    {
        "key": "returns_refunds",
        "labels": {"fr": "Retours et remboursements", "en": "Returns and refunds"},
        "definitions": {
            "fr": "Retours, remboursements, échanges.",
            "en": "Returns, refunds, exchanges.",
        },
        "seeds": {
            "fr": ["retour", "remboursement", "échange", "un avoir", "étiquette de retour"],
            "en": ["return", "refund", "exchange", "money back", "returns label"],
        },
    },
    {
        "key": "stock_availability",
        "labels": {"fr": "Disponibilité et stock", "en": "Stock availability"},
        "definitions": {
            "fr": "Ruptures de stock, articles manquants, annulations faute de stock.",
            "en": "Out of stock, missing items, cancellations for stock.",
        },
        "seeds": {
            "fr": ["rupture de stock", "article manquant", "indisponible", "annulé faute de stock"],
            "en": ["out of stock", "item missing", "sold out", "back in stock"],
        },
    },
    {
        "key": "packaging",
        "labels": {"fr": "Emballage", "en": "Packaging"},
        "definitions": {
            "fr": "La boîte, le colis ou l'emballage lui-même.",
            "en": "The box, parcel or wrapping itself.",
        },
        "seeds": {
            "fr": ["emballage", "bien emballé", "carton abîmé", "papier bulle", "paquet cadeau"],
            "en": ["packaging", "well packed", "box damaged", "bubble wrap", "gift wrap"],
        },
    },
    {
        "key": "product_choice",
        "labels": {"fr": "Choix et gamme", "en": "Product range"},
        "definitions": {
            "fr": "Choix, gamme et sélection de produits.",
            "en": "Range and selection.",
        },
        "seeds": {
            "fr": ["large choix", "peu de choix", "gamme", "sélection", "choix de tailles"],
            "en": ["great range", "limited choice", "selection", "variety", "more sizes"],
        },
    },
)


def default_taxonomy() -> Taxonomy:
    """The ten default themes (DESIGN.md), with their built-in lexicon behind the keys."""
    return Taxonomy.from_document({"themes": list(DEFAULT_THEMES)})

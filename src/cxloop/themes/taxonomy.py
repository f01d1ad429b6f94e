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

from typing import Any

from cxloop.themes.schemas import KEY_PATTERN, Locale, Phrase, Taxonomy, Theme

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


__all__ = ["KEY_PATTERN", "Locale", "Phrase", "Taxonomy", "Theme", "default_taxonomy"]

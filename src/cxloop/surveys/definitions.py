"""Survey definitions: what a merchant edits (in the console or as YAML), with the defaults.

The default texts follow the articles cxloop grew from: ask "how likely are you to recommend
us, 0–10" right after the moments that matter, then ask why with a question tailored to
detractors (0–6), passives (7–8) and promoters (9–10).
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from cxloop import inputs
from cxloop.errors import InvalidInput
from cxloop.surveys.schemas import Channel, Limits, Locale, SurveyDefinition, Texts, Trigger

DEFAULT_TEXTS: dict[str, dict[str, Any]] = {
    "en": {
        "subject": "How was your order from {store}?",
        "intro": "Thank you for your order. One quick question, one click:",
        "question": "How likely are you to recommend {store} to a friend or colleague?",
        "low_label": "Not at all likely",
        "high_label": "Extremely likely",
        "followup": {
            "detractor": "What disappointed you?",
            "passive": "What would you like us to improve?",
            "promoter": "Would you be willing to share your opinion on what you liked?",
        },
        "thanks": {
            "detractor": "Thank you for telling us. We read every answer, and we will do better.",
            "passive": "Thank you! Your ideas help us improve.",
            "promoter": "Thank you! We are delighted you enjoyed it.",
        },
        "reminder_intro": "A reminder, in case our question got lost: it takes one click.",
    },
    "fr": {
        "subject": "Comment s'est passée votre commande chez {store} ?",
        "intro": "Merci pour votre commande. Une seule question, un seul clic :",
        "question": (
            "Quelle est la probabilité que vous recommandiez {store} à un ami ou un collègue ?"
        ),
        "low_label": "Pas du tout probable",
        "high_label": "Très probable",
        "followup": {
            "detractor": "Qu'est-ce qui vous a déplu ?",
            "passive": "Qu'aimeriez-vous que nous améliorions ?",
            "promoter": "Accepteriez-vous de partager votre avis sur ce qui vous a plu ?",
        },
        "thanks": {
            "detractor": "Merci de nous l'avoir dit. Nous lisons chaque réponse et ferons mieux.",
            "passive": "Merci ! Vos idées nous aident à progresser.",
            "promoter": "Merci ! Nous sommes ravis que cela vous ait plu.",
        },
        "reminder_intro": (
            "Un petit rappel, au cas où notre question se serait perdue : un clic suffit."
        ),
    },
}


def default_definition(trigger: Trigger = "shipment_delivered") -> SurveyDefinition:
    """The survey cxloop proposes: three days after delivery (or right after the order)."""
    delivery = trigger == "shipment_delivered"
    return SurveyDefinition(
        key="after-delivery" if delivery else "after-order",
        name="NPS after delivery" if delivery else "NPS after order",
        trigger=trigger,
        delay_hours=72 if delivery else 1,
        channels=["email"],
        texts={"fr": Texts(**DEFAULT_TEXTS["fr"]), "en": Texts(**DEFAULT_TEXTS["en"])},
    )


def parse_definition(document: Any) -> SurveyDefinition:
    """A definition from a mapping (JSON or parsed YAML); a bad one names its field."""
    if not isinstance(document, dict):
        raise InvalidInput("body", "a survey definition is a mapping")
    try:
        return SurveyDefinition.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(field, first["msg"]) from None


def parse_yaml(text: str) -> SurveyDefinition:
    """A definition from YAML text."""
    return parse_definition(inputs.yaml_document(text))


def to_yaml(definition: SurveyDefinition) -> str:
    """The definition as YAML, in a stable order, for the API and the editor."""
    return yaml.safe_dump(
        definition.model_dump(mode="json"), allow_unicode=True, sort_keys=False, width=100
    )


__all__ = [
    "Channel",
    "Limits",
    "Locale",
    "SurveyDefinition",
    "Texts",
    "Trigger",
    "default_definition",
    "parse_definition",
    "parse_yaml",
    "to_yaml",
]

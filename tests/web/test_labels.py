"""One display label per stored code: every value of the enums the console shows has a label,
translated in French, and country and language codes read as names."""

from __future__ import annotations

import typing
from functools import cache

import pytest
from babel.messages.pofile import read_po

from cxloop import analytics, commerce, i18n
from cxloop.alerts import service as alerts
from cxloop.analytics.experience import BREAKDOWNS
from cxloop.cases import service as case_service
from cxloop.channels.router import STATUSES as OUTBOX_STATUSES
from cxloop.ingest.models import EVENT_TYPES
from cxloop.journeys import definition
from cxloop.journeys import service as journey_service
from cxloop.profiles.models import IDENTITY_KINDS
from cxloop.surveys.definitions import default_definition
from cxloop.surveys.schemas import Category, Channel, Trigger
from cxloop.web.labels import LABELS, label

# Each group of labels beside the code's own list of its values.
ENUMS: dict[str, tuple[str, ...]] = {
    "order_status": tuple(commerce.ORDER_STATUSES),
    "shipment_status": tuple(commerce.SHIPMENT_STATUSES),
    "trigger": typing.get_args(Trigger),
    "touchpoint": tuple(default_definition(t).touchpoint for t in typing.get_args(Trigger)),
    "channel": typing.get_args(Channel),
    "category": typing.get_args(Category),
    "outbox_status": OUTBOX_STATUSES,
    "event_type": EVENT_TYPES,
    "identity": IDENTITY_KINDS,
    "alert_kind": alerts.KINDS,
    "alert_target": alerts.TARGETS,
    "delivery_status": alerts.DELIVERY_STATUSES,
    "rfm_segment": analytics.SEGMENTS,
    "churn_band": analytics.CHURN_BANDS,
    "experience_group": tuple(code for groups, _ in BREAKDOWNS.values() for code in groups),
    "persona_feature": analytics.PERSONA_FEATURES,
    "journey_status": journey_service.STATUSES,
    "trigger_kind": definition.TRIGGERS,
    "step_kind": definition.STEP_KINDS,
    "message_channel": definition.CHANNELS,
    "coupon_kind": definition.COUPON_KINDS,
    "case_status": case_service.STATUSES,
    "case_source": case_service.SOURCES,
    "run_status": ("active", "waiting", "done", "exited", "converted", "holdout"),
    "segment_change": ("entered", "left"),
    "segment_kind": ("dynamic", "static"),
}


def _french(message: str) -> str:
    return i18n.translations("fr").ugettext(message)


@pytest.mark.parametrize("group", sorted(LABELS))
def test_every_label_reads_as_words_in_both_languages(group: str) -> None:
    for code, english in LABELS[group].items():
        with i18n.speaking("en"):
            assert label(code, group) == english
        with i18n.speaking("fr"):
            shown = label(code, group)
        assert shown == _french(english)
        assert "_" not in english and "_" not in shown, (group, code)
        assert english in _catalog_ids(), f"{english!r} ({group}) is not in the French catalog"


@cache
def _catalog_ids() -> frozenset[str]:
    path = i18n.LOCALE_DIR / "fr" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        return frozenset(m.id for m in read_po(fh, locale="fr") if m.id and m.string)


@pytest.mark.parametrize("group", sorted(ENUMS))
def test_every_value_of_the_codes_enums_has_a_label(group: str) -> None:
    missing = [code for code in ENUMS[group] if code not in LABELS.get(group, {})]
    assert missing == []


def test_countries_and_languages_read_as_names() -> None:
    with i18n.speaking("fr"):
        assert label("BE", "country") == "Belgique"
        assert label("fr-BE", "locale") == "français"
    with i18n.speaking("en"):
        assert label("be", "country") == "Belgium"
        assert label("en", "locale") == "English"
        assert label("ZZZ", "country") == "ZZZ"


def test_an_unknown_code_is_shown_as_it_is_and_nothing_as_nothing() -> None:
    with i18n.speaking("fr"):
        assert label("Newsletter Signup", "event") == "Newsletter Signup"
        assert label(None, "channel") == ""

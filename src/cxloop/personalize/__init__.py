"""Personalize: the site's campaigns (banners per segment, behavioural messages), the
decisions the store's pages ask for, with their caps, holdouts and report.

This package's facade: what other domains may use. They import the package
(``from cxloop import personalize``), never one of its modules (checked by import-linter).
"""

from cxloop.personalize.definition import Plan, read
from cxloop.personalize.service import (
    Decision,
    Visitor,
    create_campaign,
    decide,
    get_campaign,
    list_campaigns,
    record_click,
    report,
    set_status,
)

__all__ = [
    "Decision",
    "Plan",
    "Visitor",
    "create_campaign",
    "decide",
    "get_campaign",
    "list_campaigns",
    "read",
    "record_click",
    "report",
    "set_status",
]

"""Data in: events (Segment-compatible), store webhooks and imports.

This package's facade: what other domains may use. They import the package
(``from cxloop import ingest``), never one of its modules (checked by import-linter).
"""

from cxloop.ingest.models import WebhookSecret
from cxloop.ingest.service import (
    NEWS,
    claim_anonymous_events,
    event_count,
    event_moments,
    export_events,
    is_news,
    latest_events,
    on_events,
    product_signals,
    visitor_events,
)
from cxloop.ingest.webhooks import webhook_secret

__all__ = [
    "NEWS",
    "WebhookSecret",
    "claim_anonymous_events",
    "event_count",
    "event_moments",
    "export_events",
    "is_news",
    "latest_events",
    "on_events",
    "product_signals",
    "visitor_events",
    "webhook_secret",
]

"""Alert rules and their deliveries: answers, silence and theme spikes.

This package's facade: what other domains may use. They import the package
(``from cxloop import alerts``), never one of its modules (checked by import-linter).
"""

from cxloop.alerts.models import AlertRule
from cxloop.alerts.service import Deliver, EmailAlert, alert_after_commit, on_settled_answer

__all__ = [
    "AlertRule",
    "Deliver",
    "EmailAlert",
    "alert_after_commit",
    "on_settled_answer",
]

"""Analytics: the warehouse sync, RFM scores and segments, and the scores written back to each
customer.

This package's facade: what other domains may use. They import the package
(``from cxloop import analytics``), never one of its modules (checked by import-linter).
"""

from cxloop.analytics.models import CustomerScore
from cxloop.analytics.rfm import SEGMENTS
from cxloop.analytics.runs import RunSummary, run_analytics
from cxloop.analytics.schemas import CustomerScores, RfmOverview
from cxloop.analytics.service import rfm_overview, scores_of, segment_counts

__all__ = [
    "SEGMENTS",
    "CustomerScore",
    "CustomerScores",
    "RfmOverview",
    "RunSummary",
    "rfm_overview",
    "run_analytics",
    "scores_of",
    "segment_counts",
]

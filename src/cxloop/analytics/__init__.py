"""Analytics: the warehouse sync, RFM scores and segments, customer lifetime value (BG/NBD,
Gamma-Gamma) and what it predicts, and the scores written back to each customer.

This package's facade: what other domains may use. They import the package
(``from cxloop import analytics``), never one of its modules (checked by import-linter).
"""

from cxloop.analytics.clv import (
    BgNbdFit,
    Calibration,
    GammaGammaFit,
    Holdout,
    HoldoutGroup,
    Summary,
    Transactions,
    calibrate,
    days_to_next_order,
    expected_days_to_next_order,
    expected_purchases,
    expected_purchases_new,
    expected_spend,
    fit_bgnbd,
    fit_gamma_gamma,
    holdout,
    lifetime_value,
    p_alive,
    read_transactions,
    spend_inputs,
    summarise,
)
from cxloop.analytics.experience import t_interval, wilson
from cxloop.analytics.facts import current_facts, facts_of
from cxloop.analytics.models import CustomerScore
from cxloop.analytics.personas import FEATURES as PERSONA_FEATURES
from cxloop.analytics.rfm import SEGMENTS
from cxloop.analytics.runs import RunSummary, run_analytics
from cxloop.analytics.schemas import CustomerScores, RfmOverview
from cxloop.analytics.service import (
    CHURN_BANDS,
    Report,
    clv_distribution,
    persona_names,
    personas_of,
    ranked_scores,
    report,
    rfm_overview,
    score_table,
    scores_of,
    segment_counts,
    segment_values,
    usual_gap_days,
)

__all__ = [
    "CHURN_BANDS",
    "PERSONA_FEATURES",
    "SEGMENTS",
    "BgNbdFit",
    "Calibration",
    "CustomerScore",
    "CustomerScores",
    "GammaGammaFit",
    "Holdout",
    "HoldoutGroup",
    "Report",
    "RfmOverview",
    "RunSummary",
    "Summary",
    "Transactions",
    "calibrate",
    "clv_distribution",
    "current_facts",
    "days_to_next_order",
    "expected_days_to_next_order",
    "expected_purchases",
    "expected_purchases_new",
    "expected_spend",
    "facts_of",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "holdout",
    "lifetime_value",
    "p_alive",
    "persona_names",
    "personas_of",
    "ranked_scores",
    "read_transactions",
    "report",
    "rfm_overview",
    "run_analytics",
    "score_table",
    "scores_of",
    "segment_counts",
    "segment_values",
    "spend_inputs",
    "summarise",
    "t_interval",
    "usual_gap_days",
    "wilson",
]

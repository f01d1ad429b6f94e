"""Analytics: customer lifetime value (BG/NBD, Gamma-Gamma) and what it predicts.

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

__all__ = [
    "BgNbdFit",
    "Calibration",
    "GammaGammaFit",
    "Holdout",
    "HoldoutGroup",
    "Summary",
    "Transactions",
    "calibrate",
    "days_to_next_order",
    "expected_days_to_next_order",
    "expected_purchases",
    "expected_purchases_new",
    "expected_spend",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "holdout",
    "lifetime_value",
    "p_alive",
    "read_transactions",
    "spend_inputs",
    "summarise",
]

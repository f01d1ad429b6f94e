"""NPS statistics: categories, the score with its 95% interval, the test of a change.

Sources:

- Reichheld, F. F. (2003). "The One Number You Need to Grow". Harvard Business Review 81(12).
  The 0–10 likelihood-to-recommend question; detractors 0–6, passives 7–8, promoters 9–10;
  NPS = %promoters − %detractors.
- Rocks, B. (2016). "Interval Estimation for the 'Net Promoter Score'". The American
  Statistician 70(4), 365–372. Compares six interval methods by simulation; the adjusted-Wald
  interval (add 3 to n, ¾ to the promoters and ¾ to the detractors, variance of a difference of
  two proportions of one multinomial sample) has the best coverage for its width, small samples
  included.
- Lewis, J. R. & Sauro, J. (2020–2021). MeasuringU: "Confidence Intervals for Net Promoter
  Scores" and "How to Statistically Compare Two Net Promoter Scores". The same adjusted-Wald
  estimates turned into a z test of the difference of two independent NPS values.

Everything is in points (−100..100). The normal tail is ``scipy.stats.norm``, imported by the
test that needs it: scipy.stats takes about a second to import, which no other caller should pay.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from cxloop.csv_files import cell, read_table
from cxloop.errors import InvalidInput
from cxloop.surveys.schemas import Category, Comparison, NpsSummary, SampleWarning

PROMOTER_MIN: Final = 9
PASSIVE_MIN: Final = 7
# The 97.5th percentile of the normal distribution, rounded as Rocks and MeasuringU round it.
Z95: Final = 1.96
ALPHA: Final = 0.05
# Why these thresholds: below 30 answers the 95% margin of a typical NPS (variance per answer
# about 0.6) is wider than ±25 points, so month-to-month moves are mostly noise; 30 is also the
# usual floor for trusting a normal approximation. Below 10 each answer moves the score by 10
# points or more and the margin passes ±40 points: the number should not be read at all.
SMALL_SAMPLE: Final = 30
VERY_SMALL_SAMPLE: Final = 10

WARNING_TEXT: Final[dict[SampleWarning, str]] = {
    "no_answers": "no answers: there is no score",
    "very_small_sample": "fewer than 10 answers: each answer moves the score by 10 points or "
    "more; do not read it",
    "small_sample": "fewer than 30 answers: the margin of error is wide; read the interval, "
    "not the score",
}


def category_of(score: int) -> Category:
    """The NPS category of a 0–10 score: 0–6 detractor, 7–8 passive, 9–10 promoter (Reichheld)."""
    if isinstance(score, bool) or not isinstance(score, int | np.integer) or not 0 <= score <= 10:
        raise ValueError(f"score must be an integer from 0 to 10, not {score!r}")
    if score >= PROMOTER_MIN:
        return "promoter"
    if score >= PASSIVE_MIN:
        return "passive"
    return "detractor"


def sample_warning(n: int) -> SampleWarning | None:
    """The small-sample warning for ``n`` answers (thresholds 10 and 30, see the module)."""
    if n == 0:
        return "no_answers"
    if n < VERY_SMALL_SAMPLE:
        return "very_small_sample"
    if n < SMALL_SAMPLE:
        return "small_sample"
    return None


def _adjusted(promoters: int, detractors: int, n: int) -> tuple[float, float]:
    """Adjusted-Wald NPS (as a proportion difference) and its standard error (Rocks 2016)."""
    n_adj = n + 3
    p = (promoters + 0.75) / n_adj
    d = (detractors + 0.75) / n_adj
    variance = p + d - (p - d) ** 2
    return p - d, math.sqrt(variance / n_adj)


def summarize(promoters: int, passives: int, detractors: int) -> NpsSummary:
    """The NPS of these counts with its adjusted-Wald 95% interval (Rocks 2016)."""
    if min(promoters, passives, detractors) < 0:
        raise ValueError("counts cannot be negative")
    n = promoters + passives + detractors
    if n == 0:
        return NpsSummary(
            n=0,
            promoters=0,
            passives=0,
            detractors=0,
            nps=None,
            ci95=None,
            margin=None,
            warning="no_answers",
        )
    centre, se = _adjusted(promoters, detractors, n)
    margin = Z95 * se
    low = max(-100.0, 100.0 * (centre - margin))
    high = min(100.0, 100.0 * (centre + margin))
    return NpsSummary(
        n=n,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        nps=100.0 * (promoters - detractors) / n,
        ci95=(low, high),
        margin=100.0 * margin,
        warning=sample_warning(n),
    )


def score_counts(scores: Iterable[int] | npt.NDArray[np.integer]) -> npt.NDArray[np.int64]:
    """How many of ``scores`` are 0, 1, … 10 (11 counts); refuses anything else."""
    values = scores if isinstance(scores, np.ndarray) else np.fromiter(scores, dtype=object)
    if values.size == 0:
        return np.zeros(11, dtype=np.int64)
    if values.dtype == object:
        if any(isinstance(v, bool) or not isinstance(v, int | np.integer) for v in values):
            raise ValueError("scores must be integers from 0 to 10")
        values = values.astype(np.int64)
    elif not np.issubdtype(values.dtype, np.integer):
        raise ValueError("scores must be integers from 0 to 10")
    if values.min() < 0 or values.max() > 10:
        raise ValueError("scores must be integers from 0 to 10")
    return np.bincount(values.astype(np.int64), minlength=11)


def nps_summary(scores: Iterable[int] | npt.NDArray[np.integer]) -> NpsSummary:
    """The NPS of 0–10 scores with its adjusted-Wald 95% interval and small-sample warning."""
    counts = score_counts(scores)
    return summarize(
        promoters=int(counts[PROMOTER_MIN:].sum()),
        passives=int(counts[PASSIVE_MIN:PROMOTER_MIN].sum()),
        detractors=int(counts[:PASSIVE_MIN].sum()),
    )


def compare(a: NpsSummary, b: NpsSummary) -> Comparison:
    """Is NPS b different from NPS a? Two-sided z test, adjusted-Wald (Lewis & Sauro 2021)."""
    if a.n == 0 or b.n == 0 or a.nps is None or b.nps is None:
        return Comparison(diff=None, z=None, p_value=None, significant=False)
    centre_a, se_a = _adjusted(a.promoters, a.detractors, a.n)
    centre_b, se_b = _adjusted(b.promoters, b.detractors, b.n)
    # The adjustment keeps both variances above zero, so se_diff > 0 even for 100 vs 100.
    z = (centre_b - centre_a) / math.sqrt(se_a**2 + se_b**2)
    from scipy.stats import norm

    p_value = float(2.0 * norm.sf(abs(z)))
    return Comparison(diff=b.nps - a.nps, z=z, p_value=p_value, significant=p_value < ALPHA)


def read_scores(path: Path) -> list[int]:
    """The ``score`` column of a CSV file (comma, semicolon or tab; header required)."""
    table = read_table(path, ("score",))
    column = table.column("score")
    scores: list[int] = []
    for line, row in table.rows:
        value = cell(row, column).strip()
        if not (value.isascii() and value.isdigit() and int(value) <= 10):
            raise InvalidInput(f"{table.where}:{line}", "score must be an integer from 0 to 10")
        scores.append(int(value))
    return scores

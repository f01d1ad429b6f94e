"""Customer lifetime value: BG/NBD for repeat purchases and Gamma-Gamma for spend.

The models:

* BG/NBD, Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy Way: An
  Alternative to the Pareto/NBD Model", Marketing Science 24(2): while alive a customer buys
  at a Poisson rate λ ~ Gamma(r, α) and may drop out after each repeat purchase with
  probability p ~ Beta(a, b).
* Gamma-Gamma, Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer
  Base Analysis", Journal of Marketing Research 42(4): a customer's transaction values are
  Gamma(p, ν) with ν ~ Gamma(q, γ), independent of the purchase process.

Conventions (the ones that reproduce the papers' CDNOW figures): time in weeks, calendar days
/ 7; purchases on the same day are one transaction (amounts summed); ``x`` counts the distinct
purchase days after the first one up to the calibration end, whatever their amount; ``t_x`` runs
from the first to the last purchase day, ``T`` from the first purchase day to the calibration
end (no +1); the spend model sees each repeat customer's mean day-summed repeat amount (the
first purchase left out), and leaves out customers whose mean is zero.

Both fits maximise the likelihood over log-parameters with analytic gradients: L-BFGS-B, then
Newton steps (a finite-difference Hessian of the gradient, refreshed by BFGS updates) until the
gradient is at round-off level, or until three steps in a row lower the likelihood by no more
than its round-off (a ridge the data leave flat). L-BFGS-B alone stops early on the CDNOW
master, at a gradient a million times larger. Above ``SUBSAMPLE`` customers the full data starts
from the fit of a strided subsample and its Hessian, so a million customers cost a handful of
evaluations.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt
from scipy import optimize
from scipy.special import digamma, expit, gammaln, hyp2f1
from threadpoolctl import threadpool_limits

from cxloop.csv_files import BadRow, cell, read_table
from cxloop.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
Objective = Callable[[FloatArray], tuple[float, FloatArray]]

DAYS_PER_WEEK = 7.0
WEEKS_PER_MONTH = 365.25 / 12 / 7
COLUMNS = ("customer_id", "date", "amount")
# Fits above this many customers start from a subsample's fit (see the module's docstring).
SUBSAMPLE = 200_000
SUBSAMPLE_SIZE = 50_000
# Converged: the mean log-likelihood's gradient over log-parameters is below this. L-BFGS-B
# alone ends near 1e-9 on the CDNOW master; the Newton steps reach 1e-16.
CONVERGED = 1e-11
SETTLED = 1e-6
HOLDOUT_GROUPS = 7  # frequency groups 0..6 and 7+


@dataclass(frozen=True)
class Transactions:
    """Transactions as arrays: customer codes into ``customer_ids``, days, amounts."""

    customer_ids: list[str]
    customer: npt.NDArray[np.int64]
    day: npt.NDArray[np.int64]
    amount: FloatArray


@dataclass(frozen=True)
class Summary:
    """Per customer (aligned arrays, sorted by id): the models' inputs and the holdout count.

    ``x`` repeat purchase days, ``t_x`` and ``T`` in weeks, ``monetary`` the mean day-summed
    repeat amount (0 when ``x`` is 0); ``holdout`` the purchase days after the calibration end
    up to ``holdout_end``, the last day of the data (``holdout_weeks`` long).
    """

    customer_id: npt.NDArray[np.str_]
    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    monetary: FloatArray
    holdout: FloatArray
    calibration_end: dt.date
    holdout_end: dt.date
    holdout_weeks: float


@dataclass(frozen=True)
class BgNbdFit:
    """BG/NBD estimates, the log-likelihood, its gradient's norm there, and how it went."""

    r: float
    alpha: float
    a: float
    b: float
    loglik: float
    gradient_norm: float
    converged: bool
    evaluations: int

    @property
    def params(self) -> tuple[float, float, float, float]:
        """(r, alpha, a, b)."""
        return (self.r, self.alpha, self.a, self.b)


@dataclass(frozen=True)
class GammaGammaFit:
    """Gamma-Gamma estimates, the log-likelihood, its gradient's norm there, and how it went."""

    p: float
    q: float
    gamma: float
    loglik: float
    gradient_norm: float
    converged: bool
    evaluations: int
    customers: int

    @property
    def params(self) -> tuple[float, float, float]:
        """(p, q, gamma)."""
        return (self.p, self.q, self.gamma)


@dataclass(frozen=True)
class HoldoutGroup:
    """Customers of one calibration frequency: actual and predicted mean holdout purchases."""

    frequency: str
    customers: int
    actual_mean: float
    predicted_mean: float


@dataclass(frozen=True)
class Holdout:
    """Predicted against actual repeat purchases after the calibration end, by frequency."""

    start: dt.date
    end: dt.date
    weeks: float
    groups: list[HoldoutGroup]
    customers: int
    actual: float
    predicted: float


# --- Reading and summarising -------------------------------------------------------------


def _parse_day(text: str) -> int:
    """Days since 1970-01-01 of an ISO date, or of an ISO timestamp's UTC date."""
    try:
        return dt.date.fromisoformat(text).toordinal() - _EPOCH
    except ValueError:
        stamp = dt.datetime.fromisoformat(text)
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.UTC)
    return stamp.date().toordinal() - _EPOCH


_EPOCH = dt.date(1970, 1, 1).toordinal()


def _day_to_date(day: int) -> dt.date:
    return dt.date.fromordinal(int(day) + _EPOCH)


def read_transactions(path: Path) -> Transactions:
    """Read a ``customer_id,date,amount`` CSV (other columns ignored, any row order)."""
    table = read_table(path, COLUMNS)
    if not table.rows:
        raise InvalidInput(table.where, "empty file: no transactions after the header")
    where = [table.column(name) for name in COLUMNS]
    codes: dict[str, int] = {}
    days: dict[str, int] = {}
    n = len(table.rows)
    customer = np.empty(n, dtype=np.int64)
    day = np.empty(n, dtype=np.int64)
    amount = np.empty(n, dtype=np.float64)
    for i, (line, row) in enumerate(table.rows):
        cid, date, value = (cell(row, index).strip() for index in where)
        if not cid:
            raise BadRow(table.where, line, "customer_id is empty")
        customer[i] = codes.setdefault(cid, len(codes))
        if date not in days:
            try:
                days[date] = _parse_day(date)
            except ValueError:
                raise BadRow(
                    table.where, line, f"date {date!r} is not a date (YYYY-MM-DD)"
                ) from None
        day[i] = days[date]
        try:
            amount[i] = float(value)
        except ValueError:
            raise BadRow(table.where, line, f"amount {value!r} is not a number") from None
        if not math.isfinite(amount[i]) or amount[i] < 0:
            raise BadRow(table.where, line, f"amount {value!r}: a finite amount >= 0 is needed")
    return Transactions(list(codes), customer, day, amount)


def summarise(transactions: Transactions, calibration_end: dt.date) -> Summary:
    """The models' per-customer inputs at ``calibration_end``, and each one's holdout count.

    Customers whose first purchase comes after the calibration end are left out. The holdout
    runs from the day after the calibration end to the last day of the data.
    """
    cal = calibration_end.toordinal() - _EPOCH
    c, d, m = transactions.customer, transactions.day, transactions.amount
    first_day = int(d.min())
    if cal < first_day:
        raise InvalidInput(
            "calibration_end",
            f"{calibration_end} is before the first purchase ({_day_to_date(first_day)})",
        )
    # One row per customer and day, amounts summed, sorted by customer then day (then amount:
    # the same sums in whatever order the file came).
    order = np.lexsort((m, d, c))
    c, d, m = c[order], d[order], m[order]
    starts = np.flatnonzero(np.r_[True, (c[1:] != c[:-1]) | (d[1:] != d[:-1])])
    c, d, m = c[starts], d[starts], np.add.reduceat(m, starts)

    n_all = len(transactions.customer_ids)
    cal_rows = d <= cal
    days_before = np.bincount(c[cal_rows], minlength=n_all)
    group = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])  # each customer's first day
    first = np.zeros(n_all, dtype=np.int64)
    first[c[group]] = d[group]
    first_amount = np.zeros(n_all)
    first_amount[c[group]] = m[group]
    last = np.zeros(n_all, dtype=np.int64)
    c_cal, d_cal = c[cal_rows], d[cal_rows]
    ends = np.flatnonzero(np.r_[c_cal[1:] != c_cal[:-1], True])  # each one's last day by then
    last[c_cal[ends]] = d_cal[ends]
    spent = np.bincount(c[cal_rows], weights=m[cal_rows], minlength=n_all)
    holdout = np.bincount(c[~cal_rows], minlength=n_all).astype(np.float64)

    ids = np.asarray(transactions.customer_ids)
    keep = np.flatnonzero(days_before > 0)
    keep = keep[np.argsort(ids[keep], kind="stable")]
    x = (days_before[keep] - 1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(x > 0, (spent[keep] - first_amount[keep]) / x, 0.0)
    end = max(int(d.max()), cal)
    return Summary(
        customer_id=ids[keep],
        x=x,
        t_x=(last[keep] - first[keep]) / DAYS_PER_WEEK,
        T=(cal - first[keep]) / DAYS_PER_WEEK,
        monetary=monetary,
        holdout=holdout[keep],
        calibration_end=calibration_end,
        holdout_end=_day_to_date(end),
        holdout_weeks=(end - cal) / DAYS_PER_WEEK,
    )


# --- Optimisation ----------------------------------------------------------------------


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """BLAS on one thread: the fits do 4x4 algebra, and a threaded BLAS waking its pool on a
    busy machine made a 4 ms fit take over 100 ms."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _fd_hessian(objective: Objective, theta: FloatArray, step: float = 1e-5) -> FloatArray:
    """Central differences of the analytic gradient, symmetrised."""
    k = theta.size
    hessian = np.empty((k, k))
    for i in range(k):
        shift = np.zeros(k)
        shift[i] = step
        hessian[:, i] = (objective(theta + shift)[1] - objective(theta - shift)[1]) / (2 * step)
    return (hessian + hessian.T) / 2


@dataclass(frozen=True)
class _Optimum:
    theta: FloatArray
    hessian: FloatArray
    evaluations: int
    # Ended because f stopped moving beyond its round-off (see ``_minimise``).
    settled: bool = False


def _newton_step(hessian: FloatArray, gradient: FloatArray) -> FloatArray | None:
    """The Newton step, or None where the Hessian is not positive definite."""
    try:
        np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        return None
    return -np.asarray(np.linalg.solve(hessian, gradient), dtype=np.float64)


def _minimise(
    objective: Objective, theta0: FloatArray, hessian: FloatArray | None = None
) -> _Optimum:
    """Minimise a mean negative log-likelihood over log-parameters.

    Without a ``hessian``: L-BFGS-B, then Newton steps. With one (a good start's, e.g. a
    subsample's): Newton steps straight away. Each accepted step updates the Hessian (BFGS);
    it is recomputed by finite differences when it stops giving descent.
    """
    evaluations = 0

    def counted(theta: FloatArray) -> tuple[float, FloatArray]:
        nonlocal evaluations
        evaluations += 1
        return objective(theta)

    bound = 30.0
    theta = theta0
    if hessian is None:
        result = optimize.minimize(
            counted,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-bound, bound)] * theta0.size,
            options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-11, "maxcor": 20},
        )
        theta = np.asarray(result.x, dtype=np.float64)
    f, g = counted(theta)
    fresh = hessian is None
    stalls = 0
    if hessian is None:
        hessian = _fd_hessian(counted, theta)
    for _ in range(40):
        if np.max(np.abs(g)) < 1e-14:  # round-off level: the mean's terms are near 1
            break
        step = _newton_step(hessian, g)
        if step is None and not fresh:
            hessian, fresh = _fd_hessian(counted, theta), True
            step = _newton_step(hessian, g)
        if step is None:  # not convex here: a short gradient step instead
            step = -g / max(float(np.linalg.norm(g)), 1.0)
        accepted = None
        size = 1.0
        for _ in range(12):
            candidate = np.clip(theta + size * step, -bound, bound)
            fc, gc = counted(candidate)
            # Near the optimum f moves at round-off level: a step that does not raise f beyond
            # that and shrinks the gradient is progress.
            if fc < f - 1e-14 * abs(f) or (
                fc <= f + 1e-13 * max(abs(f), 1.0) and np.linalg.norm(gc) < np.linalg.norm(g)
            ):
                accepted = candidate, fc, gc
                break
            size /= 2
        if accepted is None:
            if fresh:
                break
            hessian, fresh = _fd_hessian(counted, theta), True
            continue
        s, y = accepted[0] - theta, accepted[2] - g
        # Steps that lower f by no more than its round-off are wandering along a flat ridge (a
        # parameter the data leave free, e.g. b when a runs to its bound): three end the search.
        stalls = stalls + 1 if f - accepted[1] <= 1e-12 * max(abs(f), 1.0) else 0
        theta, f, g = accepted
        fresh = False
        if np.max(np.abs(s)) < 1e-10 or stalls >= 3:  # settled: more is round-off
            break
        if float(s @ y) > 1e-300:
            hs = hessian @ s
            hessian = hessian - np.outer(hs, hs) / float(s @ hs) + np.outer(y, y) / float(y @ s)
    return _Optimum(theta, hessian, evaluations, settled=stalls >= 3)


class _Data(Protocol):
    n: int


DataT = TypeVar("DataT", bound=_Data)
LogLik = Callable[[FloatArray, DataT], tuple[float, FloatArray]]


def _objective(loglik: LogLik[DataT], data: DataT) -> Objective:
    """The mean negative log-likelihood over log-parameters, and its gradient."""

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(theta)
        ll, grad = loglik(params, data)
        if not math.isfinite(ll):
            return 1e300, np.zeros(theta.size)
        return -ll / data.n, -grad * params / data.n

    return objective


def _fit(
    loglik: LogLik[DataT], data_of: Callable[[slice], DataT], n: int, start: Sequence[float]
) -> tuple[FloatArray, DataT, int, bool]:
    """Maximise a likelihood over all rows, from a strided subsample's optimum when many.

    Returns the parameters, the full data, the number of likelihood evaluations and whether the
    search ended settled at round-off.
    """
    theta0 = np.log(np.asarray(start, dtype=np.float64))
    data = data_of(slice(None))
    with _one_blas_thread():
        if n <= SUBSAMPLE:
            optimum = _minimise(_objective(loglik, data), theta0)
            return np.exp(optimum.theta), data, optimum.evaluations, optimum.settled
        sample = data_of(slice(None, None, n // SUBSAMPLE_SIZE))
        first = _minimise(_objective(loglik, sample), theta0)
        optimum = _minimise(_objective(loglik, data), first.theta, first.hessian)
        evaluations = first.evaluations + optimum.evaluations
        return np.exp(optimum.theta), data, evaluations, optimum.settled


def _converged(grad: FloatArray, params: FloatArray, n: int, settled: bool) -> bool:
    """The mean gradient over log-parameters is below ``CONVERGED``; or the search settled at
    round-off with what is left below ``SETTLED`` (round-off of a direction the data leave flat:
    over a million customers, b's digamma differences when a runs to its bound)."""
    size = float(np.linalg.norm(grad * params)) / n
    return size < CONVERGED or (settled and size < SETTLED)


# --- BG/NBD ----------------------------------------------------------------------------


class _BgNbdData:
    """Arrays of a BG/NBD fit; terms of ``x`` alone are summed once per distinct ``x``."""

    def __init__(self, x: FloatArray, t_x: FloatArray, T: FloatArray) -> None:  # noqa: N803
        self.n = x.size
        xi = x.astype(np.int64)
        counts = np.bincount(xi).astype(np.float64)
        values = np.flatnonzero(counts)
        self.ux, self.cx = values.astype(np.float64), counts[values]
        self.x_max = int(values[-1])
        repeat = xi > 0
        self.T0 = T[~repeat]
        self.i1 = xi[repeat]
        self.x1, self.t1, self.T1 = x[repeat], t_x[repeat], T[repeat]


def _check_bgnbd(x: FloatArray, t_x: FloatArray, T: FloatArray) -> None:  # noqa: N803
    if not x.shape == t_x.shape == T.shape or x.ndim != 1 or x.size == 0:
        raise ValueError("x, t_x and T must be non-empty 1-D arrays of one length")
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ValueError("x must hold whole numbers >= 0")
    if np.any(t_x < 0) or np.any(t_x > T) or np.any((x == 0) & (t_x != 0)):
        raise ValueError("need 0 <= t_x <= T, and t_x = 0 where x = 0")
    if not np.any(x > 0):
        raise ValueError("no repeat purchase: the BG/NBD parameters are not identified")


def _bgnbd_loglik(params: FloatArray, d: _BgNbdData) -> tuple[float, FloatArray]:
    """Total log-likelihood and its gradient over (r, alpha, a, b) (FHL 2005, eq. 6)."""
    r, alpha, a, b = (float(v) for v in params)
    ux, cx, n = d.ux, d.cx, d.n
    # Terms of x alone: log Γ(r+x) Γ(b+x) / Γ(a+b+x), plus the constants.
    psi_abx = digamma(a + b + ux)
    ll = float(cx @ (gammaln(r + ux) + gammaln(b + ux) - gammaln(a + b + ux)))
    ll += n * (r * math.log(alpha) - gammaln(r) - gammaln(b) + gammaln(a + b))
    g_r = float(cx @ digamma(r + ux)) + n * (math.log(alpha) - digamma(r))
    g_alpha = n * r / alpha
    g_a = -float(cx @ psi_abx) + n * digamma(a + b)
    g_b = float(cx @ (digamma(b + ux) - psi_abx)) + n * (digamma(a + b) - digamma(b))
    # x = 0: the likelihood's bracket is (alpha+T)^-r.
    log_t0 = np.log(d.T0 + alpha)
    ll -= r * float(log_t0.sum())
    g_r -= float(log_t0.sum())
    g_alpha -= r * float(np.reciprocal(d.T0 + alpha).sum())
    # x > 0: log[(alpha+T)^-(r+x) + a/(b+x-1) (alpha+t_x)^-(r+x)]
    #      = -(r+x) log(alpha+T) + softplus(z), z = log a/(b+x-1) + (r+x) log((alpha+T)/(alpha+t_x))
    rest = np.arange(1, d.x_max + 1, dtype=np.float64) + (b - 1)
    by_x = np.empty(d.x_max + 1)
    by_x[1:] = math.log(a) - np.log(rest)
    rx = d.x1 + r
    age = d.T1 + alpha
    log_age = np.log(age)
    gap = log_age - np.log(d.t1 + alpha)
    z = by_x[d.i1]
    z += rx * gap
    e = np.exp(-np.abs(z))  # one exp serves the softplus and the sigmoid
    softplus = np.maximum(z, 0.0) + np.log1p(e)
    w = np.where(z >= 0, 1.0, e) / (1.0 + e)  # sigmoid(z): the second term's share
    ll += float(softplus.sum()) - float(rx @ log_age)
    g_r += float(w @ gap) - float(log_age.sum())
    inv_age = np.reciprocal(age)
    g_alpha -= float(rx @ inv_age) + float((w * rx) @ (np.reciprocal(d.t1 + alpha) - inv_age))
    g_a += float(w.sum()) / a
    g_b -= float(np.bincount(d.i1, weights=w, minlength=d.x_max + 1)[1:] @ np.reciprocal(rest))
    return ll, np.array([g_r, g_alpha, g_a, g_b])


def bgnbd_loglik(
    params: Sequence[float],
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,  # noqa: N803
) -> tuple[float, FloatArray]:
    """BG/NBD total log-likelihood of (r, alpha, a, b) and its gradient over them."""
    _check_bgnbd(x, t_x, T)
    return _bgnbd_loglik(np.asarray(params, dtype=np.float64), _BgNbdData(x, t_x, T))


def fit_bgnbd(
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,  # noqa: N803
    *,
    start: Sequence[float] | None = None,
) -> BgNbdFit:
    """Maximum-likelihood BG/NBD fit of (r, alpha, a, b) (FHL 2005, Marketing Science)."""
    x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))  # noqa: N806
    _check_bgnbd(x, t_x, T)
    if start is None:
        start = (1.0, max(float(T.mean()), 1e-3), 1.0, 1.0)  # alpha: the time scale
    params, data, evaluations, settled = _fit(
        _bgnbd_loglik, lambda rows: _BgNbdData(x[rows], t_x[rows], T[rows]), x.size, start
    )
    with _one_blas_thread():
        ll, grad = _bgnbd_loglik(params, data)
    r, alpha, a, b = (float(v) for v in params)
    return BgNbdFit(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        loglik=float(ll),
        gradient_norm=float(np.linalg.norm(grad)),
        converged=_converged(grad, params, x.size, settled),
        evaluations=evaluations + 1,
    )


# --- Gamma-Gamma -----------------------------------------------------------------------


class _GammaGammaData:
    def __init__(self, x: FloatArray, m: FloatArray) -> None:
        self.n = x.size
        counts = np.bincount(x.astype(np.int64)).astype(np.float64)
        values = np.flatnonzero(counts)
        self.ux, self.cx = values.astype(np.float64), counts[values]
        self.x, self.mx = x, m * x
        log_m = np.log(m)
        self.constant_p = float(x @ log_m) + float(x @ np.log(x))  # p Σ x (log m + log x)
        self.sum_log_m = float(log_m.sum())


def _gamma_gamma_loglik(params: FloatArray, d: _GammaGammaData) -> tuple[float, FloatArray]:
    """Total log-likelihood and gradient over (p, q, gamma) of mean spends (FHL 2005, JMR)."""
    p, q, g = (float(v) for v in params)
    ux, cx, n = d.ux, d.cx, d.n
    pxq = p * ux + q
    psi_pxq = digamma(pxq)
    log_gm = np.log(d.mx + g)
    sum_log = float(log_gm.sum())
    x_log = float(d.x @ log_gm)
    ll = float(cx @ (gammaln(pxq) - gammaln(p * ux))) + n * (q * math.log(g) - gammaln(q))
    ll += p * d.constant_p - d.sum_log_m - p * x_log - q * sum_log
    g_p = float((cx * ux) @ (psi_pxq - digamma(p * ux))) + d.constant_p - x_log
    g_q = float(cx @ psi_pxq) + n * (math.log(g) - digamma(q)) - sum_log
    inv = np.reciprocal(d.mx + g)
    g_g = n * q / g - p * float(d.x @ inv) - q * float(inv.sum())
    return ll, np.array([g_p, g_q, g_g])


def _check_gamma_gamma(x: FloatArray, m: FloatArray) -> None:
    if x.shape != m.shape or x.ndim != 1 or x.size == 0:
        raise ValueError("x and m must be non-empty 1-D arrays of one length")
    if np.any(x <= 0) or np.any(x != np.floor(x)) or np.any(m <= 0):
        raise ValueError("Gamma-Gamma needs whole x > 0 and m > 0 (see spend_inputs)")


def gamma_gamma_loglik(
    params: Sequence[float], x: FloatArray, m: FloatArray
) -> tuple[float, FloatArray]:
    """Gamma-Gamma total log-likelihood of (p, q, gamma) and its gradient over them."""
    _check_gamma_gamma(x, m)
    return _gamma_gamma_loglik(np.asarray(params, dtype=np.float64), _GammaGammaData(x, m))


def spend_inputs(summary: Summary) -> tuple[FloatArray, FloatArray]:
    """The Gamma-Gamma model's customers: ``x`` and mean repeat amount where both are > 0."""
    keep = (summary.x > 0) & (summary.monetary > 0)
    return summary.x[keep], summary.monetary[keep]


def fit_gamma_gamma(
    x: FloatArray, m: FloatArray, *, start: Sequence[float] | None = None
) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma fit of (p, q, gamma) on mean repeat spends ``m``."""
    x, m = (np.asarray(v, dtype=np.float64) for v in (x, m))
    _check_gamma_gamma(x, m)
    if start is None:
        start = (1.0, 1.0, float(m.mean()))
    params, data, evaluations, settled = _fit(
        _gamma_gamma_loglik, lambda rows: _GammaGammaData(x[rows], m[rows]), x.size, start
    )
    with _one_blas_thread():
        ll, grad = _gamma_gamma_loglik(params, data)
    p, q, gamma = (float(v) for v in params)
    return GammaGammaFit(
        p=p,
        q=q,
        gamma=gamma,
        loglik=float(ll),
        gradient_norm=float(np.linalg.norm(grad)),
        converged=_converged(grad, params, x.size, settled),
        evaluations=evaluations + 1,
        customers=x.size,
    )


# --- Predictions -----------------------------------------------------------------------


def p_alive(fit: BgNbdFit, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:  # noqa: N803
    """P(still a customer at T | x, t_x, T) (FHL 2005, eq. 13); 1 for x = 0."""
    r, alpha, a, b = fit.params
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = math.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    alive: FloatArray = np.where(x > 0, expit(-z), 1.0)
    return alive


def expected_purchases(
    fit: BgNbdFit,
    t: float | FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,  # noqa: N803
) -> FloatArray:
    """E[purchases in the next ``t`` weeks | x, t_x, T] (FHL 2005, eq. 10).

    Written with Euler's transformation,
    ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x-1; z) = (1-z)^(a-1) ₂F₁(a+b-1-r, a-1; a+b+x-1; z)
    with z = t/(α+T+t), which stays bounded for large x.
    """
    r, alpha, a, b = fit.params
    if abs(a - 1.0) < 1e-10:
        a = 1.0 + 1e-10  # a removable singularity
    x = np.asarray(x, dtype=np.float64)
    z = t / (alpha + np.asarray(T, dtype=np.float64) + t)
    c = a + b + x - 1.0
    hyp = hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
    # 1 - (1-z)^(a-1) hyp, accurate for small t
    with np.errstate(divide="ignore"):
        rest = -np.expm1((a - 1.0) * np.log1p(-z) + np.log(hyp))
    expected: FloatArray = c / (a - 1.0) * rest * p_alive(fit, x, t_x, T)
    return expected


def expected_purchases_new(fit: BgNbdFit, t: float | FloatArray) -> FloatArray:
    """E[repeat purchases in ``t`` weeks] of a customer who just made a first one (eq. 9)."""
    r, alpha, a, b = fit.params
    t = np.asarray(t, dtype=np.float64)
    expected: FloatArray = (
        (a + b - 1.0)
        / (a - 1.0)
        * (1.0 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1.0, t / (alpha + t)))
    )
    return expected


def days_to_next_order(
    fit: BgNbdFit,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,  # noqa: N803
    *,
    probability: float = 0.5,
) -> FloatArray:
    """Days from ``T`` within which an active customer orders again with ``probability``.

    A customer still alive waits W for the next purchase, with P(W > t) = ((α+T)/(α+T+t))^(r+x)
    (the rate's posterior is Gamma(r+x, α+T)); this is W's quantile, in days. The median
    (``probability`` 0.5) is always finite, unlike the mean (see expected_days_to_next_order).
    Whether the customer is alive is P(alive)'s part.
    """
    r, alpha, _a, _b = fit.params
    if not 0 < probability < 1:
        raise ValueError("probability must be between 0 and 1")
    shape = r + np.asarray(x, dtype=np.float64)
    weeks = (alpha + np.asarray(T, dtype=np.float64)) * np.expm1(-math.log1p(-probability) / shape)
    days: FloatArray = weeks * DAYS_PER_WEEK
    return days


def expected_days_to_next_order(
    fit: BgNbdFit,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,  # noqa: N803
) -> FloatArray:
    """E[days to the next order | alive, x, t_x, T] = 7 (α+T)/(r+x-1); inf when r+x <= 1.

    The mean of 1/λ under λ's posterior Gamma(r+x, α+T): finite once the customer has bought
    often enough (r+x > 1), infinite before (a one-purchase customer when r < 1).
    """
    r, alpha, _a, _b = fit.params
    shape = r + np.asarray(x, dtype=np.float64) - 1.0
    with np.errstate(divide="ignore"):
        weeks = np.where(shape > 0, (alpha + np.asarray(T)) / np.maximum(shape, 1e-300), np.inf)
    days: FloatArray = weeks * DAYS_PER_WEEK
    return days


def expected_spend(fit: GammaGammaFit, x: FloatArray, m: FloatArray) -> FloatArray:
    """E[mean transaction value | x, m] = p (γ + m x) / (p x + q - 1); the mean γp/(q-1) at x = 0.

    Needs q > 1 (else the population mean spend is infinite).
    """
    p, q, gamma = fit.params
    if q <= 1:
        raise ValueError("q <= 1: the expected spend is infinite")
    x = np.asarray(x, dtype=np.float64)
    m = np.where(x > 0, np.asarray(m, dtype=np.float64), 0.0)
    spend: FloatArray = p * (gamma + m * x) / (p * x + q - 1.0)
    return spend


def lifetime_value(
    purchases: BgNbdFit,
    spend: GammaGammaFit,
    summary: Summary,
    *,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
) -> FloatArray:
    """Each customer's discounted expected spend over the next ``months`` calendar months.

    Σ_k E[spend] (E[Y(k months)] - E[Y(k-1 months)]) / (1 + d)^k, the purchases of month k
    discounted at the end of that month (as ``lifetimes`` does, which takes 4.345 weeks a month).
    """
    x, t_x, T = summary.x, summary.t_x, summary.T  # noqa: N806
    value = np.zeros_like(x)
    before = np.zeros_like(x)
    for k in range(1, months + 1):
        through = expected_purchases(purchases, k * WEEKS_PER_MONTH, x, t_x, T)
        value += (through - before) / (1.0 + monthly_discount_rate) ** k
        before = through
    worth: FloatArray = expected_spend(spend, x, summary.monetary) * value
    return worth


def holdout(fit: BgNbdFit, summary: Summary) -> Holdout:
    """Actual against predicted repeat purchases in the holdout, by calibration frequency."""
    predicted = expected_purchases(fit, summary.holdout_weeks, summary.x, summary.t_x, summary.T)
    group = np.minimum(summary.x, HOLDOUT_GROUPS).astype(np.int64)
    count = np.bincount(group, minlength=HOLDOUT_GROUPS + 1)
    actual_sum = np.bincount(group, weights=summary.holdout, minlength=HOLDOUT_GROUPS + 1)
    predicted_sum = np.bincount(group, weights=predicted, minlength=HOLDOUT_GROUPS + 1)
    labels = [str(k) for k in range(HOLDOUT_GROUPS)] + [f"{HOLDOUT_GROUPS}+"]
    groups = [
        HoldoutGroup(
            frequency=label,
            customers=int(n),
            actual_mean=float(actual / n) if n else 0.0,
            predicted_mean=float(pred / n) if n else 0.0,
        )
        for label, n, actual, pred in zip(labels, count, actual_sum, predicted_sum, strict=True)
    ]
    return Holdout(
        start=summary.calibration_end + dt.timedelta(days=1),
        end=summary.holdout_end,
        weeks=summary.holdout_weeks,
        groups=groups,
        customers=int(summary.x.size),
        actual=float(summary.holdout.sum()),
        predicted=float(predicted.sum()),
    )


@dataclass(frozen=True)
class Calibration:
    """Both models fitted on a transactions file at a calibration end, and their holdout."""

    summary: Summary
    purchases: BgNbdFit
    spend: GammaGammaFit | None  # None when no repeat customer spent anything
    holdout: Holdout


def calibrate(path: Path, calibration_end: dt.date) -> Calibration:
    """Read a transactions CSV, fit BG/NBD and Gamma-Gamma at ``calibration_end``, check the
    holdout (``cxloop clv fit``)."""
    summary = summarise(read_transactions(path), calibration_end)
    if not np.any(summary.x > 0):
        raise InvalidInput(
            str(path),
            f"no customer bought again by {calibration_end}: the purchase model needs repeat "
            "purchases",
        )
    purchases = fit_bgnbd(summary.x, summary.t_x, summary.T)
    x, m = spend_inputs(summary)
    spend = fit_gamma_gamma(x, m) if x.size else None
    return Calibration(summary, purchases, spend, holdout(purchases, summary))


def simulate_bgnbd(
    params: Sequence[float],
    T: FloatArray,  # noqa: N803
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Draw (x, t_x, T) from the BG/NBD process, one customer per ``T``.

    λ ~ Gamma(r, 1/α), p ~ Beta(a, b); purchases while alive are Poisson(λ); the customer may
    drop out after each repeat purchase, never after the first (the likelihood's
    P(X(t) = 0) = (α/(α+t))^r says so), so the repeat purchases allowed are geometric on
    1, 2, ... Of n Poisson events in (0, T] the first min(n, allowed) happen, and the last of
    them is the x-th of n sorted uniforms: T Beta(x, n - x + 1).
    """
    r, alpha, a, b = params
    n = T.size
    rate = rng.gamma(r, 1.0 / alpha, n)
    dropout = rng.beta(a, b, n)
    allowed = rng.geometric(dropout)
    events = rng.poisson(rate * T)
    x = np.minimum(allowed, events)
    t_x = np.zeros(n)
    bought = x > 0
    t_x[bought] = T[bought] * rng.beta(x[bought], events[bought] - x[bought] + 1)
    return x.astype(np.float64), t_x, T


__all__ = [
    "BgNbdFit",
    "Calibration",
    "GammaGammaFit",
    "Holdout",
    "HoldoutGroup",
    "Summary",
    "Transactions",
    "bgnbd_loglik",
    "calibrate",
    "days_to_next_order",
    "expected_days_to_next_order",
    "expected_purchases",
    "expected_purchases_new",
    "expected_spend",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "gamma_gamma_loglik",
    "holdout",
    "lifetime_value",
    "p_alive",
    "read_transactions",
    "simulate_bgnbd",
    "spend_inputs",
    "summarise",
]

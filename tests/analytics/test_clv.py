"""CLV models: the CDNOW reproduction, the true maximum, untidy files and the predictions."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest

from cxloop import analytics
from cxloop.analytics import clv
from cxloop.cli import main
from cxloop.errors import InvalidInput
from tests.helpers.data import shared_data

CDNOW = shared_data("cdnow")
CALIBRATION_END = dt.date(1997, 9, 30)


def significant(value: float, digits: int = 3) -> float:
    """``value`` rounded to ``digits`` significant digits."""
    return float(f"{value:.{digits}g}")


@pytest.fixture(scope="module")
def sample() -> clv.Summary:
    return clv.summarise(clv.read_transactions(CDNOW / "cdnow_sample.csv"), CALIBRATION_END)


@pytest.fixture(scope="module")
def master() -> clv.Summary:
    return clv.summarise(clv.read_transactions(CDNOW / "cdnow_master.csv"), CALIBRATION_END)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "transactions.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_cdnow_sample_reproduces_the_published_estimates(sample: clv.Summary) -> None:
    # given the CDNOW sample at the papers' calibration end (Fader, Hardie & Lee 2005)
    assert sample.x.size == 2357
    # when both models are fitted
    purchases = clv.fit_bgnbd(sample.x, sample.t_x, sample.T)
    spend = clv.fit_gamma_gamma(*clv.spend_inputs(sample))
    # then the published estimates come back to three significant digits
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    ours = dict(zip(published, purchases.params, strict=True))
    assert {k: significant(v) for k, v in ours.items()} == {
        k: significant(v) for k, v in published.items()
    }
    assert round(purchases.loglik, 1) == -9582.4
    assert purchases.converged
    assert [significant(v) for v in spend.params] == [6.25, 3.74, 15.4]
    assert round(spend.gamma, 2) == 15.44
    assert spend.customers == 946


def test_cdnow_master_fit_reaches_the_true_maximum(master: clv.Summary) -> None:
    # given the full CDNOW master, where L-BFGS-B alone stops at a gradient near 1e-5
    assert master.x.size == 23570
    # when BG/NBD is fitted from the default start and from a far one
    fit = clv.fit_bgnbd(master.x, master.t_x, master.T)
    other = clv.fit_bgnbd(master.x, master.t_x, master.T, start=(5.0, 50.0, 3.0, 0.5))
    # then both end at the maximum: a gradient at round-off level, the same estimates
    assert fit.converged and other.converged
    assert fit.gradient_norm < 1e-8 and other.gradient_norm < 1e-8
    assert fit.loglik == pytest.approx(-95368.443933, abs=1e-6)
    assert np.allclose(fit.params, other.params, rtol=1e-7)
    assert np.allclose(fit.params, (0.2516240, 4.788943, 0.7234336, 2.161088), rtol=1e-6)
    # and the analytic gradient is zero there, checked by finite differences of the likelihood
    x, t_x, age = master.x, master.t_x, master.T
    for i, value in enumerate(fit.params):
        step = np.zeros(4)
        step[i] = 1e-6 * value
        up = clv.bgnbd_loglik(np.add(fit.params, step), x, t_x, age)[0]
        down = clv.bgnbd_loglik(np.subtract(fit.params, step), x, t_x, age)[0]
        assert abs((up - down) / (2 * step[i])) < 1e-3


def test_cdnow_master_spend_fit_reaches_the_true_maximum(master: clv.Summary) -> None:
    # given the master's repeat customers with a positive mean spend (one has a mean of 0)
    x, m = clv.spend_inputs(master)
    assert x.size == int((master.x > 0).sum()) - 1
    # when Gamma-Gamma is fitted from two starts
    fit = clv.fit_gamma_gamma(x, m)
    other = clv.fit_gamma_gamma(x, m, start=(20.0, 10.0, 100.0))
    # then both reach the same maximum
    assert fit.converged and fit.gradient_norm < 1e-8
    assert np.allclose(fit.params, other.params, rtol=1e-7)
    assert np.allclose(fit.params, (6.2753591, 3.6244500, 14.983687), rtol=1e-6)


def test_the_gradient_matches_finite_differences(sample: clv.Summary) -> None:
    # given parameters away from the maximum
    bg, gg = np.array([0.5, 3.0, 1.2, 4.0]), np.array([3.0, 2.0, 10.0])
    x, m = clv.spend_inputs(sample)
    for loglik, params, args in (
        (clv.bgnbd_loglik, bg, (sample.x, sample.t_x, sample.T)),
        (clv.gamma_gamma_loglik, gg, (x, m)),
    ):
        # when the analytic gradient is compared with central differences
        _, grad = loglik(params, *args)  # type: ignore[operator]
        for i, value in enumerate(params):
            step = np.zeros(params.size)
            step[i] = 1e-6 * value
            up = loglik(params + step, *args)[0]  # type: ignore[operator]
            down = loglik(params - step, *args)[0]  # type: ignore[operator]
            # then they agree
            assert grad[i] == pytest.approx((up - down) / (2 * step[i]), rel=1e-5)


def test_a_million_customers_fit_from_a_subsample_reaches_the_plain_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given 250,000 customers drawn from the BG/NBD process (above the subsample threshold)
    rng = np.random.default_rng(7)
    x, t_x, age = clv.simulate_bgnbd(
        (0.243, 4.414, 0.793, 2.426), rng.uniform(27, 39, 250_000), rng
    )
    # when fitted through the subsample's start, and plainly
    started = clv.fit_bgnbd(x, t_x, age)
    monkeypatch.setattr(clv, "SUBSAMPLE", 10**9)
    plain = clv.fit_bgnbd(x, t_x, age)
    # then both reach the same maximum, near the truth
    assert started.converged and plain.converged
    assert np.allclose(started.params, plain.params, rtol=1e-7)
    assert started.loglik == pytest.approx(plain.loglik, abs=1e-6)
    assert np.allclose(started.params, (0.243, 4.414, 0.793, 2.426), rtol=0.1)


def test_a_fit_on_a_flat_ridge_through_the_subsample_settles_converged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given 250,000 customers who never drop out (NBD purchases only): the dropout parameter a
    # runs to its bound, and b is left flat, its gradient round-off
    rng = np.random.default_rng(3)
    age = rng.uniform(20, 100, 250_000)
    x = rng.poisson(rng.gamma(0.4, 1 / 3.0, age.size) * age).astype(np.float64)
    t_x = np.where(x > 0, age * rng.beta(np.maximum(x, 1), 1), 0.0)
    # when fitted through the subsample's start, and plainly
    started = clv.fit_bgnbd(x, t_x, age)
    monkeypatch.setattr(clv, "SUBSAMPLE", 10**9)
    plain = clv.fit_bgnbd(x, t_x, age)
    # then both say converged, with the purchase rate's parameters and the likelihood alike
    assert started.converged and plain.converged
    assert started.loglik == pytest.approx(plain.loglik, abs=1.0)
    assert np.allclose(started.params[:2], plain.params[:2], rtol=1e-3)
    assert started.a / (started.a + started.b) < 1e-6


# --- Untidy files -----------------------------------------------------------------------


UNTIDY = """customer_id,quantity,date,amount,note
b,1,1997-03-08,0,free sample
a,2,1997-01-01,10.00,
a,1,1997-01-15,4.50,
a,3,1997-01-15,5.50,same day
c,1,1997-01-20,8.00,one purchase
a,1,1997-01-29,0,
b,1,1997-01-01,20.00,
a,1,1997-10-03,7.00,holdout
b,1,1997-10-03,1.00,
b,1,1997-10-04,1.00,
d,1,1997-10-05,9.00,first buys after the calibration end
"""


def test_untidy_transactions_are_summarised_as_the_papers_do(tmp_path: Path) -> None:
    # given unsorted rows with an extra column, same-day and zero-value purchases,
    # a one-purchase customer and one who first buys after the calibration end
    path = write(tmp_path, UNTIDY)
    # when summarised at 1997-09-30
    summary = clv.summarise(clv.read_transactions(path), CALIBRATION_END)
    # then d is left out, a's same-day purchases are one, zero-value days count
    assert summary.customer_id.tolist() == ["a", "b", "c"]
    assert summary.x.tolist() == [2.0, 1.0, 0.0]
    assert summary.t_x.tolist() == [28 / 7, 66 / 7, 0.0]
    assert summary.T.tolist() == [272 / 7, 272 / 7, 253 / 7]
    # and the mean repeat amount leaves the first purchase out: (10 + 0) / 2, 0 / 1
    assert summary.monetary.tolist() == [5.0, 0.0, 0.0]
    # and the holdout runs to the last day in the file, counting distinct days
    assert summary.holdout.tolist() == [1.0, 2.0, 0.0]
    assert summary.holdout_end == dt.date(1997, 10, 5)
    assert summary.holdout_weeks == 5 / 7
    # and the spend model sees only a (b's mean repeat amount is 0)
    x, m = clv.spend_inputs(summary)
    assert x.tolist() == [2.0] and m.tolist() == [5.0]


def test_row_order_does_not_change_the_summary(tmp_path: Path) -> None:
    # given the sample's rows reversed, with a semicolon separator
    lines = (CDNOW / "cdnow_sample.csv").read_text(encoding="utf-8").splitlines()
    path = write(tmp_path, "\n".join([lines[0], *reversed(lines[1:])]).replace(",", ";"))
    # when both files are summarised
    ours = clv.summarise(clv.read_transactions(path), CALIBRATION_END)
    reference = clv.summarise(clv.read_transactions(CDNOW / "cdnow_sample.csv"), CALIBRATION_END)
    # then the summaries are the same
    for name in ("customer_id", "x", "t_x", "T", "monetary", "holdout"):
        assert np.array_equal(getattr(ours, name), getattr(reference, name)), name


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (
            "customer_id,date,amount\na,1997-01-01,3\na,97-13-01,2\n",
            ":3",
            "'97-13-01' is not a date",
        ),
        ("customer_id,date,amount\na,1997-01-01,-3\n", ":2", "'-3': a finite amount >= 0"),
        ("customer_id,date,amount\na,1997-01-01,nan\n", ":2", "finite amount"),
        ("customer_id,date,amount\na,1997-01-01,x\n", ":2", "'x' is not a number"),
        ("customer_id,date,amount\n,1997-01-01,3\n", ":2", "customer_id is empty"),
        ("", "transactions.csv", "empty file"),
        ("customer_id,date,amount\n", "transactions.csv", "no transactions"),
        ("customer_id,day,amount\na,1997-01-01,3\n", "transactions.csv", "no 'date' column"),
    ],
)
def test_bad_files_are_refused_naming_the_line_or_column(
    tmp_path: Path, text: str, field: str, message: str
) -> None:
    # given a file with one fault
    path = write(tmp_path, text)
    # when it is read, then the refusal names where and why
    with pytest.raises(InvalidInput) as refused:
        clv.read_transactions(path)
    assert refused.value.field.endswith(field)
    assert message in refused.value.message


def test_a_calibration_end_before_all_purchases_is_refused(tmp_path: Path) -> None:
    transactions = clv.read_transactions(write(tmp_path, UNTIDY))
    with pytest.raises(InvalidInput) as refused:
        clv.summarise(transactions, dt.date(1996, 12, 31))
    assert refused.value.field == "calibration_end"
    assert "before the first purchase (1997-01-01)" in refused.value.message


# --- Predictions ------------------------------------------------------------------------


FIT = clv.BgNbdFit(
    r=0.243, alpha=4.414, a=0.793, b=2.426, loglik=0, gradient_norm=0, converged=True, evaluations=0
)
SPEND = clv.GammaGammaFit(
    p=6.25,
    q=3.74,
    gamma=15.44,
    loglik=0,
    gradient_norm=0,
    converged=True,
    evaluations=0,
    customers=0,
)


def test_p_alive_is_one_without_repeat_purchases_and_falls_with_silence() -> None:
    # given customers with no repeat purchase, and one with 2 whose last is ever older
    x = np.array([0.0, 0.0, 2.0, 2.0, 2.0])
    t_x = np.array([0.0, 0.0, 30.0, 20.0, 10.0])
    age = np.full(5, 39.0)
    alive = clv.p_alive(FIT, x, t_x, age)
    # then p_alive is 1 for the first two and falls as the last purchase recedes
    assert alive[:2].tolist() == [1.0, 1.0]
    assert alive[2] < 1 and alive[4] > 0
    assert alive[2] > alive[3] > alive[4]
    # and it is eq. 13 of the paper, computed by hand for x=2, t_x=30, T=39
    by_hand = 1 / (1 + 0.793 / (2.426 + 2 - 1) * ((4.414 + 39) / (4.414 + 30)) ** (0.243 + 2))
    assert alive[2] == pytest.approx(by_hand, rel=1e-12)


def test_expected_purchases_grow_with_the_horizon() -> None:
    x, t_x, age = np.array([0.0, 1.0, 5.0]), np.array([0.0, 10.0, 35.0]), np.array([30.0] * 3)
    horizons = [0.0, 1.0, 4.0, 13.0, 52.0, 520.0]
    expected = np.array([clv.expected_purchases(FIT, t, x, t_x, age) for t in horizons])
    assert expected[0].tolist() == [0.0, 0.0, 0.0]
    assert np.all(np.diff(expected, axis=0) > 0)


def test_a_brand_new_customer_expects_the_unconditional_purchases() -> None:
    # given a customer who has just made a first purchase (x = 0, T = 0)
    for t in (1.0, 39.0, 100.0):
        conditional = clv.expected_purchases(FIT, t, np.zeros(1), np.zeros(1), np.zeros(1))
        # then E[Y(t) | 0, 0, 0] is E[X(t)] (eq. 9 against eq. 10)
        assert conditional[0] == pytest.approx(float(clv.expected_purchases_new(FIT, t)), rel=1e-10)


def test_days_to_the_next_order() -> None:
    x, t_x, age = np.array([0.0, 3.0]), np.array([0.0, 20.0]), np.array([10.0, 30.0])
    # the median: P(W > t) = ((α+T)/(α+T+t))^(r+x) is one half there
    median = clv.days_to_next_order(FIT, x, t_x, age) / 7
    survival = ((FIT.alpha + age) / (FIT.alpha + age + median)) ** (FIT.r + x)
    assert survival == pytest.approx([0.5, 0.5], rel=1e-12)
    # the mean: 7 (α+T)/(r+x-1), infinite for a one-purchase customer when r < 1
    mean = clv.expected_days_to_next_order(FIT, x, t_x, age)
    assert math.isinf(mean[0])
    assert mean[1] == pytest.approx(7 * (4.414 + 30) / (0.243 + 2), rel=1e-12)


def test_expected_spend_and_lifetime_value() -> None:
    # expected spend: p (γ + m x) / (p x + q - 1), the population mean for x = 0
    spend = clv.expected_spend(SPEND, np.array([0.0, 2.0]), np.array([99.0, 30.0]))
    assert spend[0] == pytest.approx(6.25 * 15.44 / 2.74)
    assert spend[1] == pytest.approx(6.25 * (15.44 + 60) / (12.5 + 2.74))
    # undiscounted, 12 months of value are the expected spend times a year's purchases
    summary = clv.Summary(
        customer_id=np.array(["a", "b"]),
        x=np.array([0.0, 2.0]),
        t_x=np.array([0.0, 20.0]),
        T=np.array([30.0, 30.0]),
        monetary=np.array([0.0, 30.0]),
        holdout=np.zeros(2),
        calibration_end=CALIBRATION_END,
        holdout_end=CALIBRATION_END,
        holdout_weeks=0.0,
    )
    flat = clv.lifetime_value(FIT, SPEND, summary, monthly_discount_rate=0.0)
    year = clv.expected_purchases(FIT, 365.25 / 7, summary.x, summary.t_x, summary.T)
    assert flat == pytest.approx(spend * year, rel=1e-12)
    # and discounting lowers it
    assert np.all(clv.lifetime_value(FIT, SPEND, summary) < flat)


def test_the_holdout_table_of_the_cdnow_sample(sample: clv.Summary) -> None:
    # given the sample fitted to 1997-09-30, its data ending 1998-06-30
    table = clv.holdout(clv.fit_bgnbd(sample.x, sample.t_x, sample.T), sample)
    # then the holdout is the 39 weeks after, with 1,882 repeat purchases (FHL 2005)
    assert (table.start, table.end, table.weeks) == (
        dt.date(1997, 10, 1),
        dt.date(1998, 6, 30),
        39.0,
    )
    assert table.actual == 1882 and table.customers == 2357
    assert [g.frequency for g in table.groups] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert [g.customers for g in table.groups] == [1411, 439, 214, 100, 62, 38, 29, 64]
    assert table.predicted == pytest.approx(1653.4, abs=0.1)
    assert sum(g.predicted_mean * g.customers for g in table.groups) == pytest.approx(
        table.predicted
    )


def test_the_facade_exports_the_public_functions() -> None:
    assert analytics.fit_bgnbd is clv.fit_bgnbd
    assert analytics.p_alive is clv.p_alive


# --- The command line -------------------------------------------------------------------


def cxloop(*args: str) -> int:
    """Run the CLI in this process; its exit status."""
    with pytest.raises(SystemExit) as stopped:
        main(list(args))
    return int(stopped.value.code or 0)


def test_clv_fit_prints_the_estimates_and_the_holdout_as_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # when the sample is fitted from the command line
    status = cxloop(
        "clv", "fit", "--transactions", str(CDNOW / "cdnow_sample.csv"),
        "--calibration-end", "1997-09-30", "--json",
    )  # fmt: skip
    # then one JSON document has the contract's shape and the papers' figures
    out = capsys.readouterr()
    assert status == 0 and out.err == ""
    document = json.loads(out.out)
    assert set(document) == {"bgnbd", "gamma_gamma", "customers", "holdout"}
    assert set(document["bgnbd"]) == {"r", "alpha", "a", "b", "loglik"}
    assert set(document["gamma_gamma"]) == {"p", "q", "gamma"}
    assert document["customers"] == 2357
    assert significant(document["bgnbd"]["alpha"], 4) == 4.414
    assert significant(document["gamma_gamma"]["gamma"], 4) == 15.44
    holdout = document["holdout"]
    assert set(holdout) == {
        "start", "end", "weeks", "groups", "customers", "actual", "predicted",
    }  # fmt: skip
    assert (holdout["start"], holdout["end"], holdout["weeks"]) == ("1997-10-01", "1998-06-30", 39)
    assert holdout["groups"][0] == {
        "frequency": "0",
        "customers": 1411,
        "actual_mean": pytest.approx(0.237, abs=5e-4),
        "predicted_mean": pytest.approx(0.225, abs=5e-4),
    }
    assert holdout["actual"] == 1882


def test_clv_fit_prints_a_readable_summary(capsys: pytest.CaptureFixture[str]) -> None:
    status = cxloop(
        "clv", "fit", "--transactions", str(CDNOW / "cdnow_sample.csv"),
        "--calibration-end", "1997-09-30",
    )  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[1].startswith("BG/NBD       r 0.2426  alpha 4.414  a 0.7929  b 2.426")
    assert lines[2].startswith("Gamma-Gamma  p 6.25  q 3.744  gamma 15.44")
    assert lines[-1].split() == ["7+", "64", "6.359", "6.157"]


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("customer_id,date,amount\na,1997-01-01,3\na,1997-02-30,2\n", "1997-09-30", ":3: date"),
        ("customer_id,date,amount\na,1997-01-01,-1\n", "1997-09-30", ":2: amount '-1'"),
        ("", "1997-09-30", "transactions.csv: empty file"),
        ("customer_id,date\na,1997-01-01\n", "1997-09-30", "no 'amount' column"),
        (UNTIDY, "1996-12-31", "--calibration-end: 1996-12-31 is before the first purchase"),
        (UNTIDY, "30/09/1997", "--calibration-end: '30/09/1997' is not a date"),
        ("customer_id,date,amount\na,1997-01-01,3\n", "1997-09-30", "no customer bought again"),
    ],
)
def test_clv_fit_refuses_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, end: str, expected: str
) -> None:
    # given a file or a date with a fault
    path = write(tmp_path, text)
    # when fitted
    status = cxloop("clv", "fit", "--transactions", str(path), "--calibration-end", end, "--json")
    # then one line on stderr says what and where, exit status 2, nothing on stdout
    out = capsys.readouterr()
    assert status == 2 and out.out == ""
    assert out.err.count("\n") == 1 and out.err.startswith("cxloop: ")
    assert expected in out.err

"""Analytics benchmarks. Part ``clv``: BG/NBD and Gamma-Gamma fits over a million customers;
part ``run``: the whole ``cxloop analytics run`` on a generated store (``bench/analytics_run.py``:
``--customers`` customers and ten times as many orders, ``--store sqlite|postgresql``).

CLV: ``--customers`` customers are drawn from the BG/NBD process at the estimates Fader, Hardie
& Lee published for CDNOW (r 0.243, α 4.414, a 0.793, b 2.426), first purchases spread over 12
weeks as in CDNOW (T uniform on 27–39 weeks, continuous: no two customers alike), and mean
repeat spends from the Gamma-Gamma process (p 6.25, q 3.74, γ 15.44). cxloop's fits
(``cxloop.analytics.fit_bgnbd``, ``fit_gamma_gamma``) run on the arrays, then the baseline:
``lifetimes`` 0.11.3 (``BetaGeoFitter``, ``GammaGammaFitter``), the usual Python library, on
the same summary saved as npz, in its own interpreter (``--lifetimes-python``, the
``.venv-lifetimes`` that ``make bench`` makes; lifetimes is not a cxloop dependency). Each
side: best of ``--repeat`` wall times, BLAS on one thread (``OPENBLAS_NUM_THREADS=1`` for
lifetimes, cxloop limits itself). Printed: both times, the ratio, the largest relative
difference between the two sides' estimates and their log-likelihoods.

    .venv/bin/python bench/analytics.py --part clv
    .venv/bin/python bench/analytics.py --part clv --customers 100000 --repeat 1
    .venv/bin/python bench/analytics.py --part run --customers 1000000 --store postgresql
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy

from cxloop import analytics
from cxloop.analytics import clv

ROOT = Path(__file__).resolve().parents[1]
BGNBD = (0.243, 4.414, 0.793, 2.426)
GAMMA_GAMMA = (6.25, 3.74, 15.44)
TARGET = 10.0  # at least this many times faster than lifetimes


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def best(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """The best wall time of ``repeat`` runs (the machine is shared) and the last result."""
    seconds, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        seconds = min(seconds, time.perf_counter() - started)
    return seconds, result


def synthetic(customers: int, seed: int) -> dict[str, np.ndarray]:
    """A summary drawn from the BG/NBD and Gamma-Gamma processes."""
    rng = np.random.default_rng(seed)
    x, t_x, age = clv.simulate_bgnbd(BGNBD, rng.uniform(27.0, 39.0, customers), rng)
    # A mean of x Gamma(p, ν) spends with ν ~ Gamma(q, γ) is Gamma(p x, ν x).
    p, q, gamma = GAMMA_GAMMA
    m = np.zeros(customers)
    bought = x > 0
    nu = rng.gamma(q, 1.0 / gamma, int(bought.sum()))
    m[bought] = rng.gamma(p * x[bought], 1.0 / (nu * x[bought]))
    return {"x": x, "t_x": t_x, "T": age, "m": m}


def run_clv(args: argparse.Namespace) -> None:
    summary = synthetic(args.customers, args.seed)
    x, t_x, age, m = summary["x"], summary["t_x"], summary["T"], summary["m"]
    spenders = (x > 0) & (m > 0)
    print(f"\n### CLV fits: {args.customers:,} synthetic customers\n")
    print(
        f"{int((x > 0).sum()):,} repeat customers, {int(x.sum()):,} repeat purchases, "
        f"largest x {int(x.max())}; Python {platform.python_version()}, numpy "
        f"{np.__version__}, scipy {scipy.__version__}; best of {args.repeat}; load average "
        f"at the start (1, 5, 15 min): {load()} on {os.cpu_count()} cores\n"
    )
    ours_bg_s, bg = best(args.repeat, lambda: analytics.fit_bgnbd(x, t_x, age))
    ours_gg_s, gg = best(args.repeat, lambda: analytics.fit_gamma_gamma(x[spenders], m[spenders]))
    theirs = lifetimes(summary, args)
    rows = [("BG/NBD", ours_bg_s, bg, "bgnbd"), ("Gamma-Gamma", ours_gg_s, gg, "gamma_gamma")]
    print(
        "| fit | cxloop s | evaluations | lifetimes s | lifetimes / cxloop | largest difference |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, seconds, fit, key in rows:
        if theirs is None:
            print(f"| {label} | {seconds:.3f} | {fit.evaluations} | | | |")
            continue
        other = np.asarray(theirs[key])
        difference = float(np.max(np.abs(np.asarray(fit.params) / other - 1)))
        print(
            f"| {label} | {seconds:.3f} | {fit.evaluations} | {theirs['seconds'][key]:.3f} "
            f"| {theirs['seconds'][key] / seconds:.1f}x | {difference:.1e} |"
        )
    print()
    print(
        f"cxloop BG/NBD: r {bg.r:.6f}, α {bg.alpha:.6f}, a {bg.a:.6f}, b {bg.b:.6f}, "
        f"log-likelihood {bg.loglik:.6f}, gradient norm {bg.gradient_norm:.1e}"
    )
    print(
        f"cxloop Gamma-Gamma: p {gg.p:.6f}, q {gg.q:.6f}, γ {gg.gamma:.6f}, "
        f"log-likelihood {gg.loglik:.6f}, gradient norm {gg.gradient_norm:.1e}"
    )
    if theirs is not None:
        their_bg = clv.bgnbd_loglik(theirs["bgnbd"], x, t_x, age)[0]
        their_gg = clv.gamma_gamma_loglik(theirs["gamma_gamma"], x[spenders], m[spenders])[0]
        print(
            f"lifetimes {theirs['versions']['lifetimes']}: BG/NBD "
            + ", ".join(f"{v:.6f}" for v in theirs["bgnbd"])
            + f" (log-likelihood, cxloop's minus lifetimes': {bg.loglik - their_bg:.1e}); "
            + "Gamma-Gamma "
            + ", ".join(f"{v:.6f}" for v in theirs["gamma_gamma"])
            + f" ({gg.loglik - their_gg:.1e})"
        )
        ratio = (theirs["seconds"]["bgnbd"] + theirs["seconds"]["gamma_gamma"]) / (
            ours_bg_s + ours_gg_s
        )
        verdict = "met" if ratio >= TARGET else "**not met**"
        print(f"both fits: {ratio:.1f}x faster than lifetimes; target {TARGET:.0f}x: {verdict}")
    print(f"load average at the end (1, 5, 15 min): {load()} on {os.cpu_count()} cores")


def lifetimes(summary: dict[str, np.ndarray], args: argparse.Namespace) -> dict[str, Any] | None:
    """lifetimes' times and estimates on the same summary, or None without its interpreter."""
    python = Path(args.lifetimes_python)
    if not python.exists():
        print(f"(no {python}: `make bench` makes it; lifetimes not run)\n")
        return None
    with tempfile.TemporaryDirectory() as folder:
        source, out = Path(folder) / "summary.npz", Path(folder) / "lifetimes.json"
        np.savez(source, **summary)
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        script = Path(__file__).with_name("lifetimes_fit.py")
        subprocess.run(
            [str(python), str(script), str(source), str(args.repeat), str(out)], check=True, env=env
        )
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["clv", "run"], default="clv")
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20050101)
    parser.add_argument(
        "--lifetimes-python", default=str(ROOT / ".venv-lifetimes" / "bin" / "python")
    )
    args = parser.parse_args()
    print(f"## Analytics (`bench/analytics.py --part {args.part}`), {sys.platform}")
    if args.part == "clv":
        run_clv(args)
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import analytics_run

        analytics_run.run(args.customers, args.store, seed=1)


if __name__ == "__main__":
    main()

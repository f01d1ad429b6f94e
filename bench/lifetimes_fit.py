"""Fit ``lifetimes`` (BetaGeoFitter, GammaGammaFitter) on a saved summary: bench/analytics.py's
baseline. Runs in its own interpreter (``.venv-lifetimes``, made by ``make bench``): lifetimes
is no dependency of cxloop. Imports nothing from cxloop.

    .venv-lifetimes/bin/python bench/lifetimes_fit.py SUMMARY.npz REPEAT OUT.json
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter


def main() -> None:
    source, repeat, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    warnings.simplefilter("ignore")
    data = np.load(source)
    x, t_x, age, m = (pd.Series(data[k]) for k in ("x", "t_x", "T", "m"))
    spenders = (x > 0) & (m > 0)
    times: dict[str, float] = {"bgnbd": float("inf"), "gamma_gamma": float("inf")}
    for _ in range(repeat):
        started = time.perf_counter()
        bg = BetaGeoFitter().fit(x, t_x, age)
        times["bgnbd"] = min(times["bgnbd"], time.perf_counter() - started)
        started = time.perf_counter()
        gg = GammaGammaFitter().fit(x[spenders], m[spenders])
        times["gamma_gamma"] = min(times["gamma_gamma"], time.perf_counter() - started)
    result = {
        "versions": {p: version(p) for p in ("lifetimes", "numpy", "scipy", "pandas")},
        "seconds": times,
        "bgnbd": [float(bg.params_[k]) for k in ("r", "alpha", "a", "b")],
        "gamma_gamma": [float(gg.params_[k]) for k in ("p", "q", "v")],
    }
    out.write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()

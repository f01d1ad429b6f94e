"""Theme tagger speed: verbatims tagged per second on one core, beside two naive baselines.

The verbatims are the evaluation set's texts (tests/data/feedback/verbatims.csv, when present)
and the demo store's (``cxloop.demo.nps.VERBATIMS``), repeated to ``--texts`` in a fixed
shuffled order. The tagger is built once (compile time printed apart), warmed on one pass,
then timed over every text with the language detected (``lang=None``), best of ``--repeat``
rounds; each round times the tagger and the baselines one after the other.

Baselines, timed the same way:

- ``regex``: one case-insensitive regular expression per seed phrase of the default taxonomy,
  searched in the lowercased text: what a first tagger does (``bench/seed_regex.py``, the
  baseline ``bench/feedback_quality.py`` scores).
- ``stem``: Snowball-stem every word of the text, without a cache: the cost the tagger's
  per-word cache avoids (it stems each distinct word once).

    .venv/bin/python bench/feedback_speed.py
    .venv/bin/python bench/feedback_speed.py --texts 200000 --json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import snowballstemmer

from cxloop.demo.nps import VERBATIMS
from cxloop.themes import Tagger, default_taxonomy
from seed_regex import SeedRegexTagger

DATA = Path(__file__).parents[1] / "tests" / "data" / "feedback" / "verbatims.csv"


def corpus(size: int, seed: int = 1) -> list[str]:
    """``size`` verbatims: the evaluation texts and the demo's, repeated and shuffled."""
    texts = [text for bank in VERBATIMS.values() for lang in bank.values() for text in lang]
    if DATA.exists():
        with DATA.open(encoding="utf-8", newline="") as fh:
            texts += [row["text"] for row in csv.DictReader(fh)]
    rng = random.Random(seed)
    out = [texts[i % len(texts)] for i in range(size)]
    rng.shuffle(out)
    return out


def stem_baseline() -> Callable[[str], list[str]]:
    """Every word stemmed by Snowball, no cache."""
    stemmer = snowballstemmer.stemmer("french")
    word = re.compile(r"[^\W\d_]+")

    def stem(text: str) -> list[str]:
        return [stemmer.stemWord(w) for w in word.findall(text.lower())]

    return stem


def rates(
    runs: dict[str, Callable[[str], object]], texts: Sequence[str], repeat: int
) -> dict[str, float]:
    """Best texts per second of each run over ``repeat`` rounds.

    Each round times every run once, one after the other, so that a busy spell of the shared
    machine slows all of them rather than one.
    """
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            for text in texts:
                run(text)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: len(texts) / seconds for name, seconds in best.items()}


TARGET = 2_000  # verbatims per second on one core


def main(argv: Sequence[str] | None = None) -> None:
    """Time the tagger and the baselines and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    texts = corpus(args.texts)
    start = time.perf_counter()
    tagger = Tagger(default_taxonomy(), embeddings=False)
    compile_s = time.perf_counter() - start
    for text in set(texts):  # warm the stem cache, as a running service has it
        tagger.tag(text)
    regex = SeedRegexTagger(default_taxonomy())
    results = rates(
        {"tagger": tagger.tag, "regex": regex.tag, "stem": stem_baseline()}, texts, args.repeat
    )
    cold = Tagger(default_taxonomy(), embeddings=False)
    start = time.perf_counter()
    for text in texts[:2000]:
        cold.tag(text)
    cold_rate = 2000 / (time.perf_counter() - start)
    summary = {
        "texts": len(texts),
        "distinct": len(set(texts)),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "compile_seconds": round(compile_s, 3),
        "seed_phrases": len(regex.patterns),
        "texts_per_second": {k: round(v) for k, v in results.items()},
        "tagger_cold_first_2000": round(cold_rate),
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "cores_used": 1,
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(
        f"{summary['texts']:,} verbatims ({summary['distinct']} distinct, "
        f"{summary['mean_chars']} characters on average), one core of {os.cpu_count()}, Python "
        f"{summary['python']}, best of {args.repeat}; load average "
        + ", ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    print(f"tagger compile (default taxonomy, fr + en): {compile_s * 1000:.0f} ms")
    print()
    print("| what | verbatims/s |")
    print("|---|---:|")
    print(f"| cxloop tagger (themes, sentiment, mentions, language) | {results['tagger']:,.0f} |")
    print(f"| cxloop tagger, cold stem cache (first 2,000) | {cold_rate:,.0f} |")
    print(
        f"| baseline: one regex per seed phrase ({len(regex.patterns)} of them, themes only) "
        f"| {results['regex']:,.0f} |"
    )
    print(f"| baseline: Snowball stemming alone, no cache | {results['stem']:,.0f} |")
    print()
    verdict = "met" if results["tagger"] > TARGET else "**not met**"
    print(
        f"tagger: {1000 / results['tagger']:.2f} ms per verbatim; the regexes are "
        f"{results['regex'] / results['tagger']:.2f}x as fast; stemming every word without a "
        f"cache is {results['tagger'] / results['stem']:.2f}x slower than the whole tagger"
    )
    print(f"target: over {TARGET:,} verbatims/s on one core: {verdict}")


if __name__ == "__main__":
    main()

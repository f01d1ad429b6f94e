"""Theme tagger quality on the hand-labelled sets, beside a one-regex-per-seed-phrase baseline.

Tags every text of ``tests/data/feedback/verbatims.csv`` (short NPS answers, splits ``dev``
and ``holdout``) and ``tests/data/feedback/reviews.csv`` (longer reviews, by another author,
splits ``dev2`` and ``holdout2``) with the default taxonomy, and prints for each split apart:
per-theme precision, recall, F1 and support, the macro-F1 over the ten themes (all rows, and
French and English rows apart), the share of texts whose whole theme set is right, the
sentiment sign accuracy (the tagger's sentiment mapped to -1/0/1 with a neutral band, against
the ``sentiment`` column) and the language detection accuracy. The tagger detects the language
itself (the ``lang`` column is only used to score detection).

Baseline, scored the same way: one regular expression per seed phrase of the same taxonomy
(``bench/seed_regex.py``, the baseline ``bench/feedback_speed.py`` times). It finds themes
only, so it has no sentiment or language figures.

The holdouts are reported, never tuned on: ``--errors`` prints the dev splits' errors only,
and ``--split dev`` leaves the holdout out entirely while the lexicon is being worked on.

    .venv/bin/python bench/feedback_quality.py                 # both sets, markdown tables
    .venv/bin/python bench/feedback_quality.py --data tests/data/feedback/verbatims.csv \
        --split dev --errors
    .venv/bin/python bench/feedback_quality.py --data tests/data/feedback/reviews.csv \
        --split dev2 --sentiment-errors
    .venv/bin/python bench/feedback_quality.py --json
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxloop.themes import Tagger, Tagging, default_taxonomy
from seed_regex import SeedRegexTagger

FOLDER = Path(__file__).parents[1] / "tests" / "data" / "feedback"
SETS = (FOLDER / "verbatims.csv", FOLDER / "reviews.csv")
NEUTRAL = 0.2  # |sentiment| below this counts as 0
TARGET_MACRO_F1 = 0.75
TARGET_THEME_F1 = 0.6


@dataclass(frozen=True)
class Row:
    """One labelled text."""

    id: str
    split: str
    lang: str
    text: str
    themes: frozenset[str]
    sentiment: int


def read_rows(path: Path, splits: Sequence[str]) -> list[Row]:
    """The rows of the evaluation set in the given splits."""
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            Row(
                r["id"],
                r["split"],
                r["lang"],
                r["text"],
                frozenset(t for t in r["themes"].split(";") if t),
                int(r["sentiment"]),
            )
            for r in csv.DictReader(fh)
            if r["split"] in splits
        ]


def split_names(path: Path) -> list[str]:
    """The splits of an evaluation set, the dev ones first."""
    with path.open(encoding="utf-8", newline="") as fh:
        names = dict.fromkeys(r["split"] for r in csv.DictReader(fh))
    return sorted(names, key=lambda name: not name.startswith("dev"))


def sign(value: float) -> int:
    """The tagger's sentiment as -1, 0 or 1."""
    return 0 if abs(value) < NEUTRAL else (1 if value > 0 else -1)


def theme_scores(
    rows: Sequence[Row], found: Sequence[Collection[str]], keys: Sequence[str]
) -> dict[str, Any]:
    """Per-theme precision/recall/F1/support, macro-F1 and exact-set accuracy."""
    per_theme: dict[str, dict[str, float]] = {}
    pairs = list(zip(rows, found, strict=True))
    for key in keys:
        tp = sum(1 for r, f in pairs if key in r.themes and key in f)
        fp = sum(1 for r, f in pairs if key not in r.themes and key in f)
        fn = sum(1 for r, f in pairs if key in r.themes and key not in f)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_theme[key] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    return {
        "rows": len(rows),
        "themes": per_theme,
        "macro_f1": sum(v["f1"] for v in per_theme.values()) / len(per_theme),
        "exact_match": sum(1 for r, f in pairs if r.themes == set(f)) / (len(rows) or 1),
    }


def evaluate(
    rows: Sequence[Row], found: Sequence[Collection[str]], keys: Sequence[str]
) -> dict[str, Any]:
    """Theme scores on every row, then on the French and on the English rows apart."""
    result = theme_scores(rows, found, keys)
    for lang in ("fr", "en"):
        subset = [(r, f) for r, f in zip(rows, found, strict=True) if r.lang == lang]
        result[f"rows_{lang}"] = len(subset)
        result[f"macro_f1_{lang}"] = theme_scores(
            [r for r, _ in subset], [f for _, f in subset], keys
        )["macro_f1"]
    return result


def tagger_extras(rows: Sequence[Row], taggings: Sequence[Tagging]) -> dict[str, float]:
    """Sentiment sign and language detection accuracy: what the baseline does not do."""
    pairs = list(zip(rows, taggings, strict=True))
    n = len(rows) or 1
    return {
        "sentiment_accuracy": sum(1 for r, t in pairs if sign(t.sentiment) == r.sentiment) / n,
        "language_accuracy": sum(1 for r, t in pairs if r.lang == t.lang) / n,
    }


def errors(rows: Sequence[Row], taggings: Sequence[Tagging], sentiment_only: bool = False) -> str:
    """The dev rows the tagger got wrong (themes or sentiment sign; or the sentiment sign only)."""
    out = []
    for r, t in zip(rows, taggings, strict=True):
        missed = sorted(r.themes - set(t.themes))
        extra = sorted(set(t.themes) - r.themes)
        bad_sentiment = sign(t.sentiment) != r.sentiment
        if sentiment_only:
            wrong = bad_sentiment
        else:
            wrong = bool(missed or extra or bad_sentiment or r.lang != t.lang)
        if wrong:
            out.append(
                f"{r.id} [{r.lang}->{t.lang}] missed={missed} extra={extra} "
                f"sentiment={r.sentiment}/{t.sentiment:+.2f}\n    {r.text!r}"
            )
    return "\n".join(out)


def _prf(v: dict[str, float]) -> str:
    return f"{v['precision']:.2f} / {v['recall']:.2f} / **{v['f1']:.2f}** ({v['support']:.0f})"


def markdown(results: dict[str, dict[str, Any]], keys: Sequence[str]) -> str:
    """Every split's scores side by side: per theme, then the summary."""
    splits = list(results)
    tagger = {s: results[s]["tagger"] for s in splits}
    base = {s: results[s]["baseline"] for s in splits}
    lines = [
        "Per theme, cxloop tagger: F1 on the dev splits, precision / recall / F1 (texts "
        "labelled with the theme) on the others",
        "",
        "| theme | "
        + " | ".join(s + (" F1" if s.startswith("dev") else " P / R / F1 (n)") for s in splits)
        + " |",
        "|---|" + "---:|" * len(splits),
    ]
    for key in keys:
        cells = [
            f"{tagger[s]['themes'][key]['f1']:.2f}"
            if s.startswith("dev")
            else _prf(tagger[s]["themes"][key])
            for s in splits
        ]
        lines.append(f"| `{key}` | {' | '.join(cells)} |")
    lines += [
        "",
        "Per theme, F1: cxloop tagger / baseline (one regex per seed phrase)",
        "",
        "| theme | " + " | ".join(splits) + " |",
        "|---|" + "---:|" * len(splits),
    ]
    for key in keys:
        cells = [
            f"{tagger[s]['themes'][key]['f1']:.2f} / {base[s]['themes'][key]['f1']:.2f}"
            for s in splits
        ]
        lines.append(f"| `{key}` | {' | '.join(cells)} |")

    def row(label: str, cell: Any) -> str:
        return f"| {label} | " + " | ".join(cell(s) for s in splits) + " |"

    lines += [
        "",
        "| measure | " + " | ".join(splits) + " |",
        "|---|" + "---:|" * len(splits),
        row(
            "texts (French / English)",
            lambda s: f"{tagger[s]['rows']} ({tagger[s]['rows_fr']} / {tagger[s]['rows_en']})",
        ),
        row("macro-F1, cxloop tagger", lambda s: f"**{tagger[s]['macro_f1']:.3f}**"),
        row("macro-F1, baseline", lambda s: f"{base[s]['macro_f1']:.3f}"),
        row(
            "macro-F1, French / English rows, tagger",
            lambda s: f"{tagger[s]['macro_f1_fr']:.3f} / {tagger[s]['macro_f1_en']:.3f}",
        ),
        row(
            "macro-F1, French / English rows, baseline",
            lambda s: f"{base[s]['macro_f1_fr']:.3f} / {base[s]['macro_f1_en']:.3f}",
        ),
        row(
            "exact theme set, tagger / baseline",
            lambda s: f"{tagger[s]['exact_match']:.1%} / {base[s]['exact_match']:.1%}",
        ),
        row(
            f"sentiment sign (−1/0/1, neutral below {NEUTRAL} in absolute value), tagger",
            lambda s: f"{tagger[s]['sentiment_accuracy']:.1%}",
        ),
        row("language detected, tagger", lambda s: f"{tagger[s]['language_accuracy']:.1%}"),
        row(
            "lowest theme F1, tagger",
            lambda s: "{1:.2f} (`{0}`)".format(
                *min(((k, v["f1"]) for k, v in tagger[s]["themes"].items()), key=lambda kv: kv[1])
            ),
        ),
    ]
    return "\n".join(lines)


def verdicts(results: dict[str, dict[str, Any]]) -> str:
    """Whether each split meets the targets (macro-F1, and every theme's F1)."""
    out = []
    for split, result in results.items():
        tagger = result["tagger"]
        lowest = min(v["f1"] for v in tagger["themes"].values())
        met = tagger["macro_f1"] >= TARGET_MACRO_F1 and lowest >= TARGET_THEME_F1
        base = result["baseline"]["macro_f1"]
        out.append(
            f"{split}: macro-F1 {tagger['macro_f1']:.3f} (baseline {base:.3f}), "
            f"lowest theme {lowest:.2f}: {'met' if met else '**not met**'}"
        )
    return (
        f"targets: macro-F1 at least {TARGET_MACRO_F1}, every theme at least {TARGET_THEME_F1}\n"
        + "\n".join(out)
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the evaluation and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, action="append", help="one evaluation set (default: both)"
    )
    parser.add_argument(
        "--split",
        default="all",
        help="one split (dev, holdout in verbatims.csv; dev2, holdout2 in reviews.csv) or all",
    )
    parser.add_argument(
        "--errors", action="store_true", help="print the errors of the dev splits only"
    )
    parser.add_argument(
        "--sentiment-errors",
        action="store_true",
        help="print the sentiment sign mismatches of the dev splits only",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    paths: list[Path] = args.data or list(SETS)
    for path in paths:
        if not path.exists():
            sys.exit(f"{path}: not found")
    present = {split: path for path in paths for split in split_names(path)}
    if args.split != "all" and args.split not in present:
        sys.exit(f"--split: {args.split!r} is not one of {', '.join(present)}")
    splits = list(present) if args.split == "all" else [args.split]
    taxonomy = default_taxonomy()
    tagger = Tagger(taxonomy, embeddings=False)
    baseline = SeedRegexTagger(taxonomy)
    results: dict[str, dict[str, Any]] = {}
    for split in splits:
        rows = read_rows(present[split], [split])
        taggings = [tagger.tag(r.text) for r in rows]
        results[split] = {
            "tagger": evaluate(rows, [t.themes for t in taggings], taxonomy.keys)
            | tagger_extras(rows, taggings),
            "baseline": evaluate(rows, [baseline.tag(r.text) for r in rows], taxonomy.keys),
        }
        if (args.errors or args.sentiment_errors) and split.startswith("dev") and not args.json:
            print(errors(rows, taggings, sentiment_only=not args.errors))
            print()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        "default taxonomy, no learned corrections, no embedding model, language detected; "
        f"baseline: one regex per seed phrase ({len(baseline.patterns)} of them)"
    )
    for path in paths:
        print(f"{path.name}: splits {', '.join(split_names(path))}")
    print()
    print(markdown(results, taxonomy.keys))
    print()
    print(verdicts(results))


if __name__ == "__main__":
    main()

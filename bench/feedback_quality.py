"""Theme tagger quality on the hand-labelled NPS verbatims (tests/data/feedback/verbatims.csv).

Tags every verbatim with the default taxonomy and prints, for the ``dev`` and ``holdout``
splits separately: per-theme precision, recall, F1 and support, the macro-F1 over the ten
themes, the sentiment sign accuracy (the tagger's sentiment mapped to -1/0/1 with a neutral
band, against the ``sentiment`` column), and the language detection accuracy. The tagger
detects the language itself (the ``lang`` column is only used to score detection).

The holdout is reported, never tuned on: ``--errors`` prints the dev split's errors only, and
``--split dev`` leaves the holdout out entirely while the lexicon is being worked on.

    .venv/bin/python bench/feedback_quality.py                 # markdown tables
    .venv/bin/python bench/feedback_quality.py --split dev --errors
    .venv/bin/python bench/feedback_quality.py --data tests/data/feedback/reviews.csv \
        --split dev2 --sentiment-errors
    .venv/bin/python bench/feedback_quality.py --json
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxloop.themes import Tagger, Tagging, default_taxonomy

DATA = Path(__file__).parents[1] / "tests" / "data" / "feedback" / "verbatims.csv"
NEUTRAL = 0.2  # |sentiment| below this counts as 0


@dataclass(frozen=True)
class Row:
    """One labelled verbatim."""

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


def sign(value: float) -> int:
    """The tagger's sentiment as -1, 0 or 1."""
    return 0 if abs(value) < NEUTRAL else (1 if value > 0 else -1)


def scores(rows: Sequence[Row], taggings: Sequence[Tagging], keys: Sequence[str]) -> dict[str, Any]:
    """Per-theme precision/recall/F1, macro-F1, sentiment and language accuracy."""
    per_theme: dict[str, dict[str, float]] = {}
    for key in keys:
        tp = sum(
            1 for r, t in zip(rows, taggings, strict=True) if key in r.themes and key in t.themes
        )
        fp = sum(
            1
            for r, t in zip(rows, taggings, strict=True)
            if key not in r.themes and key in t.themes
        )
        fn = sum(
            1
            for r, t in zip(rows, taggings, strict=True)
            if key in r.themes and key not in t.themes
        )
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_theme[key] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    n = len(rows) or 1
    return {
        "rows": len(rows),
        "themes": per_theme,
        "macro_f1": sum(v["f1"] for v in per_theme.values()) / len(per_theme),
        "exact_match": sum(
            1 for r, t in zip(rows, taggings, strict=True) if r.themes == set(t.themes)
        )
        / n,
        "sentiment_accuracy": sum(
            1 for r, t in zip(rows, taggings, strict=True) if sign(t.sentiment) == r.sentiment
        )
        / n,
        "language_accuracy": sum(1 for r, t in zip(rows, taggings, strict=True) if r.lang == t.lang)
        / n,
    }


def markdown(split: str, result: dict[str, Any]) -> str:
    """One split's scores as a markdown table."""
    lines = [
        f"### {split} ({result['rows']} verbatims)",
        "",
        "| theme | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for key, v in result["themes"].items():
        cells = (f"{v[name]:.2f}" for name in ("precision", "recall", "f1"))
        lines.append(f"| `{key}` | {' | '.join(cells)} | {v['support']:.0f} |")
    lines += [
        f"| **macro-F1** | | | **{result['macro_f1']:.3f}** | |",
        "",
        f"exact theme set: {result['exact_match']:.1%} · sentiment sign: "
        f"{result['sentiment_accuracy']:.1%} · language: {result['language_accuracy']:.1%}",
        "",
    ]
    return "\n".join(lines)


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


def main(argv: Sequence[str] | None = None) -> None:
    """Run the evaluation and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--split",
        default="all",
        help="one split of the file (dev, holdout; dev2, holdout2 in reviews.csv) or all",
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
    if not args.data.exists():
        sys.exit(f"{args.data}: not found")
    with args.data.open(encoding="utf-8", newline="") as fh:
        present = list(dict.fromkeys(r["split"] for r in csv.DictReader(fh)))
    if args.split != "all" and args.split not in present:
        sys.exit(f"--split: {args.split!r} is not a split of {args.data} ({', '.join(present)})")
    splits = present if args.split == "all" else [args.split]
    taxonomy = default_taxonomy()
    tagger = Tagger(taxonomy, embeddings=False)
    results: dict[str, Any] = {}
    for split in splits:
        rows = read_rows(args.data, [split])
        taggings = [tagger.tag(r.text) for r in rows]
        results[split] = scores(rows, taggings, taxonomy.keys)
        for lang in ("fr", "en"):
            subset = [(r, t) for r, t in zip(rows, taggings, strict=True) if r.lang == lang]
            results[split][f"macro_f1_{lang}"] = scores(
                [r for r, _ in subset], [t for _, t in subset], taxonomy.keys
            )["macro_f1"]
        if (args.errors or args.sentiment_errors) and split.startswith("dev") and not args.json:
            print(errors(rows, taggings, sentiment_only=not args.errors))
            print()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for split, result in results.items():
        print(markdown(split, result))
    summary = " · ".join(
        f"{split} macro-F1 {r['macro_f1']:.3f} "
        f"(fr {r['macro_f1_fr']:.3f}, en {r['macro_f1_en']:.3f})"
        for split, r in results.items()
    )
    print(summary)


if __name__ == "__main__":
    main()

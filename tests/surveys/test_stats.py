"""NPS statistics: categories, the adjusted-Wald interval, the z test, and `cxloop nps stats`."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cxloop.surveys.stats import category_of, compare, nps_summary, summarize

CXLOOP = str(Path(sys.executable).with_name("cxloop"))
DATA = Path(__file__).parents[1] / "data" / "nps"


def adjusted_wald_by_hand(p_count: int, d_count: int, n: int) -> tuple[float, float, float]:
    """Rocks (2016), spelled out: (low, high, margin) in points, before clipping."""
    p = (p_count + 0.75) / (n + 3)
    d = (d_count + 0.75) / (n + 3)
    variance = p + d - (p - d) ** 2
    se = math.sqrt(variance / (n + 3))
    return 100 * (p - d - 1.96 * se), 100 * (p - d + 1.96 * se), 100 * 1.96 * se


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``cxloop`` with its own home under tmp_path."""
    environ = dict(os.environ)
    environ["CXLOOP_HOME"] = str(tmp_path / "home")
    environ["CXLOOP_DATABASE_URL"] = f"sqlite:///{tmp_path / 'store.db'}"
    return subprocess.run(
        [CXLOOP, *args], env=environ, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("score", "category"),
    [
        (0, "detractor"),
        (6, "detractor"),
        (7, "passive"),
        (8, "passive"),
        (9, "promoter"),
        (10, "promoter"),
        (np.int64(3), "detractor"),
    ],
)
def test_category_of_a_score(score: int, category: str) -> None:
    assert category_of(score) == category


@pytest.mark.parametrize("score", [-1, 11, 7.0, True, "9"])
def test_category_of_refuses_what_is_not_a_score(score: object) -> None:
    with pytest.raises(ValueError, match="integer from 0 to 10"):
        category_of(score)  # type: ignore[arg-type]


def test_nps_and_interval_agree_with_a_hand_computation() -> None:
    # Given 10 promoters, 5 passives and 5 detractors
    scores = [10, 9] * 5 + [8, 7, 8, 7, 8] + [6, 0, 3, 5, 6]
    # When
    summary = nps_summary(scores)
    # Then NPS = 50% − 25% = 25 points; interval from p = 10.75/23, d = 5.75/23
    low, high, margin = adjusted_wald_by_hand(10, 5, 20)
    assert (summary.n, summary.promoters, summary.passives, summary.detractors) == (20, 10, 5, 5)
    assert summary.nps == 25.0
    assert summary.ci95 == pytest.approx((low, high), abs=1e-9)
    assert summary.margin == pytest.approx(margin, abs=1e-9)
    assert (round(low, 1), round(high, 1), round(margin, 1)) == (-11.7, 55.2, 33.5)
    assert summary.warning == "small_sample"


def test_the_interval_is_centred_on_the_adjusted_score_not_the_raw_one() -> None:
    summary = summarize(promoters=10, passives=5, detractors=5)
    assert summary.ci95 is not None
    centre = (summary.ci95[0] + summary.ci95[1]) / 2
    assert centre == pytest.approx(100 * (10.75 - 5.75) / 23)
    assert centre < 25.0


def test_all_promoters_give_100_with_the_interval_clipped_at_100() -> None:
    summary = nps_summary([10] * 20 + [9] * 20)
    low, high, _ = adjusted_wald_by_hand(40, 0, 40)
    assert summary.nps == 100.0
    assert high > 100
    assert summary.ci95 == pytest.approx((low, 100.0))
    assert summary.warning is None


def test_all_detractors_clip_at_minus_100() -> None:
    summary = nps_summary(np.zeros(50, dtype=np.int64))
    assert summary.nps == -100.0
    assert summary.ci95 is not None
    assert summary.ci95[0] == -100.0


def test_no_answers_give_no_score_and_a_warning() -> None:
    summary = nps_summary([])
    assert summary.model_dump() == {
        "n": 0,
        "promoters": 0,
        "passives": 0,
        "detractors": 0,
        "nps": None,
        "ci95": None,
        "margin": None,
        "warning": "no_answers",
    }


@pytest.mark.parametrize(
    ("n", "warning"),
    [
        (1, "very_small_sample"),
        (9, "very_small_sample"),
        (10, "small_sample"),
        (29, "small_sample"),
        (30, None),
        (500, None),
    ],
)
def test_small_samples_are_flagged(n: int, warning: str | None) -> None:
    assert nps_summary([9] * n).warning == warning


@pytest.mark.parametrize("scores", [[11], [-1], [7.5], ["3"], [True], np.array([1.0, 2.0])])
def test_scores_out_of_the_scale_are_refused(scores: object) -> None:
    with pytest.raises(ValueError, match="integers from 0 to 10"):
        nps_summary(scores)  # type: ignore[arg-type]


def test_a_clear_drop_is_significant_and_agrees_with_the_formula() -> None:
    # Given NPS 50 (60/30/10 of 100) then NPS 10 (30/50/20 of 100)
    before = summarize(promoters=60, passives=30, detractors=10)
    after = summarize(promoters=30, passives=50, detractors=20)
    # When
    result = compare(before, after)
    # Then z = (adj_after − adj_before) / sqrt(se_before² + se_after²)
    p1, d1 = 60.75 / 103, 10.75 / 103
    p2, d2 = 30.75 / 103, 20.75 / 103
    se1 = math.sqrt((p1 + d1 - (p1 - d1) ** 2) / 103)
    se2 = math.sqrt((p2 + d2 - (p2 - d2) ** 2) / 103)
    z = ((p2 - d2) - (p1 - d1)) / math.sqrt(se1**2 + se2**2)
    assert result.diff == pytest.approx(-40.0)
    assert result.z == pytest.approx(z)
    assert result.p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)))
    assert result.p_value is not None
    assert result.p_value < 0.001
    assert result.significant


def test_a_small_move_on_small_samples_is_not_significant() -> None:
    result = compare(
        summarize(promoters=10, passives=5, detractors=5),
        summarize(promoters=12, passives=4, detractors=4),
    )
    assert result.diff == pytest.approx(15.0)
    assert result.p_value is not None
    assert result.p_value > 0.3
    assert not result.significant


def test_the_same_move_becomes_significant_with_enough_answers() -> None:
    result = compare(
        summarize(promoters=1000, passives=500, detractors=500),
        summarize(promoters=1200, passives=400, detractors=400),
    )
    assert result.diff == pytest.approx(15.0)
    assert result.significant


def test_identical_scores_do_not_differ_even_at_100() -> None:
    full = summarize(promoters=40, passives=0, detractors=0)
    result = compare(full, full)
    assert (result.diff, result.z, result.p_value, result.significant) == (0.0, 0.0, 1.0, False)


def test_comparing_with_no_answers_says_nothing() -> None:
    result = compare(nps_summary([]), nps_summary([10, 9]))
    assert result.model_dump() == {
        "diff": None,
        "z": None,
        "p_value": None,
        "significant": False,
    }


# ------------------------------------------------------------------ cxloop nps stats

EXPECTED = {
    "n": 20,
    "promoters": 10,
    "passives": 5,
    "detractors": 5,
    "nps": 25.0,
    "ci95": [-11.7, 55.2],
    "margin": 33.5,
    "warning": "small_sample",
}


@pytest.mark.parametrize("name", ["scores.csv", "scores_semicolon.csv"])
def test_nps_stats_agrees_with_the_hand_computation(tmp_path: Path, name: str) -> None:
    result = run(tmp_path, "nps", "stats", str(DATA / name), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == EXPECTED
    assert result.stderr == ""


def test_nps_stats_prints_a_table_without_json(tmp_path: Path) -> None:
    result = run(tmp_path, "nps", "stats", str(DATA / "scores.csv"))
    assert result.returncode == 0, result.stderr
    assert "NPS" in result.stdout
    assert "25.0" in result.stdout
    assert "-11.7 to 55.2" in result.stdout
    assert "fewer than 30 answers" in result.stdout


def test_nps_stats_of_a_header_alone_has_no_score(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("id,score\n\n", encoding="utf-8")
    result = run(tmp_path, "nps", "stats", str(path), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["n"], document["nps"], document["ci95"]) == (0, None, None)
    assert document["warning"] == "no_answers"


def test_nps_stats_reads_a_bom_and_a_capitalised_header(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text("\ufeffClient;Score\na;10\nb;0\n", encoding="utf-8")
    result = run(tmp_path, "nps", "stats", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["nps"] == 0.0


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("id,score\n1,9\n2,7.5\n", "{path}:3: score must be an integer from 0 to 10"),
        ("id,score\n1,11\n", "{path}:2: score must be an integer from 0 to 10"),
        ("id,score\n1,-1\n", "{path}:2: score must be an integer from 0 to 10"),
        ("id,score\n1,9\n\n2,\n", "{path}:4: score must be an integer from 0 to 10"),
        ("id,score\n1,neuf\n", "{path}:2: score must be an integer from 0 to 10"),
        ("id,note\n1,9\n", "{path}: no 'score' column in the header (found: id, note)"),
        ("", "{path}: empty file: a header with a 'score' column is needed"),
    ],
)
def test_nps_stats_refuses_a_bad_file_in_one_line(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    result = run(tmp_path, "nps", "stats", str(path), "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "cxloop: " + says.format(path=path) + "\n"


def test_nps_stats_refuses_a_missing_file_in_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, "nps", "stats", str(tmp_path / "nope.csv"), "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "does not exist" in result.stderr


def test_nps_stats_refuses_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("note,score\ndéçu,2\n".encode("latin-1"))
    result = run(tmp_path, "nps", "stats", str(path), "--json")
    assert result.returncode == 2
    assert result.stderr == f"cxloop: {path}: not UTF-8 text\n"

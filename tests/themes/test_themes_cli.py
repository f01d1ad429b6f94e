"""`cxloop feedback tag`: a CSV of verbatims in, their themes and sentiment out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CXLOOP = str(Path(sys.executable).with_name("cxloop"))


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``cxloop`` with its own home under tmp_path."""
    environ = dict(os.environ)
    environ["CXLOOP_HOME"] = str(tmp_path / "home")
    environ["CXLOOP_DATABASE_URL"] = f"sqlite:///{tmp_path / 'store.db'}"
    environ.pop("CXLOOP_EMBEDDINGS_MODEL", None)
    return subprocess.run(
        [CXLOOP, *args], env=environ, capture_output=True, text=True, timeout=120, check=False
    )


def write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "verbatims.csv"
    path.write_text(content, encoding="utf-8")
    return path


def test_tag_prints_one_json_object_per_row_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "id,text,lang\n"
        'a1,"Livraison rapide, mais frais de port trop chers",\n'
        "a2,The support team never answered,en\n"
        "a3,,\n"
        'a4,"Great, thanks",fr\n',
    )
    result = run(tmp_path, "feedback", "tag", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rows = json.loads(result.stdout)
    assert [list(row) for row in rows] == [["id", "lang", "themes", "sentiment"]] * 4
    assert [row["id"] for row in rows] == ["a1", "a2", "a3", "a4"]
    assert rows[0]["lang"] == "fr"
    assert rows[0]["themes"] == ["delivery_delay", "delivery_cost"]  # taxonomy order
    assert rows[1] == {
        "id": "a2",
        "lang": "en",
        "themes": ["customer_service"],
        "sentiment": rows[1]["sentiment"],
    }
    assert rows[1]["sentiment"] < 0
    assert rows[2]["themes"] == [] and rows[2]["sentiment"] == 0.0
    assert rows[3]["lang"] == "fr"  # the file's lang wins over detection
    for row in rows:
        assert round(row["sentiment"], 3) == row["sentiment"]


def test_tag_reads_semicolons_a_bom_and_no_lang_column(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text("\ufeffID;Text\n1;Colis perdu par Chronopost\n", encoding="utf-8")
    result = run(tmp_path, "feedback", "tag", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "id": "1",
            "lang": "fr",
            "themes": ["delivery_delay"],
            "sentiment": json.loads(result.stdout)[0]["sentiment"],
        }
    ]


def test_tag_prints_a_table_without_json(tmp_path: Path) -> None:
    path = write(tmp_path, "id,text\nx,Emballage soigné et livraison rapide\n")
    result = run(tmp_path, "feedback", "tag", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "lang", "sentiment", "themes"]
    assert lines[1].split()[:2] == ["x", "fr"]
    assert "delivery_delay, packaging" in lines[1]
    assert lines[-1] == "1 verbatims tagged; embeddings: off"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("id,body\n1,x\n", "{path}: no 'text' column in the header (found: id, body)"),
        ("text\nx\n", "{path}: no 'id' column in the header (found: text)"),
        ("", "{path}: empty file: a header with the 'id' and 'text' columns is needed"),
        (
            "id,text,lang\n1,ok,fr\n2,hallo,xx\n",
            "{path}:3: lang must be one of fr, en, de, it, es, nl, pt (or empty to detect it), "
            "not 'xx'",
        ),
    ],
)
def test_tag_refuses_a_bad_file_in_one_line(tmp_path: Path, content: str, says: str) -> None:
    path = write(tmp_path, content)
    result = run(tmp_path, "feedback", "tag", str(path), "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "cxloop: " + says.format(path=path) + "\n"


def test_tag_refuses_a_missing_file_in_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, "feedback", "tag", str(tmp_path / "nope.csv"), "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "does not exist" in result.stderr


def test_tag_refuses_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,text\n1,déçu\n".encode("latin-1"))
    result = run(tmp_path, "feedback", "tag", str(path), "--json")
    assert result.returncode == 2
    assert result.stderr == f"cxloop: {path}: not UTF-8 text\n"


def test_tag_recognises_other_languages_and_leaves_them_untagged(tmp_path: Path) -> None:
    # given a German comment to detect and an Italian one the file says is Italian
    path = write(
        tmp_path,
        'id,text,lang\nd1,"Lieferung kam zu spät, Paket beschädigt",\ni1,Consegna veloce,it\n',
    )
    # when they are tagged
    result = run(tmp_path, "feedback", "tag", str(path), "--json")
    table = run(tmp_path, "feedback", "tag", str(path))
    # then each keeps its language, with no themes and no sentiment
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"id": "d1", "lang": "de", "themes": [], "sentiment": None},
        {"id": "i1", "lang": "it", "themes": [], "sentiment": None},
    ]
    assert table.stdout.splitlines()[1].split() == ["d1", "de", "-", "(not", "tagged:", "language)"]

"""French and English: every message translated, negotiation by Accept-Language."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from cxloop import i18n

ROOT = Path(__file__).resolve().parents[1]


def _catalog(locale: str):
    with (i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


def test_every_message_in_the_code_has_a_french_translation(tmp_path: Path) -> None:
    # given the messages extracted from the code and templates now
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("pybabel")),
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_",
            "-o",
            str(pot),
            "--no-location",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    french = {m.id: m.string for m in _catalog("fr") if m.id}
    # then each has a French translation (run `make messages` after changing text)
    assert wanted, "no messages extracted"
    assert sorted(wanted - set(french)) == []
    assert sorted(mid for mid in wanted if not french[mid]) == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("en-GB,en;q=0.9,fr;q=0.8", "en"),
        ("de-DE,fr;q=0.3,en;q=0.7", "en"),
        ("de-DE", "fr"),
        ("", "fr"),
        ("fr;q=bad", "fr"),
    ],
)
def test_negotiation_picks_the_best_supported_language(header: str, expected: str) -> None:
    assert i18n.negotiate(header, default="fr") == expected


def test_gettext_follows_the_current_locale() -> None:
    token = i18n.current_locale.set("fr")
    try:
        assert i18n.gettext("Revenue") == "Chiffre d'affaires"
    finally:
        i18n.current_locale.reset(token)
    assert i18n.gettext("Revenue") == "Revenue"

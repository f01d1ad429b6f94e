"""Verbatims read from a CSV file (``id,text[,lang]``) for ``cxloop feedback tag``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cxloop.csv_files import cell, read_table
from cxloop.errors import InvalidInput
from cxloop.themes.language import ASKED


@dataclass(frozen=True)
class Verbatim:
    """One row: its id, its text and the language the caller gives (None: detect it)."""

    id: str
    text: str
    lang: str | None


def read_verbatims(path: Path) -> list[Verbatim]:
    """The rows of a CSV with ``id`` and ``text`` columns and an optional ``lang`` (fr, en, or
    another language cxloop recognises without tagging it)."""
    table = read_table(path, ("id", "text"))
    id_at, text_at, lang_at = table.column("id"), table.column("text"), table.column("lang")
    rows: list[Verbatim] = []
    for line, row in table.rows:
        lang = cell(row, lang_at).strip().lower() or None
        if lang is not None and lang not in ASKED:
            raise InvalidInput(
                f"{table.where}:{line}",
                f"lang must be one of {', '.join(ASKED)} (or empty to detect it), not {lang!r}",
            )
        rows.append(Verbatim(id=cell(row, id_at).strip(), text=cell(row, text_at), lang=lang))
    return rows

"""Verbatims read from a CSV file (``id,text[,lang]``) for ``cxloop feedback tag``."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from cxloop.errors import InvalidInput
from cxloop.feedback.themes.text import LANGS


@dataclass(frozen=True)
class Verbatim:
    """One row: its id, its text and the language the caller gives (None: detect it)."""

    id: str
    text: str
    lang: str | None


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=counts.__getitem__) if any(counts.values()) else ","


def read_verbatims(path: Path) -> list[Verbatim]:
    """The rows of a CSV with ``id`` and ``text`` columns and an optional ``lang`` (fr, en)."""
    where = str(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header_line = fh.readline()
            if not header_line.strip():
                raise InvalidInput(where, "empty file: a header with 'id' and 'text' is needed")
            fh.seek(0)
            reader = csv.reader(fh, delimiter=_delimiter(header_line))
            header = [name.strip().lower() for name in next(reader)]
            missing = [name for name in ("id", "text") if name not in header]
            if missing:
                found = ", ".join(name for name in header if name) or "nothing"
                raise InvalidInput(
                    where, f"no {' or '.join(repr(m) for m in missing)} column (found: {found})"
                )
            id_at, text_at = header.index("id"), header.index("text")
            lang_at = header.index("lang") if "lang" in header else None
            rows: list[Verbatim] = []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                lang = None
                if lang_at is not None and lang_at < len(row) and row[lang_at].strip():
                    lang = row[lang_at].strip().lower()
                    if lang not in LANGS:
                        raise InvalidInput(
                            f"{where}:{reader.line_num}",
                            f"lang must be fr or en (or empty to detect it), not {lang!r}",
                        )
                rows.append(
                    Verbatim(
                        id=row[id_at].strip() if id_at < len(row) else "",
                        text=row[text_at] if text_at < len(row) else "",
                        lang=lang,
                    )
                )
    except UnicodeDecodeError:
        raise InvalidInput(where, "not UTF-8 text") from None
    except csv.Error as exc:
        raise InvalidInput(where, f"unreadable CSV ({exc})") from None
    return rows

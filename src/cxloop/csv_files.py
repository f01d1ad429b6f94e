"""CSV files given to the feedback commands (``nps stats``, ``feedback tag``): one reader.

Comma, semicolon or tab (guessed from the header), UTF-8 with or without a byte-order mark,
a header whose names are matched without case; blank lines skipped. A problem is an
``InvalidInput`` naming the file, and the line when it is one row's fault.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from cxloop.errors import InvalidInput


@dataclass(frozen=True)
class Table:
    """A CSV file's header (lower case) and its non-blank rows with their line numbers."""

    where: str
    header: list[str]
    rows: list[tuple[int, list[str]]]

    def column(self, name: str) -> int | None:
        """The index of a column, or None when the file has none by that name."""
        return self.header.index(name) if name in self.header else None


def _delimiter(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def read_table(path: Path, required: tuple[str, ...]) -> Table:
    """Read a whole CSV file, checking that its header has the ``required`` columns."""
    where = str(path)
    wanted = " and ".join(repr(name) for name in required)
    wanted = f"a {wanted} column" if len(required) == 1 else f"the {wanted} columns"
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header_line = fh.readline()
            if not header_line.strip():
                raise InvalidInput(where, f"empty file: a header with {wanted} is needed")
            fh.seek(0)
            reader = csv.reader(fh, delimiter=_delimiter(header_line))
            header = [name.strip().lower() for name in next(reader)]
            missing = [name for name in required if name not in header]
            if missing:
                found = ", ".join(name for name in header if name) or "nothing"
                names = " or ".join(repr(name) for name in missing)
                raise InvalidInput(where, f"no {names} column in the header (found: {found})")
            rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except UnicodeDecodeError:
        raise InvalidInput(where, "not UTF-8 text") from None
    except csv.Error as exc:
        raise InvalidInput(where, f"unreadable CSV ({exc})") from None
    return Table(where, header, rows)


def cell(row: list[str], index: int | None) -> str:
    """A row's cell at ``index`` ("" when the row is short or the column absent)."""
    return row[index] if index is not None and index < len(row) else ""


__all__ = ["Table", "cell", "read_table"]

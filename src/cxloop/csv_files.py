"""CSV files: the one reader, for imports (``cxloop import``) and the feedback commands.

Comma, semicolon or tab (guessed from the header line), UTF-8 with or without a byte-order
mark (the caller opens the file), blank lines skipped, each row with the line it starts on.
A problem is an ``InvalidInput`` naming the file, and a ``BadRow`` when it is one line's fault.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cxloop.errors import InvalidInput


class BadRow(InvalidInput):
    """A row that stops reading a file: the file, the line and why (``path:line`` is the field)."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}", reason)
        self.path = path
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class Table:
    """A CSV file's header (lower case) and its non-blank rows with their line numbers."""

    where: str
    header: list[str]
    rows: list[tuple[int, list[str]]]

    def column(self, name: str) -> int | None:
        """The index of a column, or None when the file has none by that name."""
        return self.header.index(name) if name in self.header else None


def delimiter(header: str) -> str:
    """The separator of a CSV file: comma, semicolon or tab, the most frequent in its header."""
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def records(lines: Iterable[str], where: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header of CSV lines ([] when there is none) and its non-blank rows, read as they go.

    Each row comes with the line it starts on; a row csv cannot read is a ``BadRow`` there.
    """
    stream = iter(lines)
    first = next(stream, "")
    reader = csv.reader(itertools.chain([first], stream), delimiter=delimiter(first))
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise BadRow(where, 1, f"unreadable header ({exc})") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        line = reader.line_num + 1
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise BadRow(where, line, f"unreadable CSV ({exc})") from None
            start, line = line, reader.line_num + 1
            if any(cell.strip() for cell in record):
                yield start, record

    return header, rows()


def read_table(path: Path, required: tuple[str, ...]) -> Table:
    """Read a whole CSV file, checking that its header has the ``required`` columns."""
    where = str(path)
    wanted = " and ".join(repr(name) for name in required)
    wanted = f"a {wanted} column" if len(required) == 1 else f"the {wanted} columns"
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            first, reader = records(fh, where)
            header = [name.strip().lower() for name in first]
            if not any(header):
                raise InvalidInput(where, f"empty file: a header with {wanted} is needed")
            missing = [name for name in required if name not in header]
            if missing:
                found = ", ".join(name for name in header if name) or "nothing"
                names = " or ".join(repr(name) for name in missing)
                raise InvalidInput(where, f"no {names} column in the header (found: {found})")
            rows = list(reader)
    except UnicodeDecodeError:
        raise InvalidInput(where, "not UTF-8 text") from None
    return Table(where, header, rows)


def cell(row: list[str], index: int | None) -> str:
    """A row's cell at ``index`` ("" when the row is short or the column absent)."""
    return row[index] if index is not None and index < len(row) else ""


__all__ = ["BadRow", "Table", "cell", "delimiter", "read_table", "records"]

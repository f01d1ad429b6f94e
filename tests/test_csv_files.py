"""The one CSV reader: its separator, its rows with the line each starts on, its refusals."""

from __future__ import annotations

import csv

import pytest

from cxloop import csv_files


@pytest.mark.parametrize(
    ("header", "separator"),
    [("id,text", ","), ("id;text;lang", ";"), ("id\ttext", "\t"), ("score", ","), ("", ",")],
)
def test_the_separator_is_the_most_frequent_in_the_header(header: str, separator: str) -> None:
    assert csv_files.delimiter(header) == separator


def test_rows_come_with_the_line_they_start_on_and_blank_lines_are_skipped() -> None:
    # given semicolons, a quoted cell over two lines and a blank line
    lines = ["id;text\r\n", '1;"two\r\n', 'lines"\r\n', "\r\n", "2;x\r\n"]
    # when
    header, rows = csv_files.records(lines, "f.csv")
    # then
    assert header == ["id", "text"]
    assert list(rows) == [(2, ["1", "two\r\nlines"]), (5, ["2", "x"])]


def test_an_empty_file_has_no_header_and_no_rows() -> None:
    header, rows = csv_files.records([], "f.csv")
    assert (header, list(rows)) == ([], [])


def test_a_row_csv_cannot_read_is_refused_with_its_line() -> None:
    lines = ["id,text\n", "1,ok\n", "2," + "x" * (csv.field_size_limit() + 1) + "\n"]
    _header, rows = csv_files.records(lines, "f.csv")
    with pytest.raises(csv_files.BadRow) as refused:
        list(rows)
    assert (refused.value.path, refused.value.line) == ("f.csv", 3)
    assert refused.value.reason.startswith("unreadable CSV (field larger than field limit")

"""The input policy's own functions: what they keep, and what they refuse, naming the field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from cxloop import inputs
from cxloop.errors import InvalidInput


def nested(levels: int) -> dict[str, object]:
    value: dict[str, object] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_json_within_the_limits_is_kept_as_it_is() -> None:
    value = {"a": [1, 2.5, "x", None, True], "b": nested(inputs.MAX_DEPTH - 1)}
    assert inputs.json_value(value, "traits") is value


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        (nested(inputs.MAX_DEPTH + 1), "nested deeper than 32 levels"),
        (nested(5000), "nested deeper than 32 levels"),
        ({"items": list(range(inputs.MAX_NODES + 1))}, "more than 10000 keys and items"),
        ({"a": "x" * (inputs.MAX_STRING + 1)}, "a string is over 32768 characters"),
        ({"a": 2**64}, "a number is outside 64 bits"),
        ({"a": float("nan")}, "numbers must be finite"),
    ],
)
def test_json_beyond_the_limits_is_refused_naming_the_field(value: object, detail: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        inputs.json_value(value, "batch[3].traits")
    assert (refused.value.field, refused.value.message, refused.value.status) == (
        "batch[3].traits",
        detail,
        400,
    )


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00",
        "9999-12-31T23:59:59.999999Z",
        "1969-12-31T23:59:59Z",
        "2201-01-01T00:00:00Z",
    ],
)
def test_times_outside_1970_to_2200_are_refused_even_where_utc_overflows(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        inputs.iso_datetime(text, "placed_at")
    assert refused.value.field == "placed_at"
    assert refused.value.message == "must be a time between 1970 and 2200"


def test_times_inside_the_range_are_utc() -> None:
    assert inputs.iso_datetime("2200-12-31T20:00:00-03:00", "t") == dt.datetime(
        2200, 12, 31, 23, tzinfo=dt.UTC
    )
    assert inputs.iso_datetime("1970-01-01T00:00:00", "t") == inputs.EARLIEST


def test_a_skew_correction_that_leaves_the_range_is_refused_not_overflowing() -> None:
    offset = dt.datetime.max.replace(tzinfo=dt.UTC) - inputs.EARLIEST
    with pytest.raises(InvalidInput) as refused:
        inputs.shifted(inputs.LATEST, offset, "timestamp")
    assert refused.value.field == "timestamp"


@pytest.mark.parametrize("value", ["٩", "９", "²", "9" * 5000, "11", "-1", "1.0", "1e1", True])
def test_scores_are_ascii_digits_from_0_to_10(value: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        inputs.score(value)
    assert (refused.value.field, refused.value.status) == ("score", 422)


@pytest.mark.parametrize(("value", "expected"), [("0", 0), (" 10 ", 10), (7, 7), ("", None)])
def test_valid_scores_are_read(value: object, expected: int | None) -> None:
    assert inputs.score(value) == expected


@pytest.mark.parametrize("value", ["1e30", 1e30, "9" * 5000, "21474836.48", "-1e30", "NaN"])
def test_money_beyond_the_cents_columns_is_refused(value: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        inputs.amount(value, "total_price")
    assert refused.value.field == "total_price"


def test_money_within_the_bound_is_read_exactly() -> None:
    assert inputs.amount("21474836.47", "x") == inputs.MAX_AMOUNT
    assert inputs.amount(12.9, "x") == Decimal("12.9")

"""Interactions: who bought (or carted, or viewed) what, when and how much, as a sparse matrix.

Users and items keep their own ids (text); rows and columns are their positions. The matrix
holds, per (user, item), the sum of the interactions' weights (quantities, or confidence
weights by kind); ``lines`` counts the interactions, ``last`` keeps the latest time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from scipy import sparse

from cxloop.errors import InvalidInput

COLUMNS = ("user_id", "item_id", "timestamp", "quantity")


@dataclass(frozen=True)
class Interactions:
    """One row per interaction: user and item positions, time (seconds) and weight."""

    users: np.ndarray  # user ids (text), by position
    items: np.ndarray  # item ids (text), by position
    user: np.ndarray  # int32 position of each interaction's user
    item: np.ndarray  # int32 position of each interaction's item
    time: np.ndarray  # float64 seconds since the epoch (0 when unknown)
    weight: np.ndarray  # float32

    @property
    def shape(self) -> tuple[int, int]:
        """(users, items)."""
        return len(self.users), len(self.items)

    def matrix(self, *, binary: bool = False) -> sparse.csr_matrix:
        """Users × items: summed weights (or 1 where the user had the item)."""
        values = np.ones_like(self.weight) if binary else self.weight
        found = sparse.csr_matrix(
            (values, (self.user, self.item)), shape=self.shape, dtype=np.float32
        )
        found.sum_duplicates()
        if binary:
            found.data[:] = 1.0
        return found

    def lines(self) -> sparse.csr_matrix:
        """Users × items: how many interactions each pair had."""
        found = sparse.csr_matrix(
            (np.ones(len(self.user), dtype=np.float32), (self.user, self.item)),
            shape=self.shape,
        )
        found.sum_duplicates()
        return found

    def where(self, mask: np.ndarray) -> Interactions:
        """The interactions where ``mask`` holds, with the same users and items."""
        return Interactions(
            self.users,
            self.items,
            self.user[mask],
            self.item[mask],
            self.time[mask],
            self.weight[mask],
        )


def from_columns(
    users: Sequence[str] | np.ndarray,
    items: Sequence[str] | np.ndarray,
    times: Sequence[float] | np.ndarray | None = None,
    weights: Sequence[float] | np.ndarray | None = None,
) -> Interactions:
    """Interactions from parallel columns (times in seconds, weights default 1)."""
    user_ids, user = np.unique(np.asarray(users, dtype=object).astype(str), return_inverse=True)
    item_ids, item = np.unique(np.asarray(items, dtype=object).astype(str), return_inverse=True)
    count = len(user)
    return Interactions(
        user_ids,
        item_ids,
        user.astype(np.int32),
        item.astype(np.int32),
        np.zeros(count) if times is None else np.asarray(times, dtype=np.float64),
        np.ones(count, np.float32) if weights is None else np.asarray(weights, np.float32),
    )


def read_csv(path: Path) -> Interactions:
    """``user_id,item_id[,timestamp,quantity]`` (timestamp ISO 8601 or seconds; quantity > 0
    counts, else 1); a bad file is an ``InvalidInput`` naming it."""
    where = str(path)
    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={"user_id": pa.string(), "item_id": pa.string()},
                strings_can_be_null=True,
            ),
        )
    except FileNotFoundError:
        raise InvalidInput(where, "no such file") from None
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise InvalidInput(where, f"not a CSV file of interactions ({exc})"[:300]) from None
    missing = [c for c in ("user_id", "item_id") if c not in table.column_names]
    if missing:
        raise InvalidInput(where, f"no {' or '.join(missing)} column in the header")
    table = table.filter(pc.and_(pc.is_valid(table["user_id"]), pc.is_valid(table["item_id"])))
    if table.num_rows == 0:
        raise InvalidInput(where, "no interaction with a user_id and an item_id")
    times = _seconds(table, where) if "timestamp" in table.column_names else None
    weights = None
    if "quantity" in table.column_names:
        quantity = pc.cast(table["quantity"], pa.float64(), safe=False).to_numpy(
            zero_copy_only=False
        )
        weights = np.where(np.nan_to_num(quantity) > 0, np.nan_to_num(quantity), 1.0)
    return from_columns(
        table["user_id"].to_numpy(zero_copy_only=False),
        table["item_id"].to_numpy(zero_copy_only=False),
        times,
        weights,
    )


def _seconds(table: pa.Table, where: str) -> np.ndarray:
    column = table["timestamp"]
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        found: np.ndarray = np.nan_to_num(
            pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        )
        return found
    if not pa.types.is_timestamp(column.type):
        try:
            column = pc.strptime(pc.cast(column, pa.string()), "%Y-%m-%d %H:%M", unit="s")
        except pa.ArrowInvalid:
            raise InvalidInput(f"{where}: timestamp", "ISO dates or seconds") from None
    seconds = pc.cast(pc.cast(column, pa.timestamp("s")), pa.int64())
    values: np.ndarray = np.nan_to_num(seconds.to_numpy(zero_copy_only=False).astype(np.float64))
    return values


def read_users(path: Path) -> list[str]:
    """The user ids of a file, one a line (a header ``user_id`` is skipped)."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise InvalidInput(str(path), "no such file") from None
    found = [line.strip().split(",")[0] for line in lines if line.strip()]
    return [u for u in found if u != "user_id"]


def positions(ids: np.ndarray, wanted: Iterable[str]) -> dict[str, int]:
    """The positions of ``wanted`` ids in the sorted ``ids`` (unknown ones left out)."""
    found: dict[str, int] = {}
    for value in wanted:
        at = int(np.searchsorted(ids, value))
        if at < len(ids) and ids[at] == value:
            found[value] = at
    return found

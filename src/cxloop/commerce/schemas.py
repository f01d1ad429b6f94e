"""API models for commerce figures."""

from __future__ import annotations

from pydantic import BaseModel


class MonthRevenue(BaseModel):
    """Revenue and orders of one calendar month (UTC)."""

    month: str
    orders: int
    revenue: float


class Overview(BaseModel):
    """The headline figures of a workspace."""

    currency: str
    customers: int
    buyers: int
    orders: int
    revenue: float
    average_order_value: float
    repeat_buyer_share: float
    late_shipment_share: float
    months: list[MonthRevenue]

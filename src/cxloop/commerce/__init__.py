"""What a store sells and what its customers bought: products, orders, shipments.

This package's facade: what other domains may use. They import the package
(``from cxloop import commerce``), never one of its modules (checked by import-linter).
"""

from cxloop.commerce.models import (
    ORDER_STATUSES,
    SHIPMENT_STATUSES,
    Order,
    OrderItem,
    Product,
    Shipment,
)
from cxloop.commerce.records import (
    CustomerData,
    ItemData,
    OrderData,
    ProductData,
    RefundData,
    ShipmentData,
    cancel_order,
    record_refund,
    to_cents,
    upsert_customer,
    upsert_order,
    upsert_product,
    upsert_shipment,
)
from cxloop.commerce.service import (
    export_order_items,
    export_orders,
    export_shipments,
    get_order,
    order_facets,
    order_figures,
    order_items_for_export,
    order_problems,
    orders_for_export,
    orders_of,
    orders_placed_since,
    shipments_of,
    touchpoint_query,
)

__all__ = [
    "ORDER_STATUSES",
    "SHIPMENT_STATUSES",
    "CustomerData",
    "ItemData",
    "Order",
    "OrderData",
    "OrderItem",
    "Product",
    "ProductData",
    "RefundData",
    "Shipment",
    "ShipmentData",
    "cancel_order",
    "export_order_items",
    "export_orders",
    "export_shipments",
    "get_order",
    "order_facets",
    "order_figures",
    "order_items_for_export",
    "order_problems",
    "orders_for_export",
    "orders_of",
    "orders_placed_since",
    "record_refund",
    "shipments_of",
    "to_cents",
    "touchpoint_query",
    "upsert_customer",
    "upsert_order",
    "upsert_product",
    "upsert_shipment",
]

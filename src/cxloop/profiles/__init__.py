"""Customers and the identities that point at them.

This package's facade: what other domains may use. They import the package
(``from cxloop import profiles``), never one of its modules (checked by import-linter).
"""

from cxloop.profiles.models import Customer
from cxloop.profiles.service import (
    Keys,
    alias,
    apply_traits,
    count_customers,
    customer_attributes,
    customer_id_of,
    customer_ids,
    customers_by_id,
    denials_in_windows,
    find_by_email,
    find_by_user_id,
    find_current,
    get_customer,
    identities_of,
    lookup_identities,
    may_contact,
    merges_after,
    newest_customer_id,
    resolve,
    set_consent,
    touch_customers,
    user_id_of,
)

__all__ = [
    "Customer",
    "Keys",
    "alias",
    "apply_traits",
    "count_customers",
    "customer_attributes",
    "customer_id_of",
    "customer_ids",
    "customers_by_id",
    "denials_in_windows",
    "find_by_email",
    "find_by_user_id",
    "find_current",
    "get_customer",
    "identities_of",
    "lookup_identities",
    "may_contact",
    "merges_after",
    "newest_customer_id",
    "resolve",
    "set_consent",
    "touch_customers",
    "user_id_of",
]

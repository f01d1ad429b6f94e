"""Customers and the identities that point at them."""

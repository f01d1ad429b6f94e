"""The demo store: a realistic French and English shop generated into a fresh workspace."""

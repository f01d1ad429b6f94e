"""Project tooling that is not shipped: the import-linter contract for domains."""

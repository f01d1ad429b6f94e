"""The operational store: SQLAlchemy models, sessions and Alembic migrations."""

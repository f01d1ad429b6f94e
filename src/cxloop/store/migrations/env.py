"""Alembic environment: runs against the engine handed over by cxloop.store.db."""

from alembic import context
from sqlalchemy import create_engine

from cxloop.store.registry import load_models

config = context.config
target_metadata = load_models().metadata


def run() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run()

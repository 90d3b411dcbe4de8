"""Alembic environment: runs on the engine operative hands over (see operative.core.db.upgrade)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import operative.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from operative.core.db import get_engine

target_metadata = SQLModel.metadata


def run_migrations() -> None:
    engine = context.config.attributes.get("engine") or get_engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things in place; batch mode rebuilds the table.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()

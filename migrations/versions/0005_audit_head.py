"""audit head

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 01:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    # An existing log's end is taken as it stands: from here on, its tail is guarded too.
    op.execute(
        "INSERT INTO audit_head (id, sequence, hash) "
        "SELECT 1, id, hash FROM event WHERE id = (SELECT max(id) FROM event)"
    )


def downgrade() -> None:
    op.drop_table('audit_head')

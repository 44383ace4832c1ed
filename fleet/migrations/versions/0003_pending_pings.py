"""Queue of stored pings awaiting snapping and coverage

Ingestion acknowledges a fix once the raw ping is committed; a worker snaps and counts
it afterwards. The queue row is written in the same transaction as the ping, so an
acknowledged fix is never lost between the two steps, even across a crash.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fleet.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_pings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ping_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("truck_id", sa.String(length=16), nullable=False),
        sa.Column("fix_time", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pending_pings_truck", "pending_pings", ["truck_id", "fix_time"])


def downgrade() -> None:
    op.drop_index("ix_pending_pings_truck", table_name="pending_pings")
    op.drop_table("pending_pings")

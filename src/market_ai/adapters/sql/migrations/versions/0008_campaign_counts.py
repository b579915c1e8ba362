"""Campaign counts kept by triggers, and an index in the list's order: a page costs O(page).

Revision ID: 0008
Revises: 0007
Create Date: 2025-01-08 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from market_ai.adapters.sql.campaign_counts import BACKFILL, create_statements, drop_statements

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the table, fill it from the rows there are, then let triggers keep it in step.

    The fill and the triggers are one transaction on Postgres (DDL is transactional), and
    the ACCESS EXCLUSIVE lock CREATE TRIGGER takes holds writers off `campaigns` meanwhile.
    """
    op.create_table(
        "campaign_counts",
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "owner_id", "status", "channel", "slot", name=op.f("pk_campaign_counts")
        ),
    )
    # The list orders by (created_at, id): with id in the index a page stops after its rows
    # instead of sorting all of the owner's.
    # (A file create_all made before migrations were adopted may have either index.)
    op.create_index(
        op.f("ix_campaigns_owner_created_id"),
        "campaigns",
        ["owner_id", "created_at", "id"],
        if_not_exists=True,
    )
    op.drop_index(op.f("ix_campaigns_owner_created"), table_name="campaigns", if_exists=True)
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("LOCK TABLE campaigns IN SHARE ROW EXCLUSIVE MODE")
    op.execute(BACKFILL)
    for statement in create_statements(dialect):
        op.execute(statement)


def downgrade() -> None:
    """Drop the triggers, then the table."""
    for statement in drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("campaign_counts")
    op.create_index(op.f("ix_campaigns_owner_created"), "campaigns", ["owner_id", "created_at"])
    op.drop_index(op.f("ix_campaigns_owner_created_id"), table_name="campaigns")

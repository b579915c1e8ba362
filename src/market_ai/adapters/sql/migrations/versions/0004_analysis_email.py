"""Campaign analyses and email deliveries, both keyed by the job that made them.

Revision ID: 0004
Revises: 0003
Create Date: 2025-01-04 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the two tables (expand only: code of revision 0003 never reads them)."""
    op.create_table(
        "campaign_analyses",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("summary_model", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_campaign_analyses")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_analyses_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        op.f("ix_campaign_analyses_campaign_created"),
        "campaign_analyses",
        ["campaign_id", "created_at"],
    )
    op.create_table(
        "email_deliveries",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_email_deliveries")),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("email_deliveries")
    op.drop_index(op.f("ix_campaign_analyses_campaign_created"), table_name="campaign_analyses")
    op.drop_table("campaign_analyses")

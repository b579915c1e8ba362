"""Initial schema: campaigns and their daily metrics.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the tables exactly as adapters/sql/tables.py declares them at this revision.

    Plain SQLAlchemy types, not the app's: a migration is a frozen snapshot and must not
    change when tables.py does. UtcDateTime is stored as DateTime(timezone=True).
    """
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("budget_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("audience", sa.Text(), nullable=True),
        sa.Column("brief", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.CheckConstraint("budget_minor >= 0", name=op.f("ck_campaigns_budget_non_negative")),
        sa.CheckConstraint(
            "ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on",
            name=op.f("ck_campaigns_flight"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_campaigns_version_positive")),
    )
    op.create_index(op.f("ix_campaigns_owner_created"), "campaigns", ["owner_id", "created_at"])
    op.create_table(
        "campaign_metrics",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("conversions", sa.BigInteger(), nullable=False),
        sa.Column("spend_micros", sa.BigInteger(), nullable=False),
        sa.Column("revenue_micros", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "day", name=op.f("pk_campaign_metrics")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_metrics_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "impressions >= 0 AND clicks >= 0 AND conversions >= 0"
            " AND spend_micros >= 0 AND revenue_micros >= 0",
            name=op.f("ck_campaign_metrics_non_negative"),
        ),
        sa.CheckConstraint(
            "clicks <= impressions", name=op.f("ck_campaign_metrics_clicks_within_impressions")
        ),
    )


def downgrade() -> None:
    """Drop everything this revision created (children first)."""
    op.drop_table("campaign_metrics")
    op.drop_index(op.f("ix_campaigns_owner_created"), table_name="campaigns")
    op.drop_table("campaigns")

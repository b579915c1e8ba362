"""Table definitions (SQLAlchemy Core): the shape of the data, shared by queries and migrations."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from market_ai.adapters.sql.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("owner_id", String(255), nullable=False),
    Column("name", String(200), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    # Money as integer hundredths: exact on every backend, no float, no driver quirks.
    Column("budget_minor", BigInteger(), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("starts_on", Date(), nullable=True),
    Column("ends_on", Date(), nullable=True),
    Column("audience", Text(), nullable=True),
    Column("brief", Text(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("version", Integer(), nullable=False),
    CheckConstraint("budget_minor >= 0", name="budget_non_negative"),
    CheckConstraint("ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on", name="flight"),
    CheckConstraint("version >= 1", name="version_positive"),
    Index("ix_campaigns_owner_created", "owner_id", "created_at"),
)

campaign_metrics = Table(
    "campaign_metrics",
    metadata,
    Column(
        "campaign_id",
        Uuid(),
        ForeignKey("campaigns.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("day", Date(), primary_key=True),
    Column("impressions", BigInteger(), nullable=False),
    Column("clicks", BigInteger(), nullable=False),
    Column("conversions", BigInteger(), nullable=False),
    # Money in micro-units (1e-6), as ad platforms export it (cost_micros): exact, no float.
    Column("spend_micros", BigInteger(), nullable=False),
    Column("revenue_micros", BigInteger(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    CheckConstraint(
        "impressions >= 0 AND clicks >= 0 AND conversions >= 0"
        " AND spend_micros >= 0 AND revenue_micros >= 0",
        name="non_negative",
    ),
    CheckConstraint("clicks <= impressions", name="clicks_within_impressions"),
)

# The outbox and the truth about every background job; the queue only carries ids.
jobs = Table(
    "jobs",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("owner_id", String(255), nullable=False),
    Column("type", String(64), nullable=False),
    Column("payload", JSON(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempt", Integer(), nullable=False),
    Column("max_attempts", Integer(), nullable=False),
    Column("last_error", Text(), nullable=True),
    Column("result", JSON(none_as_null=True), nullable=True),
    Column("idempotency_key", String(200), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("run_after", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime(), nullable=True),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("lease_expires_at", UtcDateTime(), nullable=True),
    Column("published_at", UtcDateTime(), nullable=True),
    CheckConstraint(
        "status IN ('queued', 'running', 'succeeded', 'failed', 'dead')", name="status_known"
    ),
    CheckConstraint("attempt >= 0 AND max_attempts >= 1", name="attempts_counted"),
    # NULL keys never collide, so jobs without a key are not constrained.
    UniqueConstraint("owner_id", "idempotency_key", name="uq_jobs_owner_idempotency_key"),
    # The relay's and the reconciler's scans, and the per-status counts of health reports.
    Index("ix_jobs_status_published_run_after", "status", "published_at", "run_after"),
)

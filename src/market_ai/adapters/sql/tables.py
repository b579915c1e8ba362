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
    event,
    text,
)
from sqlalchemy.engine import Connection

from market_ai.adapters.sql.campaign_counts import create_statements
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
    # The list's order (newest first, id breaking ties): a page reads its rows and no more.
    Index("ix_campaigns_owner_created_id", "owner_id", "created_at", "id"),
)

# How many campaigns each owner has per status and channel, kept by triggers on `campaigns`
# (adapters/sql/campaign_counts.py): a listing's total without counting the owner's rows.
campaign_counts = Table(
    "campaign_counts",
    metadata,
    Column("owner_id", String(255), primary_key=True),
    Column("status", String(16), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("slot", Integer(), primary_key=True),
    Column("n", BigInteger(), nullable=False),
)


def _add_count_triggers(_table: Table, connection: Connection, **_: object) -> None:
    """create_all builds what migration 0008 builds: the table and its triggers."""
    for statement in create_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


event.listen(campaign_counts, "after_create", _add_count_triggers)

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
    Column("request_id", String(128), nullable=True),
    CheckConstraint(
        "status IN ('queued', 'running', 'succeeded', 'failed', 'dead')", name="status_known"
    ),
    CheckConstraint("attempt >= 0 AND max_attempts >= 1", name="attempts_counted"),
    # NULL keys never collide, so jobs without a key are not constrained.
    UniqueConstraint("owner_id", "idempotency_key", name="uq_jobs_owner_idempotency_key"),
    # The relay's and the reconciler's scans.
    Index("ix_jobs_status_published_run_after", "status", "published_at", "run_after"),
    # Health figures: index-only over the jobs not succeeded, however much history piles up.
    Index(
        "ix_jobs_unfinished_status_run_after",
        "status",
        "run_after",
        postgresql_where=text("status <> 'succeeded'"),
        sqlite_where=text("status <> 'succeeded'"),
    ),
    # Retention: the oldest succeeded jobs first, without reading the others.
    Index(
        "ix_jobs_succeeded_finished",
        "finished_at",
        postgresql_where=text("status = 'succeeded'"),
        sqlite_where=text("status = 'succeeded'"),
    ),
)

# Generated copy: one row per (job, variant), so a redelivered job never writes a variant twice.
content_variants = Table(
    "content_variants",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("job_id", Uuid(), nullable=False),
    Column("variant_index", Integer(), nullable=False),
    Column("campaign_id", Uuid(), ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("owner_id", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("tone", String(100), nullable=False),
    Column("text", Text(), nullable=False),
    Column("model", String(100), nullable=False),
    Column("input_tokens", Integer(), nullable=False),
    Column("cached_tokens", Integer(), nullable=False),
    Column("output_tokens", Integer(), nullable=False),
    Column("reasoning_tokens", Integer(), nullable=False),
    Column("tool_calls", Integer(), nullable=False),
    Column("cost_micros", BigInteger(), nullable=False),
    Column("cited_file_ids", JSON(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    CheckConstraint(
        "variant_index >= 0 AND input_tokens >= 0 AND cached_tokens >= 0"
        " AND output_tokens >= 0 AND reasoning_tokens >= 0 AND tool_calls >= 0"
        " AND cost_micros >= 0",
        name="non_negative",
    ),
    UniqueConstraint("job_id", "variant_index", name="uq_content_variants_job_id"),
    Index("ix_content_variants_campaign_created", "campaign_id", "created_at"),
)

# One row per user and budget period: the row a reservation's guarded UPDATE locks.
spend_budgets = Table(
    "spend_budgets",
    metadata,
    Column("owner_id", String(255), primary_key=True),
    Column("period", String(16), primary_key=True),
    # Micro-USD: exact integers, no float anywhere in the money path.
    Column("spent_micros", BigInteger(), nullable=False),
    Column("reserved_micros", BigInteger(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    CheckConstraint("spent_micros >= 0 AND reserved_micros >= 0", name="non_negative"),
)

# Every model-call attempt's reservation and what it finally cost; never deleted.
spend_ledger = Table(
    "spend_ledger",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("owner_id", String(255), nullable=False),
    Column("period", String(16), nullable=False),
    Column("job_id", Uuid(), nullable=True),
    Column("attempt", Integer(), nullable=True),
    Column("model", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reserved_micros", BigInteger(), nullable=False),
    Column("actual_micros", BigInteger(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime(), nullable=True),
    CheckConstraint(
        "status IN ('reserved', 'settled', 'released', 'expired')", name="status_known"
    ),
    CheckConstraint(
        "reserved_micros >= 0 AND (actual_micros IS NULL OR actual_micros >= 0)",
        name="non_negative",
    ),
    # The sweeper's scan for reservations whose worker died.
    Index("ix_spend_ledger_status_expires", "status", "expires_at"),
    Index("ix_spend_ledger_job", "job_id", "attempt"),
    # Retention: closed entries, oldest first (budgets live in spend_budgets, not here).
    Index(
        "ix_spend_ledger_closed",
        "closed_at",
        postgresql_where=text("status <> 'reserved'"),
        sqlite_where=text("status <> 'reserved'"),
    ),
)

# One analysis per analyze_campaign job (the job id is the key, so redelivery stores once).
campaign_analyses = Table(
    "campaign_analyses",
    metadata,
    Column("job_id", Uuid(), primary_key=True),
    Column("campaign_id", Uuid(), ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("owner_id", String(255), nullable=False),
    Column("as_of", Date(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("figures", JSON(), nullable=False),
    Column("summary", Text(), nullable=True),
    Column("summary_model", String(100), nullable=True),
    Index("ix_campaign_analyses_campaign_created", "campaign_id", "created_at"),
)

# One row per send_email job whose message the mail server accepted: the "already sent" mark.
# No foreign key: a record of what was sent outlives the campaign it was about.
email_deliveries = Table(
    "email_deliveries",
    metadata,
    Column("job_id", Uuid(), primary_key=True),
    Column("campaign_id", Uuid(), nullable=False),
    Column("owner_id", String(255), nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("recipients", JSON(), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=False),
)

# One row per (send_email job, recipient): written `pending` with the job (the quota's
# reservation), then the outcome of that recipient's message. No foreign key, as above.
email_recipients = Table(
    "email_recipients",
    metadata,
    Column("job_id", Uuid(), primary_key=True),
    Column("address", String(254), primary_key=True),
    Column("owner_id", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("detail", String(200), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
    CheckConstraint(
        "status IN ('pending', 'sent', 'deferred', 'refused', 'suppressed')", name="status_known"
    ),
)

# Recipients reserved per owner and UTC day: the row the quota's guarded upsert locks.
email_quota = Table(
    "email_quota",
    metadata,
    Column("owner_id", String(255), primary_key=True),
    Column("day", Date(), primary_key=True),
    Column("recipients", Integer(), nullable=False),
    CheckConstraint("recipients >= 0", name="non_negative"),
)

# Addresses (lower-cased) an owner must not mail again: one-click unsubscribes.
email_suppressions = Table(
    "email_suppressions",
    metadata,
    Column("owner_id", String(255), primary_key=True),
    Column("address", String(254), primary_key=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

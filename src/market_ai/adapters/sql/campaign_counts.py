"""The per-owner campaign count, kept by triggers in the writing transaction.

A listing's total used to be a count over the owner's rows on every page: O(rows) per
request. Triggers on `campaigns` keep `campaign_counts` (owner, status, channel) in step in
the same transaction as the write, so a total is a sum over a handful of rows and exact.

On Postgres each connection adds to its own slot (backend pid mod SLOTS): concurrent creates
of one owner would otherwise queue on one counter row until each commit is flushed. An update
that moves a campaign between keys touches both rows in one statement in key order, so two
opposite moves cannot deadlock. SQLite has one writer: one slot.
"""

from __future__ import annotations

from typing import Final

SLOTS: Final = 32

POSTGRES_CREATE: Final = (
    """
CREATE FUNCTION campaign_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    my_slot integer := mod(pg_backend_pid(), 32);  -- SLOTS
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO campaign_counts AS c (owner_id, status, channel, slot, n)
        VALUES (NEW.owner_id, NEW.status, NEW.channel, my_slot, 1)
        ON CONFLICT (owner_id, status, channel, slot) DO UPDATE SET n = c.n + 1;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO campaign_counts AS c (owner_id, status, channel, slot, n)
        VALUES (OLD.owner_id, OLD.status, OLD.channel, my_slot, -1)
        ON CONFLICT (owner_id, status, channel, slot) DO UPDATE SET n = c.n - 1;
    ELSIF (OLD.owner_id, OLD.status, OLD.channel)
            IS DISTINCT FROM (NEW.owner_id, NEW.status, NEW.channel) THEN
        INSERT INTO campaign_counts AS c (owner_id, status, channel, slot, n)
        SELECT moved.owner_id, moved.status, moved.channel, my_slot, moved.n
        FROM (VALUES (OLD.owner_id, OLD.status, OLD.channel, -1),
                     (NEW.owner_id, NEW.status, NEW.channel, 1))
            AS moved (owner_id, status, channel, n)
        ORDER BY moved.owner_id, moved.status, moved.channel
        ON CONFLICT (owner_id, status, channel, slot) DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER campaign_counts_follow
AFTER INSERT OR DELETE OR UPDATE OF owner_id, status, channel ON campaigns
FOR EACH ROW EXECUTE FUNCTION campaign_counts_follow()
""",
)
POSTGRES_DROP: Final = (
    "DROP TRIGGER IF EXISTS campaign_counts_follow ON campaigns",
    "DROP FUNCTION IF EXISTS campaign_counts_follow()",
)

_SQLITE_ADD = """
    INSERT OR IGNORE INTO campaign_counts (owner_id, status, channel, slot, n)
    VALUES (NEW.owner_id, NEW.status, NEW.channel, 0, 0);
    UPDATE campaign_counts SET n = n + 1 WHERE owner_id = NEW.owner_id
        AND status = NEW.status AND channel = NEW.channel AND slot = 0;"""
_SQLITE_REMOVE = """
    UPDATE campaign_counts SET n = n - 1 WHERE owner_id = OLD.owner_id
        AND status = OLD.status AND channel = OLD.channel AND slot = 0;"""
SQLITE_CREATE: Final = (
    f"CREATE TRIGGER campaign_counts_insert AFTER INSERT ON campaigns BEGIN{_SQLITE_ADD}\nEND",
    f"CREATE TRIGGER campaign_counts_delete AFTER DELETE ON campaigns BEGIN{_SQLITE_REMOVE}\nEND",
    (
        "CREATE TRIGGER campaign_counts_update AFTER UPDATE OF owner_id, status, channel"
        " ON campaigns WHEN OLD.owner_id IS NOT NEW.owner_id OR OLD.status IS NOT NEW.status"
        f" OR OLD.channel IS NOT NEW.channel BEGIN{_SQLITE_REMOVE}{_SQLITE_ADD}\nEND"
    ),
)
SQLITE_DROP: Final = tuple(
    f"DROP TRIGGER IF EXISTS campaign_counts_{name}" for name in ("insert", "delete", "update")
)

BACKFILL: Final = (
    "INSERT INTO campaign_counts (owner_id, status, channel, slot, n)"
    " SELECT owner_id, status, channel, 0, count(*) FROM campaigns"
    " GROUP BY owner_id, status, channel"
)


def create_statements(dialect: str) -> tuple[str, ...]:
    """The trigger DDL for `dialect` (postgresql or sqlite)."""
    return POSTGRES_CREATE if dialect == "postgresql" else SQLITE_CREATE


def drop_statements(dialect: str) -> tuple[str, ...]:
    """Undo `create_statements`."""
    return POSTGRES_DROP if dialect == "postgresql" else SQLITE_DROP

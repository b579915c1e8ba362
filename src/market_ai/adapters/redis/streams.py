"""Low-level pieces of the Redis job queue: entry parsing, pending-list scans, Lua scripts."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from uuid import UUID

import structlog

from market_ai.domain.job_queue import Delivery

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = structlog.get_logger(__name__)

FIELD = b"job_id"
Fields = Mapping[bytes, bytes] | None
Entry = tuple[str, Fields]

START = "0-0"
_ENTRY_ID = re.compile(r"\d+-\d+")
# NOGROUP: the stream or group is gone (FLUSHALL, restart without AOF, failover to an empty
# replica). UNBLOCKED: the same, noticed by a client blocked in XREADGROUP at that moment.
_LOST_GROUP = ("NOGROUP", "UNBLOCKED")

# Renew only what the consumer still owns: a bare XCLAIM would steal an entry back from the
# worker that reclaimed it after our lease ran out. JUSTID keeps the delivery count unchanged.
# ARGV: group, consumer, ids...; returns the ids renewed.
RENEW = """
local renewed = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1, ARGV[2])
  if #p > 0 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'JUSTID')
    renewed[#renewed + 1] = id
  end
end
return renewed
"""

# Publish with an index job id -> newest entry id, so the reconciler can tell a job the
# stream lost from one that merely waits. KEYS: stream, index; ARGV: job ids.
PUBLISH = """
for i = 1, #ARGV do
  local id = redis.call('XADD', KEYS[1], '*', 'job_id', ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], id)
end
return #ARGV
"""

# Ack = XACK + XDEL, and drop the index entry when it names this very entry. A lost group
# holds nothing pending, so its XACK error is ignored. KEYS: stream, index; ARGV: group, ids.
ACK = """
for i = 2, #ARGV do
  local id = ARGV[i]
  local entry = redis.call('XRANGE', KEYS[1], id, id)
  if #entry > 0 then
    local fields = entry[1][2]
    for j = 1, #fields, 2 do
      if fields[j] == 'job_id' and redis.call('HGET', KEYS[2], fields[j + 1]) == id then
        redis.call('HDEL', KEYS[2], fields[j + 1])
      end
    end
  end
  redis.pcall('XACK', KEYS[1], ARGV[1], id)
  redis.call('XDEL', KEYS[1], id)
end
return 1
"""

# Job ids whose indexed entry is gone from the stream. KEYS: stream, index; ARGV: job ids.
MISSING = """
local lost = {}
for i = 1, #ARGV do
  local id = redis.call('HGET', KEYS[2], ARGV[i])
  if (not id) or #redis.call('XRANGE', KEYS[1], id, id) == 0 then
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
"""

# Heartbeats are scored by expiry on Redis's clock, so workers with skewed clocks agree.
# ARGV: consumer, ttl seconds.
HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
"""

# Prune expired heartbeats and list the live ones, on Redis's clock.
LIVE_WORKERS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""


def text(value: object) -> str:
    """Decode a bytes reply (ids, names) to str."""
    return value.decode() if isinstance(value, bytes) else str(value)


def lost_group(error: Exception) -> bool:
    """Whether Redis says the stream or its group no longer exists."""
    return any(marker in str(error) for marker in _LOST_GROUP)


def valid_ids(receipts: Sequence[str]) -> list[str]:
    """Receipts shaped like entry ids: anything else would fail the whole command."""
    return [r for r in receipts if _ENTRY_ID.fullmatch(r)]


def job_id_of(fields: Fields) -> UUID | None:
    """The entry's job id, or None for an entry we cannot act on (deleted, foreign, garbled)."""
    raw = (fields or {}).get(FIELD)
    try:
        return None if raw is None else UUID(raw.decode())
    except (UnicodeDecodeError, ValueError):
        return None


def deliveries_of(
    entries: Sequence[Entry], counts: Mapping[str, int]
) -> tuple[list[Delivery], list[str]]:
    """Split read entries into deliveries and the ids of entries no worker can act on.

    An entry without a count was acked or taken over since it was read, so it is not ours to
    hand out; an entry without a valid job id would sit pending forever unless acked away.
    """
    deliveries: list[Delivery] = []
    malformed: list[str] = []
    for entry_id, fields in entries:
        job_id = job_id_of(fields)
        if job_id is None:
            malformed.append(entry_id)
        elif entry_id in counts:
            deliveries.append(Delivery(job_id, entry_id, counts[entry_id]))
    return deliveries, malformed


def entries_of(reply: object) -> list[Entry]:
    """Flatten an XREADGROUP reply for our one stream into (entry id, fields), RESP2 or RESP3."""
    if isinstance(reply, Mapping):
        batches = list(reply.values())
    elif isinstance(reply, list):
        batches = [item[1] for item in reply]
    else:
        return []
    return [(text(entry[0]), entry[1]) for batch in batches for entry in batch]


async def delivery_counts(
    client: Redis, stream: str, group: str, consumer: str, ids: Sequence[str]
) -> dict[str, int]:
    """Delivery counts of the entries `consumer` still owns: one pipelined XPENDING per id.

    Per id rather than one range, because a range over the batch would also sweep up
    whatever else the consumer holds between its ends, with no count known to bound it.
    """
    if not ids:
        return {}
    async with client.pipeline(transaction=False) as pipe:
        for entry_id in ids:
            pipe.xpending_range(stream, group, entry_id, entry_id, 1, consumername=consumer)
        replies = await pipe.execute()
    return {
        text(row["message_id"]): int(row["times_delivered"]) for rows in replies for row in rows
    }


async def autoclaim(  # noqa: PLR0913 - one XAUTOCLAIM's arguments
    client: Redis,
    stream: str,
    group: str,
    *,
    consumer: str,
    min_idle_ms: int,
    count: int,
    cursor: str,
) -> tuple[str, list[Entry]]:
    """XAUTOCLAIM from `cursor` until `count` entries are claimed or every entry was examined.

    One XAUTOCLAIM examines at most 10 x COUNT entries, so a large pending list takes several
    calls; looping until the cursor wraps (twice when starting mid-list) is what bounds the
    time to reclaim. Entries Redis reports deleted have already left the pending list.
    """
    wraps_left = 1 if cursor == START else 2
    found: dict[str, Fields] = {}
    while True:
        reply = await client.xautoclaim(
            stream, group, consumer, min_idle_ms, start_id=cursor, count=count - len(found)
        )
        cursor = text(reply[0])
        for entry_id, fields in reply[1]:
            found.setdefault(text(entry_id), fields)
        if len(reply) > 2 and reply[2]:  # noqa: PLR2004 - Redis >= 7 lists deleted ids third
            log.info("queue.reclaim_dropped_deleted", ids=[text(i) for i in reply[2]])
        if cursor == START:
            wraps_left -= 1
        if len(found) >= count or wraps_left == 0:
            return cursor, list(found.items())

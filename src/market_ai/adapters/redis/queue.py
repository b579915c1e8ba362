"""The JobQueue port on Redis Streams: one stream, one consumer group, entries deleted on ack."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

import structlog
from redis.exceptions import ResponseError

from market_ai.adapters.redis import streams
from market_ai.adapters.redis.client import block_limit_ms
from market_ai.domain.job_queue import Delivery

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from redis.asyncio import Redis

    from market_ai.adapters.redis.streams import Entry

log = structlog.get_logger(__name__)

T = TypeVar("T")
PUBLISH_CHUNK = 1000


class RedisJobQueue:
    """At-least-once delivery of job ids over a Redis Streams consumer group.

    Entries stay in the stream until acked, and ack deletes them (XACK + XDEL in one
    MULTI/EXEC), so the stream holds exactly the unfinished work and is never trimmed by
    MAXLEN. The group is created at `0` on first use and re-created when Redis reports it
    lost, so an emptied Redis keeps serving (the database reconciler republishes what it held).
    `deliveries` is the pending list's count: 1 when fresh, +1 on each redelivery (a consumer
    re-reading its own pending after a restart, or a reclaim); renewing leaves it unchanged.
    """

    def __init__(
        self,
        client: Redis,
        *,
        stream: str = "market-ai:jobs",
        group: str = "workers",
        prefix: str = "market-ai",
    ) -> None:
        self._client = client
        self._stream = stream
        self._group = group
        self._workers_key = f"{prefix}:workers"
        self._counters_key = f"{prefix}:job-counters"
        self._index_key = f"{prefix}:job-entries"  # job id -> its newest entry id
        self._max_block_ms = block_limit_ms(client)
        self._group_ready = False
        self._replayed: set[str] = set()  # consumers done re-reading their own pending
        self._replay_from: dict[str, str] = {}  # consumer -> last pending id re-read so far
        self._reclaim_from: dict[str, str] = {}  # consumer -> XAUTOCLAIM cursor
        self._renew = client.register_script(streams.RENEW)
        self._publish = client.register_script(streams.PUBLISH)
        self._ack = client.register_script(streams.ACK)
        self._missing = client.register_script(streams.MISSING)
        self._heartbeat = client.register_script(streams.HEARTBEAT)
        self._live = client.register_script(streams.LIVE_WORKERS)

    async def publish(self, job_ids: Sequence[UUID]) -> None:
        """XADD each id (and index it), a script per chunk; no MAXLEN: it would drop work."""
        for start in range(0, len(job_ids), PUBLISH_CHUNK):
            chunk = [str(job_id) for job_id in job_ids[start : start + PUBLISH_CHUNK]]
            await self._publish(keys=[self._stream, self._index_key], args=chunk)

    async def receive(self, consumer: str, *, count: int, block_ms: int) -> Sequence[Delivery]:
        """Own pending entries first (once per consumer), then new ones; blocks <= 2 s a call."""
        if count <= 0:
            return []
        return await self._recovering(lambda: self._receive(consumer, count, block_ms))

    async def reclaim(self, consumer: str, *, min_idle_ms: int, count: int) -> Sequence[Delivery]:
        """XAUTOCLAIM up to `count`, carrying the scan cursor from call to call.

        A call that returns fewer than `count` has examined every pending entry, so polling
        every P with free capacity picks up a dead worker's entry within lease + P.
        """
        if count <= 0:
            return []
        return await self._recovering(lambda: self._reclaim(consumer, min_idle_ms, count))

    async def renew(self, consumer: str, receipts: Sequence[str]) -> None:
        """Reset the idle time of the entries `consumer` still owns."""
        await self.renew_held(consumer, receipts)

    async def renew_held(self, consumer: str, receipts: Sequence[str]) -> list[str]:
        """Renew like `renew`, and return the receipts still held: the rest were lost.

        A receipt missing from the answer was acked, or reclaimed by another worker after
        this lease lapsed; the job's attempt fence decides whose result counts.
        """
        ids = streams.valid_ids(receipts)
        if not ids:
            return []
        try:
            reply = await self._renew(keys=[self._stream], args=[self._group, consumer, *ids])
        except ResponseError as exc:
            if not streams.lost_group(exc):
                raise
            self._forget_group()
            reply = []
        held = [streams.text(entry_id) for entry_id in reply]
        if lost := sorted(set(ids) - set(held)):
            log.warning("queue.leases_lost", consumer=consumer, receipts=lost)
        return held

    async def ack(self, receipts: Sequence[str]) -> None:
        """XACK and XDEL in one script, so an entry is never left deleted-but-pending."""
        ids = streams.valid_ids(receipts)
        if ids:
            await self._ack(keys=[self._stream, self._index_key], args=[self._group, *ids])

    async def missing(self, job_ids: Sequence[UUID]) -> set[UUID]:
        """Ids whose indexed entry is no longer in the stream (or that were never indexed)."""
        if not job_ids:
            return set()
        args = [str(job_id) for job_id in job_ids]
        lost = await self._missing(keys=[self._stream, self._index_key], args=args)
        return {UUID(streams.text(job_id)) for job_id in lost}

    async def heartbeat(self, consumer: str, *, ttl_seconds: float) -> None:
        """Score the consumer by its expiry on Redis's clock."""
        await self._heartbeat(keys=[self._workers_key], args=[consumer, ttl_seconds])

    async def live_workers(self) -> int:
        """Count consumers whose heartbeat has not expired."""
        return len(await self.live_worker_names())

    async def live_worker_names(self) -> list[str]:
        """Names of the consumers whose heartbeat has not expired, for /health/detailed."""
        return sorted(streams.text(name) for name in await self._live(keys=[self._workers_key]))

    async def forget_idle_consumers(self, *, min_idle_ms: int) -> list[str]:
        """XGROUP DELCONSUMER each consumer idle that long, holding nothing, not heartbeating.

        Dead workers' consumers would otherwise pile up in the group (every process has a
        name of its own); one with pending entries stays until they are reclaimed.
        """
        try:
            consumers = await self._client.xinfo_consumers(self._stream, self._group)
        except ResponseError as exc:
            if streams.lost_group(exc):
                return []
            raise
        live = set(await self.live_worker_names())
        gone = [
            name
            for info in consumers
            if int(info["pending"]) == 0
            and int(info["idle"]) >= min_idle_ms
            and (name := streams.text(info["name"])) not in live
        ]
        for name in gone:
            await self._client.xgroup_delconsumer(self._stream, self._group, name)
        if gone:
            log.info("queue.idle_consumers_removed", consumers=gone)
        return gone

    async def retire(self, consumer: str) -> None:
        """Drop a consumer's heartbeat at a clean shutdown, instead of waiting for its TTL."""
        await self._client.zrem(self._workers_key, consumer)

    async def count(self, counter: str, amount: int = 1) -> None:
        """HINCRBY one shared counter."""
        await self._client.hincrby(self._counters_key, counter, amount)

    async def counters(self) -> Mapping[str, int]:
        """Every shared counter."""
        raw = await self._client.hgetall(self._counters_key)
        return {streams.text(name): int(value) for name, value in raw.items()}

    async def pending_count(self) -> int:
        """Entries handed out and not yet acked (0 while the group does not exist)."""
        try:
            summary = await self._client.xpending(self._stream, self._group)
        except ResponseError as exc:
            if streams.lost_group(exc):
                return 0
            raise
        return int(summary["pending"])

    async def stream_length(self) -> int:
        """Unfinished entries: waiting plus pending (acked ones are deleted)."""
        return int(await self._client.xlen(self._stream))

    async def _recovering(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run an operation on the group, re-creating the group once if Redis lost it."""
        if not self._group_ready:
            await self._create_group()
        try:
            return await operation()
        except ResponseError as exc:
            if not streams.lost_group(exc):
                raise
        log.warning("queue.group_recreated", stream=self._stream, group=self._group)
        self._forget_group()
        await self._create_group()
        return await operation()

    async def _create_group(self) -> None:
        try:
            await self._client.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def _forget_group(self) -> None:
        """After a lost group every consumer starts over: replay first, scan from the start."""
        self._group_ready = False
        self._replayed.clear()
        self._replay_from.clear()
        self._reclaim_from.clear()

    async def _receive(self, consumer: str, count: int, block_ms: int) -> list[Delivery]:
        if consumer not in self._replayed:
            replayed = await self._replay(consumer, count)
            if replayed or consumer not in self._replayed:
                return replayed
        block = min(block_ms, self._max_block_ms)
        reply = await self._client.xreadgroup(
            self._group,
            consumer,
            {self._stream: ">"},
            count=count,
            block=block if block > 0 else None,  # BLOCK 0 would mean forever
        )
        entries = streams.entries_of(reply)
        return await self._deliveries(entries, {entry_id: 1 for entry_id, _ in entries})

    async def _replay(self, consumer: str, count: int) -> list[Delivery]:
        """Re-read this consumer's own pending entries, a batch per call, until exhausted."""
        start = self._replay_from.get(consumer, "0")
        reply = await self._client.xreadgroup(
            self._group, consumer, {self._stream: start}, count=count
        )
        entries = streams.entries_of(reply)
        if len(entries) < count:
            self._replayed.add(consumer)
            self._replay_from.pop(consumer, None)
        else:
            self._replay_from[consumer] = entries[-1][0]
        return await self._deliveries(entries, await self._held(consumer, entries))

    async def _reclaim(self, consumer: str, min_idle_ms: int, count: int) -> list[Delivery]:
        cursor, entries = await streams.autoclaim(
            self._client,
            self._stream,
            self._group,
            consumer=consumer,
            min_idle_ms=min_idle_ms,
            count=count,
            cursor=self._reclaim_from.get(consumer, streams.START),
        )
        self._reclaim_from[consumer] = cursor
        return await self._deliveries(entries, await self._held(consumer, entries))

    async def _held(self, consumer: str, entries: Sequence[Entry]) -> dict[str, int]:
        ids = [entry_id for entry_id, _fields in entries]
        return await streams.delivery_counts(self._client, self._stream, self._group, consumer, ids)

    async def _deliveries(self, entries: Sequence[Entry], counts: dict[str, int]) -> list[Delivery]:
        """Deliveries for entries still held; entries without a valid job id are acked away."""
        deliveries, malformed = streams.deliveries_of(entries, counts)
        if malformed:
            log.warning("queue.malformed_entries_dropped", stream=self._stream, ids=malformed)
            await self.ack(malformed)
        return deliveries

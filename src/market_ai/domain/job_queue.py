"""The JobQueue port: how job *intent* travels from the database to workers.

The database row is the truth about a job; the queue only carries its id. Everything here
may be lost (a Redis restart without AOF, a failover) without losing a job: the relay and
reconciler publish again from the rows. What the queue must give is at-least-once delivery
with leases: an entry handed to a worker stays pending until acked, and a worker that dies
leaves it to be reclaimed by another after the lease.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True)
class Delivery:
    """One hand-out of a job id to a worker.

    `receipt` is the queue's own handle (a stream entry id), opaque to the domain.
    `deliveries` counts hand-outs of this entry, 1 on the first: a count that keeps rising
    without the job finishing means the job crashes its workers (a poison job).
    """

    job_id: UUID
    receipt: str
    deliveries: int


class JobQueue(Protocol):
    """At-least-once delivery of job ids to a group of competing workers."""

    async def publish(self, job_ids: Sequence[UUID]) -> None:
        """Make these ids available to workers (publishing one twice is allowed)."""
        ...

    async def receive(self, consumer: str, *, count: int, block_ms: int) -> Sequence[Delivery]:
        """Hand out up to `count` entries to `consumer`, waiting up to `block_ms` for some.

        A consumer that restarts under the same name first gets back the entries it held and
        never acked, so nothing sits pending until someone else's lease runs out.
        """
        ...

    async def reclaim(self, consumer: str, *, min_idle_ms: int, count: int) -> Sequence[Delivery]:
        """Take over entries other consumers held for at least `min_idle_ms` without renewing."""
        ...

    async def renew(self, consumer: str, receipts: Sequence[str]) -> None:
        """Reset the idle time of entries `consumer` still works on (its lease)."""
        ...

    async def ack(self, receipts: Sequence[str]) -> None:
        """Forget these entries for good: finished, dead, or duplicates of a finished job."""
        ...

    async def missing(self, job_ids: Sequence[UUID]) -> set[UUID]:
        """Which of these ids have no entry left in the queue (it lost them).

        The reconciler publishes again only these, so a backlog that merely waits keeps
        one entry per job instead of gaining one every period.
        """
        ...

    async def forget_idle_consumers(self, *, min_idle_ms: int) -> list[str]:
        """Drop consumers idle that long with nothing pending and no heartbeat (dead workers)."""
        ...

    async def heartbeat(self, consumer: str, *, ttl_seconds: float) -> None:
        """Say `consumer` is alive for the next `ttl_seconds`."""
        ...

    async def live_workers(self) -> int:
        """Count consumers whose heartbeat has not expired."""
        ...

    async def count(self, counter: str, amount: int = 1) -> None:
        """Add to a shared counter (reclaimed, dead, duplicate_suppressed, ...)."""
        ...

    async def counters(self) -> Mapping[str, int]:
        """Read every shared counter."""
        ...

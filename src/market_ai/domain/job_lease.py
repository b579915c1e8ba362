"""The lease an attempt holds on its job: renewed while the handler runs, or the handler stops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LeaseTerms:
    """How long an attempt owns its job, and how many crash-redeliveries make it poison."""

    lease_seconds: float = 30.0
    max_deliveries: int = 5

    @property
    def lease(self) -> timedelta:
        """The lease as a duration."""
        return timedelta(seconds=self.lease_seconds)

    @property
    def renew_every(self) -> float:
        """Renew three times per lease, so two lost renewals in a row still keep it."""
        return self.lease_seconds / 3

    @property
    def margin(self) -> float:
        """How long before its lease can lapse a worker that cannot renew stops its handler."""
        return self.lease_seconds / 6


class LeaseLapsing(Exception):  # noqa: N818 - a signal between the watchdog and the runner
    """Renewals kept failing: the lease is about to lapse, so the handler was stopped."""


class FenceLost(Exception):  # noqa: N818 - a signal between the lease keeper and the runner
    """Another attempt owns the job now; this one must stop and record nothing."""


async def keep_leased(  # noqa: PLR0913 - the work, its terms and its two renewals
    work: Awaitable[T],
    *,
    terms: LeaseTerms,
    claimed_at: float,
    renew_row: Callable[[], Awaitable[bool]],
    renew_entry: Callable[[], Awaitable[None]],
    what: str,
) -> T:
    """Await `work` while renewing the database lease, then the queue entry, every L/3.

    The database first: the queue entry then never becomes reclaimable while the row's
    lease still runs. A renewal that finds the fence taken cancels the work (FenceLost).
    Renewals that fail or hang cancel it too (LeaseLapsing), a margin before the lease could
    lapse, counted from when the last successful renewal began (`claimed_at`, loop time, for
    the claim itself), so no other worker can start the job while this one still produces
    effects.
    """
    loop = asyncio.get_running_loop()
    task: asyncio.Future[T] = asyncio.ensure_future(work)
    lost = False
    held_until = claimed_at + terms.lease_seconds - terms.margin

    async def keep() -> None:
        nonlocal lost, held_until
        while True:
            await asyncio.sleep(terms.renew_every)
            began = loop.time()
            try:
                async with asyncio.timeout(terms.renew_every):
                    held = await renew_row()
                if not held:
                    lost = True
                    task.cancel()
                    return
                held_until = began + terms.lease_seconds - terms.margin
                await renew_entry()
            except Exception:  # a blip: the lease allows two more tries before it ends
                log.exception("job.renew_failed %s", what)

    keeper = asyncio.create_task(keep())
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=max(held_until - loop.time(), 0.0))
            if not task.done() and loop.time() >= held_until:
                task.cancel()
                await asyncio.wait({task})
                if not lost:
                    raise LeaseLapsing
        return await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if lost and (current is None or current.cancelling() == 0):
            raise FenceLost from None
        task.cancel()  # this attempt itself is cancelled (a drain): so is the handler
        await asyncio.wait({task})
        raise
    finally:
        keeper.cancel()  # bounded wait: a renewal stuck in a driver must not hold the job
        await asyncio.wait({keeper}, timeout=terms.renew_every)

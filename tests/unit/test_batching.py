"""Group commit: concurrent calls share one flush, each gets its own answer or error."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from market_ai.domain.batching import Batcher


class Recorder:
    """A flush that records each batch it was given, optionally slow or failing."""

    def __init__(self, *, gate: asyncio.Event | None = None, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.gate = gate
        self.fail_on = fail_on

    async def __call__(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_on is not None and self.fail_on in items:
            raise ValueError(f"item {self.fail_on} is bad")
        return [item * 10 for item in items]


async def test_calls_made_together_share_one_flush_and_get_their_own_results() -> None:
    flush = Recorder()
    batcher = Batcher(flush)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(5)))
    assert results == [0, 10, 20, 30, 40]
    assert flush.batches == [[0, 1, 2, 3, 4]]


async def test_calls_arriving_during_a_flush_wait_for_the_next_one() -> None:
    gate = asyncio.Event()
    flush = Recorder(gate=gate)
    batcher = Batcher(flush)
    first = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # the first flush has started and waits on the gate
    later = [asyncio.ensure_future(batcher.submit(i)) for i in (2, 3)]
    await asyncio.sleep(0)
    gate.set()
    assert await first == 10
    assert await asyncio.gather(*later) == [20, 30]
    assert flush.batches == [[1], [2, 3]]


async def test_a_lone_call_is_flushed_at_once() -> None:
    flush = Recorder()
    batcher = Batcher(flush)
    assert await asyncio.wait_for(batcher.submit(7), timeout=1) == 70
    assert await asyncio.wait_for(batcher.submit(8), timeout=1) == 80
    assert flush.batches == [[7], [8]]


async def test_batches_are_capped() -> None:
    flush = Recorder()
    batcher = Batcher(flush, max_batch=2)
    assert await asyncio.gather(*(batcher.submit(i) for i in range(5))) == [0, 10, 20, 30, 40]
    assert flush.batches == [[0, 1], [2, 3], [4]]


async def test_a_failed_flush_fails_its_batch_only() -> None:
    gate = asyncio.Event()
    flush = Recorder(gate=gate, fail_on=2)
    batcher = Batcher(flush)
    doomed = [asyncio.ensure_future(batcher.submit(i)) for i in (1, 2)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    fine = asyncio.ensure_future(batcher.submit(3))
    gate.set()
    for future in doomed:
        with pytest.raises(ValueError, match="item 2 is bad"):
            await future
    assert await fine == 30


async def test_a_cancelled_caller_does_not_cancel_the_flush_of_the_others() -> None:
    gate = asyncio.Event()
    flush = Recorder(gate=gate)
    batcher = Batcher(flush)
    leaving = asyncio.ensure_future(batcher.submit(1))
    staying = asyncio.ensure_future(batcher.submit(2))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    leaving.cancel()
    gate.set()
    assert await staying == 20
    assert leaving.cancelled()
    assert flush.batches == [[1, 2]]  # the cancelled caller's item was applied all the same


async def test_a_flush_that_answers_the_wrong_number_of_results_fails_loudly() -> None:
    async def short(items: Sequence[int]) -> list[int]:
        return list(items)[:-1]

    batcher = Batcher(short)
    with pytest.raises(RuntimeError, match="a flush of 2 items gave 1 results"):
        await asyncio.gather(batcher.submit(1), batcher.submit(2))

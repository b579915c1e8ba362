"""Group commit: concurrent single calls served by one batched call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH: Final = 500


class Batcher(Generic[T, R]):
    """Callers `submit` one item each; `flush` runs on everything waiting, one batch at a time.

    The first item starts a flush on the next turn of the event loop, so an idle system
    adds no delay; items that arrive while a flush runs wait for the next one. Under load
    each round trip and transaction (a claim, a commit, an ack) is thus paid once per batch
    rather than once per job, and the batch size follows the load by itself.

    The flush runs in its own task: a caller cancelled while waiting does not cancel it, so
    its item is applied (or fails) with the rest. A flush that raises fails its whole batch.
    """

    def __init__(
        self, flush: Callable[[Sequence[T]], Awaitable[Sequence[R]]], *, max_batch: int = MAX_BATCH
    ) -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Queue `item` for the next flush and wait for its own result."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                await self._settle(batch)
        except BaseException:  # cancelled (loop shutdown): nobody may wait forever
            for _, future in self._waiting:
                future.cancel()
            self._waiting.clear()
            raise
        finally:
            self._flusher = None

    async def _settle(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._flush([item for item, _ in batch])
            _check_length(len(batch), len(results))
        except Exception as error:  # noqa: BLE001 - handed to every caller of the batch
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        except BaseException:  # the flusher itself was cancelled: its callers must not hang
            for _, future in batch:
                if not future.done():
                    future.cancel()
            raise
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


def _check_length(items: int, results: int) -> None:
    if items != results:
        raise RuntimeError(f"a flush of {items} items gave {results} results")

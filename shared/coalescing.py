"""Requests that arrive together handled together: while one batch is written, the next waits and grows.

A request that finds nothing in progress starts a batch of its own at once, so a lone request waits
for nothing. Requests arriving while a batch is being written join the next one, which starts as
soon as the batch before it is done: under load, each round trip to the database or the broker
carries many requests instead of one. Each request gets its own outcome, a value or an exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
Handle = Callable[[list[T]], Awaitable[list["R | BaseException"]]]


@dataclass
class _Waiting(Generic[T, R]):
    item: T
    outcome: asyncio.Future[R] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Coalescer(Generic[T, R]):
    """Hands items to `handle` in batches of at most `max_items`, one batch at a time.

    `handle` returns one outcome per item, in order: the item's result, or the exception its caller
    gets. An exception raised by `handle` itself goes to every caller of that batch. Every caller
    passes the same `handle` (a batch is handled by the one its first caller passed)."""

    def __init__(self, *, max_items: int = 250) -> None:
        self.max_items = max_items
        self._waiting: list[_Waiting[T, R]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: T, handle: Handle[T, R]) -> R:
        waiting: _Waiting[T, R] = _Waiting(item)
        self._waiting.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all(handle))
        return await asyncio.shield(waiting.outcome)

    async def _write_all(self, handle: Handle[T, R]) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:self.max_items], self._waiting[self.max_items:]
            try:
                outcomes = await handle([waiting.item for waiting in batch])
                if len(outcomes) != len(batch):
                    raise RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} items")
            except asyncio.CancelledError:  # the service stops: so do the callers of this batch
                for waiting in batch:
                    waiting.outcome.cancel()
                raise
            except Exception as exc:  # every caller of the batch hears of it
                outcomes = [exc] * len(batch)
            for waiting, outcome in zip(batch, outcomes, strict=True):
                _settle(waiting.outcome, outcome)


def _settle(future: asyncio.Future[R], outcome: R | BaseException) -> None:
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)

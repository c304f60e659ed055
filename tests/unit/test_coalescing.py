"""Requests arriving together are handled together, each with its own outcome."""

from __future__ import annotations

import asyncio

import pytest

from shared.coalescing import Coalescer


class _Recorder:
    def __init__(self, *, hold: asyncio.Event | None = None) -> None:
        self.batches: list[list[int]] = []
        self.hold = hold

    async def handle(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(items)
        if self.hold is not None:
            await self.hold.wait()
        return [ValueError(f"odd {n}") if n % 2 else n * 10 for n in items]


async def test_a_lone_request_is_handled_at_once_in_a_batch_of_its_own() -> None:
    recorder = _Recorder()
    assert await Coalescer[int, int]().submit(2, recorder.handle) == 20
    assert recorder.batches == [[2]]


async def test_requests_arriving_while_a_batch_is_written_go_together_in_the_next_one() -> None:
    release = asyncio.Event()
    recorder = _Recorder(hold=release)
    coalescer = Coalescer[int, int](max_items=3)
    first = asyncio.create_task(coalescer.submit(0, recorder.handle))
    await asyncio.sleep(0)
    later = [asyncio.create_task(coalescer.submit(n, recorder.handle)) for n in (2, 4, 6, 8)]
    await asyncio.sleep(0.01)
    assert recorder.batches == [[0]]  # the others wait for the batch in progress
    release.set()
    assert await first == 0 and [await task for task in later] == [20, 40, 60, 80]
    assert recorder.batches == [[0], [2, 4, 6], [8]]


async def test_each_request_gets_its_own_outcome_and_a_failed_batch_fails_each_of_its_requests() -> None:
    recorder = _Recorder()
    coalescer = Coalescer[int, int]()
    outcomes = await asyncio.gather(*(coalescer.submit(n, recorder.handle) for n in (1, 2)), return_exceptions=True)
    assert isinstance(outcomes[0], ValueError) and outcomes[1] == 20

    async def broken(items: list[int]) -> list[int | BaseException]:
        raise ConnectionError("database unreachable")

    outcomes = await asyncio.gather(*(coalescer.submit(n, broken) for n in (2, 4)), return_exceptions=True)
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
    assert await coalescer.submit(4, recorder.handle) == 40  # and the next batch goes on


async def test_a_handler_answering_for_fewer_items_than_it_was_given_fails_the_batch() -> None:
    async def short(items: list[int]) -> list[int | BaseException]:
        return items[:1]

    coalescer = Coalescer[int, int]()
    with pytest.raises(RuntimeError, match="1 outcomes for 2 items"):
        await asyncio.gather(*(coalescer.submit(n, short) for n in (2, 4)))

"""Batches applied in key order: a failing key stops the batch without cancelling writes in hand."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from shared.batching import apply_in_key_order, apply_in_rounds
from shared.dead_letter import TransientError


class NoDeadLetters:
    def __init__(self) -> None:
        self.parked: list[Any] = []

    async def dead_letter_record(self, record: Any, poison: Any) -> None:
        self.parked.append((record, poison))

    def delay(self, attempt: int) -> float:
        return 0.0


def records(*keys: str) -> list[Any]:
    return [SimpleNamespace(topic="t", partition=0, offset=i, value=f"{key}:{i}".encode())
            for i, key in enumerate(keys)]


def parse(raw: bytes) -> tuple[str, int]:
    key, index = raw.decode().split(":")
    return key, int(index)


async def test_a_transient_failure_lets_writes_in_hand_finish_and_starts_no_more() -> None:
    finished: list[int] = []
    cancelled: list[int] = []
    started: list[int] = []

    async def handle(event: tuple[str, int]) -> None:
        key, index = event
        started.append(index)
        if key == "a":
            await asyncio.sleep(0.01)
            raise TransientError("database away")
        try:
            await asyncio.sleep(0.1)
        except asyncio.CancelledError:
            cancelled.append(index)
            raise
        finished.append(index)

    with pytest.raises(TransientError):
        await apply_in_key_order(records("a", "b", "b", "c"), parse=parse, key_of=lambda e: e[0],
                                 handle=handle, dead_letters=NoDeadLetters())  # type: ignore[arg-type]
    assert cancelled == []
    # b's first event and c's were in hand when a failed: they finished; b's second never started.
    assert sorted(finished) == [1, 3]
    assert 2 not in started


async def test_each_key_in_order_and_every_record_applied() -> None:
    seen: list[tuple[str, int]] = []

    async def handle(event: tuple[str, int]) -> None:
        await asyncio.sleep(0.001 * (3 - event[1] % 3))
        seen.append(event)

    keys = ("a", "b", "a", "c", "b", "a")
    applied = await apply_in_key_order(records(*keys), parse=parse, key_of=lambda e: e[0], handle=handle,
                                       dead_letters=NoDeadLetters())  # type: ignore[arg-type]
    assert applied == len(keys)
    for key in "abc":
        assert [i for k, i in seen if k == key] == [i for i, k in enumerate(keys) if k == key]


async def test_rounds_keep_each_keys_order_and_write_different_keys_together() -> None:
    rounds: list[list[int]] = []

    async def apply_round(events: list[tuple[str, int]]) -> None:
        rounds.append([index for _, index in events])

    async def handle(event: tuple[str, int]) -> None:
        raise AssertionError("the slow path is not taken")

    applied = await apply_in_rounds(records("a", "b", "a", "c", "a", "b"), parse=parse, key_of=lambda e: e[0],
                                    apply_round=apply_round, handle=handle,
                                    dead_letters=NoDeadLetters())  # type: ignore[arg-type]
    assert applied == 6
    assert rounds == [[0, 1, 3], [2, 5], [4]]


async def test_a_round_failing_for_another_reason_than_an_outage_is_applied_event_by_event() -> None:
    handled: list[int] = []
    dead = NoDeadLetters()

    async def apply_round(events: list[tuple[str, int]]) -> None:
        raise ValueError("one document too large for a bulk write")

    async def handle(event: tuple[str, int]) -> None:
        if event[1] == 1:
            raise ValueError("this one cannot be applied")
        handled.append(event[1])

    applied = await apply_in_rounds(records("a", "b", "a"), parse=parse, key_of=lambda e: e[0],
                                    apply_round=apply_round, handle=handle, dead_letters=dead)  # type: ignore[arg-type]
    assert sorted(handled) == [0, 2] and applied == 2
    assert [record.offset for record, _ in dead.parked] == [1]


async def test_an_outage_during_a_round_retries_the_whole_batch() -> None:
    async def apply_round(events: list[tuple[str, int]]) -> None:
        raise TransientError("database away")

    async def handle(event: tuple[str, int]) -> None:
        raise AssertionError("an outage is not applied event by event")

    with pytest.raises(TransientError):
        await apply_in_rounds(records("a", "b"), parse=parse, key_of=lambda e: e[0], apply_round=apply_round,
                              handle=handle, dead_letters=NoDeadLetters())  # type: ignore[arg-type]

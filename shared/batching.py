"""Batch consumption that keeps each key's order: records of one key in sequence, keys side by side.

A topic is keyed by resident (or station, location): what must happen in order is the events of
one key, and those sit in one partition in order. A batch is split by key; each key's events are
applied one after the other while different keys run concurrently. The batch's offsets are
committed only when every key is done, so a crash redelivers the batch and the idempotent
handlers skip what was applied.

- A record that cannot be parsed goes to its dead-letter topic; the rest go on.
- A transient failure (database, broker) is raised: the dead-letter middleware retries the
  whole batch with backoff.
- Any other handler error is retried twice, then that record alone is dead-lettered as
  `handler_error` and its key goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiokafka import ConsumerRecord

from shared.contracts import MAX_EVENT_BYTES
from shared.dead_letter import TRANSIENT_ERRORS, DeadLetterPolicy, PoisonMessage, classify

log = logging.getLogger("ektp.batching")
E = TypeVar("E")
HANDLER_ATTEMPTS = 3


async def apply_in_key_order(
    records: Sequence[ConsumerRecord[Any, Any]],
    *,
    parse: Callable[[bytes], E],
    key_of: Callable[[E], str],
    handle: Callable[[E], Awaitable[None]],
    dead_letters: DeadLetterPolicy,
    concurrency: int = 16,
) -> int:
    """Apply a batch; returns how many records were applied (not dead-lettered)."""
    groups = await _parsed_by_key(records, parse=parse, key_of=key_of, dead_letters=dead_letters)
    return await _apply_groups(groups, handle=handle, dead_letters=dead_letters, concurrency=concurrency)


async def apply_in_rounds(
    records: Sequence[ConsumerRecord[Any, Any]],
    *,
    parse: Callable[[bytes], E],
    key_of: Callable[[E], str],
    apply_round: Callable[[list[E]], Awaitable[None]],
    handle: Callable[[E], Awaitable[None]],
    dead_letters: DeadLetterPolicy,
) -> int:
    """Apply a batch with a few bulk writes: round n holds the n-th event of every key, so each key's
    events still apply in order. When a round fails for any reason but the database or broker being
    away, the batch is applied again event by event (`apply_in_key_order`, with its retries and dead
    letters); the idempotent handlers skip what the rounds applied."""
    groups = await _parsed_by_key(records, parse=parse, key_of=key_of, dead_letters=dead_letters)
    try:
        for n in range(max((len(items) for items in groups.values()), default=0)):
            await apply_round([items[n][1] for items in groups.values() if len(items) > n])
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:  # noqa: BLE001 - the slow path below classifies each record
        log.warning("bulk apply failed (%s): applying the batch event by event", type(exc).__name__)
        return await _apply_groups(groups, handle=handle, dead_letters=dead_letters)
    return sum(len(items) for items in groups.values())


Parsed = dict[str, list[tuple[ConsumerRecord[Any, Any], E]]]


async def _parsed_by_key(records: Sequence[ConsumerRecord[Any, Any]], *, parse: Callable[[bytes], E],
                         key_of: Callable[[E], str], dead_letters: DeadLetterPolicy) -> Parsed[E]:
    groups: Parsed[E] = {}
    for record in records:
        event = await parse_record(record, parse, dead_letters)
        if event is not None:
            groups.setdefault(key_of(event), []).append((record, event))
    return groups


async def _apply_groups(groups: Parsed[E], *, handle: Callable[[E], Awaitable[None]],
                        dead_letters: DeadLetterPolicy, concurrency: int = 16) -> int:
    gate = asyncio.Semaphore(concurrency)
    applied = 0
    failures: list[BaseException] = []

    async def run_key(items: list[tuple[ConsumerRecord[Any, Any], E]]) -> None:
        nonlocal applied
        async with gate:
            for record, event in items:
                if failures:
                    return
                try:
                    if await _handle_one(record, event, handle, dead_letters):
                        applied += 1
                except Exception as exc:  # noqa: BLE001 - kept, raised once every key has stopped
                    failures.append(exc)
                    return

    # No key is cancelled when another fails: the keys still running finish the write in hand and
    # take no next event. Cancelling a task inside a database call can leave the driver's shared
    # state broken (PyMongo's topology lock, measured: every later query of the process hung).
    await asyncio.gather(*(run_key(items) for items in groups.values()))
    if failures:
        # The first failure decides (a transient one retries the whole batch).
        raise failures[0]
    return applied


async def parse_record(record: ConsumerRecord[Any, Any], parse: Callable[[bytes], E],
                       dead_letters: DeadLetterPolicy) -> E | None:
    """The record's event, or None after parking a record that can never be applied on its dead-letter topic."""
    try:
        raw = record.value or b""
        if len(raw) > MAX_EVENT_BYTES:
            raise PoisonMessage("too_large", f"{len(raw)} bytes, limit {MAX_EVENT_BYTES}")
        return parse(raw)
    except Exception as exc:  # noqa: BLE001 - every parse failure is classified here
        await dead_letters.dead_letter_record(record, classify(exc) or PoisonMessage("invalid_event",
                                                                                    type(exc).__name__))
        return None


async def _handle_one(record: ConsumerRecord[Any, Any], event: E, handle: Callable[[E], Awaitable[None]],
                      dead_letters: DeadLetterPolicy) -> bool:
    for attempt in range(1, HANDLER_ATTEMPTS + 1):
        try:
            await handle(event)
            return True
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001 - classified: poison now, other errors after retries
            poison = classify(exc)
            if poison is None and attempt < HANDLER_ATTEMPTS:
                log.warning("handler error on %s[%s]@%s (%s), retry %d", record.topic, record.partition,
                            record.offset, type(exc).__name__, attempt)
                await asyncio.sleep(dead_letters.delay(attempt))
                continue
            await dead_letters.dead_letter_record(record, poison or PoisonMessage("handler_error",
                                                                                  type(exc).__name__))
            return False
    return False

"""Intake's roster on the real FerretDB: residents just imported are neither read back for the
same-person check nor read again by intake's own consumer (which waits for a write still in progress),
and another process still finds them."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from services.intake.ports import PersonFacts
from services.intake.store import ROSTER, Roster
from tests.integration.helpers import enrolled_event

pytestmark = pytest.mark.infra


class RosterReads(monitoring.CommandListener):
    """Counts the commands that read the roster collection."""

    def __init__(self) -> None:
        self.reads: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in ("find", "getMore", "aggregate", "count") and (
                event.command.get(event.command_name) == ROSTER or event.command.get("collection") == ROSTER):
            self.reads[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def _facts(events: list[Any]) -> list[PersonFacts]:
    return [PersonFacts(e.payload.resident_id, e.payload.name, e.payload.birth_date, e.payload.desa_code)
            for e in events]


def _same_person(event: Any, as_: Any) -> Any:
    """`event` under its own NIK with the name, birth date and desa of `as_`."""
    payload = event.payload.model_copy(update={"name": as_.payload.name, "birth_date": as_.payload.birth_date,
                                               "desa_code": as_.payload.desa_code})
    return event.model_copy(update={"payload": payload})


@pytest.fixture
async def counted(stack: Any) -> AsyncIterator[tuple[Any, RosterReads]]:
    """A database of its own on the test FerretDB, through a client whose roster reads are counted."""
    listener = RosterReads()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{stack.ports.mongo}/", tz_aware=True, event_listeners=[listener])
    name = f"ektp_roster_reads_{uuid.uuid4().hex[:6]}"
    try:
        yield client[name], listener
    finally:
        await client.drop_database(name)
        await client.close()


async def test_an_imported_batch_is_written_once_and_not_read_back(counted: tuple[Any, RosterReads]) -> None:
    db, listener = counted
    rng = random.Random(11)
    batch = [enrolled_event(rng) for _ in range(40)]
    batch[1] = _same_person(batch[1], as_=batch[0])  # two NIKs of one person in one file
    importing = Roster(db)
    assert await importing.insert_new(batch) == []

    listener.reads.clear()
    matches = await importing.same_people_elsewhere(_facts(batch))
    assert matches == {batch[0].payload.resident_id: [batch[1].payload.resident_id],
                       batch[1].payload.resident_id: [batch[0].payload.resident_id]}
    assert await importing.apply_many(batch) == [False] * len(batch)  # its own consumer, a moment later
    assert not listener.reads, listener.reads

    # Another intake process remembers nothing: it reads, and finds every event applied already.
    other = Roster(db)
    assert await other.apply_many(batch) == [False] * len(batch)
    assert listener.reads["find"] >= 1
    # A later registration of the same person under a third NIK is found against the roster.
    later = _same_person(enrolled_event(rng), as_=batch[5])
    assert await other.insert_new([later]) == []
    listener.reads.clear()
    assert await other.same_people_elsewhere(_facts([later])) == {
        later.payload.resident_id: [batch[5].payload.resident_id]}
    assert listener.reads["find"] == 1, listener.reads
    assert await db[ROSTER].count_documents({}) == len(batch) + 1


async def test_own_consumer_arriving_before_the_write_waits_for_it_and_reads_nothing(
        counted: tuple[Any, RosterReads]) -> None:
    db, listener = counted
    rng = random.Random(12)
    batch = [enrolled_event(rng) for _ in range(30)]
    roster = Roster(db)
    published = asyncio.Event()

    async def own_consumer() -> list[bool]:
        await published.wait()  # the events are on the topic; the roster write has not begun
        await roster.after_writes_here(batch)
        return await roster.apply_many(batch)

    consumer = asyncio.create_task(own_consumer())
    async with roster.writing(batch):
        published.set()
        await asyncio.sleep(0.05)  # the consumer is now waiting for this write
        assert not consumer.done()
        assert await roster.insert_new(batch) == []
    assert await consumer == [False] * len(batch)
    assert not listener.reads, listener.reads
    assert await db[ROSTER].count_documents({}) == len(batch)

    # Kafka confirmed, then the roster write failed: the consumer stops waiting and applies them itself.
    failed = [enrolled_event(rng) for _ in range(5)]
    with pytest.raises(ConnectionError):
        async with roster.writing(failed):
            raise ConnectionError("the database did not answer")
    await roster.after_writes_here(failed)
    assert await roster.apply_many(failed) == [True] * len(failed)

"""The apply-once helpers on the real FerretDB: once per event id, once per source position."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from shared.mongo import (
    WriteRace,
    apply_at_position,
    apply_once,
    document_from_update,
    documents_by_id,
    versioned_write,
    versioned_write_many,
)

pytestmark = pytest.mark.infra


async def test_apply_once_applies_each_event_id_once(mongo_db: Any) -> None:
    collection = mongo_db[f"helper_{uuid.uuid4().hex[:6]}"]
    assert await apply_once(collection, "a", "e1", {"$inc": {"n": 1}, "$set": {"x": 1}})
    assert not await apply_once(collection, "a", "e1", {"$inc": {"n": 1}})
    assert await apply_once(collection, "a", "e2", {"$inc": {"n": 1}})
    doc = await collection.find_one({"_id": "a"})
    assert doc["n"] == 2 and doc["applied_events"] == ["e1", "e2"] and doc["x"] == 1


async def test_concurrent_writers_of_one_event_apply_it_once(mongo_db: Any) -> None:
    collection = mongo_db[f"helper_{uuid.uuid4().hex[:6]}"]
    results = await asyncio.gather(*(apply_once(collection, "c", "e1", {"$inc": {"n": 1}}) for _ in range(8)))
    assert results.count(True) == 1
    assert (await collection.find_one({"_id": "c"}))["n"] == 1


async def test_concurrent_guarded_writes_of_different_events_to_one_document_lose_none(
        mongo_db: Any, stack: Any) -> None:
    """Several clients, as several consumers of one service: every guarded change of one document survives."""
    from pymongo import AsyncMongoClient

    collection = mongo_db[f"helper_{uuid.uuid4().hex[:6]}"]
    await collection.insert_one({"_id": "d", "applied_events": [], "n": 0, "version": 0})
    clients: list[Any] = [AsyncMongoClient(f"mongodb://127.0.0.1:{stack.ports.mongo}/") for _ in range(4)]
    try:
        async def append(writer: int, event: str) -> None:
            other = clients[writer % len(clients)][mongo_db.name][collection.name]
            if writer % 2:
                await apply_once(other, "d", event, {"$inc": {"n": 1}})
            else:
                def decide(doc: Any) -> Any:
                    return None if event in doc["applied_events"] else {"$push": {"applied_events": event},
                                                                         "$inc": {"n": 1}}
                while True:  # a lost race is retried, as the consumer's batch would be
                    try:
                        await versioned_write(other, "d", decide)
                        return
                    except WriteRace:
                        await asyncio.sleep(0.01)

        events = [f"e{i}" for i in range(60)]
        await asyncio.gather(*(append(i, event) for i, event in enumerate(events)))
    finally:
        for client in clients:
            await client.close()
    doc = await collection.find_one({"_id": "d"})
    assert sorted(doc["applied_events"]) == sorted(events)
    assert doc["n"] == len(events)


async def test_apply_at_position_skips_positions_already_seen(mongo_db: Any) -> None:
    collection = mongo_db[f"helper_{uuid.uuid4().hex[:6]}"]
    inc = {"$inc": {"n": 1, "by.m202401": 2}}
    assert await apply_at_position(collection, "k", source="t_0", position=5, update=inc)
    assert not await apply_at_position(collection, "k", source="t_0", position=5, update=inc)
    assert not await apply_at_position(collection, "k", source="t_0", position=3, update=inc)
    assert await apply_at_position(collection, "k", source="t_1", position=3, update=inc)
    assert await apply_at_position(collection, "k", source="t_0", position=6, update=inc)
    doc = await collection.find_one({"_id": "k"})
    assert doc["n"] == 3 and doc["by"]["m202401"] == 6 and doc["positions"] == {"t_0": 6, "t_1": 3}


def test_document_from_update_builds_nested_fields() -> None:
    doc = document_from_update("x", {"$set": {"a.b": 1}, "$inc": {"c.d": 2}, "$push": {"e": "v"}})
    assert doc == {"_id": "x", "a": {"b": 1}, "c": {"d": 2}, "e": ["v"]}


async def test_first_increments_of_a_new_counter_from_two_sources_are_both_kept(mongo_db: Any) -> None:
    for attempt in range(20):
        collection = mongo_db[f"helper_{uuid.uuid4().hex[:6]}"]
        await asyncio.gather(
            apply_at_position(collection, "kec", source="resident_0", position=attempt, update={"$inc": {"n": 1}}),
            apply_at_position(collection, "kec", source="recording_0", position=attempt, update={"$inc": {"n": 1}}),
            apply_once(collection, "r", f"a{attempt}", {"$inc": {"n": 1}}),
            apply_once(collection, "r", f"b{attempt}", {"$inc": {"n": 1}}),
        )
        assert (await collection.find_one({"_id": "kec"}))["n"] == 2
        assert (await collection.find_one({"_id": "r"}))["n"] == 2


async def test_idempotency_claims_on_ferretdb_give_one_effect_for_concurrent_identical_requests(mongo_db: Any) -> None:
    import datetime as dt

    from shared.idempotency import Answer, KeyReusedForOtherData, run_once
    from shared.mongo import MongoRequestClaims

    claims = MongoRequestClaims(mongo_db[f"requests_{uuid.uuid4().hex[:6]}"])
    ran: list[uuid.UUID] = []

    async def action(event_id: uuid.UUID) -> Answer:
        ran.append(event_id)
        await asyncio.sleep(0.1)
        return Answer(201, {"event_id": str(event_id)})

    def now() -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    outcomes = await asyncio.gather(*(run_once(claims, office_id="kec-17.02.06", route="/receipts", key="k-1",
                                               body={"jumlah": 5}, action=action, clock=now) for _ in range(4)))
    assert len(ran) == 1
    assert {o.answer.body["event_id"] for o in outcomes} == {str(ran[0])}
    assert [o.replay for o in outcomes].count(False) == 1
    with pytest.raises(KeyReusedForOtherData):
        await run_once(claims, office_id="kec-17.02.06", route="/receipts", key="k-1", body={"jumlah": 6},
                       action=action, clock=now)


def _adding(event_id: str) -> Any:
    def decide(current: dict[str, Any] | None) -> dict[str, Any] | None:
        if current is not None and event_id in current.get("applied_events", []):
            return None
        return {"$inc": {"n": 1}, "$push": {"applied_events": event_id}}
    return decide


async def test_versioned_write_many_writes_a_thousand_documents_in_one_bulk_and_skips_what_it_applied(
        mongo_db: Any) -> None:
    """A thousand guarded updates in one bulk write (the local server once hung past 100 of them)."""
    collection = mongo_db[f"helper_{uuid.uuid4().hex[:6]}"]
    ids = [f"r{i}" for i in range(1_000)]
    assert await versioned_write_many(collection, {i: _adding("e1") for i in ids}) == set(ids)
    assert await versioned_write_many(collection, {i: _adding("e2") for i in ids}) == set(ids)
    assert await versioned_write_many(collection, {i: _adding("e2") for i in ids}) == set()
    docs = await documents_by_id(collection, ids)
    assert len(docs) == 1_000
    assert {(d["n"], tuple(d["applied_events"]), d["version"]) for d in docs.values()} == {(2, ("e1", "e2"), 2)}


class _OtherWriterFirst:
    """The collection, where another consumer writes "b" between the batch's read and its bulk write."""

    def __init__(self, collection: Any) -> None:
        self.collection = collection

    def __getattr__(self, name: str) -> Any:
        return getattr(self.collection, name)

    async def bulk_write(self, ops: Any, **options: Any) -> Any:
        await self.collection.update_one({"_id": "b"}, {"$inc": {"n": 10, "version": 1},
                                                        "$push": {"applied_events": "other"}})
        return await self.collection.bulk_write(ops, **options)


async def test_versioned_write_many_decides_again_documents_another_writer_changed_meanwhile(mongo_db: Any) -> None:
    collection = mongo_db[f"helper_{uuid.uuid4().hex[:6]}"]
    await collection.insert_many([{"_id": i, "n": 0, "applied_events": [], "version": 1} for i in ("a", "b", "c")])
    written = await versioned_write_many(_OtherWriterFirst(collection),  # type: ignore[arg-type]
                                         {i: _adding("e1") for i in ("a", "b", "c", "new")})
    assert written == {"a", "b", "c", "new"}
    docs = await documents_by_id(collection, ["a", "b", "c", "new"])
    assert {i: d["n"] for i, d in docs.items()} == {"a": 1, "b": 11, "c": 1, "new": 1}
    assert docs["b"]["applied_events"] == ["other", "e1"]

"""MongoDB helpers: the client, and writes that apply an event's effect exactly once.

Only single-document atomic updates are used (FerretDB v1.24 has no transactions): the event
id, or the source position, is recorded in the same write as the state change it guards.

Every filter here names the `_id`, so the server answers it from the primary key (on the
local FerretDB too, see docs/adr/0006-ferretdb-primary-key-lookups.md) and checks the rest of
the guard on that one document.
"""

from __future__ import annotations

import copy
import datetime as dt
from functools import lru_cache
from typing import Any

from pymongo import AsyncMongoClient, InsertOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.dead_letter import TransientError
from shared.idempotency import Answer, Remembered
from shared.settings import InfraSettings

VERSION = "version"
RACE_RETRIES = 5
DUPLICATE_KEY = 11000
IDS_PER_READ = 1_000


def make_client(infra: InfraSettings, *, app_name: str) -> AsyncMongoClient[dict[str, Any]]:
    """An async client with timezone-aware datetimes and short server selection."""
    return AsyncMongoClient(
        infra.mongo_url.get_secret_value(),
        tz_aware=True,
        appname=f"ektp-{app_name}",
        serverSelectionTimeoutMS=5000,
        connectTimeoutMS=5000,
    )


class WriteRace(TransientError):
    """Another writer kept changing the same document; the caller retries the event."""


def _assign(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        doc = doc.setdefault(part, {})
    doc[leaf] = value


def document_from_update(doc_id: str, update: dict[str, Any]) -> dict[str, Any]:
    """The document an update would create on an empty match ($set, $setOnInsert, $inc, $push, $addToSet)."""
    doc: dict[str, Any] = {"_id": doc_id}
    for operator in ("$setOnInsert", "$set", "$inc"):
        for path, value in update.get(operator, {}).items():
            _assign(doc, path, value)
    for operator in ("$push", "$addToSet"):
        for path, value in update.get(operator, {}).items():
            items = value["$each"] if isinstance(value, dict) and "$each" in value else [value]
            _assign(doc, path, list(items))
    return doc


def updated_document(doc: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """The document after `update` ($set, $inc on dotted paths) as the server applies it; `doc` is not changed."""
    result = copy.deepcopy(doc)
    for path, value in update.get("$set", {}).items():
        _assign(result, path, value)
    for path, value in update.get("$inc", {}).items():
        *parents, leaf = path.split(".")
        target = result
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = target.get(leaf, 0) + value
    return result


async def versioned_write(
    collection: AsyncCollection[dict[str, Any]],
    doc_id: str,
    decide: Any,
) -> bool:
    """Read the document, let `decide(doc or None)` return an update (or None to skip), write it.

    For guards that one filter cannot express: the update is applied with a filter on `_id`
    and the version read (a new document is inserted), and a lost race is decided again.
    Returns True when something was written.
    """
    for _ in range(RACE_RETRIES):
        current = await collection.find_one({"_id": doc_id})
        update = decide(current)
        if update is None:
            return False
        update = dict(update)
        update["$inc"] = {**update.get("$inc", {}), VERSION: 1}
        if current is None:
            try:
                await collection.insert_one(document_from_update(doc_id, update))
                return True
            except DuplicateKeyError:
                continue
        update.pop("$setOnInsert", None)
        result = await collection.update_one({"_id": doc_id, VERSION: current.get(VERSION, 0)}, update)
        if result.matched_count == 1:
            return True
    raise WriteRace(doc_id)


async def documents_by_id(collection: AsyncCollection[dict[str, Any]], ids: list[str],
                          projection: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Documents by `_id`, read with `$in` in chunks (through the primary key, also on the local server)."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), IDS_PER_READ):
        async for doc in collection.find({"_id": {"$in": ids[start:start + IDS_PER_READ]}}, projection):
            found[doc["_id"]] = doc
    return found


async def versioned_write_many(collection: AsyncCollection[dict[str, Any]], decisions: dict[str, Any]) -> set[str]:
    """`versioned_write` for many documents: one read, one unordered bulk write; the ids whose update is in effect.

    `decisions` maps a document id to its `decide(doc or None)`. When another writer changed or created
    one of the documents between the read and the write, every document of the batch is decided again
    one by one (`decide` sees the batch's own writes there and skips them)."""
    if not decisions:
        return set()
    current = await documents_by_id(collection, list(decisions))
    ops: list[Any] = []
    planned: list[str] = []
    for doc_id, decide in decisions.items():
        update = decide(current.get(doc_id))
        if update is None:
            continue
        update = dict(update)
        update["$inc"] = {**update.get("$inc", {}), VERSION: 1}
        doc = current.get(doc_id)
        if doc is None:
            ops.append(InsertOne(document_from_update(doc_id, update)))
        else:
            update.pop("$setOnInsert", None)
            ops.append(UpdateOne({"_id": doc_id, VERSION: doc.get(VERSION, 0)}, update))
        planned.append(doc_id)
    if not ops:
        return set()
    try:
        result = await collection.bulk_write(ops, ordered=False)
        if result.matched_count + result.inserted_count == len(ops):
            return set(planned)
    except BulkWriteError as exc:
        if any(error.get("code") != DUPLICATE_KEY for error in exc.details.get("writeErrors", [])):
            raise
    for doc_id in planned:
        await versioned_write(collection, doc_id, decisions[doc_id])
    return set(planned)


async def apply_once(
    collection: AsyncCollection[dict[str, Any]],
    doc_id: str,
    event_id: str,
    update: dict[str, Any],
    *,
    applied_field: str = "applied_events",
) -> bool:
    """Apply `update` to one document unless `event_id` was applied to it before.

    The event id is pushed in the same update, so a redelivered event matches nothing; the
    upsert then collides on _id and that collision means "already applied". Returns True
    when this call changed the document.
    """
    guarded = dict(update)
    guarded["$push"] = {**guarded.get("$push", {}), applied_field: event_id}
    return await _guarded_upsert(collection, {"_id": doc_id, applied_field: {"$ne": event_id}}, guarded)


async def _guarded_upsert(
    collection: AsyncCollection[dict[str, Any]], guard: dict[str, Any], update: dict[str, Any]
) -> bool:
    """Update the document the guard matches, creating it when absent; False when the guard fails.

    A duplicate-key error means the document exists and did not match, or another writer
    created it a moment ago; trying once more tells the two apart, because by then it exists.
    """
    for _ in range(2):
        try:
            await collection.update_one(guard, update, upsert=True)
            return True
        except DuplicateKeyError:
            continue
    return False


@lru_cache(maxsize=1024)
def position_key(topic: str, partition: int) -> str:
    """A field name for a source partition (dots are not allowed in field names)."""
    return f"{topic.replace('.', '_')}_{partition}"


async def apply_at_position(
    collection: AsyncCollection[dict[str, Any]],
    doc_id: str,
    *,
    source: str,
    position: int,
    update: dict[str, Any],
    positions_field: str = "positions",
) -> bool:
    """Apply `update` unless the document already saw `position` (or later) of `source`.

    For aggregate documents (counters) that many entities feed: the last applied offset per
    source partition is stored in the same write, so a redelivery after a crash changes
    nothing. Requires in-order processing per partition, which Kafka consumers give.
    """
    field = f"{positions_field}.{source}"
    guarded = dict(update)
    guarded["$set"] = {**guarded.get("$set", {}), field: position}
    return await _guarded_upsert(collection, {"_id": doc_id, field: {"$not": {"$gte": position}}}, guarded)


class MongoRequestClaims:
    """Claimed idempotency keys and their answers (shared.idempotency.RequestClaims) in one collection."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection

    async def claim(self, request_id: str, *, fingerprint: str, now: dt.datetime) -> Remembered | None:
        try:
            await self.collection.insert_one({"_id": request_id, "fingerprint": fingerprint, "claimed_at": now})
            return None
        except DuplicateKeyError:
            doc = await self.collection.find_one({"_id": request_id})
        if doc is None:  # released between the insert and the read: claim again
            return await self.claim(request_id, fingerprint=fingerprint, now=now)
        answer = Answer(int(doc["status"]), doc["body"]) if "status" in doc else None
        return Remembered(fingerprint=doc["fingerprint"], answer=answer, claimed_at=doc["claimed_at"])

    async def take_over(self, request_id: str, *, older_than: dt.datetime, now: dt.datetime) -> bool:
        result = await self.collection.update_one(
            {"_id": request_id, "status": {"$exists": False}, "claimed_at": {"$lt": older_than}},
            {"$set": {"claimed_at": now}})
        return result.modified_count == 1

    async def answer(self, request_id: str, answer: Answer) -> None:
        await self.collection.update_one({"_id": request_id},
                                         {"$set": {"status": answer.status, "body": dict(answer.body)}})

    async def release(self, request_id: str) -> None:
        await self.collection.delete_one({"_id": request_id, "status": {"$exists": False}})

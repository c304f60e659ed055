"""The residents of each place (desa, school), kept so a list of one place reads documents by id.

The local FerretDB uses no index but `_id`: any other query reads every document of the collection
(25 s for a desa's residents among the regency's 218,077). Members are added as small parts, each an
insert named on the place's document (rewriting one growing list per place each batch put a roster
consumer minutes behind the import). Members are never removed: a reader checks each one's current
place, so a resident who moved is simply skipped at the old place.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from shared.mongo import DUPLICATE_KEY, documents_by_id


def place_key(kind: str, code: str) -> str:
    return f"{kind}:{code}"


class PlaceMembers:
    """Place documents (`_id` a `place_key`, their own fields, the ids of their parts) and parts (ids)."""

    def __init__(self, places: AsyncCollection[dict[str, Any]], parts: AsyncCollection[dict[str, Any]]) -> None:
        self.places = places
        self.parts = parts

    async def add(self, members: dict[str, tuple[dict[str, Any], list[str]]]) -> None:
        """Add ids to places (place key -> (fields kept on the place's document, ids)). A part written twice
        (a redelivered batch) is the same part: its id is made from its contents."""
        members = {key: (fields, ids) for key, (fields, ids) in members.items() if ids}
        if not members:
            return
        parts = {key: f"{key}|{hashlib.sha256(' '.join(ids).encode()).hexdigest()[:20]}"
                 for key, (_, ids) in members.items()}
        try:
            await self.parts.insert_many([{"_id": parts[key], "residents": ids} for key, (_, ids) in members.items()],
                                         ordered=False)
        except BulkWriteError as exc:
            if any(error.get("code") != DUPLICATE_KEY for error in exc.details.get("writeErrors", [])):
                raise
        await self.places.bulk_write([
            UpdateOne({"_id": key}, {"$set": fields, "$addToSet": {"parts": parts[key]}}, upsert=True)
            for key, (fields, _) in members.items()], ordered=False)

    async def insert_whole(self, members: dict[str, tuple[dict[str, Any], list[str]]]) -> None:
        """Write places that have no document yet, each with all its ids in one part (a projection written
        whole, as a rebuild writes its fresh collections); `add` then adds to them as usual."""
        parts = {key: f"{key}|{hashlib.sha256(' '.join(ids).encode()).hexdigest()[:20]}"
                 for key, (_, ids) in members.items() if ids}
        docs = [{"_id": parts[key], "residents": members[key][1]} for key in parts]
        places = [{"_id": key, **members[key][0], "parts": [part]} for key, part in parts.items()]
        for collection, chunk in ((self.parts, docs), (self.places, places)):
            for start in range(0, len(chunk), 500):
                await collection.insert_many(chunk[start:start + 500], ordered=False)

    async def of(self, keys: list[str]) -> list[str]:
        """The ids ever added to these places, first added first, each once."""
        part_ids = [part for place in (await documents_by_id(self.places, keys)).values() for part in place["parts"]]
        members: dict[str, None] = {}
        for part in (await documents_by_id(self.parts, part_ids)).values():
            members.update(dict.fromkeys(part["residents"]))
        return list(members)

    async def keys_where(self, query: dict[str, Any]) -> list[str]:
        """Place keys whose own fields match (the place documents are few: a scan of them is cheap)."""
        return [doc["_id"] async for doc in self.places.find(query, {"_id": 1})]

    async def empty(self) -> bool:
        return await self.places.find_one({}, {"_id": 1}) is None

"""What people did through the web app: every write and every read of personal data, with the person,
their office, what and when. The services keep their own audit of reads (with the person, who the
web app names); this one answers "what did this clerk do" on the dinas page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

WEB_AUDIT_COLLECTION = "web_audit"
SHOWN = 200


@dataclass(frozen=True)
class Deed:
    """One thing a person did: `action` is e.g. daftar_penduduk, baca_penduduk; `target` a resident's
    pseudonym, an area code or a job id, never a NIK or a name."""

    username: str
    office_id: str
    action: str
    target: str | None
    outcome: str
    at: dt.datetime


class WebAudit:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("username", 1), ("at", DESCENDING)])
        await self.collection.create_index([("at", DESCENDING)])

    async def record(self, deed: Deed) -> None:
        await self.collection.insert_one({"username": deed.username, "office_id": deed.office_id,
                                          "action": deed.action, "target": deed.target,
                                          "outcome": deed.outcome, "at": deed.at})

    async def latest(self, *, username: str | None = None, limit: int = SHOWN) -> list[Deed]:
        query = {"username": username} if username else {}
        cursor = self.collection.find(query).sort("at", DESCENDING).limit(limit)
        return [Deed(username=d["username"], office_id=d["office_id"], action=d["action"], target=d.get("target"),
                     outcome=d.get("outcome", ""), at=d["at"]) async for d in cursor]

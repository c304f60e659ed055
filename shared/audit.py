"""The audit trail of personal-data reads: which office read whose data, when, through what.

Every service that shows personal data writes one record per read, naming the pseudonyms of the
residents it showed (never a NIK or a name). The dinas asks any of those services "who read
resident X" (`GET /audit/pembacaan`, shared/audit_http.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from shared.auth import Office
from shared.contracts import Role

READS_SHOWN = 500


@dataclass(frozen=True)
class AuditedRead:
    """One read of personal data, as the dinas sees it."""

    service: str
    office_id: str
    operator: str | None
    action: str
    scope: str | None
    residents: int
    at: dt.datetime


class AuditTrail:
    """A service's audit collection: written on every read of personal data, read by the dinas."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]], *, service: str) -> None:
        self.collection = collection
        self.service = service

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("resident_ids", 1), ("at", DESCENDING)])

    async def record(self, *, office_id: str, action: str, scope: str | None,
                     resident_ids: Sequence[str], now: dt.datetime, operator: str | None = None) -> None:
        """One read by `office_id` (by the person `operator`, when the web app named one) that showed the
        residents `resident_ids` (pseudonyms); `scope` is what was asked for (a kecamatan code,
        `desa:<code>`, `sekolah:<npsn>`, `kab`)."""
        await self.collection.insert_one({
            "office_id": office_id, "operator": operator or office_id, "action": action, "scope": scope,
            "residents": len(resident_ids), "resident_ids": list(resident_ids), "service": self.service,
            "at": now,
        })

    async def reads_of(self, resident_id: str, *, limit: int = READS_SHOWN) -> list[AuditedRead]:
        """The latest reads that showed `resident_id`, newest first."""
        cursor = self.collection.find({"resident_ids": resident_id}).sort("at", DESCENDING).limit(limit)
        return [AuditedRead(service=doc.get("service", self.service), office_id=doc["office_id"],
                            operator=doc.get("operator"), action=doc["action"], scope=doc.get("scope", doc.get("kecamatan_code")),
                            residents=int(doc.get("residents", 0)), at=doc["at"])
                async for doc in cursor]


class NotDinas(Exception):
    """Only the dinas may ask who read a resident's data."""


async def who_read(resident_id: str, *, office: Office, trail: AuditTrail) -> list[AuditedRead]:
    """The reads of one resident's data in this service, for the dinas only."""
    if office.role != Role.DINAS_ADMIN:
        raise NotDinas(office.office_id)
    return await trail.reads_of(resident_id)

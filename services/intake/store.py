"""Intake's collections: the roster, answers already given, review flags, the audit log, import jobs."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.contracts import ResidentEnrolled, ResidentLeft, ResidentUpdated

REQUESTS = "intake_requests"
ROSTER = "intake_roster"
REVIEWS = "intake_reviews"
AUDIT = "audit_log"
IMPORTS = "intake_imports"


def name_key(name: str) -> str:
    """A name folded for comparison: no accents, case or repeated spaces."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(folded.lower().split())


def _utc(moment: dt.datetime) -> str:
    """Sortable UTC text, so events compare by when the system accepted them."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class RequestLog:
    """The first answer given to each idempotency key, so a retry gets the same answer."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[REQUESTS]

    async def find(self, request_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": request_id})

    async def remember(
        self, request_id: str, *, fingerprint: str, status: int, body: dict[str, Any],
        now: dt.datetime,
    ) -> None:
        try:
            await self.collection.insert_one(
                {"_id": request_id, "fingerprint": fingerprint, "status": status,
                 "body": body, "at": now}
            )
        except DuplicateKeyError:
            pass


class Roster:
    """Residents as intake knows them, applied from resident events once and in order."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[ROSTER]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("name_key", 1), ("birth_date", 1), ("desa_code", 1)])
        await self.collection.create_index([("kecamatan_code", 1), ("wajib_ktp_from", 1)])

    async def get(self, resident_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": resident_id})

    async def existing_ids(self, resident_ids: list[str]) -> set[str]:
        """Which of these residents are in the roster and still active."""
        cursor = self.collection.find({"_id": {"$in": resident_ids}, "status": "aktif"}, {"_id": 1})
        return {doc["_id"] async for doc in cursor}

    async def apply(self, event: ResidentEnrolled | ResidentUpdated | ResidentLeft) -> bool:
        """Apply an event unless it was applied before or a later one already was."""
        stamp = _utc(event.recorded_at)
        if isinstance(event, ResidentLeft):
            fields: dict[str, Any] = {"status": event.payload.reason.value,
                                      "left_on": event.payload.effective_date.isoformat()}
        else:
            p = event.payload
            fields = {
                "nik": p.nik, "name": p.name, "name_key": name_key(p.name), "sex": p.sex.value,
                "birth_date": p.birth_date.isoformat(), "marital_status": p.marital_status.value,
                "kecamatan_code": p.kecamatan_code, "desa_code": p.desa_code,
                "school_npsn": p.school_npsn, "phone": p.phone,
                "wajib_ktp_from": p.wajib_ktp_from.isoformat(),
                "nik_from_other_regency": p.nik_from_other_regency, "status": "aktif",
            }
        fields["last_recorded_at"] = stamp
        try:
            await self.collection.update_one(
                {"_id": event.payload.resident_id, "applied_events": {"$ne": str(event.event_id)},
                 "last_recorded_at": {"$not": {"$gte": stamp}}},
                {"$set": fields, "$push": {"applied_events": str(event.event_id)}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        return True

    async def same_person_elsewhere(
        self, *, resident_id: str, name: str, birth_date: dt.date, desa_code: str
    ) -> list[str]:
        """Active residents with the same name, birth date and desa under another NIK."""
        cursor = self.collection.find(
            {"name_key": name_key(name), "birth_date": birth_date.isoformat(),
             "desa_code": desa_code, "status": "aktif", "_id": {"$ne": resident_id}},
            {"_id": 1},
        )
        return [doc["_id"] async for doc in cursor]

    async def cohort(self, *, kecamatan_code: str | None, after: dt.date, until: dt.date) -> list[dict[str, Any]]:
        """Active residents whose wajib KTP date falls in (after, until]."""
        query: dict[str, Any] = {
            "status": "aktif",
            "wajib_ktp_from": {"$gt": after.isoformat(), "$lte": until.isoformat()},
        }
        if kecamatan_code:
            query["kecamatan_code"] = kecamatan_code
        cursor = self.collection.find(query, {"applied_events": 0, "name_key": 0}).sort("wajib_ktp_from", 1)
        return [doc async for doc in cursor]

    async def count_wajib(self, *, kecamatan_code: str | None, on: dt.date) -> int:
        query: dict[str, Any] = {"status": "aktif", "wajib_ktp_from": {"$lte": on.isoformat()}}
        if kecamatan_code:
            query["kecamatan_code"] = kecamatan_code
        return await self.collection.count_documents(query)


class Reviews:
    """Possible duplicates (the same person under two NIKs) waiting for a person to decide."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[REVIEWS]

    async def flag(self, *, resident_id: str, others: list[str], kecamatan_code: str, now: dt.datetime) -> None:
        await self.collection.update_one(
            {"_id": resident_id},
            {"$set": {"kecamatan_code": kecamatan_code, "status": "perlu_tinjauan", "flagged_at": now},
             "$addToSet": {"possible_duplicates": {"$each": others}}},
            upsert=True,
        )

    async def open(self, kecamatan_code: str | None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"status": "perlu_tinjauan"}
        if kecamatan_code:
            query["kecamatan_code"] = kecamatan_code
        return [doc async for doc in self.collection.find(query).sort("flagged_at", 1)]


class AuditLog:
    """One record per read of personal data: who, what, which kecamatan, how many residents."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[AUDIT]

    async def record(
        self, *, office_id: str, action: str, kecamatan_code: str | None, residents: int,
        now: dt.datetime, service: str = "intake",
    ) -> None:
        await self.collection.insert_one(
            {"office_id": office_id, "action": action, "kecamatan_code": kecamatan_code,
             "residents": residents, "service": service, "at": now}
        )

"""Print jobs, station queues and school deliveries in MongoDB.

Every change is one conditional single-document update: a job moves only from the status (and
attempt) the event expects, and a station claims its one reservation in flight with a guard
on the sequence number it read, so a redelivered event or a second printing instance changes
nothing twice. Documents become the typed values of `domain` here and nowhere else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.printing.domain import (
    OPEN_STATUSES,
    PRINTED_STATUSES,
    JobStatus,
    PendingReservation,
    PrintJob,
    ReprintClaim,
    ResidentPlace,
    SchoolDelivery,
    SpoiledAttempt,
    StationState,
    sources_of,
)
from shared.audit import AuditTrail
from shared.contracts.printing import PrintReason, PriorityClass

AUDIT = "print_audit_log"  # reads of residents' personal data (shared/audit.py)
QUEUE_ORDER = [("rank", ASCENDING), ("queued_at", ASCENDING), ("_id", ASCENDING)]
OPEN = {"$in": [s.value for s in OPEN_STATUSES]}
NEW_STATION = {"pending": None, "waiting_for_stock": False, "stock_epoch": 0, "seq": 0}


def _statuses(target: JobStatus) -> dict[str, Any]:
    return {"$in": [s.value for s in sources_of(target)]}


def job_from_document(doc: dict[str, Any]) -> PrintJob:
    """A stored job as a PrintJob."""
    wajib = doc.get("wajib_ktp_from")
    return PrintJob(
        job_id=doc["_id"], station_id=doc["station_id"], resident_id=doc["resident_id"],
        kecamatan_code=doc["kecamatan_code"], desa_code=doc["desa_code"], reason=PrintReason(doc["reason"]),
        priority_class=PriorityClass(doc["priority_class"]), status=JobStatus(doc["status"]), rank=doc.get("rank"),
        attempt=int(doc.get("attempt") or 1), reservation_id=doc.get("reservation_id"),
        wajib_ktp_from=dt.date.fromisoformat(wajib) if isinstance(wajib, str) else wajib,
        lansia=bool(doc.get("lansia")), disabilitas=bool(doc.get("disabilitas")),
        source_event_id=doc.get("source_event_id"), queued_at=doc.get("queued_at"), printed_at=doc.get("printed_at"),
        printer=doc.get("printer"), handed_over_at=doc.get("handed_over_at"),
        handed_over_via=doc.get("handed_over_via"), delivery_id=doc.get("delivery_id"),
        handover_claim=doc.get("handover_claim"), replaced_by=doc.get("replaced_by"),
        replaced_at=doc.get("replaced_at"),
        replaced_reason=PrintReason(doc["replaced_reason"]) if doc.get("replaced_reason") else None,
        spoiled=tuple(SpoiledAttempt(attempt=s["attempt"], reason=s["reason"], at=s.get("at"))
                      for s in doc.get("spoiled", [])))


def job_document(job: PrintJob) -> dict[str, Any]:
    """A new job as stored (later fields are set by its moves)."""
    return {
        "_id": job.job_id, "station_id": job.station_id, "resident_id": job.resident_id,
        "kecamatan_code": job.kecamatan_code, "desa_code": job.desa_code, "reason": job.reason.value,
        "priority_class": job.priority_class.value, "rank": job.rank,
        "wajib_ktp_from": job.wajib_ktp_from.isoformat() if job.wajib_ktp_from else None,
        "lansia": job.lansia, "disabilitas": job.disabilitas, "queued_at": job.queued_at,
        "status": job.status.value, "attempt": job.attempt, "reservation_id": job.reservation_id,
        "source_event_id": job.source_event_id}


def _station(doc: dict[str, Any]) -> StationState:
    pending = doc.get("pending")
    heartbeat = doc.get("heartbeat_at")
    return StationState(
        station_id=doc["_id"],
        pending=None if not pending else PendingReservation(
            reservation_id=pending["reservation_id"], job_id=pending["job_id"], attempt=int(pending["attempt"]),
            requested_at=pending.get("requested_at"), stock_epoch=int(pending.get("stock_epoch", 0))),
        waiting_for_stock=bool(doc.get("waiting_for_stock")), stock_epoch=int(doc.get("stock_epoch", 0)),
        seq=int(doc.get("seq", 0)), heartbeat_at=heartbeat if isinstance(heartbeat, dt.datetime) else None)


def _delivery(doc: dict[str, Any]) -> SchoolDelivery:
    return SchoolDelivery(delivery_id=doc["_id"], station_id=doc["station_id"], school_npsn=doc["school_npsn"],
                          kecamatan_code=doc["kecamatan_code"], job_ids=tuple(doc.get("job_ids", [])),
                          sent_at=doc.get("sent_at"), acknowledged_at=doc.get("acknowledged_at"),
                          received_by=doc.get("received_by"), sent_by=doc.get("sent_by"))


class PrintingStore:
    """The printing ports (`ports.PrintingStorage`) on MongoDB."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.jobs = db["print_jobs"]
        self.stations = db["print_stations"]
        self.deliveries = db["print_school_deliveries"]
        self.reprint_claims = db["print_reprint_claims"]
        self.schools = db["print_resident_schools"]
        self.audit = AuditTrail(db[AUDIT], service="printing")

    async def ensure_indexes(self) -> None:
        await self.jobs.create_index([("station_id", ASCENDING), ("status", ASCENDING), *QUEUE_ORDER[:2]])
        await self.jobs.create_index("resident_id")

    # Jobs

    async def add_job(self, job: PrintJob) -> bool:
        """Insert a queued job; False when it is already there."""
        try:
            await self.jobs.insert_one(job_document(job))
            return True
        except DuplicateKeyError:
            return False

    async def job(self, job_id: str) -> PrintJob | None:
        doc = await self.jobs.find_one({"_id": job_id})
        return None if doc is None else job_from_document(doc)

    async def jobs_of_resident(self, resident_id: str) -> list[PrintJob]:
        cursor = self.jobs.find({"resident_id": resident_id}).sort("queued_at", ASCENDING)
        return [job_from_document(doc) async for doc in cursor]

    async def next_waiting(self, station_id: str) -> PrintJob | None:
        cursor = self.jobs.find({"station_id": station_id, "status": JobStatus.MENUNGGU_BLANGKO.value}).sort(QUEUE_ORDER)
        async for doc in cursor.limit(1):
            return job_from_document(doc)
        return None

    async def queue(self, station_id: str, *, status: JobStatus | None = None, limit: int = 500) -> list[PrintJob]:
        query: dict[str, Any] = {"station_id": station_id, "status": status.value if status else OPEN}
        return [job_from_document(doc) async for doc in self.jobs.find(query).sort(QUEUE_ORDER).limit(limit)]

    async def queue_depths(self) -> dict[str, dict[JobStatus, int]]:
        """Jobs not yet printed per station and status, in one pass over the open jobs."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"status": OPEN}},
            {"$group": {"_id": {"station": "$station_id", "status": "$status"}, "n": {"$sum": 1}}},
        ]
        depths: dict[str, dict[JobStatus, int]] = {}
        async for row in await self.jobs.aggregate(pipeline):
            depths.setdefault(row["_id"]["station"], {})[JobStatus(row["_id"]["status"])] = int(row["n"])
        return depths

    async def _move(self, job_id: str, expect: dict[str, Any], update: dict[str, Any]) -> bool:
        result = await self.jobs.update_one({"_id": job_id, **expect}, update)
        return result.matched_count == 1

    async def mark_reserved(self, job_id: str, *, attempt: int, reservation_id: str) -> bool:
        """A blank was reserved for this attempt of a waiting job."""
        return await self._move(job_id, {"status": _statuses(JobStatus.SIAP_CETAK), "attempt": attempt},
                                {"$set": {"status": JobStatus.SIAP_CETAK.value, "reservation_id": reservation_id}})

    async def mark_printed(self, job_id: str, *, attempt: int, reservation_id: str, at: dt.datetime,
                           printer: str) -> bool:
        """The attempt printed: the job is done."""
        return await self._move(
            job_id, {"status": _statuses(JobStatus.DICETAK), "attempt": attempt, "reservation_id": reservation_id},
            {"$set": {"status": JobStatus.DICETAK.value, "printed_at": at, "printer": printer}})

    async def mark_spoiled(self, job_id: str, *, attempt: int, reservation_id: str, reason: str,
                           at: dt.datetime) -> bool:
        """The attempt spoiled its blank: the job waits for a new one, as its next attempt."""
        return await self._move(
            job_id, {"status": JobStatus.SIAP_CETAK.value, "attempt": attempt, "reservation_id": reservation_id},
            {"$set": {"status": JobStatus.MENUNGGU_BLANGKO.value, "attempt": attempt + 1, "reservation_id": None},
             "$push": {"spoiled": {"attempt": attempt, "reason": reason, "at": at}}})

    async def mark_handed_over(self, job_id: str, *, at: dt.datetime, via: str) -> bool:
        """The card reached its owner."""
        return await self._move(job_id, {"status": _statuses(JobStatus.DISERAHKAN)},
                                {"$set": {"status": JobStatus.DISERAHKAN.value, "handed_over_at": at,
                                          "handed_over_via": via}})

    async def mark_sent_to_school(self, job_ids: Sequence[str], delivery_id: str) -> int:
        """Printed cards left for a school in one delivery."""
        result = await self.jobs.update_many(
            {"_id": {"$in": list(job_ids)}, "status": _statuses(JobStatus.DIKIRIM_KE_SEKOLAH)},
            {"$set": {"status": JobStatus.DIKIRIM_KE_SEKOLAH.value, "delivery_id": delivery_id}})
        return result.modified_count

    async def mark_received_by_school(self, job_ids: Sequence[str], delivery_id: str) -> int:
        """The school signed for the cards of its delivery."""
        result = await self.jobs.update_many(
            {"_id": {"$in": list(job_ids)}, "status": _statuses(JobStatus.DITERIMA_SEKOLAH),
             "delivery_id": delivery_id},
            {"$set": {"status": JobStatus.DITERIMA_SEKOLAH.value}})
        return result.modified_count

    async def rerank(self, order: Sequence[str]) -> None:
        """Give every open job the rank of its class in the configured order (after a change of policy)."""
        for rank, priority_class in enumerate(order):
            await self.jobs.update_many({"priority_class": priority_class, "status": OPEN, "rank": {"$ne": rank}},
                                        {"$set": {"rank": rank}})

    async def claim_handover(self, job_id: str, event_id: str) -> bool:
        """Take a printed, valid card for one hand-over; the same hand-over may take it again."""
        return await self._move(job_id, {"status": _statuses(JobStatus.DISERAHKAN), "replaced_by": None,
                                         "handover_claim": {"$in": [None, event_id]}},
                                {"$set": {"handover_claim": event_id}})

    async def release_handover(self, job_id: str, event_id: str) -> None:
        await self._move(job_id, {"handover_claim": event_id, "status": {"$ne": JobStatus.DISERAHKAN.value}},
                         {"$set": {"handover_claim": None}})

    async def void_cards(self, resident_id: str, *, replaced_by: str, reason: str, at: dt.datetime) -> int:
        """The resident's printed cards other than `replaced_by` are replaced by it (once)."""
        printed = [s.value for s in PRINTED_STATUSES]
        result = await self.jobs.update_many(
            {"resident_id": resident_id, "_id": {"$ne": replaced_by}, "status": {"$in": printed},
             "replaced_by": None},
            {"$set": {"replaced_by": replaced_by, "replaced_at": at, "replaced_reason": reason}})
        return result.modified_count

    # Stations: the one reservation in flight, whether the station waits for stock.

    async def cancel_open_jobs(self, resident_id: str) -> list[PrintJob]:
        cancelled = []
        async for doc in self.jobs.find({"resident_id": resident_id, "status": OPEN}):
            job = job_from_document(doc)
            if await self._move(job.job_id, {"status": job.status.value, "attempt": job.attempt},
                                {"$set": {"status": JobStatus.DIBATALKAN.value}}):
                cancelled.append(job)
        return cancelled

    async def take_blank_of_cancelled(self, job_id: str, reservation_id: str) -> bool:
        return await self._move(job_id, {"status": JobStatus.DIBATALKAN.value, "blanks_passed": {"$ne": reservation_id}},
                                {"$push": {"blanks_passed": reservation_id}})

    async def station(self, station_id: str) -> StationState:
        found = await self.stations.find_one({"_id": station_id})
        if found is not None:
            return _station(found)
        await self.stations.update_one({"_id": station_id}, {"$setOnInsert": NEW_STATION}, upsert=True)
        doc = await self.stations.find_one({"_id": station_id})
        return _station(doc if doc is not None else {"_id": station_id, **NEW_STATION})

    async def heartbeat(self, station_id: str, at: dt.datetime) -> None:
        """A station worker says it is alive (its printer adapter is ready)."""
        await self.station(station_id)
        await self.stations.update_one({"_id": station_id}, {"$set": {"heartbeat_at": at}})

    async def claim_reservation(self, station_id: str, *, seq: int, pending: PendingReservation) -> bool:
        result = await self.stations.update_one(
            {"_id": station_id, "seq": seq, "pending": None, "waiting_for_stock": False},
            {"$set": {"pending": dataclasses.asdict(pending), "seq": seq + 1}})
        return result.matched_count == 1

    async def finish_reservation(self, station_id: str, reservation_id: str, *, waiting_for_stock: bool) -> bool:
        result = await self.stations.update_one(
            {"_id": station_id, "pending.reservation_id": reservation_id},
            {"$set": {"pending": None, "waiting_for_stock": waiting_for_stock}})
        return result.matched_count == 1

    async def stock_arrived(self, station_id: str) -> None:
        await self.station(station_id)
        await self.stations.update_one({"_id": station_id},
                                       {"$inc": {"stock_epoch": 1}, "$set": {"waiting_for_stock": False}})

    async def touch_pending(self, station_id: str, reservation_id: str, at: dt.datetime) -> None:
        await self.stations.update_one({"_id": station_id, "pending.reservation_id": reservation_id},
                                       {"$set": {"pending.requested_at": at}})

    # School deliveries

    async def add_delivery(self, delivery: SchoolDelivery) -> bool:
        try:
            await self.deliveries.insert_one({
                "_id": delivery.delivery_id, "station_id": delivery.station_id, "school_npsn": delivery.school_npsn,
                "kecamatan_code": delivery.kecamatan_code, "job_ids": list(delivery.job_ids),
                "sent_at": delivery.sent_at, "acknowledged_at": None, "sent_by": delivery.sent_by})
            return True
        except DuplicateKeyError:
            return False

    async def deliveries_waiting(self, *, kecamatan_code: str | None) -> list[SchoolDelivery]:
        """Deliveries sent and not yet signed for (of one kecamatan), oldest first."""
        query: dict[str, Any] = {"acknowledged_at": None, "sent_at": {"$ne": None}}
        if kecamatan_code:
            query["kecamatan_code"] = kecamatan_code
        return [_delivery(doc) async for doc in self.deliveries.find(query).sort("sent_at", 1).limit(500)]

    async def delivery(self, delivery_id: str) -> SchoolDelivery | None:
        doc = await self.deliveries.find_one({"_id": delivery_id})
        return None if doc is None else _delivery(doc)

    async def record_acknowledgement(self, delivery_id: str, *, at: dt.datetime, received_by: str) -> bool:
        result = await self.deliveries.update_one({"_id": delivery_id, "acknowledged_at": None},
                                                  {"$set": {"acknowledged_at": at, "received_by": received_by}})
        return result.matched_count == 1

    # Residents' schools (from the resident topic) and the audit record of reads

    async def remember_residents(self, places: dict[str, ResidentPlace]) -> None:
        if places:
            await self.schools.bulk_write([UpdateOne({"_id": resident_id}, {"$set": dataclasses.asdict(place)}, upsert=True)
                                           for resident_id, place in places.items()], ordered=False)

    async def area_of(self, resident_id: str) -> tuple[str, str] | None:
        doc = await self.schools.find_one({"_id": resident_id}, {"kecamatan_code": 1, "desa_code": 1})
        if not doc or not doc.get("kecamatan_code"):
            return None
        return doc["kecamatan_code"], doc["desa_code"]

    async def remember_left(self, resident_id: str, reason: str) -> None:
        await self.schools.update_one({"_id": resident_id}, {"$set": {"left_reason": reason}}, upsert=True)

    async def left_reason(self, resident_id: str) -> str | None:
        doc = await self.schools.find_one({"_id": resident_id}, {"left_reason": 1})
        return doc.get("left_reason") if doc else None

    async def schools_of(self, resident_ids: Sequence[str]) -> dict[str, str | None]:
        found = {doc["_id"]: doc.get("school_npsn")
                 async for doc in self.schools.find({"_id": {"$in": list(resident_ids)}})}
        return {resident_id: found.get(resident_id) for resident_id in resident_ids}

    async def record_read(self, *, office_id: str, operator: str | None = None, action: str, kecamatan_code: str | None,
                          resident_ids: Sequence[str], now: dt.datetime) -> None:
        await self.audit.record(office_id=office_id, operator=operator, action=action, scope=kecamatan_code,
                                resident_ids=resident_ids, now=now)

    # Reprint claims: one document per resident, taken by insert and handed over by compare-and-set.

    async def claim_reprint(self, resident_id: str, job_id: str, *, now: dt.datetime) -> ReprintClaim | None:
        try:
            await self.reprint_claims.insert_one({"_id": resident_id, "job_id": job_id, "claimed_at": now})
            return None
        except DuplicateKeyError:
            doc = await self.reprint_claims.find_one({"_id": resident_id})
        if doc is None:  # released in between: claim again
            return await self.claim_reprint(resident_id, job_id, now=now)
        if doc["job_id"] == job_id:
            return None
        return ReprintClaim(job_id=doc["job_id"], claimed_at=doc["claimed_at"])

    async def replace_reprint_claim(self, resident_id: str, *, held_by: str, job_id: str, now: dt.datetime) -> bool:
        result = await self.reprint_claims.update_one({"_id": resident_id, "job_id": held_by},
                                                      {"$set": {"job_id": job_id, "claimed_at": now}})
        return result.modified_count == 1

    async def release_reprint_claim(self, resident_id: str, job_id: str) -> None:
        await self.reprint_claims.delete_one({"_id": resident_id, "job_id": job_id})

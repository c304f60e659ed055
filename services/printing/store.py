"""Print jobs, station queues and school deliveries in MongoDB.

Every change is one conditional single-document update: a job moves only from the status (and
attempt) the event expects, and a station claims its one reservation in flight with a guard
on the sequence number it read, so a redelivered event or a second printing instance changes
nothing twice.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError


class JobStatus(StrEnum):
    MENUNGGU_BLANGKO = "menunggu_blangko"
    SIAP_CETAK = "siap_cetak"
    DICETAK = "dicetak"
    DIKIRIM_KE_SEKOLAH = "dikirim_ke_sekolah"
    DITERIMA_SEKOLAH = "diterima_sekolah"
    DISERAHKAN = "diserahkan"


PRINTED_STATUSES = (JobStatus.DICETAK, JobStatus.DIKIRIM_KE_SEKOLAH, JobStatus.DITERIMA_SEKOLAH, JobStatus.DISERAHKAN)
OPEN_STATUSES = (JobStatus.MENUNGGU_BLANGKO, JobStatus.SIAP_CETAK)
QUEUE_ORDER = [("rank", ASCENDING), ("queued_at", ASCENDING), ("_id", ASCENDING)]


class PrintingStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.jobs = db["print_jobs"]
        self.stations = db["print_stations"]
        self.deliveries = db["print_school_deliveries"]

    async def ensure_indexes(self) -> None:
        await self.jobs.create_index([("station_id", ASCENDING), ("status", ASCENDING), *QUEUE_ORDER[:2]])
        await self.jobs.create_index("resident_id")

    # Jobs

    async def add_job(self, job: dict[str, Any]) -> bool:
        """Insert a queued job; False when it is already there."""
        try:
            await self.jobs.insert_one(job)
            return True
        except DuplicateKeyError:
            return False

    async def job(self, job_id: str) -> dict[str, Any] | None:
        return await self.jobs.find_one({"_id": job_id})

    async def jobs_of_resident(self, resident_id: str) -> list[dict[str, Any]]:
        return [doc async for doc in self.jobs.find({"resident_id": resident_id}).sort("queued_at", ASCENDING)]

    async def next_waiting(self, station_id: str) -> dict[str, Any] | None:
        cursor = self.jobs.find({"station_id": station_id, "status": JobStatus.MENUNGGU_BLANGKO.value}).sort(QUEUE_ORDER)
        async for doc in cursor.limit(1):
            return doc
        return None

    async def queue(self, station_id: str, *, status: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"station_id": station_id}
        query["status"] = status or {"$in": [s.value for s in OPEN_STATUSES]}
        return [doc async for doc in self.jobs.find(query).sort(QUEUE_ORDER).limit(limit)]

    async def queue_depths(self) -> dict[str, dict[str, int]]:
        """Jobs not yet printed per station and status, in one pass over the open jobs."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"status": {"$in": [s.value for s in OPEN_STATUSES]}}},
            {"$group": {"_id": {"station": "$station_id", "status": "$status"}, "n": {"$sum": 1}}},
        ]
        depths: dict[str, dict[str, int]] = {}
        async for row in await self.jobs.aggregate(pipeline):
            depths.setdefault(row["_id"]["station"], {})[row["_id"]["status"]] = int(row["n"])
        return depths

    async def move_job(self, job_id: str, *, expect: dict[str, Any], update: dict[str, Any]) -> bool:
        """Change a job only from the expected state; False when it is not (already moved or stale)."""
        result = await self.jobs.update_one({"_id": job_id, **expect}, update)
        return result.matched_count == 1

    async def rerank(self, order: list[str]) -> None:
        """Give every open job the rank of its class in the configured order (after a change of policy)."""
        for rank, priority_class in enumerate(order):
            await self.jobs.update_many(
                {"priority_class": priority_class, "status": {"$in": [s.value for s in OPEN_STATUSES]},
                 "rank": {"$ne": rank}},
                {"$set": {"rank": rank}})

    # Stations: the one reservation in flight, whether the station waits for stock.

    async def station(self, station_id: str) -> dict[str, Any]:
        found = await self.stations.find_one({"_id": station_id})
        if found is not None:
            return found
        await self.stations.update_one(
            {"_id": station_id},
            {"$setOnInsert": {"pending": None, "waiting_for_stock": False, "stock_epoch": 0, "seq": 0}},
            upsert=True)
        doc = await self.stations.find_one({"_id": station_id})
        assert doc is not None
        return doc

    async def heartbeat(self, station_id: str, at: dt.datetime) -> None:
        """A station worker says it is alive (its printer adapter is ready)."""
        await self.station(station_id)
        await self.stations.update_one({"_id": station_id}, {"$set": {"heartbeat_at": at}})

    async def all_stations(self) -> list[dict[str, Any]]:
        return [doc async for doc in self.stations.find({})]

    async def claim_reservation(self, station_id: str, *, seq: int, pending: dict[str, Any]) -> bool:
        result = await self.stations.update_one(
            {"_id": station_id, "seq": seq, "pending": None, "waiting_for_stock": False},
            {"$set": {"pending": pending, "seq": seq + 1}})
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

    async def add_delivery(self, delivery: dict[str, Any]) -> bool:
        try:
            await self.deliveries.insert_one(delivery)
            return True
        except DuplicateKeyError:
            return False

    async def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        return await self.deliveries.find_one({"_id": delivery_id})

    async def acknowledge_delivery(self, delivery_id: str, fields: dict[str, Any]) -> bool:
        result = await self.deliveries.update_one({"_id": delivery_id, "acknowledged_at": None}, {"$set": fields})
        return result.matched_count == 1

    async def move_jobs(self, job_ids: list[str], *, expect: dict[str, Any], update: dict[str, Any]) -> int:
        result = await self.jobs.update_many({"_id": {"$in": job_ids}, **expect}, update)
        return result.modified_count

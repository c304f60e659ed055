"""Coverage collections: per-resident views and per-area counters, each written apply-once."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.coverage.domain import Delta, ResidentView
from shared.dead_letter import TransientError
from shared.mongo import apply_at_position


class ConcurrentUpdate(TransientError):
    """Another consumer changed the same resident meanwhile; the event is retried."""


def _encode_view(view: ResidentView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    data = asdict(view)
    data["wajib_ktp_from"] = data["wajib_ktp_from"].isoformat() if data["wajib_ktp_from"] else None
    return data


def decode_view(data: dict[str, Any] | None) -> ResidentView | None:
    if not data:
        return None
    wajib = data.get("wajib_ktp_from")
    return ResidentView(**{**data, "wajib_ktp_from": dt.date.fromisoformat(wajib) if wajib else None})


def encode_delta(delta: Delta) -> list[dict[str, Any]]:
    """Rows of {area, field, n}: FerretDB stores no nested arrays, and keys may hold dots."""
    return [
        {"area": area, "field": field, "n": n}
        for area, fields in sorted(delta.items())
        for field, n in fields.items()
    ]


def decode_delta(rows: list[dict[str, Any]]) -> Delta:
    result: Delta = {}
    for row in rows:
        result.setdefault(row["area"], {})[row["field"]] = row["n"]
    return result


class CoverageStore:
    """The projection collections under one prefix, so a rebuild can fill fresh ones."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], prefix: str = "coverage") -> None:
        self.db = db
        self.prefix = prefix
        self.residents = db[f"{prefix}_residents"]
        self.areas = db[f"{prefix}_areas"]

    async def ensure_indexes(self) -> None:
        await self.residents.create_index([("view.kecamatan_code", 1), ("view.wajib_ktp_from", 1)])

    async def resident(self, resident_id: str) -> dict[str, Any] | None:
        return await self.residents.find_one({"_id": resident_id})

    async def save_resident(
        self, resident_id: str, view: ResidentView | None, *, event_id: str, source: str,
        position: int, delta: Delta, expected_version: int,
    ) -> None:
        """Write the new view, the event id and the pending delta in one document write."""
        last = {"event_id": event_id, "source": source, "position": position,
                "delta": encode_delta(delta)}
        if expected_version == 0:
            try:
                await self.residents.insert_one(
                    {"_id": resident_id, "view": _encode_view(view), "applied_events": [event_id],
                     "last": last, "version": 1}
                )
            except DuplicateKeyError as exc:
                raise ConcurrentUpdate(resident_id) from exc
            return
        result = await self.residents.update_one(
            {"_id": resident_id, "version": expected_version},
            {"$set": {"view": _encode_view(view), "last": last},
             "$push": {"applied_events": event_id}, "$inc": {"version": 1}},
        )
        if result.matched_count != 1:
            raise ConcurrentUpdate(resident_id)

    async def apply_counters(self, delta: Delta, *, source: str, position: int) -> None:
        """Apply each area's share of a delta once per source position."""
        for area, fields in delta.items():
            kind, code = area.split(":", 1)
            await apply_at_position(
                self.areas, area, source=source, position=position,
                update={"$inc": fields, "$set": {"kind": kind, "code": code}},
            )

    async def area_docs(self, kind: str) -> list[dict[str, Any]]:
        return [doc async for doc in self.areas.find({"kind": kind})]

    async def turning_between(self, start: dt.date, end: dt.date) -> dict[str, int]:
        """Active residents per kecamatan whose wajib KTP date falls in [start, end]."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"view.active": True,
                        "view.wajib_ktp_from": {"$gte": start.isoformat(), "$lte": end.isoformat()}}},
            {"$group": {"_id": "$view.kecamatan_code", "n": {"$sum": 1}}},
        ]
        return {row["_id"]: row["n"] async for row in await self.residents.aggregate(pipeline)}

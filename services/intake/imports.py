"""Dapodik imports as jobs: parse the file, then register valid rows in chunks with progress.

A job's id is derived from the office and the file's content, so uploading the same file again
finds the same job and adds nothing; a job cut off by a restart resumes on re-upload, skipping
residents already in the roster.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.intake import domain
from services.intake.dapodik import DapodikParse, DapodikRow
from services.intake.handlers import IntakeDeps, enrolled_payload
from services.intake.store import IMPORTS
from shared.contracts import Actor, ResidentEnrolled
from shared.topics import RESIDENT

log = logging.getLogger("ektp.intake.imports")
JOB_NAMESPACE = uuid.UUID("0c6b7a52-1f4e-4d7a-a8f3-5e9c2d1b0a44")
CHUNK = 250
RUNNING, DONE, INTERRUPTED, FAILED = "berjalan", "selesai", "terputus", "gagal"


def job_id_for(office_id: str, content: bytes) -> str:
    return str(uuid.uuid5(JOB_NAMESPACE, f"{office_id}:{hashlib.sha256(content).hexdigest()}"))


@dataclass(frozen=True)
class ImportJobs:
    """The import job documents: status, progress counters and per-row errors."""

    db: AsyncDatabase[dict[str, Any]]

    @property
    def collection(self) -> Any:
        return self.db[IMPORTS]

    async def get(self, job_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": job_id})

    async def create(self, job_id: str, *, office_id: str, kecamatan_code: str | None, total_rows: int,
                     valid_rows: int, errors: list[dict[str, Any]], now: dt.datetime) -> None:
        await self.collection.update_one(
            {"_id": job_id},
            {"$set": {"office_id": office_id, "kecamatan_code": kecamatan_code, "status": RUNNING,
                      "total_rows": total_rows, "valid_rows": valid_rows,
                      "processed": 0, "imported": 0, "already_registered": 0, "flagged_for_review": 0,
                      "errors": errors, "started_at": now, "finished_at": None}},
            upsert=True,
        )

    async def progress(self, job_id: str, **increments: int) -> None:
        await self.collection.update_one({"_id": job_id, "status": RUNNING}, {"$inc": increments})

    async def finish(self, job_id: str, status: str, now: dt.datetime, message: str | None = None) -> None:
        await self.collection.update_one(
            {"_id": job_id}, {"$set": {"status": status, "finished_at": now, "message": message}}
        )

    async def mark_interrupted(self) -> int:
        """Jobs left running by a previous process: say so; a re-upload resumes them."""
        result = await self.collection.update_many(
            {"status": RUNNING},
            {"$set": {"status": INTERRUPTED,
                      "message": "proses terhenti saat layanan dimulai ulang; unggah ulang file yang sama"}},
        )
        return int(result.modified_count)


def in_scope(parsed: DapodikParse, kecamatan_code: str | None) -> tuple[list[DapodikRow], list[dict[str, Any]]]:
    """Rows the office may import, and every row error (including rows of another kecamatan)."""
    errors = [{"line": e.line, "column": e.column, "reason": e.reason} for e in parsed.errors]
    rows = []
    for row in parsed.rows:
        if kecamatan_code is None or row.data.kecamatan_code == kecamatan_code:
            rows.append(row)
        else:
            errors.append({"line": row.line, "column": "kecamatan",
                           "reason": f"baris ini milik kecamatan {row.data.kecamatan_code}; kantor ini "
                                     f"hanya boleh mengimpor kecamatan {kecamatan_code}"})
    return rows, sorted(errors, key=lambda e: e["line"])


async def run_import(
    job_id: str, rows: list[DapodikRow], *, actor: Actor, deps: IntakeDeps, jobs: ImportJobs
) -> None:
    """Register every row in chunks; rows already in the roster are counted, not re-sent."""
    try:
        for start in range(0, len(rows), CHUNK):
            await _import_chunk(job_id, rows[start:start + CHUNK], actor=actor, deps=deps, jobs=jobs)
        await jobs.finish(job_id, DONE, deps.clock())
    except asyncio.CancelledError:
        await jobs.finish(job_id, INTERRUPTED, deps.clock(), "layanan berhenti; unggah ulang file yang sama")
        raise
    except Exception as exc:
        log.exception("import %s failed", job_id)
        await jobs.finish(job_id, FAILED, deps.clock(),
                          f"impor berhenti ({type(exc).__name__}); unggah ulang file yang sama untuk melanjutkan")


async def _import_chunk(
    job_id: str, rows: list[DapodikRow], *, actor: Actor, deps: IntakeDeps, jobs: ImportJobs
) -> None:
    now = deps.clock()
    today = now.date()
    events = []
    for row in rows:
        facts = domain.check_nik(row.data.nik, birth_date=row.data.birth_date, sex=row.data.sex, today=today)
        payload = enrolled_payload(row.data, facts=facts, key=deps.pseudonym_key, today=today)
        events.append(ResidentEnrolled(
            event_id=uuid.uuid5(JOB_NAMESPACE, f"{job_id}:{row.line}"), occurred_at=now, recorded_at=now,
            actor=actor, payload=payload,
        ))
    existing = await deps.roster.existing_ids([e.payload.resident_id for e in events])
    fresh = [e for e in events if e.payload.resident_id not in existing]
    await asyncio.gather(*(deps.publisher.publish(e, topic=RESIDENT, key=e.payload.resident_id) for e in fresh))
    for event in await deps.roster.insert_new(fresh):
        await deps.roster.apply(event)
    matches = await asyncio.gather(*(deps.roster.same_person_elsewhere(
        resident_id=e.payload.resident_id, name=e.payload.name, birth_date=e.payload.birth_date,
        desa_code=e.payload.desa_code) for e in fresh))
    flagged = 0
    for event, others in zip(fresh, matches, strict=True):
        if others:
            flagged += 1
            await deps.reviews.flag(resident_id=event.payload.resident_id, others=others,
                                    kecamatan_code=event.payload.kecamatan_code, now=now)
    await jobs.progress(job_id, processed=len(rows), imported=len(fresh),
                        already_registered=len(events) - len(fresh), flagged_for_review=flagged)

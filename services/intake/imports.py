"""Dapodik imports as jobs: parse the file, then register valid rows in chunks with progress.

A job's id is derived from the office and the file's content, so uploading the same file again
finds the same job and adds nothing; a job cut off by a restart resumes on re-upload, skipping
residents already in the roster.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid

from services.intake import domain
from services.intake.dapodik import DapodikParse, DapodikRow
from services.intake.domain import enrolled_payload
from services.intake.ports import DONE, FAILED, INTERRUPTED, ImportJobsPort, IntakeDeps, RowProblem
from shared.contracts import Actor, ResidentEnrolled
from shared.topics import RESIDENT

log = logging.getLogger("ektp.intake.imports")
JOB_NAMESPACE = uuid.UUID("0c6b7a52-1f4e-4d7a-a8f3-5e9c2d1b0a44")
CHUNK = 250


def job_id_for(office_id: str, content: bytes) -> str:
    """The same office uploading the same file finds the same job."""
    return str(uuid.uuid5(JOB_NAMESPACE, f"{office_id}:{hashlib.sha256(content).hexdigest()}"))


def in_scope(parsed: DapodikParse, kecamatan_code: str | None) -> tuple[list[DapodikRow], list[RowProblem]]:
    """Rows the office may import, and every row error (including rows of another kecamatan)."""
    errors = [RowProblem(e.line, e.column, e.reason) for e in parsed.errors]
    rows = []
    for row in parsed.rows:
        if kecamatan_code is None or row.data.kecamatan_code == kecamatan_code:
            rows.append(row)
        else:
            errors.append(RowProblem(row.line, "kecamatan",
                                     f"baris ini milik kecamatan {row.data.kecamatan_code}; kantor ini "
                                     f"hanya boleh mengimpor kecamatan {kecamatan_code}"))
    return rows, sorted(errors, key=lambda e: e.line)


async def run_import(
    job_id: str, rows: list[DapodikRow], *, actor: Actor, deps: IntakeDeps, jobs: ImportJobsPort
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
    job_id: str, rows: list[DapodikRow], *, actor: Actor, deps: IntakeDeps, jobs: ImportJobsPort
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

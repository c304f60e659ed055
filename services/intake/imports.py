"""Dapodik imports as jobs: parse the file, then register valid rows in chunks with progress.

A job's id is derived from the office and the file's content, so uploading the same file again
finds the same job and adds nothing; a job cut off by a restart resumes on re-upload, skipping
residents already in the roster. With several intake replicas a job is run by the one that took
the upload, which renews the job's heartbeat; a job whose heartbeat stops for longer than the
lease (a crashed replica) is interrupted, and its re-upload resumes on any replica.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import logging
import uuid
from collections import Counter
from collections.abc import Mapping

from services.intake import domain
from services.intake.dapodik import DapodikParse, DapodikRow, RowError
from services.intake.domain import enrolled_payload
from services.intake.ports import (
    CLAIM_STALE_AFTER,
    DONE,
    FAILED,
    INTERRUPTED,
    ErrorReport,
    ImportJob,
    ImportJobsPort,
    IntakeDeps,
    PersonFacts,
    ReasonCount,
    ResidentRecord,
    RowProblem,
)
from shared.contracts import Actor, ResidentEnrolled
from shared.pseudonym import resident_pseudonym
from shared.topics import RESIDENT

log = logging.getLogger("ektp.intake.imports")
JOB_NAMESPACE = uuid.UUID("0c6b7a52-1f4e-4d7a-a8f3-5e9c2d1b0a44")
CHUNK = 250
REASONS_KEPT = 100


def job_id_for(office_id: str, content: bytes) -> str:
    """The same office uploading the same file finds the same job."""
    return str(uuid.uuid5(JOB_NAMESPACE, f"{office_id}:{hashlib.sha256(content).hexdigest()}"))


def in_scope(parsed: DapodikParse, kecamatan_code: str | None, *, keep: int) -> tuple[list[DapodikRow], ErrorReport]:
    """Rows the office may import, and the report of every row error (including rows of another kecamatan)."""
    errors = [RowProblem(e.line, e.column, e.reason, e.group) for e in parsed.errors]
    rows = []
    for row in parsed.rows:
        if kecamatan_code is None or row.data.kecamatan_code == kecamatan_code:
            rows.append(row)
        else:
            errors.append(RowProblem(row.line, "kecamatan",
                                     f"baris ini milik kecamatan {row.data.kecamatan_code}; kantor ini "
                                     f"hanya boleh mengimpor kecamatan {kecamatan_code}",
                                     f"baris milik kecamatan lain; kantor ini hanya boleh mengimpor kecamatan "
                                     f"{kecamatan_code}"))
    refused = parsed.refused_rows + len(parsed.rows) - len(rows)
    return rows, error_report(errors, keep=keep, refused_rows=refused, stopped_at_line=parsed.stopped_at_line)


def without_departed(parsed: DapodikParse, departed: Mapping[str, ResidentRecord], *, key: str) -> DapodikParse:
    """The file with the rows of residents who left (moved out or died) refused: an import does not bring
    them back; a clerk registers a resident who came back, and a wrong death record goes to the dinas."""
    if not departed:
        return parsed
    rows, errors = [], list(parsed.errors)
    for row in parsed.rows:
        gone = departed.get(resident_pseudonym(row.data.nik, key=key))
        if gone is None or gone.left_reason is None:
            rows.append(row)
            continue
        reason, group = domain.left_resident_reason(gone.left_reason, gone.left_on)
        errors.append(RowError(row.line, "NIK", reason, group))
    return dataclasses.replace(parsed, rows=rows, errors=errors,
                               refused_rows=parsed.refused_rows + len(parsed.rows) - len(rows))


def error_report(errors: list[RowProblem], *, keep: int, refused_rows: int,
                 stopped_at_line: int | None = None) -> ErrorReport:
    """The first `keep` errors by line, and how many errors share each column and reason (most first, at most
    REASONS_KEPT of them)."""
    counts = Counter((e.column, e.group or e.reason) for e in errors)
    reasons = tuple(ReasonCount(column, reason, n) for (column, reason), n in counts.most_common(REASONS_KEPT))
    kept = tuple(sorted(errors, key=lambda e: e.line)[:keep])
    return ErrorReport(kept=kept, total=len(errors), refused_rows=refused_rows, reasons=reasons,
                       stopped_at_line=stopped_at_line)


def stopped_message(report: ErrorReport, *, limit: int) -> str:
    """Why an import read no further, and what the clerk does next."""
    return (f"Impor dihentikan di baris {_number(report.stopped_at_line or 0)}: sudah {_number(limit)} baris "
            "salah, jadi tidak ada baris yang didaftarkan. Lihat ringkasan kesalahan per alasan, perbaiki "
            "kolom yang disebut di file, lalu unggah ulang file.")


def _number(value: int) -> str:
    """A count as Indonesians write it (1.000)."""
    return f"{value:,}".replace(",", ".")


def error_page(job: ImportJob, *, number: int, size: int) -> tuple[tuple[RowProblem, ...], bool]:
    """One page of a job's kept row errors, and whether another page follows."""
    start = (number - 1) * size
    return job.errors[start:start + size], len(job.errors) > start + size


async def run_import(
    job_id: str, rows: list[DapodikRow], *, today: dt.date, actor: Actor, deps: IntakeDeps, jobs: ImportJobsPort
) -> None:
    """Register every row in chunks; rows already in the roster (active or not) are counted, not re-sent.

    `today` is the WIB day the file was read on: every row is judged on that one day. A job another
    replica took over (this one's lease ran out, then the file was uploaded again) is left to it."""
    try:
        for start in range(0, len(rows), CHUNK):
            if not await _import_chunk(job_id, rows[start:start + CHUNK], today=today, actor=actor, deps=deps,
                                       jobs=jobs):
                log.warning("import %s was taken over by another replica; this one stops", job_id)
                return
        await jobs.finish(job_id, DONE, deps.clock())
    except asyncio.CancelledError:
        await jobs.finish(job_id, INTERRUPTED, deps.clock(), "layanan berhenti; unggah ulang file yang sama")
        raise
    except Exception as exc:
        log.exception("import %s failed", job_id)
        await jobs.finish(job_id, FAILED, deps.clock(),
                          f"impor berhenti ({type(exc).__name__}); unggah ulang file yang sama untuk melanjutkan")


async def _import_chunk(
    job_id: str, rows: list[DapodikRow], *, today: dt.date, actor: Actor, deps: IntakeDeps, jobs: ImportJobsPort
) -> bool:
    """Register one chunk of rows; False when the job is no longer this replica's."""
    now = deps.clock()
    events, doubts = [], {}
    for row in rows:
        data = row.data
        facts = domain.check_nik(data.nik, birth_date=data.birth_date, sex=data.sex, today=today)
        doubt = domain.age_doubt(data.birth_date, today=today, school_npsn=data.school_npsn)
        payload = enrolled_payload(data, facts=facts, key=deps.pseudonym_key, today=today,
                                   age_under_review=doubt is not None)
        if doubt:
            doubts[payload.resident_id] = doubt
        events.append(ResidentEnrolled(
            event_id=uuid.uuid5(JOB_NAMESPACE, f"{job_id}:{row.line}"), occurred_at=now, recorded_at=now,
            actor=actor, payload=payload,
        ))
    claims = {e.payload.resident_id: str(e.event_id) for e in events}
    held = await deps.roster.claim_registrations(claims, now=now, stale_after=CLAIM_STALE_AFTER)
    claimed = [e for e in events if e.payload.resident_id in held]
    try:
        existing = await deps.roster.existing_ids([e.payload.resident_id for e in claimed])
        fresh = [e for e in claimed if e.payload.resident_id not in existing]
        async with deps.roster.writing(fresh):
            await deps.publisher.publish_many([(e, RESIDENT, e.payload.resident_id) for e in fresh])
            for event in await deps.roster.insert_new(fresh):
                await deps.roster.apply(event)
    finally:
        await deps.roster.release_registrations({r: claims[r] for r in held})
    flagged = await _flag_for_review(fresh, doubts, deps=deps, now=now)
    return await jobs.progress(job_id, processed=len(rows), imported=len(fresh),
                               already_registered=len(events) - len(fresh), flagged_for_review=flagged)


async def _flag_for_review(fresh: list[ResidentEnrolled], doubts: dict[str, str], *, deps: IntakeDeps,
                           now: dt.datetime) -> int:
    """Flag possible duplicates and implausible ages of the new residents; returns how many were flagged."""
    matches = await deps.roster.same_people_elsewhere([
        PersonFacts(e.payload.resident_id, e.payload.name, e.payload.birth_date, e.payload.desa_code) for e in fresh])
    flagged = 0
    for event in fresh:
        others = matches.get(event.payload.resident_id, [])
        doubt = doubts.get(event.payload.resident_id)
        if others or doubt:
            flagged += 1
            await deps.reviews.flag(resident_id=event.payload.resident_id, others=others,
                                    kecamatan_code=event.payload.kecamatan_code, now=now, age_reason=doubt)
    return flagged

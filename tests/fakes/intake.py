"""In-memory fakes of the intake service's ports, for use-case tests without Kafka or MongoDB."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from services.intake.domain import today_in_wib
from services.intake.ports import (
    RUNNING,
    ErrorReport,
    ImportJob,
    IntakeDeps,
    PersonFacts,
    ResidentEvent,
    ResidentRecord,
    ReviewItem,
)
from services.intake.store import person_key
from shared.areas import load_areas
from shared.clock import WIB
from shared.contracts import ResidentEnrolled, ResidentLeft
from shared.contracts.envelope import Envelope
from shared.topics import Topic
from tests.fakes.idempotency import InMemoryRequestClaims

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=WIB)
PSEUDONYM_KEY = "unit-test-key"


class RecordingPublisher:
    """A publisher that keeps every event it was given, with its topic and key.

    `yields` lets other tasks run while an event is being published (a broker round trip); `failures`
    is how many of the next publishes raise TimeoutError (Kafka unavailable)."""

    def __init__(self, *, yields: bool = False, failures: int = 0) -> None:
        self.published: list[tuple[Envelope, Topic, str]] = []
        self.yields, self.failures = yields, failures

    async def publish(self, event: Envelope, *, topic: Topic, key: str) -> None:
        if self.yields:
            await asyncio.sleep(0)
        if self.failures:
            self.failures -= 1
            raise TimeoutError("kafka unavailable")
        self.published.append((event, topic, key))

    async def publish_many(self, items: list[tuple[Envelope, Topic, str]]) -> None:
        for event, topic, key in items:
            await self.publish(event, topic=topic, key=key)

    @property
    def events(self) -> list[Envelope]:
        return [event for event, _, _ in self.published]


class FakeRoster:
    """The roster in a dict, applying events once."""

    def __init__(self) -> None:
        self.residents: dict[str, ResidentRecord] = {}
        self.applied: dict[str, set[str]] = {}
        self.claims: dict[str, tuple[str, dt.datetime]] = {}

    async def get(self, resident_id: str) -> ResidentRecord | None:
        return self.residents.get(resident_id)

    async def has_applied(self, resident_id: str, event_id: str) -> bool:
        return event_id in self.applied.get(resident_id, set())

    async def existing_ids(self, resident_ids: list[str]) -> set[str]:
        return {r for r in resident_ids if r in self.residents}

    async def departed(self, resident_ids: list[str]) -> dict[str, ResidentRecord]:
        return {r: self.residents[r] for r in resident_ids if r in self.residents and not self.residents[r].active}

    async def claim_registration(self, resident_id: str, event_id: str, *, now: dt.datetime,
                                 stale_after: dt.timedelta) -> bool:
        held = self.claims.get(resident_id)
        if held is not None and held[0] != event_id and held[1] > now - stale_after:
            return False
        self.claims[resident_id] = (event_id, now)
        return True

    async def release_registration(self, resident_id: str, event_id: str) -> None:
        if self.claims.get(resident_id, ("", NOW))[0] == event_id:
            del self.claims[resident_id]

    async def claim_registrations(self, claims: dict[str, str], *, now: dt.datetime,
                                  stale_after: dt.timedelta) -> set[str]:
        return {r for r, e in claims.items() if await self.claim_registration(r, e, now=now, stale_after=stale_after)}

    async def release_registrations(self, claims: dict[str, str]) -> None:
        for resident_id, event_id in claims.items():
            await self.release_registration(resident_id, event_id)

    async def apply_many(self, events: list[ResidentEvent]) -> list[bool]:
        return [await self.apply(event) for event in events]

    async def same_people_elsewhere(self, people: list[PersonFacts]) -> dict[str, list[str]]:
        found = {p.resident_id: await self.same_person_elsewhere(resident_id=p.resident_id, name=p.name,
                                                                 birth_date=p.birth_date, desa_code=p.desa_code)
                 for p in people}
        return {r: others for r, others in found.items() if others}

    @asynccontextmanager
    async def writing(self, events: Sequence[ResidentEvent]) -> AsyncIterator[None]:
        yield

    async def insert_new(self, events: list[ResidentEnrolled]) -> list[ResidentEnrolled]:
        for event in events:
            await self.apply(event)
        return []

    async def apply(self, event: ResidentEvent) -> bool:
        resident_id = event.payload.resident_id
        if str(event.event_id) in self.applied.get(resident_id, set()):
            return False
        self.applied.setdefault(resident_id, set()).add(str(event.event_id))
        if isinstance(event, ResidentLeft):
            self.residents[resident_id] = dataclasses.replace(
                self.residents[resident_id], left_reason=event.payload.reason, left_on=event.payload.effective_date)
            return True
        p = event.payload
        self.residents[resident_id] = ResidentRecord(
            resident_id=resident_id, nik=p.nik, name=p.name, sex=p.sex.value, birth_date=p.birth_date,
            marital_status=p.marital_status.value, kecamatan_code=p.kecamatan_code, desa_code=p.desa_code,
            wajib_ktp_from=p.wajib_ktp_from, school_npsn=p.school_npsn, phone=p.phone,
            nik_from_other_regency=p.nik_from_other_regency, school_name=p.school_name, disabilitas=p.disabilitas)
        return True

    async def same_person_elsewhere(self, *, resident_id: str, name: str, birth_date: dt.date,
                                    desa_code: str) -> list[str]:
        key = person_key(name, birth_date, desa_code)
        return [r.resident_id for r in self.residents.values() if r.resident_id != resident_id and r.active
                and person_key(r.name, r.birth_date, r.desa_code) == key]

    async def cohort(self, *, kecamatan_code: str | None, after: dt.date, until: dt.date) -> list[ResidentRecord]:
        return sorted((r for r in self.residents.values() if r.active and after < r.wajib_ktp_from <= until
                       and kecamatan_code in (None, r.kecamatan_code)), key=lambda r: r.wajib_ktp_from)

    async def count_wajib(self, *, kecamatan_code: str | None, on: dt.date) -> int:
        return sum(1 for r in self.residents.values()
                   if r.active and r.wajib_ktp_from <= on and kecamatan_code in (None, r.kecamatan_code))


class FakeReviews:
    def __init__(self) -> None:
        self.items: dict[str, ReviewItem] = {}

    async def flag(self, *, resident_id: str, others: list[str], kecamatan_code: str, now: dt.datetime,
                   age_reason: str | None = None) -> None:
        current = self.items.get(resident_id)
        known = set(current.possible_duplicates) if current else set()
        settled = current.settled_duplicates if current else ()
        fresh = set(others) - set(settled)
        reason = age_reason or (current.age_reason if current else None)
        if not (fresh - known) and reason == (current.age_reason if current else None):
            return
        self.items[resident_id] = ReviewItem(resident_id, kecamatan_code, tuple(sorted(known | fresh)), now,
                                             reason, settled)

    async def get(self, resident_id: str) -> ReviewItem | None:
        return self.items.get(resident_id)

    async def settle_duplicates(self, *, resident_id: str, office_id: str, note: str, now: dt.datetime) -> None:
        current = self.items[resident_id]
        self.items[resident_id] = dataclasses.replace(
            current, possible_duplicates=(),
            settled_duplicates=tuple(sorted({*current.settled_duplicates, *current.possible_duplicates})))

    async def clear_age(self, *, resident_id: str, now: dt.datetime) -> None:
        current = self.items.get(resident_id)
        if current is not None:
            self.items[resident_id] = dataclasses.replace(current, age_reason=None)

    async def open(self, kecamatan_code: str | None) -> list[ReviewItem]:
        return [i for i in self.items.values() if kecamatan_code in (None, i.kecamatan_code)
                and (i.possible_duplicates or i.age_reason)]


@dataclass
class FakeAudit:
    records: list[dict[str, Any]] = field(default_factory=list)

    async def record(self, *, office_id: str, action: str, scope: str | None, resident_ids: Sequence[str],
                     now: dt.datetime, operator: str | None = None) -> None:
        self.records.append({"office_id": office_id, "operator": operator, "action": action, "kecamatan_code": scope,
                             "residents": len(resident_ids), "resident_ids": list(resident_ids)})


@dataclass
class FakeImportJobs:
    """Import jobs of one replica (`owner`); two fakes sharing `jobs` are two replicas."""

    jobs: dict[str, ImportJob] = field(default_factory=dict)
    owner: str = "replika-1"

    async def get(self, job_id: str) -> ImportJob | None:
        return self.jobs.get(job_id)

    async def create(self, job_id: str, *, office_id: str, kecamatan_code: str | None, total_rows: int,
                     valid_rows: int, errors: ErrorReport, now: dt.datetime) -> None:
        self.jobs[job_id] = ImportJob(job_id, office_id, kecamatan_code, RUNNING, total_rows, valid_rows,
                                      errors=errors.kept, error_count=errors.total, refused_rows=errors.refused_rows,
                                      reasons=errors.reasons, stopped_at_line=errors.stopped_at_line,
                                      started_at=now, owner=self.owner, heartbeat_at=now)

    async def progress(self, job_id: str, **increments: int) -> bool:
        job = self.jobs[job_id]
        if job.status != RUNNING or job.owner != self.owner:
            return False
        self.jobs[job_id] = dataclasses.replace(job, **{k: getattr(job, k) + v for k, v in increments.items()})
        return True

    async def finish(self, job_id: str, status: str, now: dt.datetime, message: str | None = None) -> None:
        if self.jobs[job_id].owner == self.owner:
            self.jobs[job_id] = dataclasses.replace(self.jobs[job_id], status=status, finished_at=now,
                                                    message=message)


class InlineBackground:
    """Keeps background work so a test can run it to the end when it chooses."""

    def __init__(self) -> None:
        self.pending: list[Coroutine[Any, Any, None]] = []

    def start(self, work: Coroutine[Any, Any, None]) -> None:
        self.pending.append(work)

    async def run_all(self) -> None:
        while self.pending:
            await self.pending.pop(0)


def fixed_clock(now: dt.datetime = NOW) -> Any:
    return lambda: now


def intake_deps(now: dt.datetime = NOW) -> IntakeDeps:
    """Use-case dependencies with every port faked and the clock fixed."""
    return IntakeDeps(
        publisher=RecordingPublisher(), clock=fixed_clock(now), areas=load_areas(), pseudonym_key=PSEUDONYM_KEY,
        roster=FakeRoster(), reviews=FakeReviews(), audit=FakeAudit(), requests=InMemoryRequestClaims(),
        jobs=FakeImportJobs(), background=InlineBackground(),
    )


def today() -> dt.date:
    return today_in_wib(fixed_clock())


"""In-memory stand-ins for recording's storage port and its publisher."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from services.recording.domain import (
    Place,
    Progress,
    ResidentRecord,
    RosterFacts,
    Stage,
    StuckResident,
    Taken,
    Visit,
    VisitState,
    WaitingWalkIn,
)
from shared.contracts import Envelope
from shared.topics import Topic

STUCK = (Stage.REKAM, Stage.GAGAL_PUSAT, Stage.DUPLIKAT, Stage.GAGAL_REKAM)


@dataclass
class FakePublisher:
    """Keeps what was published, per topic; `fail` makes the next publish raise it."""

    published: list[tuple[str, str, Envelope]] = field(default_factory=list)
    fail: Exception | None = None

    async def publish(self, event: Envelope, *, topic: Topic, key: str) -> None:
        await self.publish_many([(event, topic, key)])

    async def publish_many(self, items: list[tuple[Envelope, Topic, str]]) -> None:
        if self.fail is not None:
            raise self.fail
        self.published += [(topic.name, key, event) for event, topic, key in items]

    def events(self, event_type: str | None = None) -> list[Any]:
        """Published events, of one type if given, in order."""
        return [e for _, _, e in self.published if event_type is None or getattr(e, "event_type", None) == event_type]


@dataclass
class FakeRecordingStore:
    """Recording's storage in dictionaries; the same answers as the MongoDB store."""

    residents: dict[str, ResidentRecord] = field(default_factory=dict)
    school_of: dict[str, str | None] = field(default_factory=dict)
    visits: dict[str, Visit] = field(default_factory=dict)
    visit_events: dict[str, set[str]] = field(default_factory=dict)
    carry: dict[str, list[str]] = field(default_factory=dict)
    seen: dict[str, dt.datetime] = field(default_factory=dict)
    captures: dict[str, set[str]] = field(default_factory=dict)
    walk_ins: dict[str, WaitingWalkIn] = field(default_factory=dict)
    walk_in_status: dict[str, str] = field(default_factory=dict)
    reads: list[tuple[str, str, str | None, list[str]]] = field(default_factory=list)

    def add_resident(self, resident_id: str, *, kecamatan: str, desa: str, school: str | None = None,
                     stage: Stage = Stage.BELUM_REKAM, since: dt.datetime | None = None, **facts: Any) -> None:
        """A roster resident, as the resident consumer would have kept them."""
        self.residents[resident_id] = ResidentRecord(resident_id=resident_id, in_roster=True,
                                                     place=Place(kecamatan, desa), stage=stage, since=since, **facts)
        self.school_of[resident_id] = school

    async def resident(self, resident_id: str) -> ResidentRecord | None:
        return self.residents.get(resident_id)

    async def residents_by_id(self, resident_ids: list[str]) -> dict[str, ResidentRecord]:
        return {r: self.residents[r] for r in resident_ids if r in self.residents}

    async def set_roster_facts(self, resident_id: str, event_id: str, facts: RosterFacts) -> bool:
        current = self.residents.get(resident_id) or ResidentRecord(
            resident_id=resident_id, in_roster=False, place=Place(None, None), stage=Stage.BELUM_REKAM, since=None)
        if event_id in current.applied:
            return False
        if facts.in_roster:
            current = replace(current, place=Place(facts.kecamatan_code, facts.desa_code),
                              wajib_ktp_from=facts.wajib_ktp_from, lansia_from=facts.lansia_from,
                              disabilitas=facts.disabilitas)
            self.school_of[resident_id] = facts.school_npsn
        self.residents[resident_id] = replace(current, in_roster=facts.in_roster, applied=current.applied | {event_id})
        return True

    async def advance(self, resident_id: str, event_id: str, place: Place, new: Progress | None) -> bool:
        current = self.residents.get(resident_id) or ResidentRecord(
            resident_id=resident_id, in_roster=False, place=Place(None, None), stage=Stage.BELUM_REKAM, since=None)
        if event_id in current.applied:
            return False
        known = Place(current.place.kecamatan_code or place.kecamatan_code, current.place.desa_code or place.desa_code)
        current = replace(current, place=known, applied=current.applied | {event_id})
        if new is None:
            current = replace(current, stale_reports=current.stale_reports + 1)
        else:
            current = replace(current, stage=new.stage, since=new.since)
        self.residents[resident_id] = current
        return True

    async def advance_many(self, changes: dict[str, tuple[str, Place, Progress | None]]) -> set[str]:
        return {resident_id for resident_id, change in changes.items() if await self.advance(resident_id, *change)}

    async def unrecorded_at(self, *, kind: str, place_code: str, kecamatan_code: str, limit: int,
                            wajib_by: dt.date) -> list[str]:
        def here(r: ResidentRecord) -> bool:
            if kind == "sekolah":
                return self.school_of.get(r.resident_id) == place_code
            return r.place.desa_code == place_code if kind in ("desa", "rumah") else True

        found = [r for r in self.residents.values() if r.in_roster and r.place.kecamatan_code == kecamatan_code
                 and r.stage in (Stage.BELUM_REKAM, Stage.GAGAL_REKAM, Stage.GAGAL_PUSAT) and here(r)
                 and (r.wajib_ktp_from is None or r.wajib_ktp_from <= wajib_by)]
        found.sort(key=lambda r: r.wajib_ktp_from or dt.date.min)
        return [r.resident_id for r in found[:limit]]

    async def visit(self, visit_id: str) -> Visit | None:
        return self.visits.get(visit_id)

    async def visits_in(self, kecamatan_code: str, *, states: Sequence[VisitState], limit: int) -> list[Visit]:
        found = [v for v in self.visits.values() if v.kecamatan_code == kecamatan_code and v.state in states]
        return sorted(found, key=lambda v: (v.date, v.visit_id))[:limit]

    def _first_time(self, visit_id: str, event_id: str) -> bool:
        applied = self.visit_events.setdefault(visit_id, set())
        if event_id in applied:
            return False
        applied.add(event_id)
        return True

    async def add_visit(self, visit: Visit, event_id: str) -> bool:
        if not self._first_time(visit.visit_id, event_id):
            return False
        self.visits[visit.visit_id] = visit
        return True

    async def mark_visit(
        self, visit_id: str, event_id: str, state: VisitState, no_shows: list[str] | None = None,
        at: dt.datetime | None = None,
    ) -> bool:
        if not self._first_time(visit_id, event_id):
            return False
        visit = self.visits.get(visit_id)
        if visit is None:
            return True
        visit = replace(visit, state=state, no_shows=tuple(no_shows) if no_shows is not None else visit.no_shows)
        if at is not None:
            visit = replace(visit, opened_at=at) if state == VisitState.DIBUKA else replace(visit, closed_at=at)
        self.visits[visit_id] = visit
        return True

    async def forget_no_show(self, visit_id: str, place_code: str, resident_id: str) -> None:
        visit = self.visits.get(visit_id)
        if visit is not None and visit.no_shows is not None:
            self.visits[visit_id] = replace(visit, no_shows=tuple(r for r in visit.no_shows if r != resident_id))
        self.carry[place_code] = [r for r in self.carry.get(place_code, []) if r != resident_id]

    async def carried_over(self, place_code: str) -> list[str]:
        return list(self.carry.get(place_code, []))

    async def set_carried_over(self, place_code: str, residents: list[str]) -> None:
        self.carry[place_code] = list(residents)

    async def seen_among(self, event_ids: Sequence[str]) -> set[str]:
        return {event_id for event_id in event_ids if event_id in self.seen}

    async def mark_seen(self, taken: Sequence[Taken], now: dt.datetime) -> None:
        for t in taken:
            self.seen.setdefault(t.event_id, now)
            if t.visit_id and t.captured_resident:
                self.captures.setdefault(t.visit_id, set()).add(t.captured_resident)

    async def captured_at_visit(self, visit_id: str) -> frozenset[str]:
        return frozenset(self.captures.get(visit_id, set()))

    async def visits_by_id(self, visit_ids: Sequence[str]) -> dict[str, Visit]:
        found = {visit_id: await self.visit(visit_id) for visit_id in visit_ids}
        return {visit_id: visit for visit_id, visit in found.items() if visit is not None}

    async def keep_walk_in(self, walk_in: WaitingWalkIn) -> bool:
        if walk_in.event_id in self.walk_ins:
            return False
        self.walk_ins[walk_in.event_id] = walk_in
        self.walk_in_status[walk_in.event_id] = "menunggu_pendaftaran"
        return True

    async def set_roster_facts_many(self, changes: dict[str, tuple[str, RosterFacts]]) -> set[str]:
        return {r for r, (event_id, facts) in changes.items() if await self.set_roster_facts(r, event_id, facts)}

    async def waiting_walk_ins(self, *, kecamatan_code: str | None, limit: int) -> list[WaitingWalkIn]:
        return [w for e, w in self.walk_ins.items() if self.walk_in_status[e] == "menunggu_pendaftaran"
                and (kecamatan_code is None or w.kecamatan_code == kecamatan_code)][:limit]

    async def walk_ins_waiting_for(self, resident_ids: list[str]) -> set[str]:
        return {w.resident_id for w in await self.waiting_walk_ins(kecamatan_code=None, limit=10**9)
                if w.resident_id in resident_ids}

    async def walk_ins_of(self, resident_id: str) -> list[WaitingWalkIn]:
        return [w for e, w in self.walk_ins.items() if self.walk_in_status[e] == "menunggu_pendaftaran"
                and w.resident_id == resident_id]

    async def close_walk_in(self, event_id: str, status: str, now: dt.datetime) -> None:
        self.walk_in_status[event_id] = status

    async def record_read(self, *, office_id: str, operator: str | None = None,
                          action: str, scope: str | None, resident_ids: list[str],
                          now: dt.datetime) -> None:
        self.reads.append((office_id, action, scope, list(resident_ids)))

    async def stuck(self, *, stage: Stage | None, before: dt.datetime, kecamatan_code: str | None
                    ) -> list[StuckResident]:
        return [StuckResident(r.resident_id, r.stage, r.since, r.place.kecamatan_code, r.place.desa_code)
                for r in self.residents.values()
                if r.since is not None and r.since < before and (r.stage == stage if stage else r.stage in STUCK)
                and (kecamatan_code is None or r.place.kecamatan_code == kecamatan_code)]

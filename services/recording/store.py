"""Recording's collections: residents' progress, visits, carried-over targets, seen uploads, walk-ins."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

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
from shared.audit import AuditTrail
from shared.mongo import DUPLICATE_KEY, IDS_PER_READ, documents_by_id, versioned_write, versioned_write_many
from shared.place_members import PlaceMembers, place_key

RESIDENTS = "recording_residents"
VISITS = "recording_visits"
CARRY_OVER = "recording_carry_over"
SEEN = "recording_seen"
PLACES = "recording_places"  # each desa and school with the parts naming its roster residents
PLACE_PARTS = "recording_place_parts"  # so a visit draws its targets by id, not by scanning the roster
VISIT_CAPTURES = "recording_visit_captures"  # residents whose capture at a visit was taken, by visit
WALK_INS = "recording_walk_ins"
AUDIT = "recording_audit_log"  # reads of walk-ins' personal data (shared/audit.py)
WAITING = "menunggu_pendaftaran"
NEVER = "1970-01-01T00:00:00+00:00"
UNRECORDED_STAGES = (Stage.BELUM_REKAM.value, Stage.GAGAL_REKAM.value, Stage.GAGAL_PUSAT.value)
STUCK_STAGES = (Stage.REKAM.value, Stage.GAGAL_PUSAT.value, Stage.DUPLIKAT.value, Stage.GAGAL_REKAM.value)


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _moment(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def resident_of(doc: dict[str, Any]) -> ResidentRecord:
    """A resident document as the typed record use cases read."""
    since = doc.get("since")
    return ResidentRecord(
        resident_id=doc["_id"], in_roster=bool(doc.get("in_roster")),
        place=Place(doc.get("kecamatan_code"), doc.get("desa_code")),
        stage=Stage(doc.get("stage", Stage.BELUM_REKAM.value)),
        since=dt.datetime.fromisoformat(since) if since and since != NEVER and "stage" in doc else None,
        stale_reports=int(doc.get("stale_reports", 0)), wajib_ktp_from=_date(doc.get("wajib_ktp_from")),
        lansia_from=_date(doc.get("lansia_from")), disabilitas=bool(doc.get("disabilitas")),
        applied=frozenset(doc.get("applied_events", [])),
    )


def visit_of(doc: dict[str, Any]) -> Visit:
    """A visit document as the typed visit use cases read."""
    no_shows = doc.get("no_shows")
    return Visit(
        visit_id=doc["_id"], date=dt.date.fromisoformat(doc["date"]), kind=doc["kind"],
        place_code=doc["place_code"], kecamatan_code=doc["kecamatan_code"], team=doc["team"],
        targets=tuple(doc.get("targets", [])), carried_over=tuple(doc.get("carried_over", [])),
        state=VisitState(doc["state"]), no_shows=None if no_shows is None else tuple(no_shows),
        opened_at=_moment(doc.get("opened_at")), closed_at=_moment(doc.get("closed_at")),
    )


def _roster_fields(facts: RosterFacts) -> dict[str, Any]:
    if not facts.in_roster:
        return {"in_roster": False}
    return {"in_roster": True, "kecamatan_code": facts.kecamatan_code, "desa_code": facts.desa_code,
            "school_npsn": facts.school_npsn,
            "wajib_ktp_from": facts.wajib_ktp_from.isoformat() if facts.wajib_ktp_from else None,
            "lansia_from": facts.lansia_from.isoformat() if facts.lansia_from else None,
            "disabilitas": facts.disabilitas}


def _walk_in_of(doc: dict[str, Any]) -> WaitingWalkIn:
    at = doc["at"]
    return WaitingWalkIn(event_id=doc["_id"], resident_id=doc.get("resident_id") or "",
                         kecamatan_code=doc.get("kecamatan_code"), item=doc.get("item", {}),
                         office_id=doc.get("office_id", ""), actor=doc.get("actor") or {},
                         at=at if at.tzinfo else at.replace(tzinfo=dt.UTC))


def _roster_facts_change(event_id: str, facts: RosterFacts) -> Any:
    """The write of a resident event's roster facts, once per event; a new resident starts belum rekam."""
    def decide(current: dict[str, Any] | None) -> dict[str, Any] | None:
        if current is not None and event_id in current.get("applied_events", []):
            return None
        fields = _roster_fields(facts)
        if current is None or "stage" not in current:
            fields.update(stage=Stage.BELUM_REKAM.value, since=NEVER)
        return {"$set": fields, "$push": {"applied_events": event_id}}

    return decide


def _advance_change(event_id: str, place: Place, new: Progress | None) -> Any:
    """The write of a recording event: its id, and the new progress if any (a stale report counted otherwise)."""
    known = {"kecamatan_code": place.kecamatan_code, "desa_code": place.desa_code}

    def decide(current: dict[str, Any] | None) -> dict[str, Any] | None:
        if current is not None and event_id in current.get("applied_events", []):
            return None
        fields: dict[str, Any] = {k: v for k, v in known.items() if not (current or {}).get(k)}
        if new is not None:
            fields.update(stage=new.stage.value, since=new.since.astimezone(dt.UTC).isoformat())
            return {"$set": fields, "$push": {"applied_events": event_id}}
        return {"$set": fields, "$push": {"applied_events": event_id}, "$inc": {"stale_reports": 1}}

    return decide


class RecordingStore:
    """MongoDB storage of the recording service (implements `ports.RecordingStorage`)."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.residents = db[RESIDENTS]
        self.visits = db[VISITS]
        self.carry = db[CARRY_OVER]
        self.seen = db[SEEN]
        self.members = PlaceMembers(db[PLACES], db[PLACE_PARTS])
        self.visit_captures = db[VISIT_CAPTURES]
        self.walk_ins = db[WALK_INS]
        self.audit = AuditTrail(db[AUDIT], service="recording")

    async def ensure_indexes(self) -> None:
        await self.residents.create_index([("kecamatan_code", 1), ("stage", 1)])
        await self.walk_ins.create_index([("resident_id", 1), ("status", 1)])
        await self._fill_places_once()

    async def resident(self, resident_id: str) -> ResidentRecord | None:
        doc = await self.residents.find_one({"_id": resident_id})
        return None if doc is None else resident_of(doc)

    async def residents_by_id(self, resident_ids: list[str]) -> dict[str, ResidentRecord]:
        if not resident_ids:
            return {}
        return {doc["_id"]: resident_of(doc) async for doc in self.residents.find({"_id": {"$in": resident_ids}})}

    async def set_roster_facts(self, resident_id: str, event_id: str, facts: RosterFacts) -> bool:
        written = await versioned_write(self.residents, resident_id, _roster_facts_change(event_id, facts))
        await self._remember_places({resident_id: facts})
        return written

    async def set_roster_facts_many(self, changes: dict[str, tuple[str, RosterFacts]]) -> set[str]:
        """`set_roster_facts` for many residents (id -> (event id, facts)) in one read and one bulk write;
        returns the residents whose facts were written."""
        written = await versioned_write_many(self.residents, {
            resident_id: _roster_facts_change(event_id, facts) for resident_id, (event_id, facts) in changes.items()})
        await self._remember_places({resident_id: facts for resident_id, (_, facts) in changes.items()})
        return written

    async def advance(self, resident_id: str, event_id: str, place: Place, new: Progress | None) -> bool:
        """Record the event id, and the new progress if any, in one write; False if seen before."""
        return await versioned_write(self.residents, resident_id, _advance_change(event_id, place, new))

    async def advance_many(self, changes: dict[str, tuple[str, Place, Progress | None]]) -> set[str]:
        """`advance` for many residents (id -> (event id, place, new progress)) in one read and one bulk
        write; returns the residents whose event was recorded (the others had it already)."""
        return await versioned_write_many(self.residents, {
            resident_id: _advance_change(*change) for resident_id, change in changes.items()})

    async def unrecorded_at(self, *, kind: str, place_code: str, kecamatan_code: str, limit: int,
                            wajib_by: dt.date) -> list[str]:
        """Roster residents of a place who are not recorded yet and are wajib KTP by `wajib_by` (or have no
        wajib KTP date), oldest wajib KTP date first."""
        if kind == "sekolah":
            field, keys = "school_npsn", [place_key("sekolah", place_code)]
        elif kind in ("desa", "rumah"):
            field, keys = "desa_code", [place_key("desa", place_code)]
        else:  # the whole kecamatan: every desa of it the roster has named
            field, keys = "kecamatan_code", await self.members.keys_where({"kind": "desa",
                                                                           "kecamatan_code": kecamatan_code})
        members = await self.members.of(keys)
        wajib = wajib_by.isoformat()

        def waiting(doc: dict[str, Any]) -> bool:  # still of this place, in the roster, not recorded, old enough
            return (doc.get("in_roster") is True and doc.get("kecamatan_code") == kecamatan_code
                    and doc.get(field) == (kecamatan_code if field == "kecamatan_code" else place_code)
                    and doc.get("stage") in UNRECORDED_STAGES and (doc.get("wajib_ktp_from") or "") <= wajib)

        found = await documents_by_id(self.residents, list(members), {"applied_events": 0})
        drawn = [doc for resident_id in members if (doc := found.get(resident_id)) is not None and waiting(doc)]
        drawn.sort(key=lambda doc: doc.get("wajib_ktp_from") or "")
        return [doc["_id"] for doc in drawn[:limit]]

    async def _remember_places(self, facts: dict[str, RosterFacts]) -> None:
        """Add residents to their desa's and school's members, so a visit draws its targets by id."""
        members: dict[str, tuple[dict[str, Any], list[str]]] = {}
        for resident_id, f in facts.items():
            if not f.in_roster or not f.kecamatan_code:
                continue
            for kind, code in (("desa", f.desa_code), ("sekolah", f.school_npsn)):
                if code:
                    fields = {"kind": kind, "kecamatan_code": f.kecamatan_code}
                    members.setdefault(place_key(kind, code), (fields, []))[1].append(resident_id)
        await self.members.add(members)

    async def _fill_places_once(self) -> None:
        """Member lists for residents kept before they existed: one pass over the roster, at the first start."""
        if not await self.members.empty() or await self.residents.find_one({}) is None:
            return
        batch: dict[str, RosterFacts] = {}
        async for doc in self.residents.find({"in_roster": True}, {"kecamatan_code": 1, "desa_code": 1,
                                                                    "school_npsn": 1}):
            batch[doc["_id"]] = RosterFacts(in_roster=True, kecamatan_code=doc.get("kecamatan_code"),
                                            desa_code=doc.get("desa_code"), school_npsn=doc.get("school_npsn"))
            if len(batch) >= IDS_PER_READ:
                await self._remember_places(batch)
                batch = {}
        await self._remember_places(batch)

    async def visit(self, visit_id: str) -> Visit | None:
        doc = await self.visits.find_one({"_id": visit_id})
        # Opened or closed without its visit.scheduled here (a replayed or partial topic): no visit to act on.
        return None if doc is None or "date" not in doc else visit_of(doc)

    async def visits_in(self, kecamatan_code: str, *, states: Sequence[VisitState], limit: int) -> list[Visit]:
        """A kecamatan's visits in the given states, by date then id."""
        query = {"kecamatan_code": kecamatan_code, "state": {"$in": [state.value for state in states]},
                 "date": {"$exists": True}}
        cursor = self.visits.find(query).sort([("date", 1), ("_id", 1)]).limit(limit)
        return [visit_of(doc) async for doc in cursor]

    async def _save_visit(self, visit_id: str, event_id: str, fields: dict[str, Any]) -> bool:
        def decide(current: dict[str, Any] | None) -> dict[str, Any] | None:
            if current is not None and event_id in current.get("applied_events", []):
                return None
            return {"$set": fields, "$push": {"applied_events": event_id}}

        return await versioned_write(self.visits, visit_id, decide)

    async def add_visit(self, visit: Visit, event_id: str) -> bool:
        fields = {"visit_id": visit.visit_id, "date": visit.date.isoformat(), "kind": visit.kind,
                  "place_code": visit.place_code, "kecamatan_code": visit.kecamatan_code, "team": visit.team,
                  "targets": list(visit.targets), "carried_over": list(visit.carried_over),
                  "state": visit.state.value}
        return await self._save_visit(visit.visit_id, event_id, fields)

    async def mark_visit(
        self, visit_id: str, event_id: str, state: VisitState, no_shows: list[str] | None = None,
        at: dt.datetime | None = None,
    ) -> bool:
        fields: dict[str, Any] = {"state": state.value}
        if no_shows is not None:
            fields["no_shows"] = no_shows
        if at is not None:
            fields[f"{'opened' if state == VisitState.DIBUKA else 'closed'}_at"] = at.astimezone(dt.UTC).isoformat()
        return await self._save_visit(visit_id, event_id, fields)

    async def forget_no_show(self, visit_id: str, place_code: str, resident_id: str) -> None:
        def without(field: str) -> Any:
            def decide(current: dict[str, Any] | None) -> dict[str, Any] | None:
                listed = (current or {}).get(field) or []
                return {"$set": {field: [r for r in listed if r != resident_id]}} if resident_id in listed else None

            return decide

        await versioned_write(self.visits, visit_id, without("no_shows"))
        await versioned_write(self.carry, place_code, without("residents"))

    async def carried_over(self, place_code: str) -> list[str]:
        doc = await self.carry.find_one({"_id": place_code})
        return list((doc or {}).get("residents", []))

    async def set_carried_over(self, place_code: str, residents: list[str]) -> None:
        def decide(current: dict[str, Any] | None) -> dict[str, Any] | None:
            return None if (current or {}).get("residents") == residents else {"$set": {"residents": residents}}

        await versioned_write(self.carry, place_code, decide)

    async def seen_among(self, event_ids: Sequence[str]) -> set[str]:
        if not event_ids:
            return set()
        return {doc["_id"] async for doc in self.seen.find({"_id": {"$in": list(event_ids)}}, {"_id": 1})}

    async def mark_seen(self, taken: Sequence[Taken], now: dt.datetime) -> None:
        if not taken:
            return
        captured: dict[str, list[str]] = {}
        for t in taken:
            if t.visit_id and t.captured_resident:
                captured.setdefault(t.visit_id, []).append(t.captured_resident)
        if captured:  # first: a visit closed once the upload is answered counts these as recorded
            await self.visit_captures.bulk_write([
                UpdateOne({"_id": visit_id}, {"$addToSet": {"residents": {"$each": residents}}}, upsert=True)
                for visit_id, residents in captured.items()], ordered=False)
        try:
            await self.seen.insert_many([{"_id": t.event_id, "at": now} for t in taken], ordered=False)
        except BulkWriteError as exc:  # an id remembered before (a second upload racing this one) stays as it was
            if any(error.get("code") != DUPLICATE_KEY for error in exc.details.get("writeErrors", [])):
                raise

    async def captured_at_visit(self, visit_id: str) -> frozenset[str]:
        doc = await self.visit_captures.find_one({"_id": visit_id})
        return frozenset(doc.get("residents", []) if doc else [])

    async def visits_by_id(self, visit_ids: Sequence[str]) -> dict[str, Visit]:
        if not visit_ids:
            return {}
        cursor = self.visits.find({"_id": {"$in": list(visit_ids)}})
        return {doc["_id"]: visit_of(doc) async for doc in cursor if "date" in doc}

    async def keep_walk_in(self, walk_in: WaitingWalkIn) -> bool:
        try:
            await self.walk_ins.insert_one({
                "_id": walk_in.event_id, "item": walk_in.item, "office_id": walk_in.office_id, "actor": walk_in.actor,
                "resident_id": walk_in.resident_id, "kecamatan_code": walk_in.kecamatan_code,
                "status": WAITING, "at": walk_in.at})
        except DuplicateKeyError:
            return False
        return True

    async def waiting_walk_ins(self, *, kecamatan_code: str | None, limit: int) -> list[WaitingWalkIn]:
        query: dict[str, Any] = {"status": WAITING}
        if kecamatan_code:
            query["kecamatan_code"] = kecamatan_code
        return [_walk_in_of(doc) async for doc in self.walk_ins.find(query).sort("at", 1).limit(limit)]

    async def walk_ins_waiting_for(self, resident_ids: list[str]) -> set[str]:
        """Which of these residents have a walk-in waiting (one query)."""
        if not resident_ids:
            return set()
        cursor = self.walk_ins.find({"status": WAITING, "resident_id": {"$in": resident_ids}}, {"resident_id": 1})
        return {doc["resident_id"] async for doc in cursor}

    async def walk_ins_of(self, resident_id: str) -> list[WaitingWalkIn]:
        cursor = self.walk_ins.find({"status": WAITING, "resident_id": resident_id}).sort("at", 1)
        return [_walk_in_of(doc) async for doc in cursor]

    async def close_walk_in(self, event_id: str, status: str, now: dt.datetime) -> None:
        await self.walk_ins.update_one({"_id": event_id}, {"$set": {"status": status, "closed_at": now}})

    async def record_read(self, *, office_id: str, operator: str | None = None,
                          action: str, scope: str | None, resident_ids: list[str],
                          now: dt.datetime) -> None:
        await self.audit.record(office_id=office_id, operator=operator, action=action, scope=scope,
                                resident_ids=resident_ids, now=now)

    async def stuck_counts(self, *, before: dt.datetime, after: dt.datetime) -> dict[tuple[str, str], int]:
        """Residents per (stage, kecamatan) who entered a stage that should move on between `after` and `before`."""
        query = {"since": {"$lt": before.astimezone(dt.UTC).isoformat(), "$gte": after.astimezone(dt.UTC).isoformat()},
                 "stage": {"$in": list(STUCK_STAGES)}}
        counts: dict[tuple[str, str], int] = {}
        async for doc in self.residents.find(query, {"_id": 0, "stage": 1, "kecamatan_code": 1}):
            key = (str(doc["stage"]), str(doc.get("kecamatan_code") or ""))
            counts[key] = counts.get(key, 0) + 1
        return counts

    async def stuck(self, *, stage: Stage | None, before: dt.datetime, kecamatan_code: str | None
                    ) -> list[StuckResident]:
        query: dict[str, Any] = {"since": {"$lt": before.astimezone(dt.UTC).isoformat()},
                                 "stage": stage.value if stage else {"$in": list(STUCK_STAGES)}}
        if kecamatan_code:
            query["kecamatan_code"] = kecamatan_code
        cursor = self.residents.find(query, {"_id": 1, "stage": 1, "since": 1, "kecamatan_code": 1, "desa_code": 1})
        return [StuckResident(resident_id=doc["_id"], stage=Stage(doc["stage"]),
                              since=dt.datetime.fromisoformat(doc["since"]), kecamatan_code=doc.get("kecamatan_code"),
                              desa_code=doc.get("desa_code")) async for doc in cursor]

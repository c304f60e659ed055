"""Intake's collections: the roster, review flags, import jobs; the audit log's name (written through shared/audit.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import unicodedata
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.intake.ports import (
    ACTIVE,
    INTERRUPTED,
    ORPHANED_MESSAGE,
    RUNNING,
    ErrorReport,
    ImportJob,
    PersonFacts,
    ReasonCount,
    ResidentRecord,
    ReviewItem,
    RowProblem,
)
from shared.contracts import ResidentEnrolled, ResidentEvent, ResidentLeft, ResidentUpdated
from shared.contracts.resident import LeaveReason
from shared.mongo import DUPLICATE_KEY, documents_by_id, versioned_write, versioned_write_many

REQUESTS = "intake_idempotency"
ROSTER = "intake_roster"
REVIEWS = "intake_reviews"
PERSON_KEYS = "intake_person_keys"
REGISTRATION_CLAIMS = "intake_registration_claims"
AUDIT = "audit_log"  # reads of residents' personal data (shared/audit.py)
IMPORTS = "intake_imports"
OPEN_REVIEW, REVIEWED = "perlu_tinjauan", "ditinjau"
# Events this process wrote to the roster itself, remembered so that its own consumer, which applies every
# event again a moment later, need not read those residents back (an import would read each one twice).
APPLIED_HERE_KEPT = 100_000
# The longest the resident consumer waits for this process's own write of an event it received first
# (`Roster.writing`); after that it applies the event itself, once, as any other consumer would.
OWN_WRITE_WAIT_SECONDS = 30.0


def name_key(name: str) -> str:
    """A name folded for comparison: no accents, case or repeated spaces."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(folded.lower().split())


def _utc(moment: dt.datetime) -> str:
    """Sortable UTC text, so events compare by when the system accepted them."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _fields(event: ResidentEnrolled | ResidentUpdated | ResidentLeft) -> dict[str, Any]:
    """Roster fields an event sets."""
    if isinstance(event, ResidentLeft):
        fields: dict[str, Any] = {"status": event.payload.reason.value,
                                  "left_on": event.payload.effective_date.isoformat()}
    else:
        p = event.payload
        fields = {
            "nik": p.nik, "name": p.name, "name_key": name_key(p.name), "sex": p.sex.value,
            "birth_date": p.birth_date.isoformat(), "marital_status": p.marital_status.value,
            "kecamatan_code": p.kecamatan_code, "desa_code": p.desa_code,
            "school_npsn": p.school_npsn, "school_name": p.school_name, "phone": p.phone,
            "disabilitas": p.disabilitas, "wajib_ktp_from": p.wajib_ktp_from.isoformat(),
            "nik_from_other_regency": p.nik_from_other_regency, "status": ACTIVE,
        }
    fields["last_recorded_at"] = _utc(event.recorded_at)
    return fields


def _aware(moment: dt.datetime) -> dt.datetime:
    """MongoDB gives back naive UTC datetimes."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _record(doc: Mapping[str, Any]) -> ResidentRecord:
    """A roster document as a typed record."""
    status = doc.get("status", ACTIVE)
    left_on = doc.get("left_on")
    return ResidentRecord(
        resident_id=doc["_id"], nik=doc["nik"], name=doc["name"], sex=doc["sex"],
        birth_date=dt.date.fromisoformat(doc["birth_date"]), marital_status=doc["marital_status"],
        kecamatan_code=doc["kecamatan_code"], desa_code=doc["desa_code"],
        wajib_ktp_from=dt.date.fromisoformat(doc["wajib_ktp_from"]), school_npsn=doc.get("school_npsn"),
        school_name=doc.get("school_name"), disabilitas=bool(doc.get("disabilitas")), phone=doc.get("phone"),
        nik_from_other_regency=bool(doc.get("nik_from_other_regency")),
        left_reason=None if status == ACTIVE else LeaveReason(status),
        left_on=dt.date.fromisoformat(left_on) if left_on else None,
    )


def person_key(name: str, birth_date: dt.date | str, desa_code: str) -> str:
    """Who a resident is without their NIK: folded name, birth date and desa."""
    day = birth_date if isinstance(birth_date, str) else birth_date.isoformat()
    return f"{name_key(name)}|{day}|{desa_code}"


def _roster_change(event: ResidentEvent) -> Any:
    """The roster write of an event: its fields and id, unless it was applied before or a later one was."""
    stamp = _utc(event.recorded_at)
    fields = _fields(event)
    event_id = str(event.event_id)

    def decide(current: dict[str, Any] | None) -> dict[str, Any] | None:
        if current is not None and (
            event_id in current.get("applied_events", []) or current.get("last_recorded_at", "") >= stamp
        ):
            return None
        return {"$set": fields, "$push": {"applied_events": event_id}}

    return decide


class Roster:
    """Residents as intake knows them, applied from resident events once and in order."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[ROSTER]
        self.person_keys = db[PERSON_KEYS]
        self.claims = db[REGISTRATION_CLAIMS]
        self._applied_here: OrderedDict[str, None] = OrderedDict()
        self._writing_here: dict[str, asyncio.Future[None]] = {}

    def _note_applied(self, event_ids: Iterable[str]) -> None:
        for event_id in event_ids:
            self._applied_here[event_id] = None
        while len(self._applied_here) > APPLIED_HERE_KEPT:
            self._applied_here.popitem(last=False)

    @asynccontextmanager
    async def writing(self, events: Sequence[ResidentEvent]) -> AsyncIterator[None]:
        """Around publishing events and then writing them to the roster: this process's own consumer, should it
        receive one of them before the write is done, waits for the write (`after_writes_here`) and skips
        what it wrote, instead of reading the resident and writing it a second time."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        event_ids = [str(e.event_id) for e in events]
        for event_id in event_ids:
            self._writing_here[event_id] = done
        try:
            yield
        finally:
            for event_id in event_ids:
                if self._writing_here.get(event_id) is done:
                    del self._writing_here[event_id]
            done.set_result(None)

    async def after_writes_here(self, events: Sequence[ResidentEvent]) -> None:
        """Wait (at most OWN_WRITE_WAIT_SECONDS) until this process's writes of these events in progress are done."""
        pending = {id(f): f for e in events if (f := self._writing_here.get(str(e.event_id))) is not None}
        if pending:
            await asyncio.wait(list(pending.values()), timeout=OWN_WRITE_WAIT_SECONDS)

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("name_key", 1), ("birth_date", 1), ("desa_code", 1)])
        await self.collection.create_index([("kecamatan_code", 1), ("wajib_ktp_from", 1)])

    async def get(self, resident_id: str) -> ResidentRecord | None:
        """One resident, active or not."""
        doc = await self.collection.find_one({"_id": resident_id}, {"applied_events": 0})
        return None if doc is None else _record(doc)

    async def has_applied(self, resident_id: str, event_id: str) -> bool:
        """Whether this event was applied to this resident already."""
        doc = await self.collection.find_one({"_id": resident_id, "applied_events": event_id}, {"_id": 1})
        return doc is not None

    async def existing_ids(self, resident_ids: list[str]) -> set[str]:
        """Which of these residents are in the roster, active or not."""
        return set(await documents_by_id(self.collection, resident_ids, {"_id": 1}))

    async def departed(self, resident_ids: list[str]) -> dict[str, ResidentRecord]:
        """Those of these residents who left (moved out or died), by id."""
        found: dict[str, ResidentRecord] = {}
        for start in range(0, len(resident_ids), 1_000):
            query = {"_id": {"$in": resident_ids[start:start + 1_000]}, "status": {"$ne": ACTIVE}}
            async for doc in self.collection.find(query, {"applied_events": 0}):
                found[doc["_id"]] = _record(doc)
        return found

    async def claim_registration(self, resident_id: str, event_id: str, *, now: dt.datetime,
                                 stale_after: dt.timedelta) -> bool:
        """Hold the right to register this resident for one event; False while another event holds it.

        A claim older than `stale_after` (its process stopped before releasing it) is taken over."""
        try:
            await self.claims.insert_one({"_id": resident_id, "event_id": event_id, "claimed_at": now})
            return True
        except DuplicateKeyError:
            doc = await self.claims.find_one({"_id": resident_id})
        if doc is None:  # released in between
            return await self.claim_registration(resident_id, event_id, now=now, stale_after=stale_after)
        if doc["event_id"] == event_id:
            return True
        if _aware(doc["claimed_at"]) > now - stale_after:
            return False
        taken = await self.claims.update_one({"_id": resident_id, "event_id": doc["event_id"]},
                                             {"$set": {"event_id": event_id, "claimed_at": now}})
        return taken.modified_count == 1

    async def release_registration(self, resident_id: str, event_id: str) -> None:
        """Give up a claim this event holds (the roster now answers for the resident, or publishing failed)."""
        await self.claims.delete_one({"_id": resident_id, "event_id": event_id})

    async def claim_registrations(self, claims: dict[str, str], *, now: dt.datetime,
                                  stale_after: dt.timedelta) -> set[str]:
        """`claim_registration` for many residents (resident id -> event id) in one write; the residents held."""
        if not claims:
            return set()
        docs = [{"_id": resident_id, "event_id": event_id, "claimed_at": now} for resident_id, event_id in claims.items()]
        try:
            await self.claims.insert_many(docs, ordered=False)
            return set(claims)
        except BulkWriteError as exc:
            taken = {docs[error["index"]]["_id"] for error in exc.details.get("writeErrors", [])
                     if error.get("code") == DUPLICATE_KEY}
            if len(taken) != len(exc.details.get("writeErrors", [])):
                raise
        held = set(claims) - taken
        for resident_id in taken:
            if await self.claim_registration(resident_id, claims[resident_id], now=now, stale_after=stale_after):
                held.add(resident_id)
        return held

    async def release_registrations(self, claims: dict[str, str]) -> None:
        """`release_registration` for many residents (resident id -> event id) in one write."""
        if claims:
            await self.claims.delete_many({"_id": {"$in": list(claims)}, "event_id": {"$in": list(claims.values())}})

    async def insert_new(self, events: list[ResidentEnrolled]) -> list[ResidentEnrolled]:
        """Insert residents known to be absent in one bulk write; returns those that were not new."""
        if not events:
            return []
        docs = [{"_id": e.payload.resident_id, **_fields(e), "applied_events": [str(e.event_id)], "version": 1}
                for e in events]
        try:
            await self.collection.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            failed = {error["index"] for error in exc.details.get("writeErrors", [])}
            self._note_applied(str(e.event_id) for i, e in enumerate(events) if i not in failed)
            return [e for i, e in enumerate(events) if i in failed]
        finally:
            await self._remember_people(events)
        self._note_applied(str(e.event_id) for e in events)
        return []

    async def apply(self, event: ResidentEnrolled | ResidentUpdated | ResidentLeft) -> bool:
        """Apply an event unless it was applied before or a later one already was."""
        if str(event.event_id) in self._applied_here:
            return False
        applied = await versioned_write(self.collection, event.payload.resident_id, _roster_change(event))
        if applied:
            self._note_applied([str(event.event_id)])
        if applied and not isinstance(event, ResidentLeft):
            await self._remember_person(event.payload.resident_id, person_key(
                event.payload.name, event.payload.birth_date, event.payload.desa_code))
        return applied

    async def _remember_person(self, resident_id: str, key: str) -> None:
        def decide(current: dict[str, Any] | None) -> dict[str, Any] | None:
            known = (current or {}).get("residents", [])
            return None if resident_id in known else {"$set": {"residents": [*known, resident_id]}}

        await versioned_write(self.person_keys, key, decide)

    async def _remember_people(self, events: list[ResidentEnrolled] | list[ResidentEvent]) -> None:
        """`_remember_person` for many residents: one read and one write of their person keys."""
        by_key: dict[str, list[str]] = {}
        for event in events:
            if not isinstance(event, ResidentLeft):
                p = event.payload
                by_key.setdefault(person_key(p.name, p.birth_date, p.desa_code), []).append(p.resident_id)

        def adding(resident_ids: list[str]) -> Any:
            def decide(current: dict[str, Any] | None) -> dict[str, Any] | None:
                known = (current or {}).get("residents", [])
                new = [r for r in dict.fromkeys(resident_ids) if r not in known]
                return {"$set": {"residents": [*known, *new]}} if new else None
            return decide

        await versioned_write_many(self.person_keys, {key: adding(ids) for key, ids in by_key.items()})

    async def apply_many(self, events: list[ResidentEvent]) -> list[bool]:
        """`apply` for events of different residents (at most one each): one read and one bulk write."""
        if len({e.payload.resident_id for e in events}) != len(events):
            raise ValueError("apply_many takes at most one event per resident")
        written = await versioned_write_many(self.collection, {
            e.payload.resident_id: _roster_change(e) for e in events if str(e.event_id) not in self._applied_here})
        applied = [e.payload.resident_id in written for e in events]
        self._note_applied(str(e.event_id) for e, ok in zip(events, applied, strict=True) if ok)
        await self._remember_people([e for e, ok in zip(events, applied, strict=True) if ok])
        return applied

    async def same_people_elsewhere(self, people: list[PersonFacts]) -> dict[str, list[str]]:
        """`same_person_elsewhere` for residents just registered: at most two reads in all; only residents with
        a match are keyed."""
        keys = {p.resident_id: person_key(p.name, p.birth_date, p.desa_code) for p in people}
        entries = await documents_by_id(self.person_keys, sorted(set(keys.values())))
        others = {key: [r for r in entry.get("residents", [])] for key, entry in entries.items()}
        # Residents of this batch too: two rows of one file can be the same person under two NIKs. Those are
        # being registered, so active, and their key is the one just computed: only the others are read.
        candidates = sorted({r for rs in others.values() for r in rs} - keys.keys())
        current = dict(keys)  # active residents' keys as they are now
        for resident_id, doc in (await documents_by_id(self.collection, candidates, {"applied_events": 0})).items():
            record = _record(doc)
            if record.active:
                current[resident_id] = person_key(record.name, record.birth_date, record.desa_code)
        matches: dict[str, list[str]] = {}
        for resident_id, key in keys.items():
            found = [other for other in others.get(key, []) if other != resident_id and current.get(other) == key]
            if found:
                matches[resident_id] = found
        return matches

    async def same_person_elsewhere(
        self, *, resident_id: str, name: str, birth_date: dt.date, desa_code: str
    ) -> list[str]:
        """Active residents with the same name, birth date and desa under another NIK."""
        key = person_key(name, birth_date, desa_code)
        entry = await self.person_keys.find_one({"_id": key})
        matches = []
        for other in (entry or {}).get("residents", []):
            if other == resident_id:
                continue
            doc = await self.get(other)
            if doc and doc.active and person_key(doc.name, doc.birth_date, doc.desa_code) == key:
                matches.append(other)
        return matches

    async def cohort(self, *, kecamatan_code: str | None, after: dt.date, until: dt.date) -> list[ResidentRecord]:
        """Active residents whose wajib KTP date falls in (after, until]."""
        query: dict[str, Any] = {
            "status": ACTIVE,
            "wajib_ktp_from": {"$gt": after.isoformat(), "$lte": until.isoformat()},
        }
        if kecamatan_code:
            query["kecamatan_code"] = kecamatan_code
        cursor = self.collection.find(query, {"applied_events": 0, "name_key": 0}).sort("wajib_ktp_from", 1)
        return [_record(doc) async for doc in cursor]

    async def count_wajib(self, *, kecamatan_code: str | None, on: dt.date) -> int:
        """Active residents who are wajib KTP on the day."""
        query: dict[str, Any] = {"status": ACTIVE, "wajib_ktp_from": {"$lte": on.isoformat()}}
        if kecamatan_code:
            query["kecamatan_code"] = kecamatan_code
        return await self.collection.count_documents(query)


class Reviews:
    """Possible duplicates (the same person under two NIKs) and implausible ages waiting for a person to decide."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[REVIEWS]

    async def flag(self, *, resident_id: str, others: list[str], kecamatan_code: str, now: dt.datetime,
                   age_reason: str | None = None) -> None:
        def decide(current: dict[str, Any] | None) -> dict[str, Any] | None:
            known = set((current or {}).get("possible_duplicates", []))
            fresh = set(others) - set((current or {}).get("settled_duplicates", []))
            reason = age_reason or (current or {}).get("age_reason")
            if current is not None and fresh <= known and reason == current.get("age_reason") \
                    and (current.get("status") == OPEN_REVIEW or not (fresh or reason)):
                return None
            if current is None and not (fresh or reason):
                return None
            return {"$set": {"kecamatan_code": kecamatan_code, "status": OPEN_REVIEW, "flagged_at": now,
                             "possible_duplicates": sorted(known | fresh), "age_reason": reason}}

        await versioned_write(self.collection, resident_id, decide)

    async def clear_age(self, *, resident_id: str, now: dt.datetime) -> None:
        """The age was reviewed (confirmed or corrected); the flag stays open only for possible duplicates."""
        def decide(current: dict[str, Any] | None) -> dict[str, Any] | None:
            if current is None or current.get("age_reason") is None:
                return None
            status = OPEN_REVIEW if current.get("possible_duplicates") else REVIEWED
            return {"$set": {"age_reason": None, "status": status, "age_reviewed_at": now}}

        await versioned_write(self.collection, resident_id, decide)

    async def settle_duplicates(self, *, resident_id: str, office_id: str, note: str, now: dt.datetime) -> None:
        """A person found the possible duplicates to be other people: they are settled for good (a later
        import does not flag them again), and the flag stays open only for an age still to review."""
        def decide(current: dict[str, Any] | None) -> dict[str, Any] | None:
            if current is None or not current.get("possible_duplicates"):
                return None
            settled = sorted(set(current.get("settled_duplicates", [])) | set(current["possible_duplicates"]))
            status = OPEN_REVIEW if current.get("age_reason") else REVIEWED
            return {"$set": {"possible_duplicates": [], "settled_duplicates": settled, "status": status,
                             "duplicates_settled_by": office_id, "duplicates_settled_at": now,
                             "duplicates_note": note}}

        await versioned_write(self.collection, resident_id, decide)

    async def get(self, resident_id: str) -> ReviewItem | None:
        """The review of one resident, open or settled (None: never flagged)."""
        doc = await self.collection.find_one({"_id": resident_id})
        return None if doc is None else _review(doc)

    async def open(self, kecamatan_code: str | None) -> list[ReviewItem]:
        """Flags waiting for review, oldest first."""
        query: dict[str, Any] = {"status": OPEN_REVIEW}
        if kecamatan_code:
            query["kecamatan_code"] = kecamatan_code
        return [_review(doc) async for doc in self.collection.find(query).sort("flagged_at", 1)]


def _review(doc: Mapping[str, Any]) -> ReviewItem:
    return ReviewItem(resident_id=doc["_id"], kecamatan_code=doc["kecamatan_code"],
                      possible_duplicates=tuple(doc.get("possible_duplicates", [])), flagged_at=doc["flagged_at"],
                      age_reason=doc.get("age_reason"), settled_duplicates=tuple(doc.get("settled_duplicates", [])))


def _job(doc: Mapping[str, Any]) -> ImportJob:
    return ImportJob(
        job_id=doc["_id"], office_id=doc["office_id"], kecamatan_code=doc.get("kecamatan_code"),
        status=doc["status"], total_rows=int(doc.get("total_rows", 0)), valid_rows=int(doc.get("valid_rows", 0)),
        processed=int(doc.get("processed", 0)), imported=int(doc.get("imported", 0)),
        already_registered=int(doc.get("already_registered", 0)),
        flagged_for_review=int(doc.get("flagged_for_review", 0)),
        errors=tuple(RowProblem(int(e["line"]), str(e["column"]), str(e["reason"])) for e in doc.get("errors", [])),
        error_count=int(doc.get("error_count", len(doc.get("errors", [])))),
        refused_rows=int(doc.get("refused_rows", 0)),
        reasons=tuple(ReasonCount(str(r["column"]), str(r["reason"]), int(r["count"])) for r in doc.get("reasons", [])),
        stopped_at_line=doc.get("stopped_at_line"),
        started_at=doc.get("started_at"), finished_at=doc.get("finished_at"), message=doc.get("message"),
        owner=doc.get("owner"), heartbeat_at=doc.get("heartbeat_at"),
    )


class ImportJobs:
    """The import job documents: status, progress counters, the first row errors and counts of all of them.

    Only `ImportLimits.errors_kept` errors are stored, so a job document stays far below MongoDB's
    16 MB whatever the file. A running job names the replica running it (`owner`) and when that
    replica last renewed it (`heartbeat_at`): with several intake replicas, each marks interrupted
    only jobs whose replica stopped renewing them, never another's running import."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], *, owner: str) -> None:
        self.collection = db[IMPORTS]
        self.owner = owner

    async def get(self, job_id: str) -> ImportJob | None:
        """One job, or None."""
        doc = await self.collection.find_one({"_id": job_id})
        return None if doc is None else _job(doc)

    async def create(self, job_id: str, *, office_id: str, kecamatan_code: str | None, total_rows: int,
                     valid_rows: int, errors: ErrorReport, now: dt.datetime) -> None:
        """Start (or restart) a job with its row errors, run by this replica."""
        await self.collection.update_one(
            {"_id": job_id},
            {"$set": {"office_id": office_id, "kecamatan_code": kecamatan_code, "status": RUNNING,
                      "total_rows": total_rows, "valid_rows": valid_rows,
                      "processed": 0, "imported": 0, "already_registered": 0, "flagged_for_review": 0,
                      "errors": [{"line": e.line, "column": e.column, "reason": e.reason} for e in errors.kept],
                      "error_count": errors.total, "refused_rows": errors.refused_rows,
                      "reasons": [{"column": r.column, "reason": r.reason, "count": r.count} for r in errors.reasons],
                      "stopped_at_line": errors.stopped_at_line,
                      "started_at": now, "finished_at": None, "message": None,
                      "owner": self.owner, "heartbeat_at": now}},
            upsert=True,
        )

    async def progress(self, job_id: str, **increments: int) -> bool:
        """Add to the counters of a job this replica runs; False when another replica took it over."""
        result = await self.collection.update_one({"_id": job_id, "status": RUNNING, "owner": self.owner},
                                                  {"$inc": increments})
        return result.matched_count == 1

    async def finish(self, job_id: str, status: str, now: dt.datetime, message: str | None = None) -> None:
        """Close a job this replica runs with its final status (one taken over is left to its new replica)."""
        await self.collection.update_one(
            {"_id": job_id, "owner": self.owner},
            {"$set": {"status": status, "finished_at": now, "message": message}},
        )

    async def renew(self, now: dt.datetime) -> int:
        """Say this replica still runs its jobs (their heartbeat); returns how many it runs."""
        result = await self.collection.update_many({"status": RUNNING, "owner": self.owner},
                                                   {"$set": {"heartbeat_at": now}})
        return int(result.matched_count)

    async def mark_interrupted(self, now: dt.datetime, lease: dt.timedelta) -> int:
        """Jobs whose replica stopped renewing them (a crash; an orderly stop records it itself): say so; a
        re-upload resumes them. Jobs of running replicas, including this one's, are left alone."""
        result = await self.collection.update_many(
            {"status": RUNNING, "owner": {"$ne": self.owner},
             "$or": [{"heartbeat_at": {"$lt": now - lease}}, {"heartbeat_at": {"$exists": False}}]},
            {"$set": {"status": INTERRUPTED, "finished_at": now, "message": ORPHANED_MESSAGE}},
        )
        return int(result.modified_count)

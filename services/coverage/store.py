"""Coverage collections: resident views, area and stock counters, job owners, visits, audit log.

The projection collections live under a prefix, so a rebuild can fill fresh ones and swap them
in by changing the `coverage_meta` document. The audit log and the meta document stay outside.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pymongo import InsertOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.coverage import domain
from services.coverage.domain import Delta, ResidentView, restore_view
from services.coverage.views import (
    WEEKLY_FIGURES,
    AreaCounters,
    ListedResident,
    PlaceVisit,
    PlannerCounts,
    ResidentStage,
    StockLocation,
)
from shared.areas import load_areas
from shared.audit import AuditTrail
from shared.clock import WIB
from shared.dead_letter import TransientError
from shared.mongo import DUPLICATE_KEY, IDS_PER_READ, document_from_update, documents_by_id, updated_document
from shared.place_members import PlaceMembers, place_key

META = "coverage_meta"
AUDIT = "coverage_audit_log"
REPLAYS = "coverage_dead_letter_replays"
# Bulk writes go in chunks of 500 statements: each command is one transaction on the local FerretDB.
# Its builds before ektp5 stopped answering a write command of 100 or more updates (each kept its read
# open; docs/adr/0014); MongoDB takes any size.
BULK_CHUNK = 500


class ConcurrentUpdate(TransientError):
    """Another writer changed a document this batch read; the batch is applied again."""


def encode_view(view: ResidentView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    data = dict(view.__dict__)  # the view's fields, nothing else (see `domain.restore_view`)
    wajib = data["wajib_ktp_from"]
    data["wajib_ktp_from"] = wajib.isoformat() if wajib else None
    data["jobs"] = {job_id: dict(job) for job_id, job in view.jobs.items()}
    return data


def decode_view(data: dict[str, Any] | None) -> ResidentView | None:
    if not data:
        return None
    wajib = data.get("wajib_ktp_from")
    return restore_view(data, wajib_ktp_from=dt.date.fromisoformat(wajib) if wajib else None)


_DELTA_TEXT = json.JSONEncoder(separators=(",", ":"))


def encode_delta(delta: Delta) -> str:
    """A delta as stored: JSON text of, for each set of changes some areas share (see `domain.difference`),
    [areas, counters, changes]. One text field, not a nested document: the local FerretDB reads and
    writes a document at about 10 microseconds a field, and a resident keeps up to 24 of these."""
    groups: dict[int, list[list[Any]]] = {}
    for area, fields in delta.items():
        group = groups.get(id(fields))
        if group is None:
            groups[id(fields)] = [[area], list(fields), list(fields.values())]
        else:
            group[0].append(area)
    return _DELTA_TEXT.encode(list(groups.values()))


def decode_delta(stored: Any) -> Delta:
    """A delta from `encode_delta`'s text, or from the forms earlier versions stored: a list of
    {"a": areas, "n": counters, "v": changes}, or the JSON text of {area: {counter: change}}."""
    if isinstance(stored, str):
        parsed = json.loads(stored)
        if isinstance(parsed, dict):
            return dict(parsed)
        stored = [{"a": areas, "n": names, "v": values} for areas, names, values in parsed]
    delta: Delta = {}
    for group in stored:
        fields = dict(zip(group["n"], group["v"], strict=True))
        for area in group["a"]:
            delta[area] = fields
    return delta


async def bulk(collection: AsyncCollection[dict[str, Any]], ops: list[Any]) -> int:
    """Run write operations unordered in chunks; returns how many matched or were inserted."""
    done = 0
    for start in range(0, len(ops), BULK_CHUNK):
        result = await collection.bulk_write(ops[start:start + BULK_CHUNK], ordered=False)
        done += result.matched_count + result.inserted_count + result.upserted_count
    return done


async def guarded_bulk(collection: AsyncCollection[dict[str, Any]], ops: list[Any], what: str) -> None:
    """Run version-guarded writes; any that found its document changed or created meanwhile means a retry."""
    try:
        written = await bulk(collection, ops)
    except BulkWriteError as exc:
        if any(error.get("code") == DUPLICATE_KEY for error in exc.details.get("writeErrors", [])):
            raise ConcurrentUpdate(f"{what} created meanwhile") from exc
        raise
    if written != len(ops):
        raise ConcurrentUpdate(f"{len(ops) - written} {what} changed meanwhile")


# A listed resident needs the view and the personal data, not the applied event ids and pending changes.
_LISTED = {"view": 1, "person": 1}
# Counter names as stored -> the names AreaCounters gives them (the API's where it has one).
_AREA_COUNTS = {
    "terdaftar": "terdaftar", "direkam": "direkam", "belum_rekam": "belum_rekam", "prr": "prr",
    "dicetak": "dicetak", "diserahkan": "diserahkan", "duplikat": "duplikat", "gagal": "gagal",
    "antre_cetak": "antre_cetak", "belum_rekam_disabilitas": "disabilitas_belum_rekam",
    "belum_rekam_umum": "belum_rekam_luar_sekolah",
}
_STOCK_COUNTS = ("stok", "dipesan", "dalam_perjalanan", "diterima", "terpakai", "rusak")


@lru_cache(maxsize=4)
def _known_area_ids(kind: str) -> list[str]:
    """The counter document ids of every kecamatan or desa of the regency (none for other kinds)."""
    areas = load_areas()
    codes: list[str] = sorted(areas.kecamatan) if kind == "kec" else sorted(areas.villages) if kind == "desa" else []
    return [f"{kind}:{code}" for code in codes]


def _summed(*buckets: dict[str, Any] | None) -> dict[str, int]:
    """Buckets of one figure from several documents, added up."""
    total: dict[str, int] = {}
    for bucket in buckets:
        for key, n in (bucket or {}).items():
            total[key] = total.get(key, 0) + int(n)
    return total


def area_counters(doc: dict[str, Any], series: dict[str, Any] | None = None) -> AreaCounters:
    """An area counter document, with its wajib KTP series document (`domain.series_id`), as the read use
    cases see it. The series are added from both: projections made before the series had a document of
    their own keep the earlier buckets in the counter document."""
    series = series or {}
    weekly = {figure: dict(doc.get(f"{figure}_minggu") or {}) for figure in WEEKLY_FIGURES}
    weekly["wajib_ktp"] = _summed(doc.get("wajib_ktp_minggu"), series.get("wajib_ktp_minggu"))
    return AreaCounters(
        kind=doc["kind"], code=doc["code"],
        **{name: int(doc.get(stored, 0)) for stored, name in _AREA_COUNTS.items()},
        belum_rekam_per_tahun_lahir={domain.birth_year_of_key(key): int(n)
                                     for key, n in (doc.get("belum_rekam_lahir") or {}).items()},
        weekly=weekly,
        siswa_per_kecamatan={domain.kecamatan_of_key(key): int(n) for key, n in (doc.get("kecamatan") or {}).items()},
        wajib_ktp_per_hari=_summed(doc.get("wajib_ktp_hari"), series.get("wajib_ktp_hari")),
        antre_cetak_per_jam={key: int(n) for key, n in (doc.get("antre_cetak_jam") or {}).items()},
    )


def stock_location(doc: dict[str, Any]) -> StockLocation:
    """A location's stock counter document as the read use cases see it."""
    return StockLocation(location_id=doc["code"], **{name: int(doc.get(name, 0)) for name in _STOCK_COUNTS},
                         used_by_day=domain.used_by_day(doc.get("terpakai_hari") or {}),
                         stock_change_by_day=domain.used_by_day(doc.get("stok_hari") or {}))


def listed_resident(doc: dict[str, Any]) -> ListedResident:
    """A resident document (its view and personal data) as an office list shows it."""
    person = doc.get("person") or {}
    view = doc["view"]
    return ListedResident(
        resident_id=doc["_id"], desa_code=view["desa_code"], school_npsn=view.get("school_npsn"),
        school_name=view.get("school_name"),
        wajib_ktp_from=view.get("wajib_ktp_from"), failed_recording=bool(view.get("last_failure_at")),
        birth_year=view.get("birth_year"), disabilitas=bool(view.get("disabilitas")),
        nik=person.get("nik"), nama=person.get("nama"), jenis_kelamin=person.get("jenis_kelamin"),
        tanggal_lahir=person.get("tanggal_lahir"), telepon=person.get("telepon"),
    )


class CoverageStore:
    """The projection collections under one prefix."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], prefix: str = "coverage") -> None:
        self.db = db
        self.prefix = prefix
        self.residents = db[f"{prefix}_residents"]
        self.areas = db[f"{prefix}_areas"]
        self.jobs = db[f"{prefix}_jobs"]
        self.visits = db[f"{prefix}_visits"]
        self.stock_events = db[f"{prefix}_stock_events"]
        self.schools = db[f"{prefix}_schools"]
        self.locations = db[f"{prefix}_locations"]
        self.members = PlaceMembers(db[f"{prefix}_places"], db[f"{prefix}_place_parts"])
        self.audit = AuditTrail(db[AUDIT], service="coverage")
        # Area counter documents as this store last read or wrote them. Every counter write is
        # guarded by the version, so a document another writer changed meanwhile fails the
        # write; the cache is then dropped and the batch, retried, reads afresh.
        self._areas_seen: dict[str, dict[str, Any]] = {}

    async def ensure_indexes(self) -> None:
        await self.residents.create_index([("view.desa_code", 1), ("belum_rekam", 1)])
        await self.residents.create_index([("view.school_npsn", 1), ("belum_rekam", 1)])
        await self.residents.create_index([("view.kecamatan_code", 1), ("view.wajib_ktp_from", 1)])
        await self.residents.create_index([("belum_rekam", 1), ("view.kecamatan_code", 1)])
        await self.residents.create_index([("view.kecamatan_code", 1), ("waiting_since", 1)])
        await self.areas.create_index("kind")
        await self._fill_members_once()
        await self.visits.create_index("place_code")

    async def drop(self) -> None:
        for collection in (self.residents, self.areas, self.jobs, self.visits, self.stock_events, self.schools,
                           self.locations, self.members.places, self.members.parts):
            await collection.drop()

    async def _many(self, collection: AsyncCollection[dict[str, Any]], ids: list[str]) -> dict[str, dict[str, Any]]:
        """Documents by `_id` (`$in` in chunks: the primary key, on the local server too)."""
        return await documents_by_id(collection, ids)

    async def residents_by_id(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        return await self._many(self.residents, ids)

    async def areas_by_id(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Area counter documents (callers only read them): from the cache, the rest from the database."""
        missing = [area_id for area_id in ids if area_id not in self._areas_seen]
        if missing:
            self._areas_seen.update(await self._many(self.areas, missing))
        return {area_id: self._areas_seen[area_id] for area_id in ids if area_id in self._areas_seen}

    async def job_owners(self, job_ids: list[str]) -> dict[str, str]:
        docs = await self._many(self.jobs, job_ids)
        return {job_id: doc["resident_id"] for job_id, doc in docs.items()}

    async def remember_job_owners(self, owners: dict[str, str]) -> None:
        ops = [UpdateOne({"_id": job_id}, {"$setOnInsert": {"resident_id": resident_id}}, upsert=True)
               for job_id, resident_id in owners.items()]
        await bulk(self.jobs, ops)

    async def stock_events_by_id(self, event_ids: list[str]) -> dict[str, dict[str, Any]]:
        return await self._many(self.stock_events, event_ids)

    async def remember_locations(self, area_ids: list[str]) -> None:
        """Keep every stock location ("lokasi:<id>") the ledger's events named, so the dashboard reads their
        counters by id instead of scanning every area document by kind (idempotent)."""
        ops = [UpdateOne({"_id": area_id}, {"$setOnInsert": {"dikenal": True}}, upsert=True) for area_id in area_ids]
        if ops:
            await bulk(self.locations, ops)

    async def remember_stock_events(self, records: dict[str, dict[str, Any]]) -> None:
        """Record each ledger event's position and counter change before the counters are written."""
        ops = [InsertOne({"_id": event_id, **record}) for event_id, record in records.items()]
        await guarded_bulk(self.stock_events, ops, "ledger event record(s)")

    async def write_residents(self, docs: list[tuple[dict[str, Any], int]]) -> None:
        """Write new resident documents, each guarded by the version it was read at (0: new)."""
        ops: list[Any] = []
        for doc, version in docs:
            if version == 0:
                ops.append(InsertOne({**doc, "version": 1}))
            else:
                ops.append(ReplaceOne({"_id": doc["_id"], "version": version}, {**doc, "version": version + 1}))
        await guarded_bulk(self.residents, ops, "resident(s)")

    async def write_counters(self, changes: list[tuple[str, dict[str, int], dict[str, int], int]]) -> None:
        """Apply (area id, increments, positions, version read) guarded by the version (0: new)."""
        ops: list[Any] = []
        written: dict[str, dict[str, Any]] = {}
        for area_id, increments, positions, version in changes:
            kind, code = area_id.split(":", 1)
            sets = {f"positions.{source}": position for source, position in positions.items()}
            update: dict[str, Any] = {"$set": sets, "$inc": {**increments, "version": 1}}
            if version == 0:
                doc = document_from_update(area_id, {**update, "$set": {**sets, "kind": kind, "code": code}})
                ops.append(InsertOne(doc))
                written[area_id] = doc
            else:
                ops.append(UpdateOne({"_id": area_id, "version": version}, update))
                before = self._areas_seen.get(area_id)
                if before is not None and before.get("version") == version:
                    written[area_id] = updated_document(before, update)
        try:
            await guarded_bulk(self.areas, ops, "counter(s)")
        except BaseException:
            self._areas_seen.clear()
            raise
        for area_id, *_ in changes:
            self._areas_seen.pop(area_id, None)
        self._areas_seen.update(written)

    async def save_visits(self, visits: dict[str, dict[str, Any]]) -> None:
        ops = [UpdateOne({"_id": visit_id}, {"$set": fields}, upsert=True) for visit_id, fields in visits.items()]
        await bulk(self.visits, ops)

    async def area(self, area_id: str) -> dict[str, Any]:
        """The stored counter document with its bookkeeping, for tools and tests (use cases read `counters`)."""
        return (await self.areas.find_one({"_id": area_id})) or {}

    async def counters(self, area_id: str) -> AreaCounters:
        """One area's counters (all zero for an area nothing was counted in)."""
        found = await self._areas_with_series([area_id])
        if not found:
            kind, code = area_id.split(":", 1)
            return AreaCounters(kind=kind, code=code)
        return found[0]

    async def counters_of(self, kind: str, codes: Sequence[str] | None = None) -> list[AreaCounters]:
        """The counters of every area of one kind ("kec", "desa", "sekolah") that has a document, read by id: the
        regency's kecamatan and desa are known, and every school a resident was counted with is kept apart.
        With `codes`, only the areas of those codes."""
        if codes is not None:
            return await self._areas_with_series([f"{kind}:{code}" for code in codes])
        known = _known_area_ids(kind)
        if not known and kind == "sekolah":
            known = [f"sekolah:{doc['_id']}" async for doc in self.schools.find({}, {"_id": 1})]
        if not known:
            known = [doc["_id"] async for doc in self.areas.find({"kind": kind}, {"_id": 1})]
        return await self._areas_with_series(known)

    async def _areas_with_series(self, area_ids: list[str]) -> list[AreaCounters]:
        """The counters of the areas that have a document, each with its wajib KTP series, in one read."""
        docs = await self._many(self.areas, [*area_ids, *map(domain.series_id, area_ids)])
        return [area_counters(docs[area_id], docs.get(domain.series_id(area_id)))
                for area_id in area_ids if area_id in docs]

    async def planner_counts(self) -> PlannerCounts:
        """The planner's document (`domain.PLANNER_AREA`): one read for the whole regency."""
        doc = await self.areas.find_one({"_id": domain.PLANNER_AREA}) or {}
        return PlannerCounts(
            desa_belum_rekam={domain.desa_of_key(key): int(n) for key, n in (doc.get("desa_belum_rekam") or {}).items()},
            sekolah_belum_rekam={domain.school_of_key(key): int(n)
                                 for key, n in (doc.get("sekolah_belum_rekam") or {}).items()},
            siswa_per_sekolah={domain.school_of_key(key): {domain.kecamatan_of_key(kec): int(n) for kec, n in by_kec.items()}
                               for key, by_kec in (doc.get("sekolah_siswa") or {}).items()},
        )

    async def stock_locations(self) -> list[StockLocation]:
        """The blangko counters of every location the ledger's events named, read by id (a projection made
        before locations were kept apart is read by kind)."""
        known = [doc["_id"] async for doc in self.locations.find({}, {"_id": 1})]
        if not known:
            if await self.stock_events.find_one({}, {"_id": 1}) is None:
                return []  # no ledger event counted yet
            return [stock_location(doc) async for doc in self.areas.find({"kind": "lokasi"})]
        return [stock_location(doc) for doc in (await self._many(self.areas, known)).values()]

    async def resident_stage(self, resident_id: str) -> ResidentStage | None:
        """One resident's stage and roster birth date (the public status lookup), None when not known."""
        doc = await self.residents.find_one({"_id": resident_id}, {"view": 1, "person.tanggal_lahir": 1})
        view = decode_view(doc.get("view")) if doc else None
        if doc is None or view is None:
            return None
        return ResidentStage(kecamatan_code=view.kecamatan_code, birth_date=(doc.get("person") or {}).get("tanggal_lahir"),
                             enrolled=view.enrolled, active=view.active, recorded=view.recorded,
                             print_ready=view.print_ready, printed=view.printed_at is not None,
                             handed_over=view.handed_over_at is not None)

    async def unrecorded(self, *, desa_code: str | None, school_npsn: str | None, kecamatan_code: str | None,
                         skip: int, limit: int) -> list[ListedResident]:
        """Counted residents not yet recorded of a desa or a school (optionally of one kecamatan)."""
        wanted = {"view.desa_code": desa_code, "view.school_npsn": school_npsn, "view.kecamatan_code": kecamatan_code}
        if not desa_code and not school_npsn:  # a whole kecamatan: no member list to read by
            query: dict[str, Any] = {"belum_rekam": True, **{k: v for k, v in wanted.items() if v}}
            cursor = self.residents.find(query, _LISTED).sort("_id", 1).skip(skip).limit(limit)
            return [listed_resident(doc) async for doc in cursor]
        keys = [place_key("desa", desa_code)] if desa_code else [place_key("sekolah", school_npsn or "")]
        found = await documents_by_id(self.residents, await self.members.of(keys), {**_LISTED, "belum_rekam": 1})
        listed = sorted((doc for doc in found.values() if doc.get("belum_rekam") is True and all(
            not value or doc["view"].get(field.split(".")[1]) == value for field, value in wanted.items())),
                        key=lambda doc: doc["_id"])
        return [listed_resident(doc) for doc in listed[skip:skip + limit]]

    async def _fill_members_once(self) -> None:
        """Member lists for residents projected before they existed: one pass, at the first start."""
        if not await self.members.empty() or await self.residents.find_one({}, {"_id": 1}) is None:
            return
        batch: dict[str, tuple[str | None, str | None]] = {}
        async for doc in self.residents.find({}, {"view.desa_code": 1, "view.school_npsn": 1}):
            view = doc.get("view") or {}
            batch[doc["_id"]] = (view.get("desa_code"), view.get("school_npsn"))
            if len(batch) >= IDS_PER_READ:
                await self.remember_members(batch)
                batch = {}
        await self.remember_members(batch)

    async def remember_members(self, places: dict[str, tuple[str | None, str | None]]) -> None:
        """Add residents (id -> (desa, school)) to their desa's and school's members, so a place's list
        reads its residents by id."""
        members: dict[str, tuple[dict[str, Any], list[str]]] = {}
        for resident_id, (desa, school) in places.items():
            for kind, code in (("desa", desa), ("sekolah", school)):
                if code:
                    members.setdefault(place_key(kind, code), ({"kind": kind}, []))[1].append(resident_id)
        await self.members.add(members)

    async def home_visit_candidates(self, *, born_until: int, kecamatan_code: str | None,
                                    skip: int, limit: int) -> list[ListedResident]:
        """Unrecorded residents who are elderly or have a disability (optionally of one kecamatan)."""
        query: dict[str, Any] = {"belum_rekam": True,
                                 "$or": [{"view.disabilitas": True}, {"view.birth_year": {"$lte": born_until}}]}
        if kecamatan_code:
            query["view.kecamatan_code"] = kecamatan_code
        cursor = self.residents.find(query, _LISTED).sort([("view.desa_code", 1), ("_id", 1)]).skip(skip).limit(limit)
        return [listed_resident(doc) async for doc in cursor]

    async def school_names(self, npsns: list[str]) -> dict[str, str]:
        """The name a school's students were last enrolled with (from Dapodik), for the schools that have one."""
        return {npsn: doc["name"] for npsn, doc in (await self._many(self.schools, npsns)).items() if doc.get("name")}

    async def remember_schools(self, schools: dict[str, tuple[str, str] | None]) -> None:
        """Keep every school a resident was counted with, and its (roster moment, name) unless a later one is
        kept: the latest enrolment naming a school names it, whatever order or batches the events came in (a
        replay or a redelivery ends the same)."""
        for npsn, named in schools.items():
            if named is None:
                await self.schools.update_one({"_id": npsn}, {"$setOnInsert": {"latest": ""}}, upsert=True)
                continue
            latest = f"{named[0]}|{named[1]}"
            try:
                await self.schools.update_one({"_id": npsn, "latest": {"$lt": latest}},
                                              {"$set": {"name": named[1], "latest": latest}}, upsert=True)
            except DuplicateKeyError:
                pass  # named by a later (or the same) enrolment already: the guard did not match

    async def place_visits(self) -> list[PlaceVisit]:
        """Every visit whose place and day are known (a visit opened before its schedule arrived is not
        yet), with the day it was held, if it was."""
        return [PlaceVisit(doc["place_code"], dt.date.fromisoformat(doc["date"]), _held_on(doc))
                async for doc in self.visits.find({}) if doc.get("place_code") and doc.get("date")]

    async def record_read(self, *, office_id: str, operator: str | None = None,
                          action: str, scope: str, resident_ids: Sequence[str],
                          now: dt.datetime) -> None:
        await self.audit.record(office_id=office_id, operator=operator, action=action, scope=scope,
                                resident_ids=resident_ids, now=now)

    async def snapshot(self) -> dict[str, Any]:
        """Every counter document without bookkeeping fields: what a rebuild must reproduce."""
        skip = {"positions", "version"}
        areas = {doc["_id"]: {k: v for k, v in doc.items() if k not in skip}
                 async for doc in self.areas.find({})}
        residents = {doc["_id"]: doc["view"] async for doc in self.residents.find({}, {"view": 1})}
        # An area whose counters all went back to zero equals one never touched: how batches fall
        # decides whether a resident's passing through an area made a document for it.
        counted = {area_id: doc for area_id, doc in _without_zeros(areas).items() if doc.keys() - _AREA_IDENTITY}
        return {"areas": counted, "residents": residents}


_AREA_IDENTITY = frozenset({"_id", "kind", "code"})


def _held_on(visit: dict[str, Any]) -> dt.date | None:
    """The day in Rejang Lebong (WIB) a visit was first opened or closed; None if neither happened."""
    moments = [visit[name] for name in ("opened_at", "closed_at") if visit.get(name)]
    return dt.datetime.fromisoformat(min(moments)).astimezone(WIB).date() if moments else None


def _without_zeros(value: Any) -> Any:
    """Counters that went back to zero equal counters never touched."""
    if isinstance(value, dict):
        cleaned = {k: _without_zeros(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v != 0 and v != {}}
    return value


class Meta:
    """Which projection (collection prefix and consumer group) the service reads and feeds.

    Keyed by the configured prefix, so separate coverage deployments on one database each
    follow their own rebuilds.
    """

    def __init__(self, db: AsyncDatabase[dict[str, Any]], name: str) -> None:
        self.collection = db[META]
        self.name = name

    async def active(self, default_prefix: str, default_group: str) -> tuple[str, str]:
        doc = await self.collection.find_one({"_id": self.name})
        if doc is None:
            return default_prefix, default_group
        return doc["prefix"], doc["group"]

    async def swap(self, *, prefix: str, group: str, now: dt.datetime) -> dict[str, Any] | None:
        """Point the service at a rebuilt projection; returns the one it replaces."""
        old = await self.collection.find_one({"_id": self.name})
        await self.collection.update_one(
            {"_id": self.name},
            {"$set": {"prefix": prefix, "group": group, "swapped_at": now,
                      "previous": {"prefix": old["prefix"], "group": old["group"]} if old else None}},
            upsert=True,
        )
        return old


class ReplayLog:
    """Which parked messages were replayed into the projection, and when (`services.coverage.dead_letters`)."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[REPLAYS]

    async def replayed(self, ref: str) -> dt.datetime | None:
        doc = await self.collection.find_one({"_id": ref})
        return doc["at"] if doc else None

    async def all_replayed(self) -> dict[str, dt.datetime]:
        return {doc["_id"]: doc["at"] async for doc in self.collection.find({})}

    async def record(self, ref: str, *, event_id: str, applied: bool, now: dt.datetime) -> None:
        await self.collection.update_one({"_id": ref}, {"$setOnInsert": {"event_id": event_id, "applied": applied,
                                                                          "at": now}}, upsert=True)

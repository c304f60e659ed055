"""The projection a rebuild makes, held in memory while it replays and written once at the end.

A rebuild fills fresh collections that nothing reads until they are swapped in, and it is the only
writer. The live store writes every batch (a resident document rewritten for each batch that names
it, each area's counter document rewritten whole on the local FerretDB); here the projector's writes
land in dictionaries of the very documents the live store would hold, and `flush` inserts each
document once. A rebuild cut off before its flush leaves collections that are never swapped in; the
next rebuild starts again under a new prefix, as it did before.

The same `Projector` folds the events, so the documents are those of the live projection:
`tests/integration/test_coverage_projection.py` compares a rebuild with the live projection it
replaces. At the regency's size (218,077 residents, about a million events) the benchmark's
process, which also holds its corpus of events, peaked at 3.7 GB during a rebuild.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from services.coverage.store import CoverageStore
from shared.place_members import place_key

INSERT_CHUNK = 1_000
WRITERS = 2


class MemoryProjection:
    """The projector's store methods over dictionaries of the documents the live store would hold (the
    benchmark's drain projects into one of these alone, to measure everything but the database)."""

    def __init__(self) -> None:
        self._residents: dict[str, dict[str, Any]] = {}
        self._areas: dict[str, dict[str, Any]] = {}
        self._jobs: dict[str, dict[str, Any]] = {}
        self._visits: dict[str, dict[str, Any]] = {}
        self._stock_events: dict[str, dict[str, Any]] = {}
        self._schools: dict[str, dict[str, Any]] = {}
        self._locations: dict[str, dict[str, Any]] = {}
        self._members: dict[str, tuple[str, dict[str, None]]] = {}

    async def residents_by_id(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        return _found(self._residents, ids)

    async def areas_by_id(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        return _found(self._areas, ids)

    async def job_owners(self, job_ids: list[str]) -> dict[str, str]:
        return {job_id: doc["resident_id"] for job_id, doc in _found(self._jobs, job_ids).items()}

    async def remember_job_owners(self, owners: dict[str, str]) -> None:
        for job_id, resident_id in owners.items():
            self._jobs.setdefault(job_id, {"_id": job_id, "resident_id": resident_id})

    async def stock_events_by_id(self, event_ids: list[str]) -> dict[str, dict[str, Any]]:
        return _found(self._stock_events, event_ids)

    async def remember_locations(self, area_ids: list[str]) -> None:
        for area_id in area_ids:
            self._locations.setdefault(area_id, {"_id": area_id, "dikenal": True})

    async def remember_stock_events(self, records: dict[str, dict[str, Any]]) -> None:
        for event_id, record in records.items():
            if event_id in self._stock_events:
                raise RuntimeError(f"ledger event {event_id} recorded twice in one rebuild")
            self._stock_events[event_id] = {"_id": event_id, **record}

    async def write_residents(self, docs: list[tuple[dict[str, Any], int]]) -> None:
        for doc, version in docs:
            stored = self._residents.get(doc["_id"])
            if (stored["version"] if stored else 0) != version:
                raise RuntimeError(f"resident document written from version {version}, held at another")
            self._residents[doc["_id"]] = {**doc, "version": version + 1}

    async def write_counters(self, changes: list[tuple[str, dict[str, int], dict[str, int], int]]) -> None:
        for area_id, increments, positions, version in changes:
            doc = self._areas.get(area_id)
            if doc is None:
                kind, code = area_id.split(":", 1)
                doc = self._areas[area_id] = {"_id": area_id, "kind": kind, "code": code, "positions": {},
                                              "version": 0}
            if doc["version"] != version:
                raise RuntimeError(f"counter document {area_id} written from version {version}, held at another")
            doc["positions"].update(positions)
            for path, value in increments.items():  # as `$inc` does: "a.b" is field b of a's document
                *parents, leaf = path.split(".")
                target = doc
                for part in parents:
                    target = target.setdefault(part, {})
                target[leaf] = target.get(leaf, 0) + value
            doc["version"] = version + 1

    async def save_visits(self, visits: dict[str, dict[str, Any]]) -> None:
        for visit_id, fields in visits.items():
            self._visits.setdefault(visit_id, {"_id": visit_id}).update(fields)

    async def remember_schools(self, schools: dict[str, tuple[str, str] | None]) -> None:
        for npsn, named in schools.items():
            kept = self._schools.setdefault(npsn, {"_id": npsn, "latest": ""})
            if named is not None and kept["latest"] < (latest := f"{named[0]}|{named[1]}"):
                kept.update(name=named[1], latest=latest)

    async def remember_members(self, places: dict[str, tuple[str | None, str | None]]) -> None:
        for resident_id, (desa, school) in places.items():
            for kind, code in (("desa", desa), ("sekolah", school)):
                if code:
                    self._members.setdefault(place_key(kind, code), (kind, {}))[1][resident_id] = None

    def counter_document(self, area_id: str) -> dict[str, Any]:
        return self._areas.get(area_id, {})


class StagedCoverageStore(MemoryProjection, CoverageStore):
    """A `CoverageStore` whose projector writes stay in memory until `flush`."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], prefix: str) -> None:
        CoverageStore.__init__(self, db, prefix)
        MemoryProjection.__init__(self)

    async def _fill_members_once(self) -> None:
        """Nothing to fill: `flush` writes every place's members."""

    async def flush(self, *, progress: bool = False) -> int:
        """Insert every document held; returns how many were written."""
        report = _FlushProgress(sum(map(len, (self._residents, self._areas, self._jobs, self._visits,
                                              self._stock_events, self._schools, self._locations))),
                                enabled=progress)
        for collection, docs in ((self.areas, self._areas), (self.jobs, self._jobs), (self.visits, self._visits),
                                 (self.stock_events, self._stock_events), (self.schools, self._schools),
                                 (self.locations, self._locations)):
            await _insert_all(collection, list(docs.values()), report.add)
        # A resident's pending counter changes finish a batch redelivered after a crash. The swapped-in
        # projection reads on from the offsets the rebuild ends at, so no record it replayed comes again:
        # every change is in the counters, and the residents are written without them (a third smaller).
        residents = [{**doc, "pending": []} for doc in self._residents.values()]
        await _insert_all(self.residents, residents, report.add)
        await self.members.insert_whole({key: ({"kind": kind}, list(ids))
                                         for key, (kind, ids) in self._members.items()})
        report.done()
        return report.written


def _found(held: dict[str, dict[str, Any]], ids: list[str]) -> dict[str, dict[str, Any]]:
    return {doc_id: held[doc_id] for doc_id in ids if doc_id in held}


async def _insert_all(collection: AsyncCollection[dict[str, Any]], docs: list[dict[str, Any]],
                      written: Callable[[int], None]) -> None:
    """Insert in chunks, WRITERS at a time: the server turns one chunk into rows on one core while
    another waits for the database's single writer."""
    chunks = iter(range(0, len(docs), INSERT_CHUNK))

    async def writer() -> None:
        for start in chunks:
            chunk = docs[start:start + INSERT_CHUNK]
            await collection.insert_many(chunk, ordered=False)
            written(len(chunk))

    await asyncio.gather(*(writer() for _ in range(WRITERS)))


class _FlushProgress:
    """Prints how much of the projection is written, every two seconds."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.written = 0
        self.last = time.monotonic()

    def add(self, n: int) -> None:
        self.written += n
        if self.enabled and time.monotonic() - self.last > 2:
            self.last = time.monotonic()
            print(f"  ditulis {self.written:,}/{self.total:,} dokumen proyeksi", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled:
            print(f"  ditulis {self.written:,} dokumen proyeksi", file=sys.stderr, flush=True)

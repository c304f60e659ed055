"""Project a batch of events from every topic into the coverage read models, exactly once.

One batch is applied in three guarded steps, none of which needs a transaction:

1. Each resident touched gets its new view, the ids of the events applied and, per event, the
   counter change it caused (`pending`), in one versioned document write.
2. The counter changes are summed per area (and per stock location) and written once per area
   with the source offsets they include (`positions`), guarded by the version read.
3. The offsets are committed.

A batch redelivered after a crash finds its events in the resident documents: their pending
changes are added to any area whose stored position is below the event's offset, and nothing
else. A version conflict (another instance wrote meanwhile) applies the batch again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import TypeAdapter

from services.coverage import domain
from services.coverage.store import (
    ConcurrentUpdate,
    CoverageStore,
    decode_delta,
    decode_view,
    encode_delta,
    encode_view,
)
from shared.contracts import (
    OUTREACH_EVENTS,
    PRINT_EVENTS,
    RECORDING_EVENTS,
    RESIDENT_EVENTS,
    STOCK_EVENTS,
    ResidentEnrolled,
    ResidentUpdated,
    StockEvent,
)
from shared.contracts.printing import CardHandedOver, CardPrinted, JobQueued
from shared.contracts.recording import (
    RecordingCaptured,
    RecordingFailed,
    SiakStatusReported,
    VisitClosed,
    VisitOpened,
    VisitScheduled,
)
from shared.topics import OUTREACH, PRINT, RECORDING, RESIDENT, STOCK

log = logging.getLogger("ektp.coverage.projector")
KEEP_EVENT_IDS = 200
KEEP_PENDING = 24
# Counter writes tried at once before the batch is retried with backoff. Every batch touches the
# kabupaten's counters, so two projector replicas (one consumer group) often find them changed meanwhile;
# the changes are then summed again against the fresh documents, as a redelivered batch would be.
COUNTER_ATTEMPTS = 4
_NOTHING: dict[str, int] = {}

ADAPTERS: dict[str, TypeAdapter[Any]] = {
    RESIDENT.name: RESIDENT_EVENTS, OUTREACH.name: OUTREACH_EVENTS, RECORDING.name: RECORDING_EVENTS,
    PRINT.name: PRINT_EVENTS, STOCK.name: STOCK_EVENTS,
}
_ROSTER_FACTS = frozenset({ResidentEnrolled, ResidentUpdated})
RESIDENT_FACTS = (ResidentEnrolled, ResidentUpdated, domain.ResidentLeft, RecordingCaptured, RecordingFailed,
                  SiakStatusReported, JobQueued, CardHandedOver)


@dataclass(frozen=True)
class Positioned:
    """A parsed event and where it was read: `source` names the topic partition (or a replay of a
    parked message, see `services.coverage.dead_letters`); `record` is the consumed record, if any."""

    event: Any
    source: str
    position: int
    record: Any = field(default=None, compare=False, repr=False)


@dataclass
class BatchResult:
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)

    def count(self, event: Any, outcome: str) -> None:
        self.outcomes[(event.event_type, outcome)] += 1


@dataclass
class _Change:
    """A counter change caused by one event at one position."""

    source: str
    position: int
    delta: domain.Delta


def _person(event: ResidentEnrolled | ResidentUpdated) -> dict[str, Any]:
    p = event.payload
    return {"nik": p.nik, "nama": p.name, "jenis_kelamin": p.sex.value, "tanggal_lahir": p.birth_date.isoformat(),
            "telepon": p.phone}


def _resident_doc(resident_id: str, view: domain.ResidentView | None, person: dict[str, Any] | None,
                  events: list[str], pending: list[dict[str, Any]]) -> dict[str, Any]:
    counted = bool(view and view.counted)
    return {
        "_id": resident_id, "view": encode_view(view), "person": person, "events": events[-KEEP_EVENT_IDS:],
        "pending": pending, "counted": counted,
        "belum_rekam": bool(counted and view is not None and not view.recorded),
        "waiting_since": view.waiting_since if counted and view is not None else None,
    }


def _new_places(writes: list[tuple[dict[str, Any], int]], before: dict[str, dict[str, Any]]
                ) -> dict[str, tuple[str | None, str | None]]:
    """The (desa, school) of each written resident who is new or moved (first, like schools: kept whatever
    happens next, so a write a crash cuts off leaves no one out of their place's list)."""
    def place(doc: dict[str, Any] | None) -> tuple[str | None, str | None]:
        view = (doc or {}).get("view") or {}
        return view.get("desa_code"), view.get("school_npsn")

    return {write["_id"]: place(write) for write, _ in writes
            if place(write) != place(before.get(write["_id"])) and any(place(write))}


def _schools(docs: Iterable[dict[str, Any]]) -> dict[str, tuple[str, str] | None]:
    """Each school of these resident documents with its latest (roster moment, name), None if none named it."""
    schools: dict[str, tuple[str, str] | None] = {}
    for doc in docs:
        view = doc.get("view") or {}
        npsn, name, at = view.get("school_npsn"), view.get("school_name"), view.get("roster_at")
        if not npsn:
            continue
        named = (at, name) if name and at else None
        current = schools.get(npsn)
        schools[npsn] = max(named, current) if named and current else (named or current)
    return schools


class Projector:
    """Applies batches of events to one set of coverage collections."""

    def __init__(self, store: CoverageStore) -> None:
        self.store = store

    async def apply(self, batch: Sequence[Positioned]) -> BatchResult:
        result = BatchResult()
        residents, visits, stock = _sort_batch(batch)
        owners = await self._job_owners(residents)
        counter_changes = await self._apply_residents(residents, owners, result)
        await self._apply_visits(visits, result)
        counter_changes += await self._stock_changes(stock, result)
        await self._apply_counters(counter_changes)
        return result

    async def _job_owners(self, batch: Sequence[Positioned]) -> dict[str, str]:
        """Which resident each print job of the batch is for (queued jobs are remembered first)."""
        queued = {item.event.payload.job_id: item.event.payload.resident_id
                  for item in batch if isinstance(item.event, JobQueued)}
        if queued:
            await self.store.remember_job_owners(queued)
        printed = {item.event.payload.job_id for item in batch if isinstance(item.event, CardPrinted)}
        missing = sorted(printed - set(queued))
        return {**(await self.store.job_owners(missing) if missing else {}), **queued}

    async def _apply_residents(self, batch: Sequence[Positioned], owners: dict[str, str],
                               result: BatchResult) -> list[_Change]:
        by_resident: dict[str, list[tuple[Positioned, str | None]]] = {}
        for item in batch:
            event = item.event
            if isinstance(event, CardPrinted):
                owner = owners.get(event.payload.job_id)
                if owner is None:
                    log.warning("print.printed for a job coverage never saw queued; not counted")
                    result.count(event, "unknown_job")
                    continue
                by_resident.setdefault(owner, []).append((item, event.payload.job_id))
            elif isinstance(event, RESIDENT_FACTS):
                by_resident.setdefault(event.payload.resident_id, []).append((item, None))
        if not by_resident:
            return []
        docs = await self.store.residents_by_id(sorted(by_resident))
        changes: list[_Change] = []
        applied: list[str] = []
        writes: list[tuple[dict[str, Any], int]] = []
        for resident_id, items in by_resident.items():
            doc = docs.get(resident_id)
            write = _fold_resident(resident_id, doc, items, changes, applied, result)
            if write is not None:
                writes.append((write, int(doc["version"]) if doc else 0))
        if writes:
            # Schools first: kept whatever happens next (their write is idempotent), so a resident write
            # that a crash cuts off and a redelivery then skips leaves no school unknown.
            await self.store.remember_schools(_schools(write for write, _ in writes))
            await self.store.remember_members(_new_places(writes, docs))
            await self.store.write_residents(writes)
        for event_type, n in Counter(applied).items():
            result.outcomes[(event_type, "applied")] += n
        return changes

    async def _apply_visits(self, batch: Sequence[Positioned], result: BatchResult) -> None:
        visits: dict[str, dict[str, Any]] = {}
        for item in batch:
            event = item.event
            if isinstance(event, VisitScheduled):
                p = event.payload
                visits.setdefault(p.visit_id, {}).update(
                    {"date": p.date.isoformat(), "kind": p.kind.value, "place_code": p.place_code,
                     "kecamatan_code": p.kecamatan_code, "team": p.team, "targets": len(p.targets)})
            elif isinstance(event, VisitOpened):
                visits.setdefault(event.payload.visit_id, {})["opened_at"] = domain.iso_utc(event.occurred_at)
            elif isinstance(event, VisitClosed):
                visits.setdefault(event.payload.visit_id, {}).update(
                    {"closed_at": domain.iso_utc(event.occurred_at), "no_shows": len(event.payload.no_shows)})
            else:
                continue
            result.count(event, "applied")
        if visits:
            await self.store.save_visits(visits)

    async def _stock_changes(self, items: Sequence[Positioned], result: BatchResult) -> list[_Change]:
        """Stock counter changes, each ledger event once: its id, position and change are stored first."""
        if not items:
            return []
        seen = await self.store.stock_events_by_id(sorted({str(item.event.event_id) for item in items}))
        touched = sorted({area for item in items for area in domain.stock_delta(item.event, {})})
        await self.store.remember_locations(touched)
        docs = await self.store.areas_by_id(touched)
        current: dict[str, dict[str, Any]] = {
            area: {k: v for k, v in doc.items() if isinstance(v, int) and k != "version"} for area, doc in docs.items()
        }
        positions = {area: (doc.get("positions") or {}) for area, doc in docs.items()}
        changes: list[_Change] = []
        fresh_records: dict[str, dict[str, Any]] = {}
        for item in items:
            event_id = str(item.event.event_id)
            earlier = seen.get(event_id) or fresh_records.get(event_id)
            if earlier is not None:
                if (earlier["s"], earlier["p"]) != (item.source, item.position):
                    result.count(item.event, "duplicate")
                    continue
                change = decode_delta(earlier["d"])
                result.count(item.event, "resumed")
            else:
                change = domain.stock_delta(item.event, current)
                result.count(item.event, "applied")
                fresh_records[event_id] = {"s": item.source, "p": item.position, "d": encode_delta(change)}
            unapplied = {area: fields for area, fields in change.items()
                         if item.position > positions.get(area, {}).get(item.source, -1)}
            for area, fields in unapplied.items():
                target = current.setdefault(area, {})
                for name, value in fields.items():
                    target[name] = target.get(name, 0) + value
            if unapplied:
                changes.append(_Change(item.source, item.position, unapplied))
        await self.store.remember_stock_events(fresh_records)
        return changes

    async def _apply_counters(self, changes: list[_Change]) -> None:
        """Add the changes to every area not holding them yet; another replica's write meanwhile (the
        version guard refuses ours) means reading the areas again and adding what they still lack."""
        for attempt in range(1, COUNTER_ATTEMPTS + 1):
            try:
                await self._write_counters(changes)
                return
            except ConcurrentUpdate:
                if attempt == COUNTER_ATTEMPTS:
                    raise

    async def _write_counters(self, changes: list[_Change]) -> None:
        if not changes:
            return
        area_ids = sorted({area_id for change in changes for area_id in change.delta})
        docs = await self.store.areas_by_id(area_ids)
        stored = {area_id: doc.get("positions") or {} for area_id, doc in docs.items()}
        increments: dict[str, dict[str, int]] = {area_id: {} for area_id in area_ids}
        positions: dict[str, dict[str, int]] = {area_id: {} for area_id in area_ids}
        for change in changes:
            source, position = change.source, change.position
            for area_id, fields in change.delta.items():
                if position <= stored.get(area_id, _NOTHING).get(source, -1):
                    continue  # this area already holds the change (a redelivered batch)
                summed = increments[area_id]
                for name, value in fields.items():
                    summed[name] = summed.get(name, 0) + value
                applied = positions[area_id]
                if position > applied.get(source, -1):
                    applied[source] = position
        writes = [
            (area_id, {k: v for k, v in increments[area_id].items() if v}, positions[area_id],
             int(docs[area_id]["version"]) if area_id in docs else 0)
            for area_id in area_ids if positions[area_id]
        ]
        await self.store.write_counters(writes)


def _fold_resident(resident_id: str, doc: dict[str, Any] | None, items: list[tuple[Positioned, str | None]],
                   changes: list[_Change], applied: list[str], result: BatchResult) -> dict[str, Any] | None:
    """Apply one resident's events of a batch to its view: the document to write, or None if no event was new.

    New events in a row from one topic partition (a run) make one counter change and one pending
    record, at the position of the run's last event: an area holding that position holds every
    event of the run. A redelivered batch finds the run's events applied; the last one resumes the
    run's change from its pending record, the others were counted with it.
    """
    events, pending_before, view, person = _stored_state(doc)
    applied_ids = set(events)
    counted = domain.counted(view)
    pending: list[dict[str, Any]] = []
    run_source: str | None = None
    run_position = -1
    run_event_id = ""
    view_before_run = view
    for item, job_id in items:
        event = item.event
        event_id = str(event.event_id)
        source = item.source
        if run_source is not None and (source != run_source or event_id in applied_ids):
            counted = _close_run(view_before_run, view, counted, run_source, run_position, run_event_id,
                                 pending, changes)
            run_source = None
        if event_id in applied_ids:
            earlier = pending_before.get((event_id, source, item.position))
            if earlier is None:
                result.count(event, "duplicate")
                continue
            # Written by an attempt that stopped before its counters: finish them.
            pending.append(earlier)
            changes.append(_Change(source, item.position, decode_delta(earlier["d"])))
            result.count(event, "resumed")
            continue
        if run_source is None:
            run_source, view_before_run = source, view
        new = domain.evolve(view, event, job_id=job_id)
        if new is not view:
            if type(event) in _ROSTER_FACTS:
                person = _person(event)  # a roster fact changes the view only when it is the newest
            view = new
        run_position, run_event_id = item.position, event_id
        events.append(event_id)
        applied_ids.add(event_id)
        applied.append(event.event_type)
    if run_source is not None:
        counted = _close_run(view_before_run, view, counted, run_source, run_position, run_event_id,
                             pending, changes)
    if run_event_id == "":
        return None  # nothing new: duplicates, or counters resumed
    # Earlier entries stay until pushed out: an event of another partition may still be
    # redelivered, and its counters are then finished from here (or found applied).
    kept = [p for p in pending_before.values() if p not in pending]
    return _resident_doc(resident_id, view, person, events, (kept + pending)[-KEEP_PENDING:])


def _stored_state(doc: dict[str, Any] | None) -> tuple[
        list[str], dict[tuple[str, str, int], dict[str, Any]], domain.ResidentView | None, dict[str, Any] | None]:
    """A resident document's applied event ids, pending counter records, view and personal data."""
    if doc is None:
        return [], {}, None, None
    pending = {(p["e"], p["s"], p["p"]): p for p in doc.get("pending", ())}
    return list(doc["events"]), pending, decode_view(doc["view"]), doc.get("person")


def _close_run(before: domain.ResidentView | None, after: domain.ResidentView | None,
               counted: domain.Counted | None, source: str, position: int, event_id: str,
               pending: list[dict[str, Any]], changes: list[_Change]) -> domain.Counted | None:
    """Record a run's counter change (`after` against `before`, which counts `counted`); returns what
    `after` counts."""
    if after is before:
        change: domain.Delta = {}
        counted_after = counted
    else:
        counted_after = domain.counted(after)
        change = domain.difference(counted_after, counted)
    pending.append({"e": event_id, "s": source, "p": position, "d": encode_delta(change)})
    changes.append(_Change(source, position, change))
    return counted_after


_RESIDENT_EVENTS = (*RESIDENT_FACTS, CardPrinted)
_VISIT_EVENTS = (VisitScheduled, VisitOpened, VisitClosed)
_STOCK_EVENTS = get_args(get_args(StockEvent)[0])


def _sort_batch(batch: Sequence[Positioned]) -> tuple[list[Positioned], list[Positioned], list[Positioned]]:
    """The batch's events about residents (print.printed included), about visits and from the blangko
    ledger, each in batch order; events coverage does not count are left out."""
    residents: list[Positioned] = []
    visits: list[Positioned] = []
    stock: list[Positioned] = []
    for item in batch:
        if isinstance(item.event, _RESIDENT_EVENTS):
            residents.append(item)
        elif isinstance(item.event, _VISIT_EVENTS):
            visits.append(item)
        elif isinstance(item.event, _STOCK_EVENTS):
            stock.append(item)
    return residents, visits, stock

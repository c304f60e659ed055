"""Use cases of the coverage service: project one event into the read models."""

from __future__ import annotations

from enum import StrEnum

from services.coverage import domain
from services.coverage.store import CoverageStore, decode_delta, decode_view
from shared.contracts import RecordingEvent, ResidentEvent


class Outcome(StrEnum):
    APPLIED = "applied"
    RESUMED = "resumed"
    DUPLICATE = "duplicate"


async def project_event(
    event: ResidentEvent | RecordingEvent, *, source: str, position: int, store: CoverageStore
) -> Outcome:
    """Apply a resident event to the resident view and the area counters, exactly once.

    The resident document records the event id and the counter delta in one write; the
    counters then record the source position in theirs. A redelivery after a crash between
    the two finds the pending delta and finishes it; a true duplicate changes nothing.
    """
    resident_id = event.payload.resident_id
    event_id = str(event.event_id)
    doc = await store.resident(resident_id)
    if doc is not None and event_id in doc.get("applied_events", []):
        last = doc.get("last") or {}
        if (last.get("event_id"), last.get("source"), last.get("position")) != (
            event_id, source, position
        ):
            return Outcome.DUPLICATE
        await store.apply_counters(decode_delta(last["delta"]), source=source, position=position)
        return Outcome.RESUMED
    old = decode_view(doc["view"]) if doc else None
    new = domain.evolve(old, event)
    if new == old and doc is not None:
        return Outcome.DUPLICATE
    change = domain.delta(old, new)
    await store.save_resident(
        resident_id, new, event_id=event_id, source=source, position=position, delta=change,
        expected_version=doc["version"] if doc else 0,
    )
    await store.apply_counters(change, source=source, position=position)
    return Outcome.APPLIED

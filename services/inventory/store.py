"""The blangko ledger in MongoDB: one document per stock location, written by versioned single-document updates.

Each location's events arrive on one partition of the stock topic (keyed by the location), so
one consumer writes each document; the version check makes a second writer retry rather than
overwrite. A write records the event id (last RECENT_EVENTS) and the source offset in the same
update, so a redelivered or replayed event changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.inventory import domain
from services.inventory.domain import (
    Applied,
    Balance,
    CountProposal,
    DocumentClaim,
    Ledger,
    LedgerEvent,
    Outcome,
    Refused,
    Usulan,
)
from shared.contracts.stock import ReplenishmentRequested, TransferReceived
from shared.mongo import apply_at_position, apply_once, versioned_write

RECENT_EVENTS = 1000
RECENT_REFUSALS = 200
CONSUMPTION_DAYS_KEPT = 120


def _seen(doc: dict[str, Any] | None, event_id: str, position: tuple[str, int] | None) -> bool:
    if doc is None:
        return False
    if event_id in doc.get("applied_events", []):
        return True
    return position is not None and doc.get("positions", {}).get(position[0], -1) >= position[1]


def _refusal(doc: dict[str, Any] | None, event_id: str) -> str | None:
    return next((r["reason"] for r in (doc or {}).get("refusals", []) if r["event_id"] == event_id), None)


_CLAIM_FIELDS = {"requested": 1, "received": 1, "claimed": 1, "receipt_claims": 1}
_LEDGER_FIELDS = {"applied_events": 0, "refusals": 0, "positions": 0, "recent_applied": 0}


def _applied_record(event_id: str, change: Applied) -> dict[str, Any]:
    return {"event_id": event_id, "changes": dict(change.changes), "used": change.used,
            "used_on": change.used_on.isoformat() if change.used_on else None, "to": change.in_transit_to}


def _remembered(doc: dict[str, Any] | None, event_id: str) -> Applied | None:
    """The change an event made when it was applied, while it is among the recent ones."""
    record = next((r for r in (doc or {}).get("recent_applied", []) if r["event_id"] == event_id), None)
    if record is None:
        return None
    return Applied(changes={k: int(v) for k, v in record["changes"].items()}, used=int(record["used"]),
                   used_on=dt.date.fromisoformat(record["used_on"]) if record.get("used_on") else None,
                   in_transit_to=record.get("to"))


def _ledger(doc: dict[str, Any]) -> Ledger:
    days = {dt.date.fromisoformat(day): int(n) for day, n in doc.get("consumed_by_day", {}).items()}
    return Ledger(Balance.from_doc(doc["_id"], doc), days)


def _usulan(doc: dict[str, Any]) -> Usulan:
    return Usulan(request_id=doc["_id"], letter_no=doc.get("letter_no"), requested=int(doc.get("requested", 0)),
                  received=int(doc.get("received", 0)), requested_at=doc.get("requested_at"))


class InventoryStore:
    """The ledger store (implements `ports.LedgerStore`)."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.locations = db["blangko_locations"]
        self.requests = db["blangko_usulan"]
        self.backlog = db["blangko_backlog"]
        self.backlog_events = db["blangko_backlog_events"]
        self.counts = db["blangko_count_proposals"]
        self.documents = db["blangko_document_claims"]

    async def ensure_indexes(self) -> None:
        """Every lookup is by _id."""

    async def balance(self, location_id: str) -> Balance:
        """A location's balance (all zero when nothing happened there yet)."""
        return Balance.from_doc(location_id, await self.locations.find_one({"_id": location_id}, _LEDGER_FIELDS))

    async def ledgers(self) -> list[Ledger]:
        """Every location that has a ledger, with its consumption per day."""
        return [_ledger(doc) async for doc in self.locations.find({}, _LEDGER_FIELDS)]

    async def sent_transfer(self, from_location: str, transfer_id: str) -> dict[str, Any] | None:
        doc = await self.locations.find_one({"_id": from_location}, {"transfers_sent": 1})
        sent: dict[str, Any] | None = (doc or {}).get("transfers_sent", {}).get(transfer_id)
        return sent

    async def apply(self, event: LedgerEvent, *, position: tuple[str, int] | None = None) -> Outcome:
        """Apply one ledger event to its location exactly once; a refusal is recorded too."""
        location_id = domain.location_of(event)
        event_id = str(event.event_id)
        sent = None
        if isinstance(event, TransferReceived):
            sent = await self.sent_transfer(event.payload.from_location, event.payload.transfer_id)
        outcome: list[Outcome] = []

        def decide(current: dict[str, Any] | None) -> dict[str, Any] | None:
            outcome.clear()
            if _seen(current, event_id, position):
                outcome.append(Outcome("duplicate", _refusal(current, event_id), _remembered(current, event_id)))
                return None
            fields: dict[str, Any] = {}
            before = Balance.from_doc(location_id, current)
            try:
                after = domain.apply(before, event, sent=sent)
                change = domain.applied_change(before, after, event)
                fields = after.fields()
                fields["recent_applied"] = [*(current or {}).get("recent_applied", [])[-RECENT_REFUSALS + 1:],
                                            _applied_record(event_id, change)]
                if change.used and change.used_on is not None:
                    fields["consumed_by_day"] = _count_day((current or {}).get("consumed_by_day", {}),
                                                           change.used_on, change.used)
                outcome.append(Outcome("applied", applied=change))
            except Refused as refusal:
                outcome.append(Outcome("refused", refusal.reason))
                fields["refusals"] = [*(current or {}).get("refusals", [])[-RECENT_REFUSALS + 1:],
                                      {"event_id": event_id, "reason": refusal.reason}]
            fields["applied_events"] = [*(current or {}).get("applied_events", [])[-RECENT_EVENTS + 1:], event_id]
            if position is not None:
                fields[f"positions.{position[0]}"] = position[1]
            return {"$set": fields}

        await versioned_write(self.locations, location_id, decide)
        return outcome[0]

    async def outcome_of(self, location_id: str, event_id: str) -> Outcome | None:
        """The outcome of an event once applied (for an HTTP request waiting on its own event)."""
        doc = await self.locations.find_one({"_id": location_id}, {"applied_events": 1, "refusals": 1})
        if doc is None or event_id not in doc.get("applied_events", []):
            return None
        reason = _refusal(doc, event_id)
        return Outcome("refused" if reason else "applied", reason)

    # Usulan (requests to the province): requested against received.

    async def record_request(self, event: ReplenishmentRequested) -> bool:
        """Record an usulan once; False when it was recorded before."""
        p = event.payload
        fields = {"location_id": p.location_id, "requested": p.quantity, "letter_no": p.letter_no,
                  "backlog": p.backlog, "daily_consumption": p.daily_consumption, "requested_at": event.occurred_at}
        return await apply_once(self.requests, p.request_id, str(event.event_id),
                                {"$setOnInsert": {"received": 0}, "$set": fields})

    async def record_receipt(self, request_id: str, event_id: str, quantity: int) -> bool:
        return await apply_once(self.requests, request_id, event_id, {"$inc": {"received": quantity}})

    async def claim_document(self, claim: DocumentClaim, *, key: str) -> DocumentClaim | None:
        """Book a paper number: a unique document per key, so of two at the same moment one is booked."""
        try:
            await self.documents.insert_one({"_id": key, "number": claim.number, "event_id": claim.event_id,
                                             "claimed_at": claim.claimed_at, "booked_as": claim.booked_as})
            return None
        except DuplicateKeyError:
            doc = await self.documents.find_one({"_id": key})
        if doc is None:  # released in between: claim again
            return await self.claim_document(claim, key=key)
        if doc["event_id"] == claim.event_id:
            return None
        return DocumentClaim(number=doc["number"], event_id=doc["event_id"], claimed_at=doc["claimed_at"],
                             booked_as=doc["booked_as"])

    async def release_document(self, key: str, event_id: str) -> None:
        await self.documents.delete_one({"_id": key, "event_id": event_id})

    async def claim_usulan_receipt(self, request_id: str, *, event_id: str, quantity: int) -> int | None:
        """Count a receipt against an usulan by one conditional update, so two at once cannot both fit."""
        doc = await self.requests.find_one({"_id": request_id}, _CLAIM_FIELDS)
        if doc is None or event_id in doc.get("receipt_claims", []):
            return None
        if "claimed" not in doc:
            await self.requests.update_one({"_id": request_id, "claimed": {"$exists": False}},
                                           {"$set": {"claimed": int(doc.get("received", 0))}})
        result = await self.requests.update_one(
            {"_id": request_id, "claimed": {"$lte": int(doc["requested"]) - quantity},
             "receipt_claims": {"$ne": event_id}},
            {"$inc": {"claimed": quantity}, "$push": {"receipt_claims": event_id}})
        if result.modified_count == 1:
            return None
        now = await self.requests.find_one({"_id": request_id}, _CLAIM_FIELDS) or {}
        return None if event_id in now.get("receipt_claims", []) else int(now.get("claimed", 0))

    async def release_usulan_receipt(self, request_id: str, event_id: str, quantity: int) -> None:
        await self.requests.update_one({"_id": request_id, "receipt_claims": event_id},
                                       {"$inc": {"claimed": -quantity}, "$pull": {"receipt_claims": event_id}})

    async def usulan(self, request_id: str) -> Usulan | None:
        """One usulan, or None."""
        doc = await self.requests.find_one({"_id": request_id}, {"applied_events": 0, "receipt_claims": 0})
        return None if doc is None else _usulan(doc)

    async def all_usulan(self) -> list[Usulan]:
        """Every usulan, newest first."""
        found = self.requests.find({}, {"applied_events": 0, "receipt_claims": 0}).sort("requested_at", -1)
        return [_usulan(doc) async for doc in found]

    # The print backlog (cards waiting for a blank or for the printer), per station.

    async def change_backlog(self, station_id: str, delta: int, *, event_id: str, source: str, position: int) -> bool:
        """Move a station's backlog once per event, also when the event was published twice.

        The source position guards a redelivery of the same message; the event id, written after
        the change, guards a second copy of the event at a later offset (a producer that published
        again after a crash). A crash between the two leaves the position guard in place, and the
        redelivery writes the event id.
        """
        if await self.backlog_events.find_one({"_id": event_id}, {"_id": 1}) is not None:
            return False
        changed = await apply_at_position(self.backlog, station_id, source=source, position=position,
                                          update={"$inc": {"waiting": delta}})
        try:
            await self.backlog_events.insert_one({"_id": event_id})
        except DuplicateKeyError:
            pass
        return changed

    # Stock counts waiting for a dinas approval

    async def propose_count(self, proposal: CountProposal) -> CountProposal:
        try:
            await self.counts.insert_one({
                "_id": proposal.count_id, "location_id": proposal.location_id, "counted": proposal.counted,
                "reason": proposal.reason, "proposed_by": proposal.proposed_by, "proposed_at": proposal.proposed_at,
                "ledger_total": proposal.ledger_total, "approved_by": None, "approving_office": None,
                "event_id": None, "refused_reason": None, "proposed_by_person": proposal.proposed_by_person})
            return proposal
        except DuplicateKeyError:
            stored = await self.count_proposal(proposal.count_id)
            return stored if stored is not None else proposal

    async def count_proposal(self, count_id: str) -> CountProposal | None:
        doc = await self.counts.find_one({"_id": count_id})
        return None if doc is None else _proposal(doc)

    async def pending_counts(self) -> list[CountProposal]:
        waiting = self.counts.find({"event_id": None, "refused_reason": None}).sort("proposed_at", 1)
        return [_proposal(doc) async for doc in waiting]

    async def claim_count_approval(self, count_id: str, *, event_id: str, approved_by: str, office_id: str) -> bool:
        result = await self.counts.update_one(
            {"_id": count_id, "event_id": {"$in": [None, event_id]}, "refused_reason": None},
            {"$set": {"event_id": event_id, "approved_by": approved_by, "approving_office": office_id}})
        return result.matched_count == 1

    async def refuse_count(self, count_id: str, reason: str) -> None:
        await self.counts.update_one({"_id": count_id, "event_id": None},
                                     {"$set": {"refused_reason": reason, "status": "ditolak_kedaluwarsa"}})

    async def release_count_approval(self, count_id: str, event_id: str) -> None:
        await self.counts.update_one({"_id": count_id, "event_id": event_id},
                                     {"$set": {"event_id": None, "approved_by": None, "approving_office": None}})

    async def backlog_total(self) -> int:
        return sum([int(doc.get("waiting", 0)) async for doc in self.backlog.find({}, {"waiting": 1})])


def _proposal(doc: dict[str, Any]) -> CountProposal:
    return CountProposal(count_id=doc["_id"], location_id=doc["location_id"], counted=int(doc["counted"]),
                         reason=doc["reason"], proposed_by=doc["proposed_by"], proposed_at=doc.get("proposed_at"),
                         ledger_total=int(doc["ledger_total"]), approved_by=doc.get("approved_by"),
                         approving_office=doc.get("approving_office"), event_id=doc.get("event_id"),
                         refused_reason=doc.get("refused_reason"), proposed_by_person=doc.get("proposed_by_person"))


def _count_day(days: dict[str, int], day: dt.date, used: int) -> dict[str, int]:
    """The daily use counters with `used` blanks added on `day` (recent days only)."""
    oldest = (day - dt.timedelta(days=CONSUMPTION_DAYS_KEPT)).isoformat()
    kept = {d: n for d, n in days.items() if d >= oldest}
    kept[day.isoformat()] = kept.get(day.isoformat(), 0) + used
    return kept

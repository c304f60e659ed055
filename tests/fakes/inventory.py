"""In-memory fakes of the inventory ports: the ledger store, and a publisher that records events
and can hand stock events to the ledger as its consumer would."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from services.inventory import domain
from services.inventory.domain import Balance, CountProposal, DocumentClaim, Ledger, LedgerEvent, Outcome, Refused, Usulan
from shared.contracts.envelope import Envelope
from shared.contracts.stock import ReplenishmentRequested, TransferReceived
from shared.topics import Topic


@dataclass
class FakeLedgerStore:
    """The ledger per location, the usulan and the backlog in dicts, with the real ledger rules."""

    balances: dict[str, Balance] = field(default_factory=dict)
    consumed: dict[str, dict[dt.date, int]] = field(default_factory=dict)
    outcomes: dict[tuple[str, str], Outcome] = field(default_factory=dict)
    requests: dict[str, Usulan] = field(default_factory=dict)
    receipts: set[str] = field(default_factory=set)
    backlog: dict[str, int] = field(default_factory=dict)
    backlog_events: set[str] = field(default_factory=set)
    counts: dict[str, CountProposal] = field(default_factory=dict)
    documents: dict[str, DocumentClaim] = field(default_factory=dict)
    receipt_claims: dict[str, dict[str, int]] = field(default_factory=dict)

    async def balance(self, location_id: str) -> Balance:
        return self.balances.get(location_id, Balance(location_id))

    async def ledgers(self) -> list[Ledger]:
        return [Ledger(b, dict(self.consumed.get(loc, {}))) for loc, b in self.balances.items()]

    async def apply(self, event: LedgerEvent, *, position: tuple[str, int] | None = None) -> Outcome:
        location_id, key = domain.location_of(event), (domain.location_of(event), str(event.event_id))
        if key in self.outcomes:
            first = self.outcomes[key]
            return Outcome("duplicate", first.reason, first.applied)
        sent = None
        if isinstance(event, TransferReceived):
            sent = (await self.balance(event.payload.from_location)).transfers_sent.get(event.payload.transfer_id)
        before = await self.balance(location_id)
        try:
            self.balances[location_id] = domain.apply(before, event, sent=sent)
            outcome = Outcome("applied", applied=domain.applied_change(before, self.balances[location_id], event))
        except Refused as refusal:
            outcome = Outcome("refused", refusal.reason)
        if outcome.applied is not None and outcome.applied.used_on is not None:
            days = self.consumed.setdefault(location_id, {})
            days[outcome.applied.used_on] = days.get(outcome.applied.used_on, 0) + outcome.applied.used
        self.outcomes[key] = outcome
        return outcome

    async def outcome_of(self, location_id: str, event_id: str) -> Outcome | None:
        return self.outcomes.get((location_id, event_id))

    async def record_request(self, event: ReplenishmentRequested) -> bool:
        p = event.payload
        if p.request_id in self.requests:
            return False
        self.requests[p.request_id] = Usulan(p.request_id, p.letter_no, p.quantity, 0, event.occurred_at)
        return True

    async def record_receipt(self, request_id: str, event_id: str, quantity: int) -> bool:
        if event_id in self.receipts or request_id not in self.requests:
            return False
        self.receipts.add(event_id)
        usulan = self.requests[request_id]
        self.requests[request_id] = replace(usulan, received=usulan.received + quantity)
        return True

    async def claim_document(self, claim: DocumentClaim, *, key: str) -> DocumentClaim | None:
        held = self.documents.setdefault(key, claim)
        return None if held.event_id == claim.event_id else held

    async def release_document(self, key: str, event_id: str) -> None:
        if key in self.documents and self.documents[key].event_id == event_id:
            del self.documents[key]

    async def claim_usulan_receipt(self, request_id: str, *, event_id: str, quantity: int) -> int | None:
        claims = self.receipt_claims.setdefault(request_id, {})
        usulan = self.requests.get(request_id)
        if usulan is None or event_id in claims:
            return None
        already = sum(claims.values())
        if already + quantity > usulan.requested:
            return already
        claims[event_id] = quantity
        return None

    async def release_usulan_receipt(self, request_id: str, event_id: str, quantity: int) -> None:
        self.receipt_claims.get(request_id, {}).pop(event_id, None)

    async def usulan(self, request_id: str) -> Usulan | None:
        return self.requests.get(request_id)

    async def all_usulan(self) -> list[Usulan]:
        return sorted(self.requests.values(), key=lambda u: u.requested_at or dt.datetime.min.replace(tzinfo=dt.UTC),
                      reverse=True)

    async def change_backlog(self, station_id: str, delta: int, *, event_id: str, source: str, position: int) -> bool:
        if event_id in self.backlog_events:
            return False
        self.backlog_events.add(event_id)
        self.backlog[station_id] = self.backlog.get(station_id, 0) + delta
        return True

    async def backlog_total(self) -> int:
        return sum(self.backlog.values())

    async def propose_count(self, proposal: CountProposal) -> CountProposal:
        return self.counts.setdefault(proposal.count_id, proposal)

    async def count_proposal(self, count_id: str) -> CountProposal | None:
        return self.counts.get(count_id)

    async def pending_counts(self) -> list[CountProposal]:
        return [p for p in self.counts.values() if p.event_id is None and p.refused_reason is None]

    async def claim_count_approval(self, count_id: str, *, event_id: str, approved_by: str, office_id: str) -> bool:
        proposal = self.counts.get(count_id)
        if proposal is None or proposal.event_id not in (None, event_id) or proposal.refused_reason is not None:
            return False
        self.counts[count_id] = replace(proposal, event_id=event_id, approved_by=approved_by,
                                        approving_office=office_id)
        return True

    async def refuse_count(self, count_id: str, reason: str) -> None:
        proposal = self.counts.get(count_id)
        if proposal is not None and proposal.event_id is None:
            self.counts[count_id] = replace(proposal, refused_reason=reason)

    async def release_count_approval(self, count_id: str, event_id: str) -> None:
        proposal = self.counts.get(count_id)
        if proposal is not None and proposal.event_id == event_id:
            self.counts[count_id] = replace(proposal, event_id=None, approved_by=None, approving_office=None)


@dataclass
class RecordingPublisher:
    """Records every published event; `deliver`, when set, receives each one (e.g. the ledger consumer)."""

    published: list[tuple[Envelope, str, str]] = field(default_factory=list)
    deliver: Callable[[Any], Awaitable[Any]] | None = None
    fail: bool = False

    async def publish(self, event: Envelope, *, topic: Topic, key: str) -> None:
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.published.append((event, topic.name, key))
        if self.deliver is not None:
            await self.deliver(event)

    def events(self, kind: type[Any] | None = None) -> list[Any]:
        """The published events, only those of `kind` when given."""
        return [e for e, _, _ in self.published if kind is None or isinstance(e, kind)]

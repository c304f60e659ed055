"""What the inventory use cases need from storage; `shared.publishing.EventPublisher` is the publishing port."""

from __future__ import annotations

from typing import Protocol

from services.inventory.domain import Balance, CountProposal, DocumentClaim, Ledger, LedgerEvent, Outcome, Usulan
from shared.contracts.stock import ReplenishmentRequested


class LedgerStore(Protocol):
    """The blangko ledger per location, the usulan to the province and the print backlog."""

    async def balance(self, location_id: str) -> Balance:
        """A location's balance (all zero when nothing happened there yet)."""
        ...

    async def ledgers(self) -> list[Ledger]:
        """Every location that has a ledger."""
        ...

    async def apply(self, event: LedgerEvent, *, position: tuple[str, int] | None = None) -> Outcome:
        """Apply one ledger event to its location exactly once; a refusal is recorded too."""
        ...

    async def outcome_of(self, location_id: str, event_id: str) -> Outcome | None:
        """The outcome of an event once its location applied it, else None."""
        ...

    async def record_request(self, event: ReplenishmentRequested) -> bool:
        """Record an usulan once; False when it was recorded before."""
        ...

    async def record_receipt(self, request_id: str, event_id: str, quantity: int) -> bool:
        """Count a receipt against an usulan once; False when counted before."""
        ...

    async def claim_document(self, claim: DocumentClaim, *, key: str) -> DocumentClaim | None:
        """Book a paper number under `key` for `claim.event_id`; the claim holding it when another event booked it."""
        ...

    async def release_document(self, key: str, event_id: str) -> None:
        """Free a paper number whose event was refused or not published."""
        ...

    async def claim_usulan_receipt(self, request_id: str, *, event_id: str, quantity: int) -> int | None:
        """Count `quantity` against the usulan once per event unless it would go above what was requested;
        None when counted, else the blanks already counted against it."""
        ...

    async def release_usulan_receipt(self, request_id: str, event_id: str, quantity: int) -> None:
        """Take back a receipt's count whose event was refused or not published."""
        ...

    async def usulan(self, request_id: str) -> Usulan | None:
        """One usulan, or None."""
        ...

    async def all_usulan(self) -> list[Usulan]:
        """Every usulan, newest first."""
        ...

    async def change_backlog(self, station_id: str, delta: int, *, event_id: str, source: str, position: int) -> bool:
        """Move a station's print backlog once per event; False when already moved."""
        ...

    async def backlog_total(self) -> int:
        """Cards waiting to be printed, regency-wide."""
        ...

    async def propose_count(self, proposal: CountProposal) -> CountProposal:
        """Keep a count waiting for approval once; the stored one when its id was proposed before."""
        ...

    async def count_proposal(self, count_id: str) -> CountProposal | None:
        """One count proposal, or None."""
        ...

    async def pending_counts(self) -> list[CountProposal]:
        """Counts waiting for a dinas approval, oldest first."""
        ...

    async def claim_count_approval(self, count_id: str, *, event_id: str, approved_by: str, office_id: str) -> bool:
        """Mark a waiting count approved by `office_id` for the event `event_id`; False when it was decided."""
        ...

    async def refuse_count(self, count_id: str, reason: str) -> None:
        """Mark a waiting count refused with `reason`; it waits no more."""
        ...

    async def release_count_approval(self, count_id: str, event_id: str) -> None:
        """Put an approval whose event was refused or not published back to waiting."""
        ...

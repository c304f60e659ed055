"""The blangko ledger's outcome events for a list of stock commands, as the inventory would publish them.

For projection tests that run without the inventory service: each stock command is followed by
its outcome, decided by the real ledger rules (`services.inventory.domain`), on the same key.
"""

from __future__ import annotations

from typing import Any

from services.inventory import domain
from services.inventory.domain import Balance, Outcome, Refused
from services.inventory.handlers.ledger import ledger_outcome
from shared.contracts.stock import (
    BlankConsumed,
    BlankReserved,
    BlankSpoiled,
    CountCorrected,
    ReservationPayload,
    ReservationRequested,
    SpoiledReturned,
    StockReceived,
    TransferReceived,
    TransferSent,
)
from shared.topics import STOCK

COMMANDS = (StockReceived, TransferSent, TransferReceived, ReservationRequested, BlankConsumed, BlankSpoiled,
            CountCorrected, SpoiledReturned)


def _as_command(event: Any) -> Any:
    """The ledger command an event stands for (a reserved blank: the reservation request it answers)."""
    if isinstance(event, BlankReserved):
        return ReservationRequested(event_id=event.event_id, occurred_at=event.occurred_at,
                                    recorded_at=event.recorded_at, actor=event.actor,
                                    payload=ReservationPayload(**event.payload.model_dump()))
    return event if isinstance(event, COMMANDS) else None


def with_ledger_outcomes(events: list[tuple[str, str, Any]]) -> list[tuple[str, str, Any]]:
    """`events` with the ledger's outcome after each stock command (applied with its change, or refused)."""
    balances: dict[str, Balance] = {}
    out: list[tuple[str, str, Any]] = []
    for topic, key, event in events:
        out.append((topic, key, event))
        command = _as_command(event) if topic == STOCK.name else None
        if command is None:
            continue
        location = domain.location_of(command)
        before = balances.get(location, Balance(location))
        sent = None
        if isinstance(command, TransferReceived):
            sender = balances.get(command.payload.from_location, Balance(command.payload.from_location))
            sent = sender.transfers_sent.get(command.payload.transfer_id)
        try:
            balances[location] = domain.apply(before, command, sent=sent)
            outcome = Outcome("applied", applied=domain.applied_change(before, balances[location], command))
        except Refused as refusal:
            outcome = Outcome("refused", refusal.reason)
        published = ledger_outcome(command, outcome, recorded_at=command.recorded_at)
        if published is not None:
            out.append((topic, key, published))
    return out

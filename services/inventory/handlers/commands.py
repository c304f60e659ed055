"""Write use cases of the inventory service: each checks a command against the ledger, publishes
its event on the stock topic and waits (up to a timeout) for the ledger's outcome."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from services.inventory import domain
from services.inventory.domain import LedgerEvent, NotFound, Outcome, Refused
from services.inventory.handlers.deps import InventoryDeps
from services.inventory.handlers.views import LocationView, Suggestion, known, list_locations, suggest_usulan
from shared.contracts import Actor
from shared.contracts.stock import (
    BlankSpoiled,
    CountCorrected,
    CountPayload,
    ReceivedPayload,
    ReplenishmentPayload,
    ReplenishmentRequested,
    ReturnPayload,
    SpoiledPayload,
    SpoiledReturned,
    StockReceived,
    StockSpoilReason,
    TransferPayload,
    TransferReceived,
    TransferSent,
)
from shared.stations import WAREHOUSE
from shared.topics import STOCK


@dataclass(frozen=True)
class ReceiveBlanks:
    """Blanks arrived from the province (dinas admin only)."""

    actor: Actor
    event_id: uuid.UUID
    location_id: str
    quantity: int
    document_no: str
    request_id: str | None = None


@dataclass(frozen=True)
class SendTransfer:
    """Send blanks to another location; they are in transit until received."""

    actor: Actor
    event_id: uuid.UUID
    from_location: str
    to_location: str
    quantity: int


@dataclass(frozen=True)
class ReceiveTransfer:
    """The receiving location takes in a transfer."""

    actor: Actor
    event_id: uuid.UUID
    transfer_id: str


@dataclass(frozen=True)
class RecordSpoilage:
    """Free blanks found spoiled (not while printing)."""

    actor: Actor
    event_id: uuid.UUID
    location_id: str
    quantity: int
    reason: StockSpoilReason


@dataclass(frozen=True)
class CorrectCount:
    """Set a location's good blanks to a physical count (stock opname)."""

    actor: Actor
    event_id: uuid.UUID
    location_id: str
    counted: int
    reason: str
    approved_by: str


@dataclass(frozen=True)
class ReturnSpoiled:
    """Hand spoiled blanks back to the province with a berita acara (dinas admin only)."""

    actor: Actor
    event_id: uuid.UUID
    location_id: str
    quantity: int
    berita_acara_no: str
    handed_to: str


@dataclass(frozen=True)
class RequestUsulan:
    """Ask the province for blanks; no quantity means the suggested one (dinas admin only)."""

    actor: Actor
    event_id: uuid.UUID
    letter_no: str
    quantity: int | None = None


@dataclass(frozen=True)
class Recorded:
    """A ledger command's answer: recorded (with the location after it) or still being processed."""

    event_id: str
    status: Literal["dicatat", "diproses"]
    location: LocationView | None
    transfer_id: str | None = None


@dataclass(frozen=True)
class UsulanSent:
    """An usulan published to the stock topic, with the figures it was based on."""

    event_id: str
    request_id: str
    quantity: int
    basis: Suggestion


def _envelope(actor: Actor, event_id: uuid.UUID, deps: InventoryDeps) -> dict[str, Any]:
    now = deps.clock()
    return {"event_id": event_id, "occurred_at": now, "recorded_at": now, "actor": actor}


async def _wait_for(location_id: str, event_id: str, deps: InventoryDeps) -> Outcome | None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deps.answer_timeout
    outcome = await deps.store.outcome_of(location_id, event_id)
    while outcome is None and loop.time() < deadline:
        await asyncio.sleep(deps.poll_seconds)
        outcome = await deps.store.outcome_of(location_id, event_id)
    return outcome


async def submit(event: LedgerEvent, *, deps: InventoryDeps, transfer_id: str | None = None) -> Recorded:
    """Check the event against the current ledger, publish it, wait for the ledger's outcome (Refused on refusal)."""
    location_id, event_id = domain.location_of(event), str(event.event_id)
    outcome = await deps.store.outcome_of(location_id, event_id)
    if outcome is None:
        sent = None
        if isinstance(event, TransferReceived):
            sender = await deps.store.balance(event.payload.from_location)
            sent = sender.transfers_sent.get(event.payload.transfer_id)
        domain.apply(await deps.store.balance(location_id), event, sent=sent)
        await deps.publisher.publish(event, topic=STOCK, key=domain.partition_key(event))
        outcome = await _wait_for(location_id, event_id, deps)
    if outcome is None:
        return Recorded(event_id, "diproses", None, transfer_id)
    if outcome.refused:
        raise Refused(outcome.reason or "")
    view = next((v for v in await list_locations(deps=deps) if v.location_id == location_id), None)
    return Recorded(event_id, "dicatat", view, transfer_id)


async def receive_blanks(command: ReceiveBlanks, *, deps: InventoryDeps) -> Recorded:
    """Record blanks received from the province, optionally against an usulan."""
    known(command.location_id, deps)
    domain.admin_only(command.actor, "Hanya admin dinas yang dapat mencatat penerimaan dan pengembalian blangko.")
    if command.request_id is not None and await deps.store.usulan(command.request_id) is None:
        raise NotFound(f"Usulan {command.request_id!r} tidak ditemukan; periksa nomor usulan.")
    payload = ReceivedPayload(location_id=command.location_id, quantity=command.quantity,
                              request_id=command.request_id, document_no=command.document_no)
    return await submit(StockReceived(**_envelope(command.actor, command.event_id, deps), payload=payload), deps=deps)


async def send_transfer(command: SendTransfer, *, deps: InventoryDeps) -> Recorded:
    """Send blanks from one location to another."""
    known(command.from_location, deps)
    known(command.to_location, deps)
    domain.authorize(command.actor, command.from_location)
    payload = TransferPayload(transfer_id=f"tr-{command.event_id.hex[:16]}", from_location=command.from_location,
                              to_location=command.to_location, quantity=command.quantity)
    event = TransferSent(**_envelope(command.actor, command.event_id, deps), payload=payload)
    return await submit(event, deps=deps, transfer_id=payload.transfer_id)


async def receive_transfer(command: ReceiveTransfer, *, deps: InventoryDeps) -> Recorded:
    """The receiving location takes in a transfer (NotFound for an unknown transfer)."""
    sent = domain.sent_transfer(await deps.store.ledgers(), command.transfer_id)
    if sent is None:
        raise NotFound(f"Transfer {command.transfer_id!r} tidak ditemukan.")
    domain.authorize(command.actor, sent.to_location)
    payload = TransferPayload(transfer_id=sent.transfer_id, from_location=sent.from_location,
                              to_location=sent.to_location, quantity=sent.quantity)
    return await submit(TransferReceived(**_envelope(command.actor, command.event_id, deps), payload=payload),
                        deps=deps)


async def record_spoilage(command: RecordSpoilage, *, deps: InventoryDeps) -> Recorded:
    """Record free blanks found spoiled."""
    known(command.location_id, deps)
    domain.authorize(command.actor, command.location_id)
    payload = SpoiledPayload(location_id=command.location_id, quantity=command.quantity, reason=command.reason)
    return await submit(BlankSpoiled(**_envelope(command.actor, command.event_id, deps), payload=payload), deps=deps)


async def correct_count(command: CorrectCount, *, deps: InventoryDeps) -> Recorded:
    """Set a location's good blanks to the physical count, with the reason and who approved it."""
    known(command.location_id, deps)
    domain.authorize(command.actor, command.location_id)
    payload = CountPayload(location_id=command.location_id, counted=command.counted, reason=command.reason,
                           approved_by=command.approved_by)
    return await submit(CountCorrected(**_envelope(command.actor, command.event_id, deps), payload=payload), deps=deps)


async def return_spoiled(command: ReturnSpoiled, *, deps: InventoryDeps) -> Recorded:
    """Hand spoiled blanks back to the province."""
    known(command.location_id, deps)
    domain.admin_only(command.actor, "Hanya admin dinas yang dapat mencatat penerimaan dan pengembalian blangko.")
    payload = ReturnPayload(location_id=command.location_id, quantity=command.quantity,
                            berita_acara_no=command.berita_acara_no, handed_to=command.handed_to)
    return await submit(SpoiledReturned(**_envelope(command.actor, command.event_id, deps), payload=payload),
                        deps=deps)


async def request_usulan(command: RequestUsulan, *, deps: InventoryDeps) -> UsulanSent:
    """Publish an usulan to the province for the given or the suggested quantity."""
    domain.admin_only(command.actor, "Hanya admin dinas yang dapat mengirim usulan blangko.")
    basis = await suggest_usulan(deps=deps)
    quantity = command.quantity or basis.quantity
    if quantity < 1:
        raise Refused("Saran usulan 0: stok dan kiriman yang ditunggu sudah cukup. Isi jumlah bila tetap perlu.")
    request_id = f"usulan-{command.event_id.hex[:12]}"
    payload = ReplenishmentPayload(request_id=request_id, location_id=WAREHOUSE, quantity=quantity,
                                   backlog=basis.backlog, daily_consumption=basis.per_day, letter_no=command.letter_no)
    event = ReplenishmentRequested(**_envelope(command.actor, command.event_id, deps), payload=payload)
    await deps.publisher.publish(event, topic=STOCK, key=WAREHOUSE)
    return UsulanSent(str(event.event_id), request_id, quantity, basis)

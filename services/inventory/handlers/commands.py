"""Write use cases of the inventory service: each checks a command against the ledger, publishes
its event on the stock topic and waits (up to a timeout) for the ledger's outcome."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

from services.inventory import domain
from services.inventory.domain import (
    CountProposal,
    DocumentClaim,
    Forbidden,
    LedgerEvent,
    NotFound,
    Outcome,
    Refused,
    Usulan,
)
from services.inventory.handlers.deps import InventoryDeps
from services.inventory.handlers.views import LocationView, Suggestion, known, list_locations, suggest_usulan
from shared.contracts import Actor, Role
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
    approved_by: str | None = None


@dataclass(frozen=True)
class ApproveCount:
    """A dinas office approves a station's count that changes the stock (dinas admin only)."""

    actor: Actor
    event_id: uuid.UUID
    count_id: str
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
    """Record blanks received from the province, optionally against an usulan: a berita acara is booked once,
    and an usulan never receives more than it requested."""
    known(command.location_id, deps)
    domain.admin_only(command.actor, "Hanya admin dinas yang dapat mencatat penerimaan dan pengembalian blangko.")
    usulan = None
    if command.request_id is not None and (usulan := await deps.store.usulan(command.request_id)) is None:
        raise NotFound(f"Usulan {command.request_id!r} tidak ditemukan; periksa nomor usulan.")
    event_id = str(command.event_id)
    payload = ReceivedPayload(location_id=command.location_id, quantity=command.quantity,
                              request_id=command.request_id, document_no=command.document_no)
    async with _booked_once("penerimaan", command.document_no, event_id, deps=deps,
                            booked_as=f"penerimaan {command.quantity} blangko ke {command.location_id}",
                            booked_before=domain.receipt_booked_before):
        if usulan is not None:
            await _count_against(usulan, event_id, command.quantity, deps)
        try:
            return await submit(StockReceived(**_envelope(command.actor, command.event_id, deps), payload=payload),
                                deps=deps)
        except BaseException:
            if usulan is not None:
                await deps.store.release_usulan_receipt(usulan.request_id, event_id, command.quantity)
            raise


@asynccontextmanager
async def _booked_once(kind: str, number: str, event_id: str, *, booked_as: str,
                       booked_before: Callable[[DocumentClaim], str], deps: InventoryDeps) -> AsyncIterator[None]:
    """Book a document's number (a berita acara, a letter) for this event only, refused when another event
    holds it; the booking is released again when what follows fails, so the clerk may send it again."""
    key = domain.document_key(kind, number)
    claim = DocumentClaim(number=number.strip(), event_id=event_id, claimed_at=deps.clock(), booked_as=booked_as)
    if (held := await deps.store.claim_document(claim, key=key)) is not None:
        raise Refused(booked_before(held))
    try:
        yield
    except BaseException:
        await deps.store.release_document(key, event_id)
        raise


async def _count_against(usulan: Usulan, event_id: str, quantity: int, deps: InventoryDeps) -> None:
    """Count a receipt against its usulan, refused when it would go above what was requested."""
    already = await deps.store.claim_usulan_receipt(usulan.request_id, event_id=event_id, quantity=quantity)
    if already is not None:
        raise Refused(domain.over_received(usulan, already, quantity))


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


async def correct_count(command: CorrectCount, *, deps: InventoryDeps) -> Recorded | CountProposal:
    """Set a location's good blanks to the physical count. A dinas admin's count is booked at once (its
    office is the approval); a station's count that changes the stock waits for a dinas approval."""
    known(command.location_id, deps)
    domain.authorize(command.actor, command.location_id)
    balance = await deps.store.balance(command.location_id)
    if domain.count_needs_approval(command.actor, balance, command.counted):
        return await deps.store.propose_count(CountProposal(
            count_id=f"opname-{command.event_id.hex}", location_id=command.location_id, counted=command.counted,
            reason=command.reason, proposed_by=command.actor.office_id, proposed_at=deps.clock(),
            ledger_total=domain.good_blanks(balance), proposed_by_person=domain.acting_person(command.actor)))
    dinas = command.actor.role == Role.DINAS_ADMIN
    payload = CountPayload(location_id=command.location_id, counted=command.counted, reason=command.reason,
                           approved_by=command.approved_by or command.actor.office_id,
                           approving_office=command.actor.office_id if dinas else None)
    return await submit(CountCorrected(**_envelope(command.actor, command.event_id, deps), payload=payload), deps=deps)


async def approve_count(command: ApproveCount, *, deps: InventoryDeps) -> Recorded:
    """Book a station's waiting count with the approving dinas office, unless the stock moved since it was made."""
    domain.admin_only(command.actor, "Koreksi stok yang mengubah jumlah disetujui oleh admin dinas.")
    proposal = await deps.store.count_proposal(command.count_id)
    if proposal is None:
        raise NotFound(f"Hitungan {command.count_id!r} tidak ditemukan; lihat GET /counts untuk yang menunggu.")
    event_id = str(command.event_id)
    if proposal.refused_reason is not None:
        raise Refused(domain.refused_before(proposal))
    if proposal.event_id not in (None, event_id):
        raise Refused(f"Hitungan {proposal.count_id} sudah disetujui oleh {proposal.approving_office}.")
    if (same_person := domain.second_person_problem(proposal, command.actor)) is not None:
        raise Forbidden(same_person)
    if (stale := domain.stale_count(proposal, await deps.store.balance(proposal.location_id))) is not None:
        await deps.store.refuse_count(proposal.count_id, stale)
        raise Refused(stale)
    if not await deps.store.claim_count_approval(proposal.count_id, event_id=event_id,
                                                 approved_by=command.approved_by, office_id=command.actor.office_id):
        raise Refused(f"Hitungan {proposal.count_id} baru saja disetujui oleh permintaan lain.")
    payload = CountPayload(location_id=proposal.location_id, counted=proposal.counted, reason=proposal.reason,
                           approved_by=command.approved_by, approving_office=command.actor.office_id)
    try:
        return await submit(CountCorrected(**_envelope(command.actor, command.event_id, deps), payload=payload),
                            deps=deps)
    except BaseException:
        await deps.store.release_count_approval(proposal.count_id, event_id)
        raise


async def pending_counts(*, deps: InventoryDeps) -> list[CountProposal]:
    """Station counts waiting for a dinas approval."""
    return await deps.store.pending_counts()


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
    async with _booked_once("surat", command.letter_no, str(event.event_id), deps=deps,
                            booked_as=f"usulan {request_id}", booked_before=domain.letter_sent_before):
        await deps.publisher.publish(event, topic=STOCK, key=WAREHOUSE)
    # Recorded here as well, so blanks can be received against it at once; the ledger, reading the
    # event later, finds it recorded (once per event id).
    await deps.store.record_request(event)
    return UsulanSent(str(event.event_id), request_id, quantity, basis)

"""The blangko ledger of one stock location: what each event does, and when it is refused.

Pure rules, no I/O. The store applies them to one MongoDB document per location; the
Hypothesis test drives them and checks the invariants after every step.

Per location: received + transferred_in = on_hand + reserved + consumed + spoiled + returned
+ transferred_out. Over the regency, with in_transit = sum(transferred_out) - sum(transferred_in):
received = on_hand + reserved + consumed + spoiled + in_transit + returned.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from shared import blangko
from shared.clock import WIB
from shared.contracts.envelope import Actor, Role
from shared.contracts.stock import (
    BlankConsumed,
    BlankSpoiled,
    CountCorrected,
    ReservationRequested,
    SpoiledReturned,
    StockReceived,
    TransferPayload,
    TransferReceived,
    TransferSent,
)

COUNTS = ("received", "transferred_in", "transferred_out", "on_hand", "reserved", "consumed", "spoiled",
          "spoiled_lost", "returned")


class Refused(Exception):
    """The event cannot be applied to this location; `reason` is for the clerk."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(Exception):
    """A location, transfer or usulan the command names does not exist; the message is for the clerk."""


class Forbidden(Exception):
    """The office may not do this; the message is for the clerk."""


@dataclass(frozen=True)
class Applied:
    """What an applied ledger event changed at its location, and the blanks it used (its outcome event's data)."""

    changes: Mapping[str, int] = field(default_factory=dict)
    used: int = 0
    used_on: dt.date | None = None
    in_transit_to: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What applying one event did: applied (with its change), refused (with the reason), or duplicate (of
    an earlier outcome: its reason or change when still remembered)."""

    kind: str
    reason: str | None = None
    applied: Applied | None = None

    @property
    def refused(self) -> bool:
        return self.reason is not None


@dataclass(frozen=True)
class SentTransfer:
    """A transfer as its sender recorded it."""

    transfer_id: str
    from_location: str
    to_location: str
    quantity: int


@dataclass(frozen=True)
class Usulan:
    """A request to the province for blanks, and how much of it has arrived."""

    request_id: str
    letter_no: str | None
    requested: int
    received: int
    requested_at: dt.datetime | None

    @property
    def missing(self) -> int:
        """Blanks asked for and not yet received."""
        return max(0, self.requested - self.received)


@dataclass(frozen=True)
class DocumentClaim:
    """A paper number (a receipt's berita acara, an usulan letter) booked once: by which event, when, for what."""

    number: str
    event_id: str
    claimed_at: dt.datetime
    booked_as: str


def document_key(kind: str, number: str) -> str:
    """The one key of a paper number of a kind: spaces around and inside collapsed, letters upper-case."""
    return f"{kind}:{' '.join(number.split()).upper()}"


def _day(at: dt.datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(WIB).strftime("%d-%m-%Y")


def receipt_booked_before(claim: DocumentClaim) -> str:
    """Why a second receipt with a berita acara number already booked is refused."""
    return (f"Berita acara {claim.number} sudah dicatat pada {_day(claim.claimed_at)} ({claim.booked_as}). "
            "Satu berita acara hanya dicatat sekali: periksa nomor berita acara (document_no) pada kiriman ini.")


def letter_sent_before(claim: DocumentClaim) -> str:
    """Why a second usulan with a letter number already used is refused."""
    return (f"Nomor surat {claim.number} sudah dipakai untuk {claim.booked_as} pada {_day(claim.claimed_at)}. "
            "Lihat GET /replenishment; untuk usulan baru pakai nomor surat (letter_no) yang baru.")


def over_received(usulan: Usulan, already: int, quantity: int) -> str:
    """Why a receipt that would take an usulan above what was requested is refused."""
    return (f"Usulan {usulan.request_id} meminta {usulan.requested} blangko, sudah diterima {already}; penerimaan "
            f"{quantity} ini melebihinya (sisa {max(0, usulan.requested - already)}). Periksa jumlah atau nomor "
            "usulan (request_id); kelebihan dicatat tanpa nomor usulan.")


@dataclass(frozen=True)
class Ledger:
    """One location's balance and the blanks it consumed per day (recent days only)."""

    balance: Balance
    consumed_by_day: dict[dt.date, int] = field(default_factory=dict)

    @property
    def location_id(self) -> str:
        return self.balance.location_id


@dataclass(frozen=True)
class Balance:
    """The counts of one location. `spoiled_lost` is the part of `spoiled` found missing at a count."""

    location_id: str
    received: int = 0
    transferred_in: int = 0
    transferred_out: int = 0
    on_hand: int = 0
    reserved: int = 0
    consumed: int = 0
    spoiled: int = 0
    spoiled_lost: int = 0
    returned: int = 0
    open_reservations: tuple[str, ...] = ()
    transfers_sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    transfers_received: tuple[str, ...] = ()

    @classmethod
    def from_doc(cls, location_id: str, doc: dict[str, Any] | None) -> Balance:
        doc = doc or {}
        return cls(location_id, **{name: int(doc.get(name, 0)) for name in COUNTS},
                   open_reservations=tuple(doc.get("open_reservations", [])),
                   transfers_sent=dict(doc.get("transfers_sent", {})),
                   transfers_received=tuple(doc.get("transfers_received", [])))

    def fields(self) -> dict[str, Any]:
        return {**{name: getattr(self, name) for name in COUNTS},
                "open_reservations": list(self.open_reservations), "transfers_sent": dict(self.transfers_sent),
                "transfers_received": list(self.transfers_received)}

    @property
    def returnable(self) -> int:
        """Spoiled blanks physically held (not lost), which may be handed back."""
        return self.spoiled - self.spoiled_lost


LedgerEvent = (StockReceived | TransferSent | TransferReceived | ReservationRequested | BlankConsumed
               | BlankSpoiled | CountCorrected | SpoiledReturned)


def authorize(actor: Actor, *locations: str) -> None:
    """Dinas admins act everywhere; a print station office only at its own location."""
    if actor.role == Role.DINAS_ADMIN:
        return
    if actor.role == Role.PRINT_STATION and all(loc == actor.office_id for loc in locations):
        return
    raise Forbidden("Kantor ini tidak berwenang mengubah stok di lokasi tersebut.")


def admin_only(actor: Actor, message: str) -> None:
    """Only a dinas admin may do this (receipts, returns, usulan)."""
    if actor.role != Role.DINAS_ADMIN:
        raise Forbidden(message)


@dataclass(frozen=True)
class CountProposal:
    """A station's stock count that differs from the ledger, waiting for a dinas office to approve it."""

    count_id: str
    location_id: str
    counted: int
    reason: str
    proposed_by: str
    proposed_at: dt.datetime | None
    ledger_total: int
    approved_by: str | None = None
    approving_office: str | None = None
    event_id: str | None = None
    refused_reason: str | None = None
    proposed_by_person: str | None = None
    """The person who counted, when the web app named one: someone else approves."""

    @property
    def difference(self) -> int:
        """Counted less what the ledger held when the count was made (+ surplus, - shortfall)."""
        return self.counted - self.ledger_total


def good_blanks(b: Balance) -> int:
    """Good blanks a count finds at a location: free and reserved."""
    return b.on_hand + b.reserved


def acting_person(actor: Actor) -> str | None:
    """The person behind a command when the web app named one (an office acting itself names none)."""
    return actor.operator if actor.operator != actor.office_id else None


def count_needs_approval(actor: Actor, b: Balance, counted: int) -> bool:
    """A count that changes the stock needs a dinas approval, unless a dinas office books it through its own
    key; a count a named person made (the web app) always waits for a second person, dinas staff too."""
    if counted == good_blanks(b):
        return False
    return actor.role != Role.DINAS_ADMIN or acting_person(actor) is not None


def second_person_problem(proposal: CountProposal, approver: Actor) -> str | None:
    """Why this approver may not approve this count: the person who counted cannot approve it."""
    person = acting_person(approver)
    if proposal.proposed_by_person is not None and person == proposal.proposed_by_person:
        return (f"Hitungan {proposal.count_id} diajukan oleh {person} sendiri: persetujuan harus oleh orang lain "
                "(empat mata).")
    return None


def stale_count(proposal: CountProposal, b: Balance) -> str | None:
    """A count is approved against the stock it was made on; why it is refused when the ledger moved since."""
    if good_blanks(b) == proposal.ledger_total:
        return None
    return (f"Stok di {b.location_id} berubah sejak hitungan diajukan (buku stok sekarang {good_blanks(b)}, saat "
            f"dihitung {proposal.ledger_total}); hitungan {proposal.count_id} ditolak (kedaluwarsa). Minta stasiun "
            "menghitung ulang dan mengajukan hitungan baru.")


def refused_before(proposal: CountProposal) -> str:
    """Why a count refused earlier cannot be approved."""
    return f"Hitungan {proposal.count_id} sudah ditolak: {proposal.refused_reason}"


def sent_transfer(ledgers: Iterable[Ledger], transfer_id: str) -> SentTransfer | None:
    """The transfer with this id as its sender recorded it, or None."""
    for ledger in ledgers:
        sent = ledger.balance.transfers_sent.get(transfer_id)
        if sent is not None:
            return SentTransfer(transfer_id, ledger.location_id, str(sent["to"]), int(sent["quantity"]))
    return None


def partition_key(event: Any) -> str:
    """The message key: the location, except that both halves of a transfer are keyed by the sender,
    so the arrival is always applied after the sending (they share a partition)."""
    p = event.payload
    if isinstance(event, TransferSent | TransferReceived):
        return str(p.from_location)
    return str(p.location_id)


def location_of(event: Any) -> str:
    """The location whose ledger an event changes (the message key of the stock topic)."""
    p = event.payload
    if isinstance(event, TransferSent):
        return str(p.from_location)
    if isinstance(event, TransferReceived):
        return str(p.to_location)
    return str(p.location_id)


def apply(balance: Balance, event: LedgerEvent, *, sent: dict[str, Any] | None = None) -> Balance:
    """The balance after `event`, or Refused. `sent` is the sender's record of an arriving transfer."""
    b = balance
    if isinstance(event, StockReceived):
        return replace(b, received=b.received + event.payload.quantity, on_hand=b.on_hand + event.payload.quantity)
    if isinstance(event, TransferSent):
        return _send(b, event.payload)
    if isinstance(event, TransferReceived):
        return _arrive(b, event.payload, sent)
    if isinstance(event, ReservationRequested):
        if event.payload.reservation_id in b.open_reservations:
            return b
        if b.on_hand < 1:
            raise Refused(f"Blangko habis di {b.location_id}: kartu menunggu kiriman blangko.")
        return replace(b, on_hand=b.on_hand - 1, reserved=b.reserved + 1,
                       open_reservations=(*b.open_reservations, event.payload.reservation_id))
    if isinstance(event, BlankConsumed):
        return replace(_close(b, event.payload.reservation_id), consumed=b.consumed + 1)
    if isinstance(event, BlankSpoiled):
        return _spoil(b, event.payload.quantity, event.payload.reservation_id)
    if isinstance(event, CountCorrected):
        return _count(b, event.payload.counted)
    if isinstance(event, SpoiledReturned):
        quantity = event.payload.quantity
        if quantity > b.returnable:
            raise Refused(f"Blangko rusak yang ada di {b.location_id} hanya {b.returnable}; "
                          f"tidak bisa mengembalikan {quantity}.")
        return replace(b, spoiled=b.spoiled - quantity, returned=b.returned + quantity)
    raise TypeError(f"not a ledger event: {type(event).__name__}")


def _spoil(b: Balance, quantity: int, reservation_id: str | None) -> Balance:
    if reservation_id is not None:
        if quantity != 1:
            raise Refused("Blangko yang dipesan untuk satu kartu rusak satu per satu (jumlah 1).")
        return replace(_close(b, reservation_id), spoiled=b.spoiled + 1)
    if quantity > b.on_hand:
        raise Refused(f"Stok bebas di {b.location_id} hanya {b.on_hand}; tidak bisa mencatat {quantity} rusak.")
    return replace(b, on_hand=b.on_hand - quantity, spoiled=b.spoiled + quantity)


def _send(b: Balance, p: TransferPayload) -> Balance:
    if p.from_location == p.to_location:
        raise Refused("Lokasi asal dan tujuan sama.")
    if p.transfer_id in b.transfers_sent:
        raise Refused(f"Transfer {p.transfer_id} sudah dikirim.")
    if p.quantity > b.on_hand:
        raise Refused(f"Stok bebas di {b.location_id} hanya {b.on_hand}; tidak bisa mengirim {p.quantity}.")
    sent = {**b.transfers_sent, p.transfer_id: {"to": p.to_location, "quantity": p.quantity}}
    return replace(b, on_hand=b.on_hand - p.quantity, transferred_out=b.transferred_out + p.quantity,
                   transfers_sent=sent)


def _arrive(b: Balance, p: TransferPayload, sent: dict[str, Any] | None) -> Balance:
    if p.transfer_id in b.transfers_received:
        raise Refused(f"Transfer {p.transfer_id} sudah diterima.")
    if sent is None:
        raise Refused(f"Transfer {p.transfer_id} tidak tercatat dikirim.")
    if sent.get("to") != b.location_id or int(sent.get("quantity", -1)) != p.quantity:
        raise Refused(f"Transfer {p.transfer_id} dikirim ke {sent.get('to')} sejumlah {sent.get('quantity')}; "
                      "penerimaan harus sama.")
    return replace(b, on_hand=b.on_hand + p.quantity, transferred_in=b.transferred_in + p.quantity,
                   transfers_received=(*b.transfers_received, p.transfer_id))


def _close(b: Balance, reservation_id: str) -> Balance:
    if reservation_id not in b.open_reservations:
        raise Refused(f"Tidak ada blangko yang dipesan dengan nomor {reservation_id} di {b.location_id}.")
    return replace(b, reserved=b.reserved - 1,
                   open_reservations=tuple(r for r in b.open_reservations if r != reservation_id))


def _count(b: Balance, counted: int) -> Balance:
    """Set the good blanks present (free + reserved) to the physical count."""
    difference = counted - (b.on_hand + b.reserved)
    if difference >= 0:
        return replace(b, received=b.received + difference, on_hand=b.on_hand + difference)
    missing = -difference
    if missing > b.on_hand:
        raise Refused(f"Hitungan {counted} lebih kecil dari blangko yang sudah dipesan untuk cetak ({b.reserved}); "
                      "selesaikan atau batalkan cetak itu dulu, lalu hitung ulang.")
    return replace(b, on_hand=b.on_hand - missing, spoiled=b.spoiled + missing, spoiled_lost=b.spoiled_lost + missing)


def applied_change(before: Balance, after: Balance, event: LedgerEvent) -> Applied:
    """The change an applied event made (counts that moved), and its use by the one usage rule."""
    changes = {name: getattr(after, name) - getattr(before, name) for name in COUNTS
               if getattr(after, name) != getattr(before, name)}
    used = blangko.blanks_used(consumed=changes.get("consumed", 0))
    return Applied(changes=changes, used=used, used_on=blangko.usage_day(event.occurred_at) if used else None,
                   in_transit_to=event.payload.to_location if isinstance(event, TransferSent) else None)


def problems(b: Balance) -> list[str]:
    """What is wrong with one location's balance (empty when it is sound)."""
    found = [f"{name} negatif ({getattr(b, name)})" for name in COUNTS if getattr(b, name) < 0]
    left = b.received + b.transferred_in
    right = b.on_hand + b.reserved + b.consumed + b.spoiled + b.returned + b.transferred_out
    if left != right:
        found.append(f"diterima+masuk {left} != ada+dipesan+terpakai+rusak+dikembalikan+keluar {right}")
    if b.reserved != len(b.open_reservations):
        found.append(f"dipesan {b.reserved} != {len(b.open_reservations)} reservasi terbuka")
    if b.spoiled_lost > b.spoiled:
        found.append("rusak-hilang melebihi rusak")
    return found


@dataclass(frozen=True)
class RegencyCheck:
    received: int
    on_hand: int
    reserved: int
    consumed: int
    spoiled: int
    in_transit: int
    returned: int
    problems: list[str]

    @property
    def balanced(self) -> bool:
        return not self.problems


def check_regency(balances: Iterable[Balance]) -> RegencyCheck:
    """received = on_hand + reserved + consumed + spoiled + in_transit + returned, and each location sound."""
    items = list(balances)

    def total(name: str) -> int:
        return sum(getattr(b, name) for b in items)

    in_transit = total("transferred_out") - total("transferred_in")
    found = [f"{b.location_id}: {text}" for b in items for text in problems(b)]
    if in_transit < 0:
        found.append(f"dalam perjalanan negatif ({in_transit})")
    right = total("on_hand") + total("reserved") + total("consumed") + total("spoiled") + in_transit + total("returned")
    if total("received") != right:
        found.append(f"diterima {total('received')} != jumlah sisi kanan {right}")
    return RegencyCheck(total("received"), total("on_hand"), total("reserved"), total("consumed"), total("spoiled"),
                        in_transit, total("returned"), found)


def suggested_request(*, backlog: int, per_day: float, cover_days: int, available: int, outstanding: int) -> int:
    """Blanks to ask the province for: the waiting cards plus `cover_days` of use, less what is here or coming."""
    need = backlog + math.ceil(per_day * cover_days)
    return max(0, need - available - outstanding)

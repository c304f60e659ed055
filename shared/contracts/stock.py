"""Contracts of the stock topic: the blangko ledger, keyed by the stock location id (a transfer by its sender).

Every change of a location's stock is one of these events; the ledger is their sum, so the
topic alone rebuilds it.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.contracts.envelope import Envelope, Frozen

LOCATION = r"^[a-z0-9][a-z0-9-]{1,47}$"
QUANTITY = Field(ge=1, le=1_000_000, description="number of blanks")


class StockSpoilReason(StrEnum):
    LAMINASI_TERKELUPAS = "laminasi_terkelupas"
    SALAH_CETAK = "salah_cetak"
    BLANGKO_RUSAK = "blangko_rusak"
    PRINTER_GAGAL = "printer_gagal"


class ReplenishmentPayload(Frozen):
    request_id: str = Field(max_length=64, description="id of the usulan to the province")
    location_id: str = Field(pattern=LOCATION, description="where the blanks are to be delivered")
    quantity: int = QUANTITY
    backlog: int = Field(ge=0, description="cards waiting for a blank when the usulan was made")
    daily_consumption: float = Field(ge=0, description="blanks used per day, recent average")
    letter_no: str = Field(max_length=100, description="nomor surat usulan")


class ReplenishmentRequested(Envelope):
    """stock.replenishment_requested v1: an usulan of blanks sent to the province."""

    event_type: Literal["stock.replenishment_requested"] = "stock.replenishment_requested"
    schema_version: Literal[1] = 1
    payload: ReplenishmentPayload


class ReceivedPayload(Frozen):
    location_id: str = Field(pattern=LOCATION)
    quantity: int = QUANTITY
    request_id: str | None = Field(None, max_length=64, description="the usulan this delivery answers")
    document_no: str = Field(max_length=100, description="nomor berita acara serah terima from the province")


class StockReceived(Envelope):
    """stock.received v1: blanks received from the province."""

    event_type: Literal["stock.received"] = "stock.received"
    schema_version: Literal[1] = 1
    payload: ReceivedPayload


class TransferPayload(Frozen):
    transfer_id: str = Field(max_length=64)
    from_location: str = Field(pattern=LOCATION)
    to_location: str = Field(pattern=LOCATION)
    quantity: int = QUANTITY


class TransferSent(Envelope):
    """stock.transfer_sent v1: blanks left a location (in transit until received). Keyed by the sender."""

    event_type: Literal["stock.transfer_sent"] = "stock.transfer_sent"
    schema_version: Literal[1] = 1
    payload: TransferPayload


class TransferReceived(Envelope):
    """stock.transfer_received v1: the transfer arrived. Keyed by the sender, like the sending, so it follows it."""

    event_type: Literal["stock.transfer_received"] = "stock.transfer_received"
    schema_version: Literal[1] = 1
    payload: TransferPayload


class ReservationPayload(Frozen):
    location_id: str = Field(pattern=LOCATION)
    reservation_id: str = Field(max_length=100)
    job_id: str = Field(max_length=64)
    attempt: int = Field(ge=1)


class ReservationRequested(Envelope):
    """stock.reservation_requested v1: the print queue asks for one blank for a job attempt."""

    event_type: Literal["stock.reservation_requested"] = "stock.reservation_requested"
    schema_version: Literal[1] = 1
    payload: ReservationPayload


class BlankReserved(Envelope):
    """stock.reserved v1: the inventory's answer: a blank is set aside for the job attempt."""

    event_type: Literal["stock.reserved"] = "stock.reserved"
    schema_version: Literal[1] = 1
    payload: ReservationPayload


class RefusalPayload(ReservationPayload):
    reason: str = Field(max_length=200)


class ReservationRefused(Envelope):
    """stock.reservation_refused v1: no blank on hand; the job keeps waiting."""

    event_type: Literal["stock.reservation_refused"] = "stock.reservation_refused"
    schema_version: Literal[1] = 1
    payload: RefusalPayload


class ConsumedPayload(ReservationPayload):
    pass


class BlankConsumed(Envelope):
    """stock.consumed v1: a reserved blank became a good card."""

    event_type: Literal["stock.consumed"] = "stock.consumed"
    schema_version: Literal[1] = 1
    payload: ConsumedPayload


class SpoiledPayload(Frozen):
    location_id: str = Field(pattern=LOCATION)
    quantity: int = QUANTITY
    reason: StockSpoilReason
    reservation_id: str | None = Field(None, max_length=100, description="set when a print spoiled a reserved blank")
    job_id: str | None = Field(None, max_length=64)


class BlankSpoiled(Envelope):
    """stock.spoiled v1: blanks spoiled by a failed print or found damaged."""

    event_type: Literal["stock.spoiled"] = "stock.spoiled"
    schema_version: Literal[1] = 1
    payload: SpoiledPayload


class CountPayload(Frozen):
    location_id: str = Field(pattern=LOCATION)
    counted: int = Field(ge=0, le=1_000_000, description="good blanks physically present, reserved ones included")
    reason: str = Field(min_length=5, max_length=300, description="why the count differs")
    approved_by: str = Field(min_length=2, max_length=120, description="jabatan of the approving official")
    approving_office: str | None = Field(
        None, max_length=64, description="the dinas office that approved a count changing the stock (its office id)")


class CountCorrected(Envelope):
    """stock.count_corrected v1: the ledger set to a physical count (stock opname)."""

    event_type: Literal["stock.count_corrected"] = "stock.count_corrected"
    schema_version: Literal[1] = 1
    payload: CountPayload


class ReturnPayload(Frozen):
    location_id: str = Field(pattern=LOCATION)
    quantity: int = QUANTITY
    berita_acara_no: str = Field(min_length=3, max_length=100, description="nomor berita acara pengembalian")
    handed_to: str = Field(min_length=2, max_length=120, description="receiving office (e.g. Disdukcapil Provinsi)")


class SpoiledReturned(Envelope):
    """stock.returned v1: spoiled blanks handed back with a berita acara."""

    event_type: Literal["stock.returned"] = "stock.returned"
    schema_version: Literal[1] = 1
    payload: ReturnPayload


class LedgerChanges(Frozen):
    """How one ledger event changed the counts of its location (0 for a count it left alone)."""

    received: int = 0
    transferred_in: int = 0
    transferred_out: int = 0
    on_hand: int = 0
    reserved: int = 0
    consumed: int = 0
    spoiled: int = 0
    spoiled_lost: int = 0
    returned: int = 0


class LedgerOutcomePayload(Frozen):
    source_event_id: UUID = Field(description="the ledger event (command) this is the outcome of")
    source_event_type: str = Field(max_length=64)
    location_id: str = Field(pattern=LOCATION, description="the location whose ledger the event was applied to")
    outcome: Literal["applied", "refused"]
    reason: str | None = Field(None, max_length=500, description="why the ledger refused it")
    changes: LedgerChanges = Field(default_factory=LedgerChanges, description="all 0 when refused")
    in_transit_to: str | None = Field(None, pattern=LOCATION,
                                      description="for a transfer sent: where its blanks are in transit to")
    used: int = Field(0, ge=0, description="blanks used (shared.blangko.blanks_used), counted on used_on")
    used_on: dt.date | None = Field(None, description="the day in WIB the use counts on (shared.blangko.usage_day)")


class LedgerOutcome(Envelope):
    """stock.ledger_outcome v1: what the ledger did with one of its events, applied (with the change) or
    refused (with the reason). Published by the inventory after it wrote the outcome, keyed like the
    event; the figures others mirror follow these, never the commands themselves."""

    event_type: Literal["stock.ledger_outcome"] = "stock.ledger_outcome"
    schema_version: Literal[1] = 1
    payload: LedgerOutcomePayload

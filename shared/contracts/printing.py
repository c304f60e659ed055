"""Contracts of the print topic: print jobs, the station queues, printed cards and hand-over.

Keyed by the print station id, so one station's jobs keep their order.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import Field

from shared.contracts.envelope import Envelope, Frozen

AREA = r"^\d{2}\.\d{2}\.\d{2}$"
DESA = r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$"
STATION = r"^[a-z0-9][a-z0-9-]{1,47}$"


class PrintReason(StrEnum):
    """Why a card is printed: the first card after PRR, or a reprint (no new recording needed)."""

    PERTAMA = "pertama"
    HILANG = "hilang"
    RUSAK = "rusak"
    PERUBAHAN_DATA = "perubahan_data"


class PriorityClass(StrEnum):
    """The groups the print queue orders by (the order itself is a setting of the printing service)."""

    PEMILIH_PEMULA = "pemilih_pemula"
    LANSIA_DISABILITAS = "lansia_disabilitas"
    PERTAMA_LAINNYA = "pertama_lainnya"
    CETAK_ULANG = "cetak_ulang"


class SpoilReason(StrEnum):
    LAMINASI_TERKELUPAS = "laminasi_terkelupas"
    SALAH_CETAK = "salah_cetak"
    BLANGKO_RUSAK = "blangko_rusak"
    PRINTER_GAGAL = "printer_gagal"


class JobQueuedPayload(Frozen):
    job_id: str = Field(max_length=64, description="id of the print job (made from the request's event id)")
    station_id: str = Field(pattern=STATION, description="the print station the job is routed to")
    resident_id: str = Field(description="pseudonym of the resident")
    kecamatan_code: str = Field(pattern=AREA)
    desa_code: str = Field(pattern=DESA)
    reason: PrintReason
    priority_class: PriorityClass
    wajib_ktp_from: dt.date | None = None
    lansia: bool = False
    disabilitas: bool = False
    source_event_id: str = Field(max_length=64, description="the print request this job answers")


class JobQueued(Envelope):
    """print.job_queued v1: a card waits in a station's print queue."""

    event_type: Literal["print.job_queued"] = "print.job_queued"
    schema_version: Literal[1] = 1
    payload: JobQueuedPayload


class JobAttempt(Frozen):
    job_id: str = Field(max_length=64)
    station_id: str = Field(pattern=STATION)
    attempt: int = Field(ge=1, description="1 for the first print; +1 after each spoiled blank")
    reservation_id: str = Field(max_length=100, description="the blank reserved for this attempt")


class JobDispatched(Envelope):
    """print.job_dispatched v1: a blank is reserved; the station may print the card."""

    event_type: Literal["print.job_dispatched"] = "print.job_dispatched"
    schema_version: Literal[1] = 1
    payload: JobAttempt


class PrintedPayload(JobAttempt):
    printer: str = Field(max_length=64, description="printer adapter and queue that printed the card")


class CardPrinted(Envelope):
    """print.printed v1: a good card came out of the printer; its blank is consumed."""

    event_type: Literal["print.printed"] = "print.printed"
    schema_version: Literal[1] = 1
    payload: PrintedPayload


class SpoiledPayload(JobAttempt):
    reason: SpoilReason


class PrintSpoiled(Envelope):
    """print.spoiled v1: the blank was spoiled; the job waits for a new blank."""

    event_type: Literal["print.spoiled"] = "print.spoiled"
    schema_version: Literal[1] = 1
    payload: SpoiledPayload


class SchoolDeliveryPayload(Frozen):
    delivery_id: str = Field(max_length=64)
    station_id: str = Field(pattern=STATION)
    school_npsn: str = Field(pattern=r"^\d{8}$")
    kecamatan_code: str = Field(pattern=AREA)
    job_ids: list[str] = Field(min_length=1, max_length=2000)


class SchoolDeliverySent(Envelope):
    """print.school_delivery_sent v1: printed cards of students taken to their school in one batch."""

    event_type: Literal["print.school_delivery_sent"] = "print.school_delivery_sent"
    schema_version: Literal[1] = 1
    payload: SchoolDeliveryPayload


class SchoolAcknowledgedPayload(Frozen):
    delivery_id: str = Field(max_length=64)
    station_id: str = Field(pattern=STATION)
    school_npsn: str = Field(pattern=r"^\d{8}$")
    received_by: str = Field(min_length=2, max_length=120, description="jabatan of the school official who signed")
    count: int = Field(ge=1)


class SchoolDeliveryAcknowledged(Envelope):
    """print.school_delivery_acknowledged v1: the school signed for the batch."""

    event_type: Literal["print.school_delivery_acknowledged"] = "print.school_delivery_acknowledged"
    schema_version: Literal[1] = 1
    payload: SchoolAcknowledgedPayload


class HandedOverPayload(Frozen):
    job_id: str = Field(max_length=64)
    station_id: str = Field(pattern=STATION)
    resident_id: str
    kecamatan_code: str = Field(pattern=AREA)
    desa_code: str = Field(pattern=DESA)
    via: Literal["langsung", "sekolah"]
    delivery_id: str | None = Field(None, max_length=64)


class CardHandedOver(Envelope):
    """print.handed_over v1: the card is in the resident's hands (diserahkan)."""

    event_type: Literal["print.handed_over"] = "print.handed_over"
    schema_version: Literal[1] = 1
    payload: HandedOverPayload

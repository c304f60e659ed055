"""Contracts of the outreach and recording topics: jemput bola visits, perekaman, SIAK status."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from shared.contracts.envelope import Envelope, Frozen

AREA = r"^\d{2}\.\d{2}\.\d{2}$"
DESA = r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$"
# Bounds that keep every event these contracts allow under MAX_EVENT_BYTES (64 KiB), the most a
# consumer takes: a visit.scheduled with MAX_VISIT_TARGETS targets, all of them carried over, is
# about 58 KB.
MAX_VISIT_TARGETS = 800
RESIDENT_ID_LENGTH = 33  # "r" and 32 hex digits (shared.pseudonym)
MAX_QUALITY_FLAGS = 10
MAX_FLAG_LENGTH = 64
ResidentIds = Annotated[list[Annotated[str, Field(max_length=RESIDENT_ID_LENGTH)]], Field(max_length=MAX_VISIT_TARGETS)]


class VisitKind(StrEnum):
    SEKOLAH = "sekolah"
    DESA = "desa"
    RUMAH = "rumah"
    KANTOR_KECAMATAN = "kantor_kecamatan"


class VisitScheduledPayload(Frozen):
    visit_id: str = Field(description="id of the visit", max_length=64)
    date: dt.date = Field(description="day of the visit")
    kind: VisitKind = Field(description="sekolah, desa, rumah (lansia/disabilitas) or kantor_kecamatan")
    place_code: str = Field(description="NPSN of the school, desa code, or kecamatan code", max_length=20)
    kecamatan_code: str = Field(pattern=AREA)
    team: str = Field(description="field team id", max_length=64)
    targets: ResidentIds = Field(description="resident ids to record")
    carried_over: ResidentIds = Field(default_factory=list, description="targets carried over from earlier no-shows")


class VisitScheduled(Envelope):
    """visit.scheduled v1."""

    event_type: Literal["visit.scheduled"] = "visit.scheduled"
    schema_version: Literal[1] = 1
    payload: VisitScheduledPayload


class VisitRef(Frozen):
    visit_id: str = Field(max_length=64)
    kecamatan_code: str = Field(pattern=AREA)


class VisitOpened(Envelope):
    """visit.opened v1: the team started recording at the place."""

    event_type: Literal["visit.opened"] = "visit.opened"
    schema_version: Literal[1] = 1
    payload: VisitRef


class VisitClosedPayload(VisitRef):
    no_shows: ResidentIds = Field(description="targets neither recorded nor failed: carried over")


class VisitClosed(Envelope):
    """visit.closed v1."""

    event_type: Literal["visit.closed"] = "visit.closed"
    schema_version: Literal[1] = 1
    payload: VisitClosedPayload


class Biometric(StrEnum):
    FOTO = "foto"
    SIDIK_JARI = "sidik_jari"
    IRIS = "iris"
    TANDA_TANGAN = "tanda_tangan"


class SiakStatus(StrEnum):
    """Statuses of a record in SIAK, the national system."""

    SFE = "SFE"
    PRR = "PRR"
    DUPLICATE_RECORD = "DUPLICATE_RECORD"
    ENROLL_FAILURE_AT_CENTRAL = "ENROLL_FAILURE_AT_CENTRAL"
    ENROLL_FAILURE_AT_REGIONAL = "ENROLL_FAILURE_AT_REGIONAL"
    SEARCH_FAILURE_AT_CENTRAL = "SEARCH_FAILURE_AT_CENTRAL"


class ResidentPlace(Frozen):
    resident_id: str = Field(description="pseudonym of the resident", max_length=64)
    kecamatan_code: str = Field(pattern=AREA)
    desa_code: str = Field(pattern=DESA)


class CapturedPayload(ResidentPlace):
    visit_id: str | None = Field(None, max_length=64)
    biometrics: list[Biometric] = Field(description="what was captured (no biometric data is stored)",
                                        max_length=len(Biometric))
    quality_flags: list[Annotated[str, Field(max_length=MAX_FLAG_LENGTH)]] = Field(
        default_factory=list, max_length=MAX_QUALITY_FLAGS)
    device_id: str = Field(max_length=64)
    operator: str = Field(max_length=64)
    device_time: AwareDatetime = Field(description="the device's clock at capture")


class RecordingCaptured(Envelope):
    """recording.captured v1: biometrics captured in the field (perekaman)."""

    event_type: Literal["recording.captured"] = "recording.captured"
    schema_version: Literal[1] = 1
    payload: CapturedPayload


class FailedPayload(ResidentPlace):
    visit_id: str | None = Field(None, max_length=64)
    reason: str = Field(description="e.g. sidik jari tidak terbaca", min_length=3, max_length=200)
    device_id: str = Field(max_length=64)
    device_time: AwareDatetime


class RecordingFailed(Envelope):
    """recording.failed v1: capture attempted and failed in the field."""

    event_type: Literal["recording.failed"] = "recording.failed"
    schema_version: Literal[1] = 1
    payload: FailedPayload


class AbsentPayload(ResidentPlace):
    visit_id: str = Field(max_length=64)
    device_id: str = Field(max_length=64)
    device_time: AwareDatetime


class RecordingAbsent(Envelope):
    """recording.absent v1: a target did not come."""

    event_type: Literal["recording.absent"] = "recording.absent"
    schema_version: Literal[1] = 1
    payload: AbsentPayload


class StatusPayload(ResidentPlace):
    status: SiakStatus
    status_at: AwareDatetime = Field(description="when SIAK set the status")


class SiakStatusReported(Envelope):
    """recording.siak_status v1: SIAK's status of a recorded resident."""

    event_type: Literal["recording.siak_status"] = "recording.siak_status"
    schema_version: Literal[1] = 1
    payload: StatusPayload


class PrintRequestedPayload(ResidentPlace):
    reason: Literal["pertama", "hilang", "rusak", "perubahan_data"] = Field(
        description="pertama: first card after PRR; otherwise a reprint")
    wajib_ktp_from: dt.date | None = None
    lansia: bool = Field(False, description="60 or older when the request was made (served first)")
    disabilitas: bool = Field(False, description="penyandang disabilitas (served first)")


class PrintRequested(Envelope):
    """recording.print_requested v1: the resident's card may be printed."""

    event_type: Literal["recording.print_requested"] = "recording.print_requested"
    schema_version: Literal[1] = 1
    payload: PrintRequestedPayload


class FollowUpPayload(ResidentPlace):
    status: SiakStatus
    remedy: Literal["rekam_ulang", "selesaikan_duplikat"]


class FollowUpRaised(Envelope):
    """recording.follow_up v1: a duplicate or failure needs action."""

    event_type: Literal["recording.follow_up"] = "recording.follow_up"
    schema_version: Literal[1] = 1
    payload: FollowUpPayload

"""Contracts of the resident topic: the roster of residents who are or will be wajib KTP."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import Envelope


class Sex(StrEnum):
    LAKI_LAKI = "L"
    PEREMPUAN = "P"


class MaritalStatus(StrEnum):
    BELUM_KAWIN = "belum_kawin"
    KAWIN = "kawin"
    CERAI_HIDUP = "cerai_hidup"
    CERAI_MATI = "cerai_mati"


class ResidentData(BaseModel):
    """What the roster holds about a resident. Personal data: never in keys, logs or URLs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nik: str = Field(description="Nomor Induk Kependudukan, 16 digits", pattern=r"^\d{16}$")
    name: str = Field(description="nama lengkap", min_length=1, max_length=120)
    sex: Sex = Field(description="jenis kelamin: L or P")
    birth_date: dt.date = Field(description="tanggal lahir")
    marital_status: MaritalStatus = Field(description="status perkawinan")
    kecamatan_code: str = Field(description="kecamatan of domicile, e.g. 17.02.06",
                                pattern=r"^\d{2}\.\d{2}\.\d{2}$")
    desa_code: str = Field(description="desa/kelurahan of domicile, e.g. 17.02.06.2001",
                           pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")
    school_npsn: str | None = Field(None, description="NPSN of the school if a student",
                                    pattern=r"^\d{8}$")
    school_name: str | None = Field(None, description="name of the school (as Dapodik spells it), with school_npsn",
                                    min_length=1, max_length=120)
    phone: str | None = Field(None, description="contact number, optional", max_length=20)
    disabilitas: bool = Field(False, description="penyandang disabilitas: served first, visited at home")


class ResidentEnrolledPayload(ResidentData):
    """A resident entered the roster."""

    resident_id: str = Field(description="pseudonym: keyed hash of the NIK")
    wajib_ktp_from: dt.date = Field(
        description="the day the resident is or becomes wajib KTP (17th birthday or marriage)"
    )
    nik_from_other_regency: bool = Field(
        False, description="the NIK was issued outside Rejang Lebong (the resident moved in)"
    )
    age_under_review: bool = Field(
        False, description="the age is implausible (over 100, or a student outside school ages) and waits for a "
                           "person's review at intake; until then no priority (lansia) is derived from the birth "
                           "date. False: plausible, or confirmed by a review")


class ResidentEnrolled(Envelope):
    """resident.enrolled v1: a resident entered the roster of a kecamatan."""

    event_type: Literal["resident.enrolled"] = "resident.enrolled"
    schema_version: Literal[1] = 1
    payload: ResidentEnrolledPayload


class ResidentUpdatedPayload(ResidentEnrolledPayload):
    """The full corrected record of a resident (a correction replaces the record)."""

    reason: str = Field(description="why the data was corrected", min_length=3, max_length=200)


class ResidentUpdated(Envelope):
    """resident.updated v1: a resident's data was corrected."""

    event_type: Literal["resident.updated"] = "resident.updated"
    schema_version: Literal[1] = 1
    payload: ResidentUpdatedPayload


class LeaveReason(StrEnum):
    PINDAH = "pindah"
    MENINGGAL = "meninggal"


class ResidentLeftPayload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    resident_id: str = Field(description="pseudonym: keyed hash of the NIK")
    kecamatan_code: str = Field(pattern=r"^\d{2}\.\d{2}\.\d{2}$")
    desa_code: str = Field(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")
    reason: LeaveReason = Field(description="pindah (moved out) or meninggal (deceased)")
    effective_date: dt.date


class ResidentLeft(Envelope):
    """resident.left v1: a resident moved out of the regency or died."""

    event_type: Literal["resident.left"] = "resident.left"
    schema_version: Literal[1] = 1
    payload: ResidentLeftPayload

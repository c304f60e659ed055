"""The JSON answers of the coverage API, as documented in its OpenAPI."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field


class Problem(BaseModel):
    """An error answer: a sentence for the clerk."""

    detail: str | dict[str, Any] = Field(description="what went wrong and what to do")


class AreaCoverage(BaseModel):
    """Counts of one area."""

    kode: str = Field(description="area code")
    nama: str = Field(description="area name")
    terdaftar: int = Field(description="residents in the roster")
    wajib_ktp: int = Field(description="residents who are wajib KTP on the given date")
    direkam: int = Field(0, description="residents in the roster whose biometrics were recorded (perekaman)")
    prr: int = Field(0, description="recorded residents whose record is print-ready (PRR)")
    belum_rekam: int = Field(0, description="residents in the roster not yet recorded")
    dicetak: int = Field(0, description="residents whose card was printed")
    diserahkan: int = Field(0, description="residents who received their card")
    duplikat: int = Field(0, description="duplicate records not yet resolved")
    gagal: int = Field(0, description="failed recordings not yet recorded again")
    antre_cetak: int = Field(0, description="residents whose card waits in a print queue")


class CoverageAnswer(BaseModel):
    tanggal: dt.date = Field(description="the date the wajib KTP counts refer to")
    kabupaten: AreaCoverage
    kecamatan: list[AreaCoverage]


class Ratio(BaseModel):
    jumlah: int = Field(description="the figure")
    dari: int = Field(description="what it is out of")
    persen: float | None = Field(description="percent; null without a denominator")


class AreaRow(AreaCoverage):
    """One area's figures with their ratios."""

    wajib_ktp_belum_rekam: int
    lansia_belum_rekam: int
    disabilitas_belum_rekam: int
    cakupan_rekam: Ratio
    cakupan_cetak: Ratio
    cakupan_serah: Ratio
    akan_wajib_ktp: int | None = Field(None, description="who becomes wajib KTP after tanggal and by the date")
    akan_wajib_ktp_sampai: dt.date | None = None
    kecamatan: str | None = Field(None, description="kecamatan of a desa row")


class AreaTable(BaseModel):
    tanggal: dt.date
    tingkat: str
    induk: str | None
    kabupaten: AreaRow
    baris: list[AreaRow]


class WeekRow(BaseModel):
    minggu_mulai: dt.date
    minggu_akhir: dt.date
    wajib_ktp: int
    direkam: int
    direkam_minggu_ini: int
    prr: int
    prr_minggu_ini: int
    dicetak: int
    dicetak_minggu_ini: int
    diserahkan: int
    diserahkan_minggu_ini: int
    cakupan_rekam_persen: float | None


class Series(BaseModel):
    kode: str
    minggu: list[WeekRow]


class BacklogRow(BaseModel):
    kode: str
    nama: str
    antre_cetak: int
    sejak: str | None
    umur_hari: float | None


class Backlog(BaseModel):
    antre_cetak: int
    tertua_sejak: str | None
    umur_tertua_hari: float | None
    baris: list[BacklogRow]


class StockRow(BaseModel):
    lokasi: str
    stok: int
    dipesan: int
    dalam_perjalanan: int
    diterima: int
    terpakai: int
    rusak: int
    pemakaian_per_hari: float
    hari_stok: float | None


class Stock(BaseModel):
    stok_total: int
    dipesan_total: int
    baris: list[StockRow]


class StockSeries(BaseModel):
    hari: list[dict[str, Any]] = Field(description="per day (oldest first): tanggal, stok_total and stok_<lokasi> "
                                                   "for every location, at the end of the day")
    lokasi: list[str]


class Person(BaseModel):
    """A listed resident (personal data)."""

    resident_id: str
    nik: str | None
    nama: str | None
    jenis_kelamin: str | None
    tanggal_lahir: str | None
    telepon: str | None
    desa: str
    desa_nama: str | None
    sekolah: str | None = Field(description="NPSN of the school")
    sekolah_nama: str | None = Field(None, description="name of the school (from Dapodik), if known")
    wajib_ktp_sejak: str | None
    gagal_rekam: bool
    lansia: bool | None = None
    disabilitas: bool | None = None


class People(BaseModel):
    jumlah: int = Field(description="orang di halaman ini")
    halaman: int = Field(description="nomor halaman (mulai 1)")
    per_halaman: int
    ada_halaman_berikutnya: bool = Field(description="true: daftar belum lengkap, ambil halaman berikutnya")
    catatan: str | None = Field(None, description="ada bila daftar belum lengkap")
    penduduk: list[Person]


class PlaceInVisit(BaseModel):
    jenis: str = Field(description="desa or sekolah: the kind of a recording visit there")
    kode: str = Field(description="desa code or NPSN: the place_code of a recording visit there")
    nama: str
    jumlah: int = Field(description="residents of the place this visit is proposed for")


class Visit(BaseModel):
    tanggal: dt.date
    kecamatan: str
    kecamatan_nama: str
    jumlah_penduduk: int
    tempat: str
    jenis: list[str]
    tempat_rinci: list[PlaceInVisit] = Field([], description="each place of the visit, to schedule it (one "
                                                             "recording visit per place)")


class RankedPlace(BaseModel):
    jenis: str
    kode: str
    nama: str
    kecamatan: str
    belum_rekam: int
    kunjungan: int = Field(description="visits held there (opened or closed by a team by today); "
                                       "visits only scheduled do not count")
    terakhir: dt.date | None = Field(description="the day of the last visit held there; null if none")
    skor: float
    alasan: str = Field(description="why it ranks here, e.g. 'dikunjungi 10 hari lalu', 'belum pernah dikunjungi'")


class Plan(BaseModel):
    pengaturan: dict[str, int]
    kunjungan: list[Visit]
    peringkat: list[RankedPlace]

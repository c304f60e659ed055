"""NIK rules: 1,000+ generated valid NIKs accepted, 1,000+ invalid ones across 11 classes refused."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable

import pytest

from services.intake import domain
from services.intake.domain import NikProblem, RosterRuleError
from shared.areas import load_areas
from shared.contracts.resident import MaritalStatus, Sex

TODAY = dt.date(2026, 11, 23)
KECAMATAN = [k.nik_digits for k in load_areas().kecamatan.values()]
OTHER_REGIONS = ["317101", "167101", "320101"]


def make_nik(region: str, birth: dt.date, sex: Sex, serial: int) -> str:
    day = birth.day + (40 if sex == Sex.PEREMPUAN else 0)
    return f"{region}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"


def random_person(rng: random.Random) -> tuple[str, dt.date, Sex]:
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange((TODAY - dt.date(1940, 1, 1)).days))
    sex = rng.choice(list(Sex))
    region = rng.choice(KECAMATAN if rng.random() < 0.9 else OTHER_REGIONS)
    return make_nik(region, birth, sex, rng.randint(1, 9999)), birth, sex


def check(nik: str, birth: dt.date, sex: Sex) -> domain.NikFacts:
    return domain.check_nik(nik, birth_date=birth, sex=sex, today=TODAY)


def test_one_thousand_generated_valid_niks_are_accepted() -> None:
    rng = random.Random(17)
    for _ in range(1200):
        nik, birth, sex = random_person(rng)
        facts = check(nik, birth, sex)
        assert facts.from_other_regency == (not nik.startswith("1702"))


def _mutations() -> dict[NikProblem, Callable[[random.Random], tuple[str, dt.date, Sex]]]:
    def base(rng: random.Random) -> tuple[str, dt.date, Sex]:
        return random_person(rng)

    def length(rng: random.Random) -> tuple[str, dt.date, Sex]:
        nik, b, s = base(rng)
        return (nik[: rng.choice([0, 5, 15])] if rng.random() < 0.5 else nik + "1" * rng.randint(1, 3)), b, s

    def not_digits(rng: random.Random) -> tuple[str, dt.date, Sex]:
        nik, b, s = base(rng)
        i = rng.randrange(16)
        return nik[:i] + rng.choice("aX -./٣") + nik[i + 1:], b, s

    def unknown_region(rng: random.Random) -> tuple[str, dt.date, Sex]:
        nik, b, s = base(rng)
        return rng.choice(["170299", "990101", "000000", "170200"]) + nik[6:], b, s

    def bad_day(rng: random.Random) -> tuple[str, dt.date, Sex]:
        nik, b, s = base(rng)
        return nik[:6] + f"{rng.choice([0, 32, 35, 40, 72, 80, 81, 99]):02d}" + nik[8:], b, s

    def bad_month(rng: random.Random) -> tuple[str, dt.date, Sex]:
        nik, b, s = base(rng)
        return nik[:8] + f"{rng.choice([0, 13, 20, 99]):02d}" + nik[10:], b, s

    def impossible(rng: random.Random) -> tuple[str, dt.date, Sex]:
        nik, b, s = base(rng)
        day, month = rng.choice([(31, 4), (31, 6), (30, 2), (31, 9), (31, 11)])
        day += 40 if s == Sex.PEREMPUAN else 0
        return nik[:6] + f"{day:02d}{month:02d}" + nik[10:], b, s

    def serial_zero(rng: random.Random) -> tuple[str, dt.date, Sex]:
        nik, b, s = base(rng)
        return nik[:12] + "0000", b, s

    def sex_mismatch(rng: random.Random) -> tuple[str, dt.date, Sex]:
        nik, b, s = base(rng)
        return nik, b, Sex.LAKI_LAKI if s == Sex.PEREMPUAN else Sex.PEREMPUAN

    def date_mismatch(rng: random.Random) -> tuple[str, dt.date, Sex]:
        nik, b, s = base(rng)
        return nik, b + dt.timedelta(days=rng.choice([-400, -1, 1, 31, 365])), s

    def future(rng: random.Random) -> tuple[str, dt.date, Sex]:
        b = TODAY + dt.timedelta(days=rng.randint(1, 3000))
        s = rng.choice(list(Sex))
        return make_nik(rng.choice(KECAMATAN), b, s, rng.randint(1, 9999)), b, s

    def too_old(rng: random.Random) -> tuple[str, dt.date, Sex]:
        b = dt.date(rng.randint(1850, 1900), rng.randint(1, 12), rng.randint(1, 28))
        s = rng.choice(list(Sex))
        return make_nik(rng.choice(KECAMATAN), b, s, rng.randint(1, 9999)), b, s

    return {
        NikProblem.LENGTH: length, NikProblem.NOT_DIGITS: not_digits,
        NikProblem.UNKNOWN_REGION: unknown_region, NikProblem.BAD_DAY: bad_day,
        NikProblem.BAD_MONTH: bad_month, NikProblem.IMPOSSIBLE_DATE: impossible,
        NikProblem.SERIAL_ZERO: serial_zero, NikProblem.SEX_MISMATCH: sex_mismatch,
        NikProblem.BIRTH_DATE_MISMATCH: date_mismatch, NikProblem.FUTURE_BIRTH_DATE: future,
        NikProblem.TOO_OLD: too_old,
    }


def test_one_thousand_generated_invalid_niks_are_refused_for_the_right_reason() -> None:
    rng = random.Random(2024)
    seen: Counter[str] = Counter()
    for problem, mutate in _mutations().items():
        for _ in range(100):
            nik, birth, sex = mutate(rng)
            with pytest.raises(RosterRuleError) as caught:
                check(nik, birth, sex)
            assert caught.value.problem == problem.value, (problem, caught.value.problem)
            assert caught.value.reason
            seen[problem.value] += 1
    assert sum(seen.values()) >= 1000 and len(seen) >= 10


def test_wajib_ktp_from_17th_birthday_or_marriage() -> None:
    born = dt.date(2007, 7, 5)
    assert domain.wajib_ktp_from(born, MaritalStatus.BELUM_KAWIN, registered_on=TODAY) == dt.date(2024, 7, 5)
    married_young = dt.date(2010, 3, 1)
    assert domain.wajib_ktp_from(married_young, MaritalStatus.KAWIN, registered_on=TODAY) == TODAY
    leap = dt.date(2008, 2, 29)
    assert domain.wajib_ktp_from(leap, MaritalStatus.BELUM_KAWIN, registered_on=TODAY) == dt.date(2025, 3, 1)


def test_area_rules_name_the_field() -> None:
    areas = load_areas()
    with pytest.raises(RosterRuleError) as caught:
        domain.check_area("17.02.99", "17.02.99.2001", areas)
    assert caught.value.field == "kecamatan_code"
    with pytest.raises(RosterRuleError) as caught:
        domain.check_area("17.02.06", "17.02.07.2001", areas)
    assert caught.value.field == "desa_code"
    domain.check_area("17.02.06", "17.02.06.2001", areas)

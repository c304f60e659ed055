"""A deterministic synthetic Rejang Lebong: the articles' situation, at any scale.

At scale 1: 211,077 residents wajib KTP over the 15 kecamatan and 156 desa/kelurahan (real area
codes), about 13,000 of them not yet recorded (none in the three kecamatan the articles name as
done), about 7,000 students in senior high schools turning 17 within the next year, and ages
and sexes drawn from a population pyramid. Names are synthetic ("Penduduk 000123"); NIKs follow
the real structure (kecamatan code, birth date with +40 for women, serial), so the intake
accepts them, but belong to nobody.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass

from shared.areas import load_areas

WAJIB_KTP = 211_077
UNRECORDED = 13_000
STUDENTS_TURNING_17 = 7_000
BLANGKO_IN_STOCK = 1_200
DONE_KECAMATAN = ("17.02.23", "17.02.21", "17.02.06")  # Sindang Beliti Ilir, Sindang Beliti Ulu, Kota Padang
# Share of the regency's adults per kecamatan (Curup and its neighbours are the most populous).
KECAMATAN_WEIGHT = {
    "17.02.06": 5, "17.02.07": 7, "17.02.08": 6, "17.02.09": 10, "17.02.10": 6, "17.02.11": 10,
    "17.02.16": 8, "17.02.17": 7, "17.02.18": 6, "17.02.19": 9, "17.02.20": 3, "17.02.21": 4,
    "17.02.22": 4, "17.02.23": 4, "17.02.24": 5,
}
# Adults per five-year age band from 17 (a young population pyramid), as relative weights.
AGE_BANDS = [(17, 19, 9), (20, 24, 10), (25, 29, 10), (30, 34, 10), (35, 39, 9), (40, 44, 9), (45, 49, 8),
             (50, 54, 7), (55, 59, 6), (60, 64, 5), (65, 69, 4), (70, 74, 2), (75, 85, 2)]
SCHOOLS_PER_KECAMATAN = 2


@dataclass(frozen=True)
class Person:
    nik: str
    name: str
    sex: str
    birth_date: dt.date
    marital_status: str
    kecamatan_code: str
    desa_code: str
    school_npsn: str | None
    disabilitas: bool
    recorded: bool

    def resident_body(self) -> dict[str, object]:
        """The body of POST /residents at the intake."""
        return {"nik": self.nik, "name": self.name, "sex": self.sex, "birth_date": self.birth_date.isoformat(),
                "marital_status": self.marital_status, "kecamatan_code": self.kecamatan_code,
                "desa_code": self.desa_code, "school_npsn": self.school_npsn, "disabilitas": self.disabilitas}


@dataclass(frozen=True)
class Population:
    today: dt.date
    scale: float
    people: list[Person]
    schools: dict[str, str]  # NPSN -> kecamatan code

    @property
    def adults(self) -> list[Person]:
        return [p for p in self.people if p.school_npsn is None]

    def expected(self) -> dict[str, int]:
        adults = self.adults
        return {"wajib_ktp": len(adults), "belum_rekam_wajib": sum(not p.recorded for p in adults),
                "akan_wajib_ktp": len(self.people) - len(adults), "direkam": sum(p.recorded for p in adults)}

    def per_kecamatan(self) -> dict[str, Counter[str]]:
        result: dict[str, Counter[str]] = {code: Counter() for code in KECAMATAN_WEIGHT}
        for p in self.adults:
            result[p.kecamatan_code]["wajib_ktp"] += 1
            result[p.kecamatan_code]["direkam" if p.recorded else "belum_rekam"] += 1
        return result


def _birthday(rng: random.Random, today: dt.date, low: int, high: int) -> dt.date:
    """A birth date giving an age in [low, high] on `today`."""
    latest = today.replace(year=today.year - low) if not (today.month == 2 and today.day == 29) else \
        today.replace(year=today.year - low, day=28)
    earliest = latest.replace(year=latest.year - (high - low + 1)) + dt.timedelta(days=1)
    return earliest + dt.timedelta(days=rng.randrange((latest - earliest).days + 1))


class _Niks:
    def __init__(self) -> None:
        self.serials: Counter[str] = Counter()

    def make(self, kecamatan_code: str, birth: dt.date, sex: str) -> str:
        day = birth.day + (40 if sex == "P" else 0)
        stem = f"{kecamatan_code.replace('.', '')}{day:02d}{birth.month:02d}{birth.year % 100:02d}"
        self.serials[stem] += 1
        return f"{stem}{self.serials[stem]:04d}"


def build(*, scale: float = 1.0, today: dt.date, seed: int = 1702) -> Population:
    """The population at `scale` (1.0 = the articles' figures), the same for the same arguments."""
    rng = random.Random(seed)
    areas = load_areas()
    villages = {code: sorted(k.villages, key=lambda v: v.code) for code, k in areas.kecamatan.items()}
    codes = sorted(KECAMATAN_WEIGHT)
    adults_total = round(WAJIB_KTP * scale)
    unrecorded_total = round(UNRECORDED * scale)
    students_total = round(STUDENTS_TURNING_17 * scale)
    niks = _Niks()
    people: list[Person] = []
    kecamatan_of = rng.choices(codes, weights=[KECAMATAN_WEIGHT[c] for c in codes], k=adults_total)
    open_work = [i for i, code in enumerate(kecamatan_of) if code not in DONE_KECAMATAN]
    # The unrecorded lean to the elderly and to villages far from Curup: pick them with weights.
    bands = [(lo, hi) for lo, hi, _ in AGE_BANDS]
    band_weights = [w for _, _, w in AGE_BANDS]
    ages = [rng.choices(bands, weights=band_weights)[0] for _ in range(adults_total)]
    unrecorded_weight = [3.0 if ages[i][0] >= 60 else 1.0 for i in open_work]
    unrecorded: set[int] = set()
    while len(unrecorded) < min(unrecorded_total, len(open_work)):
        unrecorded.update(rng.choices(open_work, weights=unrecorded_weight, k=unrecorded_total - len(unrecorded)))
    for i, code in enumerate(kecamatan_of):
        sex = rng.choice("LP")
        birth = _birthday(rng, today, *ages[i])
        village = rng.choice(villages[code])
        people.append(Person(
            nik=niks.make(code, birth, sex), name=f"Penduduk {i + 1:06d}", sex=sex, birth_date=birth,
            marital_status="kawin" if ages[i][0] >= 25 and rng.random() < 0.75 else "belum_kawin",
            kecamatan_code=code, desa_code=village.code, school_npsn=None, disabilitas=rng.random() < 0.01,
            recorded=i not in unrecorded))
    schools = {f"107{int(code[-2:]):02d}{n:03d}": code for code in codes for n in range(1, SCHOOLS_PER_KECAMATAN + 1)}
    school_list = sorted(schools)
    for j in range(students_total):
        npsn = rng.choice(school_list)
        code = schools[npsn]
        sex = rng.choice("LP")
        # 16 today, 17 within the next year.
        birth = _birthday(rng, today, 16, 16)
        village = rng.choice(villages[code])
        people.append(Person(
            nik=niks.make(code, birth, sex), name=f"Siswa {j + 1:06d}", sex=sex, birth_date=birth,
            marital_status="belum_kawin", kecamatan_code=code, desa_code=village.code, school_npsn=npsn,
            disabilitas=False, recorded=False))
    return Population(today=today, scale=scale, people=people, schools=schools)

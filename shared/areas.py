"""Reference data: the kecamatan and desa/kelurahan of Kabupaten Rejang Lebong (ODbL, see data/areas)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

AREAS_CSV = Path(__file__).resolve().parents[1] / "data/areas/rejang_lebong_areas.csv"
REGENCY_CODE = "17.02"
REGENCY_NAME = "Kabupaten Rejang Lebong"


@dataclass(frozen=True)
class Village:
    """A desa or kelurahan."""

    code: str
    name: str
    kecamatan_code: str

    @property
    def is_kelurahan(self) -> bool:
        return self.code.rsplit(".", 1)[-1].startswith("1")


@dataclass(frozen=True)
class Kecamatan:
    """A kecamatan (district) with its villages."""

    code: str
    name: str
    villages: tuple[Village, ...]

    @property
    def nik_digits(self) -> str:
        """The six digits a NIK issued in this kecamatan starts with (170206 for 17.02.06)."""
        return self.code.replace(".", "")


@dataclass(frozen=True)
class Areas:
    """All kecamatan and villages, indexed by code."""

    kecamatan: dict[str, Kecamatan]
    villages: dict[str, Village]

    def kecamatan_of_village(self, village_code: str) -> Kecamatan | None:
        village = self.villages.get(village_code)
        return self.kecamatan.get(village.kecamatan_code) if village else None


@cache
def load_areas(path: Path = AREAS_CSV) -> Areas:
    """Read the area CSV once per process."""
    names: dict[str, str] = {}
    villages: dict[str, list[Village]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            kec = row["district_code"].strip()
            names[kec] = row["district_name"].strip()
            villages.setdefault(kec, []).append(
                Village(row["village_code"].strip(), row["village_name"].strip(), kec)
            )
    kecamatan = {
        code: Kecamatan(code, names[code], tuple(sorted(vs, key=lambda v: v.code)))
        for code, vs in sorted(villages.items())
    }
    index = {v.code: v for k in kecamatan.values() for v in k.villages}
    return Areas(kecamatan, index)

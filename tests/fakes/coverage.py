"""An in-memory coverage projection (the read port of coverage's use cases) for tests without MongoDB."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from services.coverage.ports import CoverageDeps
from services.coverage.views import AreaCounters, ListedResident, PlaceVisit, PlannerCounts, ResidentStage, StockLocation
from shared.clock import WIB

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=WIB)


@dataclass(frozen=True)
class FakeResident:
    """A resident as the fake holds it: what a list shows and what the fake filters on."""

    listed: ListedResident
    kecamatan_code: str
    recorded: bool = False
    waiting_since: str | None = None


@dataclass
class FakeProjection:
    """Area counters, stock locations, residents, visits and audit records in lists and dicts."""

    areas: dict[str, AreaCounters] = field(default_factory=dict)
    locations: dict[str, StockLocation] = field(default_factory=dict)
    residents: list[FakeResident] = field(default_factory=list)
    visits: list[PlaceVisit] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    schools: dict[str, str] = field(default_factory=dict)
    stages: dict[str, ResidentStage] = field(default_factory=dict)

    def put_area(self, kind: str, code: str, **counters: Any) -> None:
        """An area with these AreaCounters fields (the rest zero)."""
        self.areas[f"{kind}:{code}"] = AreaCounters(kind=kind, code=code, **counters)

    def put_location(self, location_id: str, **counters: Any) -> None:
        """A stock location with these StockLocation fields (the rest zero)."""
        self.locations[location_id] = StockLocation(location_id=location_id, **counters)

    def put_resident(self, resident_id: str, *, desa: str, kecamatan: str, recorded: bool = False,
                     waiting_since: str | None = None, **listed: Any) -> None:
        """A resident with these ListedResident fields besides its id, desa and personal data."""
        shown = ListedResident(resident_id=resident_id, desa_code=desa, nik="1702060000000000",
                               nama=f"Penduduk {resident_id}")
        self.residents.append(FakeResident(replace(shown, **listed), kecamatan, recorded, waiting_since))

    async def counters(self, area_id: str) -> AreaCounters:
        kind, code = area_id.split(":", 1)
        return self.areas.get(area_id) or AreaCounters(kind=kind, code=code)

    async def counters_of(self, kind: str, codes: Sequence[str] | None = None) -> list[AreaCounters]:
        return [area for area in self.areas.values() if area.kind == kind and (codes is None or area.code in codes)]

    async def planner_counts(self) -> PlannerCounts:
        """What the projection keeps in the planner's document, from the fake's desa and school counters."""
        desa = [area for area in self.areas.values() if area.kind == "desa"]
        schools = [area for area in self.areas.values() if area.kind == "sekolah"]
        return PlannerCounts(desa_belum_rekam={area.code: area.belum_rekam_luar_sekolah for area in desa},
                             sekolah_belum_rekam={area.code: area.belum_rekam for area in schools},
                             siswa_per_sekolah={area.code: dict(area.siswa_per_kecamatan) for area in schools})

    async def school_names(self, npsns: list[str]) -> dict[str, str]:
        return {npsn: self.schools[npsn] for npsn in npsns if npsn in self.schools}

    async def resident_stage(self, resident_id: str) -> ResidentStage | None:
        return self.stages.get(resident_id)

    async def stock_locations(self) -> list[StockLocation]:
        return list(self.locations.values())

    async def unrecorded(self, *, desa_code: str | None, school_npsn: str | None, kecamatan_code: str | None,
                         skip: int, limit: int) -> list[ListedResident]:
        found = [r.listed for r in self.residents if not r.recorded
                 and desa_code in (None, r.listed.desa_code)
                 and school_npsn in (None, r.listed.school_npsn)
                 and kecamatan_code in (None, r.kecamatan_code)]
        return sorted(found, key=lambda r: r.resident_id)[skip:skip + limit]

    async def home_visit_candidates(self, *, born_until: int, kecamatan_code: str | None,
                                    skip: int, limit: int) -> list[ListedResident]:
        found = [r.listed for r in self.residents if not r.recorded
                 and (r.listed.disabilitas or (r.listed.birth_year or 9999) <= born_until)
                 and kecamatan_code in (None, r.kecamatan_code)]
        return sorted(found, key=lambda r: (r.desa_code, r.resident_id))[skip:skip + limit]

    async def place_visits(self) -> list[PlaceVisit]:
        return list(self.visits)

    async def record_read(self, *, office_id: str, operator: str | None = None,
                          action: str, scope: str, resident_ids: Sequence[str],
                          now: dt.datetime) -> None:
        self.audit.append({"office_id": office_id, "action": action, "scope": scope, "count": len(resident_ids),
                           "resident_ids": list(resident_ids)})


PSEUDONYM_KEY = "kunci-pseudonim-uji-yang-cukup-panjang"


def coverage_deps(projection: FakeProjection, now: dt.datetime = NOW) -> CoverageDeps:
    """Use-case dependencies reading the fake projection at a fixed time."""
    return CoverageDeps(projection=lambda: projection, clock=lambda: now, pseudonym_key=PSEUDONYM_KEY)

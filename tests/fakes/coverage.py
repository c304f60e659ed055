"""An in-memory coverage projection (the read port of coverage's use cases) for tests without MongoDB."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from services.coverage.ports import CoverageDeps
from shared.clock import WIB

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=WIB)


@dataclass
class FakeProjection:
    """Area counter documents, listed residents, visits and audit records in lists and dicts."""

    areas: dict[str, dict[str, Any]] = field(default_factory=dict)
    residents: list[dict[str, Any]] = field(default_factory=list)
    visits: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)

    def put_area(self, kind: str, code: str, **counters: Any) -> None:
        self.areas[f"{kind}:{code}"] = {"_id": f"{kind}:{code}", "kind": kind, "code": code, **counters}

    def put_resident(self, resident_id: str, *, desa: str, kecamatan: str, recorded: bool = False,
                     waiting_since: str | None = None, **view: Any) -> None:
        self.residents.append({"_id": resident_id, "belum_rekam": not recorded, "waiting_since": waiting_since,
                               "view": {"desa_code": desa, "kecamatan_code": kecamatan, **view},
                               "person": {"nik": "1702060000000000", "nama": f"Penduduk {resident_id}"}})

    async def area_docs(self, kind: str) -> list[dict[str, Any]]:
        return [doc for doc in self.areas.values() if doc["kind"] == kind]

    async def area(self, area_id: str) -> dict[str, Any]:
        return self.areas.get(area_id, {})

    async def turning_between(self, start: dt.date, end: dt.date, *, field: str = "view.kecamatan_code"
                              ) -> dict[str, int]:
        return {}

    async def unrecorded(self, *, desa_code: str | None, school_npsn: str | None, kecamatan_code: str | None,
                         limit: int) -> list[dict[str, Any]]:
        return [r for r in self.residents if r["belum_rekam"]
                and desa_code in (None, r["view"]["desa_code"])
                and school_npsn in (None, r["view"].get("school_npsn"))
                and kecamatan_code in (None, r["view"]["kecamatan_code"])][:limit]

    async def oldest_waiting_by_kecamatan(self, kecamatan_codes: list[str]) -> dict[str, str]:
        oldest: dict[str, str] = {}
        for r in self.residents:
            since, kec = r["waiting_since"], r["view"]["kecamatan_code"]
            if since is not None and kec in kecamatan_codes and (kec not in oldest or since < oldest[kec]):
                oldest[kec] = since
        return oldest

    async def home_visit_candidates(self, *, born_until: int, kecamatan_code: str | None,
                                    limit: int) -> list[dict[str, Any]]:
        return [r for r in self.residents if r["belum_rekam"]
                and (r["view"].get("disabilitas") or (r["view"].get("birth_year") or 9999) <= born_until)
                and kecamatan_code in (None, r["view"]["kecamatan_code"])][:limit]

    async def all_visits(self) -> list[dict[str, Any]]:
        return list(self.visits)

    async def record_read(self, *, office_id: str, action: str, scope: str, count: int, now: dt.datetime) -> None:
        self.audit.append({"office_id": office_id, "action": action, "scope": scope, "count": count})


def coverage_deps(projection: FakeProjection, now: dt.datetime = NOW) -> CoverageDeps:
    """Use-case dependencies reading the fake projection at a fixed time."""
    return CoverageDeps(projection=lambda: projection, clock=lambda: now)

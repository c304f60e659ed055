"""What coverage's read use cases need from the projection, and the deps they are given."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from services.coverage.views import AreaCounters, ListedResident, PlaceVisit, PlannerCounts, ResidentStage, StockLocation
from shared.clock import Clock


class ProjectionReads(Protocol):
    """Reads of the coverage projection and the audit record of personal-data reads."""

    async def counters(self, area_id: str) -> AreaCounters: ...
    async def counters_of(self, kind: str, codes: Sequence[str] | None = None) -> list[AreaCounters]: ...
    async def planner_counts(self) -> PlannerCounts: ...
    async def stock_locations(self) -> list[StockLocation]: ...
    async def unrecorded(self, *, desa_code: str | None, school_npsn: str | None, kecamatan_code: str | None,
                         skip: int, limit: int) -> list[ListedResident]: ...
    async def home_visit_candidates(self, *, born_until: int, kecamatan_code: str | None,
                                    skip: int, limit: int) -> list[ListedResident]: ...
    async def place_visits(self) -> list[PlaceVisit]: ...
    async def school_names(self, npsns: list[str]) -> dict[str, str]: ...
    async def resident_stage(self, resident_id: str) -> ResidentStage | None: ...
    async def record_read(self, *, office_id: str, operator: str | None = None,
                          action: str, scope: str, resident_ids: Sequence[str],
                          now: dt.datetime) -> None: ...


@dataclass(frozen=True)
class CoverageDeps:
    """The projection in use (a rebuild may swap it while the service runs) and the clock."""

    projection: Callable[[], ProjectionReads]
    clock: Clock
    pseudonym_key: str = ""


class ProjectionHolder:
    """Holds the projection the service reads now; the app swaps it in after a rebuild."""

    def __init__(self) -> None:
        self.current: ProjectionReads | None = None

    def __call__(self) -> ProjectionReads:
        if self.current is None:
            raise RuntimeError("projection not opened yet")
        return self.current

"""The jemput bola planner: rank desa and schools, propose the next weeks' visits.

Pure functions over counters and visit history, so the rules can be read and tested alone:

- A place's priority is its residents not yet recorded, lowered for a place visited recently
  (a team that was there last week found who could come) and raised for one never visited.
  Only visits held count: opened or closed by a team on a day up to today. A visit merely
  scheduled (in the future, or never opened) says nothing about who could come.
- Each visit takes 30 to 50 residents (configurable). A place with more than the maximum gets
  several visits; a place with fewer than the minimum is joined by the next places of the same
  kecamatan, so a team's day is worth the trip.
- Visits go on evenly spread weekdays, three per week by default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

RECENT_DAYS = 28
WEEKDAYS_BY_COUNT = {1: (2,), 2: (1, 3), 3: (0, 2, 4), 4: (0, 1, 3, 4), 5: (0, 1, 2, 3, 4)}


@dataclass(frozen=True)
class Place:
    """A desa or school with residents outstanding and its visit history."""

    kind: str  # "desa" or "sekolah"
    code: str
    name: str
    kecamatan_code: str
    outstanding: int
    visits: int = 0
    last_visit: dt.date | None = None


@dataclass(frozen=True)
class PlannerSettings:
    visits_per_week: int = 3
    min_per_visit: int = 30
    max_per_visit: int = 50
    weeks: int = 4

    def check(self) -> list[str]:
        problems = []
        if not 1 <= self.visits_per_week <= 5:
            problems.append("kunjungan per minggu harus 1 sampai 5 (hari kerja)")
        if not 1 <= self.min_per_visit <= self.max_per_visit:
            problems.append("minimal per kunjungan harus 1 atau lebih dan tidak melebihi maksimal")
        if self.max_per_visit > 500:
            problems.append("maksimal per kunjungan paling banyak 500")
        if not 1 <= self.weeks <= 26:
            problems.append("jumlah minggu harus 1 sampai 26")
        return problems


@dataclass(frozen=True)
class RankedPlace:
    place: Place
    score: float
    reason: str


@dataclass
class ProposedVisit:
    date: dt.date
    kecamatan_code: str
    places: list[tuple[Place, int]] = field(default_factory=list)

    @property
    def residents(self) -> int:
        return sum(n for _, n in self.places)


def held_days(held_on: Iterable[dt.date | None], today: dt.date) -> list[dt.date]:
    """The days of a place's visits held by `today` (opened or closed by a team on or before today);
    visits never held (None) are left out."""
    return [day for day in held_on if day is not None and day <= today]


def score(place: Place, today: dt.date) -> RankedPlace:
    """Outstanding residents, weighed by how recently the place was visited (a visit dated after
    `today` counts as never held)."""
    if place.last_visit is None or place.last_visit > today:
        return RankedPlace(place, place.outstanding * 1.2, "belum pernah dikunjungi")
    days = (today - place.last_visit).days
    if days == 0:
        return RankedPlace(place, place.outstanding * 0.5, "dikunjungi hari ini")
    if days < RECENT_DAYS:
        factor = 0.5 + 0.5 * days / RECENT_DAYS
        return RankedPlace(place, place.outstanding * factor, f"dikunjungi {days} hari lalu")
    return RankedPlace(place, float(place.outstanding), f"terakhir dikunjungi {days} hari lalu")


def rank(places: Iterable[Place], today: dt.date) -> list[RankedPlace]:
    """Places with anyone outstanding, highest priority first (ties: more outstanding, then code)."""
    ranked = [score(p, today) for p in places if p.outstanding > 0]
    return sorted(ranked, key=lambda r: (-r.score, -r.place.outstanding, r.place.code))


def visit_days(start: dt.date, settings: PlannerSettings) -> list[dt.date]:
    """The visit days from the Monday on or after `start`, spread over each week."""
    monday = start + dt.timedelta(days=(7 - start.weekday()) % 7)
    offsets = WEEKDAYS_BY_COUNT[settings.visits_per_week]
    return [monday + dt.timedelta(weeks=w, days=d) for w in range(settings.weeks) for d in offsets]


def propose(ranked: Sequence[RankedPlace], *, start: dt.date, settings: PlannerSettings) -> list[ProposedVisit]:
    """Fill the visit days from the ranking; a place keeps what the earlier visits left of it."""
    left = {r.place.code: r.place.outstanding for r in ranked}
    order = [r.place for r in ranked]
    visits: list[ProposedVisit] = []
    for day in visit_days(start, settings):
        head = next((p for p in order if left[p.code] > 0), None)
        if head is None:
            break
        visit = ProposedVisit(day, head.kecamatan_code)
        room = settings.max_per_visit
        for place in [head, *(p for p in order if p is not head and p.kecamatan_code == head.kecamatan_code)]:
            if room == 0 or (visit.places and visit.residents >= settings.min_per_visit):
                break
            take = min(left[place.code], room)
            if take <= 0:
                continue
            visit.places.append((place, take))
            left[place.code] -= take
            room -= take
        visits.append(visit)
    return visits

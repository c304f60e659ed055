"""The one days-of-stock rule: blanks used per day over a stated window, and how long free stock lasts.

Inventory (`/locations`) and coverage (`/stock`) both compute their figures through this module
from the same data: the ledger counts each use once it applied it (`blanks_used`, on its
`usage_day` in WIB) and publishes that in its outcome event, which coverage mirrors. Usage is
blanks that became good cards; spoiled blanks are not usage. A station is measured against its
own use, the warehouse against the regency's (`location_covers`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from shared.clock import WIB

USAGE_WINDOW_DAYS = 14


@dataclass(frozen=True)
class StockCover:
    """Recent use per day and the days the free stock lasts at that rate (None when nothing is used)."""

    per_day: float
    days: float | None

    def rounded(self) -> StockCover:
        """The figures as shown: use per day to 2 places, days of stock to 1."""
        return StockCover(round(self.per_day, 2), None if self.days is None else round(self.days, 1))


def usage_per_day(used_by_day: Mapping[dt.date, int], *, today: dt.date, window_days: int = USAGE_WINDOW_DAYS) -> float:
    """Average blanks used per day over the `window_days` days ending with `today` (today included)."""
    start = today - dt.timedelta(days=window_days - 1)
    return sum(n for day, n in used_by_day.items() if start <= day <= today) / window_days


def days_of_stock(free: int, per_day: float) -> float | None:
    """Days the free stock lasts at `per_day`; None when nothing is being used."""
    return None if per_day <= 0 else free / per_day


def stock_cover(free: int, used_by_day: Mapping[dt.date, int], *, today: dt.date,
                window_days: int = USAGE_WINDOW_DAYS) -> StockCover:
    """Usage per day over the window and the days of stock of `free` blanks at that usage."""
    per_day = usage_per_day(used_by_day, today=today, window_days=window_days)
    return StockCover(per_day=per_day, days=days_of_stock(free, per_day))


def blanks_used(*, consumed: int) -> int:
    """Blanks one ledger change used: those that became good cards."""
    return max(0, consumed)


def usage_day(occurred_at: dt.datetime) -> dt.date:
    """The day a use counts on: its date in Bengkulu (WIB), whatever zone the event carries."""
    return occurred_at.astimezone(WIB).date()


def location_covers(free: Mapping[str, int], used: Mapping[str, Mapping[dt.date, int]], *, today: dt.date,
                    warehouse: str, window_days: int = USAGE_WINDOW_DAYS) -> dict[str, StockCover]:
    """Use per day and days of stock of every location in `free` (unrounded): a station by its own use, the
    warehouse by the regency's (the sum over every location's use)."""
    own = {location: usage_per_day(days, today=today, window_days=window_days) for location, days in used.items()}
    regency = sum(own.values())
    covers = {}
    for location, on_hand in free.items():
        per_day = regency if location == warehouse else own.get(location, 0.0)
        covers[location] = StockCover(per_day=per_day, days=days_of_stock(on_hand, per_day))
    return covers

"""The one days-of-stock rule: blanks used per day over a stated window, and how long free stock lasts.

Inventory (`/locations`) and coverage (`/stock`) both compute their figures through this module,
so the same usage and free stock give the same numbers in both. Each service keeps its own data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

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

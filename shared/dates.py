"""Calendar arithmetic every service counts the same way."""

from __future__ import annotations

import datetime as dt


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` later; 29 February becomes 1 March in common years
    (a person born on 29 February turns 17 on 1 March, as Dukcapil counts it)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return dt.date(day.year + years, 3, 1)

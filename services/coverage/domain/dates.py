"""Dates of the projection: weekly counter buckets, UTC text for comparisons, cumulative weekly figures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from functools import lru_cache

WEEKLY_FROM = dt.date(2020, 1, 6)  # a Monday; earlier dates share one bucket
BEFORE_WEEKLY = "lama"


@lru_cache(maxsize=8192)
def week_bucket(day: dt.date) -> str:
    """Counter bucket of a date: the Monday of its week from 2020 on ("w20240108"), one bucket before."""
    if day < WEEKLY_FROM:
        return BEFORE_WEEKLY
    monday = day - dt.timedelta(days=day.weekday())
    return f"w{monday:%Y%m%d}"



@lru_cache(maxsize=8192)
def week_of_day(day_text: str) -> str:
    """`week_bucket` of an ISO date text."""
    return week_bucket(dt.date.fromisoformat(day_text))


_NO_OFFSET = dt.timedelta(0)


def iso_utc(moment: dt.datetime) -> str:
    """The moment in UTC as ISO text ("+00:00"); the projector's dates, compared as text."""
    if moment.utcoffset() == _NO_OFFSET:
        return moment.isoformat()
    return moment.astimezone(dt.UTC).isoformat()


def cumulative_until(buckets: Mapping[str, int], monday: dt.date) -> int:
    """Sum of the weekly buckets up to and including the week starting `monday`."""
    last = f"w{monday:%Y%m%d}"
    return sum(n for key, n in buckets.items() if key == BEFORE_WEEKLY or key <= last)


def wajib_ktp_on(buckets: Mapping[str, int], day: dt.date, turning_this_week: int) -> int:
    """Residents wajib KTP on `day`: buckets of earlier weeks plus those of day's week so far."""
    if day < WEEKLY_FROM:
        return buckets.get(BEFORE_WEEKLY, 0)
    monday = day - dt.timedelta(days=day.weekday())
    return cumulative_until(buckets, monday - dt.timedelta(days=7)) + turning_this_week


def weeks_between(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    monday = first - dt.timedelta(days=first.weekday())
    while monday <= last:
        yield monday
        monday += dt.timedelta(days=7)

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


@lru_cache(maxsize=8192)
def day_bucket_from(roster_day_text: str) -> str:
    """The first day bucket a resident's wajib KTP date is counted in: a week before the day of its roster
    event. A question about a day asks for that day's week (from today on), never earlier: so the days kept
    are the only ones a question can need, and they follow from the events alone (a replay gives the same)."""
    return f"{dt.date.fromisoformat(roster_day_text) - dt.timedelta(days=7):%Y%m%d}"


def day_key(day: dt.date) -> str:
    return f"{day:%Y%m%d}"


def sum_of_days(buckets: Mapping[str, int], first: dt.date, last: dt.date) -> int:
    """Sum of the day buckets ("YYYYMMDD") from `first` to `last`, both included."""
    low, high = day_key(first), day_key(last)
    return sum(n for key, n in buckets.items() if low <= key <= high)


def oldest_hour(buckets: Mapping[str, int]) -> str | None:
    """The earliest hour bucket ("YYYYMMDDHH") still holding someone, as an ISO moment in UTC."""
    held = [key for key, n in buckets.items() if n > 0]
    if not held:
        return None
    key = min(held)
    return f"{key[:4]}-{key[4:6]}-{key[6:8]}T{key[8:10]}:00:00+00:00"


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

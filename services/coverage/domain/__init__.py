"""What coverage counts about each resident and stock location, and how an event changes the counters.

Pure functions of (event, current view): the projector applies the resulting deltas once. One
module per job: `residents` (the lifecycle of one resident's view), `counters` (what a view
counts and the change between two), `stock` (the ledger's counters per location) and `dates`
(weekly buckets and UTC text). Everything is re-exported here for `from services.coverage import domain`.
"""

from __future__ import annotations

from services.coverage.domain.counters import (
    LANSIA_AGE,
    PLANNER_AREA,
    SERIES_KIND,
    Counted,
    Delta,
    area_ids,
    as_counters,
    birth_year_of_key,
    contributions,
    counted,
    delta,
    desa_key,
    desa_of_key,
    difference,
    kecamatan_key,
    kecamatan_of_key,
    lansia_among,
    lansia_not_recorded,
    percent,
    school_key,
    school_of_key,
    series_id,
    subtract,
)
from services.coverage.domain.dates import (
    BEFORE_WEEKLY,
    WEEKLY_FROM,
    cumulative_until,
    iso_utc,
    oldest_hour,
    sum_of_days,
    wajib_ktp_on,
    week_bucket,
    week_of_day,
    weeks_between,
)
from services.coverage.domain.residents import FAILURES, ResidentView, evolve, replace, restore_view
from services.coverage.domain.stock import stock_by_day, stock_covers, stock_delta, used_by_day
from shared.contracts import ResidentLeft

__all__ = [
    "BEFORE_WEEKLY", "FAILURES", "LANSIA_AGE", "PLANNER_AREA", "SERIES_KIND", "WEEKLY_FROM", "Counted", "Delta",
    "ResidentLeft", "ResidentView",
    "area_ids", "as_counters", "birth_year_of_key", "contributions", "counted", "cumulative_until",
    "delta", "desa_key", "desa_of_key", "difference", "evolve", "iso_utc", "kecamatan_key", "kecamatan_of_key", "lansia_among",
    "lansia_not_recorded", "percent", "replace", "restore_view", "school_key", "school_of_key", "series_id",
    "stock_covers", "stock_delta", "subtract",
    "oldest_hour", "stock_by_day", "sum_of_days", "used_by_day", "wajib_ktp_on", "week_bucket", "week_of_day", "weeks_between",
]

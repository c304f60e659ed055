"""The coverage projection as pure functions: contributions, deltas and wajib KTP buckets."""

from __future__ import annotations

import datetime as dt

from services.coverage import domain
from services.coverage.domain import ResidentView


def view(**overrides: object) -> ResidentView:
    base: dict[str, object] = {
        "kecamatan_code": "17.02.06", "desa_code": "17.02.06.2001",
        "school_npsn": None, "wajib_ktp_from": dt.date(2024, 7, 5),
    }
    return ResidentView(**{**base, **overrides})  # type: ignore[arg-type]


def test_new_resident_counts_in_kabupaten_kecamatan_and_desa() -> None:
    change = domain.delta(None, view())
    assert set(change) == {"kab:17.02", "kec:17.02.06", "desa:17.02.06.2001"}
    assert change["kec:17.02.06"] == {"terdaftar": 1, "wajib_ktp_from.m202407": 1}


def test_moving_desa_moves_the_count_and_leaves_the_kecamatan_alone() -> None:
    change = domain.delta(view(), view(desa_code="17.02.06.2002"))
    assert change == {
        "desa:17.02.06.2001": {"terdaftar": -1, "wajib_ktp_from.m202407": -1},
        "desa:17.02.06.2002": {"terdaftar": 1, "wajib_ktp_from.m202407": 1},
    }


def test_leaving_removes_every_contribution() -> None:
    gone = view(active=False)
    change = domain.delta(view(school_npsn="10700123"), gone)
    assert all(v == -1 for fields in change.values() for v in fields.values())
    assert "sekolah:10700123" in change


def test_wajib_ktp_on_a_date_uses_whole_months_and_the_days_of_the_current_month() -> None:
    buckets = {"lama": 100, "m202401": 5, "m202402": 7, "m202403": 9}
    assert domain.wajib_ktp_on(buckets, dt.date(2024, 2, 14), turning_this_month=3) == 108
    assert domain.wajib_ktp_on(buckets, dt.date(2024, 4, 1), turning_this_month=0) == 121


def test_bucket_before_2020_is_one_bucket() -> None:
    assert domain.wajib_bucket(dt.date(1990, 5, 1)) == domain.BEFORE_MONTHLY
    assert domain.wajib_bucket(dt.date(2020, 1, 1)) == "m202001"

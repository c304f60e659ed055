"""Small rules of the web app's pages: dates and numbers in Indonesian, whose address the public status
page limits."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request

from services.web.formatting import angka, tanggal
from services.web.pages.status import BURST, visitor_address
from shared.http import TokenBuckets


def test_dates_and_numbers_are_written_the_indonesian_way() -> None:
    assert tanggal(dt.date(2025, 7, 5)) == "5 Juli 2025"
    assert tanggal("2026-12-02T13:05:00+00:00") == "2 Desember 2026 20.05 WIB"
    assert tanggal(None) == "-"
    assert angka(211_077) == "211.077" and angka(2.5) == "2,5"


def _request(client: str, forwarded: str | None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "method": "POST", "path": "/cek-status", "headers": headers, "client": (client, 1)})


def test_behind_a_proxy_the_address_it_appended_is_limited_not_one_the_visitor_wrote() -> None:
    request = _request("10.0.0.2", "1.2.3.4, 203.0.113.9")
    assert visitor_address(request, behind_proxy=True) == "203.0.113.9"
    assert visitor_address(request, behind_proxy=False) == "10.0.0.2"
    assert visitor_address(_request("10.0.0.2", None), behind_proxy=True) == "10.0.0.2"


def test_five_lookups_at_once_then_the_address_waits() -> None:
    limit = TokenBuckets(per_minute=10, burst=BURST)
    assert [limit.take("a") for _ in range(5)] == [0.0] * 5
    assert limit.take("a") > 0 and limit.take("b") == 0.0

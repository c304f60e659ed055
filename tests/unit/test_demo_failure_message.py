"""What `make demo` says when it stops: which service did not answer, in Indonesian."""

from __future__ import annotations

import httpx

from deploy.demo.__main__ import _reason


def test_a_service_that_does_not_answer_is_named_by_its_address_in_indonesian() -> None:
    request = httpx.Request("GET", "http://127.0.0.1:24350/metrics")
    reason = _reason(httpx.ConnectError("All connection attempts failed", request=request))
    assert reason.startswith("layanan di 127.0.0.1:24350 tidak bisa dihubungi") and "demo-services.log" in reason
    assert "/metrics" not in reason  # the address only, never a path
    assert _reason(httpx.ConnectError("refused")).startswith("sebuah layanan tidak bisa dihubungi")


def test_other_failures_keep_their_own_words() -> None:
    assert _reason(RuntimeError("SIAK statuses refused")) == "SIAK statuses refused"

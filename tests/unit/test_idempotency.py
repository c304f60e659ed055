"""The idempotency convention of every write route, on in-memory claims."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from shared.clock import WIB
from shared.idempotency import Answer, KeyReusedForOtherData, fingerprint, request_event_id, run_once
from tests.fakes.idempotency import InMemoryRequestClaims

NOW = dt.datetime(2025, 7, 5, 9, 0, tzinfo=WIB)


class Counting:
    """An action that records the event ids it ran with."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.ran: list[uuid.UUID] = []
        self.delay = delay
        self.fail = fail

    async def __call__(self, event_id: uuid.UUID) -> Answer:
        self.ran.append(event_id)
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("Kafka away")
        return Answer(201, {"event_id": str(event_id)})


async def _once(claims: InMemoryRequestClaims, action: Counting, *, key: str | None, body: dict[str, object],
                office: str = "kec-17.02.06", route: str = "/receipts", clock=lambda: NOW):  # type: ignore[no-untyped-def]
    return await run_once(claims, office_id=office, route=route, key=key, body=body, action=action, clock=clock)


async def test_a_retry_with_the_same_key_and_body_gets_the_first_answer_and_no_second_effect() -> None:
    claims, action = InMemoryRequestClaims(), Counting()
    first = await _once(claims, action, key="k-1", body={"jumlah": 5})
    again = await _once(claims, action, key="k-1", body={"jumlah": 5})
    assert len(action.ran) == 1
    assert (first.replay, again.replay) == (False, True)
    assert again.answer == first.answer


async def test_the_same_key_with_another_body_is_refused() -> None:
    claims, action = InMemoryRequestClaims(), Counting()
    await _once(claims, action, key="k-1", body={"jumlah": 5})
    with pytest.raises(KeyReusedForOtherData):
        await _once(claims, action, key="k-1", body={"jumlah": 6})
    assert len(action.ran) == 1


async def test_a_key_is_scoped_to_the_office_and_the_route() -> None:
    claims, action = InMemoryRequestClaims(), Counting()
    await _once(claims, action, key="k-1", body={}, office="kec-a")
    await _once(claims, action, key="k-1", body={}, office="kec-b")
    await _once(claims, action, key="k-1", body={}, office="kec-a", route="/spoilage")
    assert len(set(action.ran)) == 3


async def test_two_identical_requests_at_the_same_moment_have_one_effect() -> None:
    claims, action = InMemoryRequestClaims(), Counting(delay=0.05)
    both = await asyncio.gather(_once(claims, action, key="k-1", body={"a": 1}),
                                _once(claims, action, key="k-1", body={"a": 1}))
    assert len(action.ran) == 1
    assert both[0].answer == both[1].answer
    assert sorted(o.replay for o in both) == [False, True]


async def test_a_failed_command_releases_its_key_for_the_retry() -> None:
    claims = InMemoryRequestClaims()
    with pytest.raises(RuntimeError):
        await _once(claims, Counting(fail=True), key="k-1", body={})
    retry = Counting()
    outcome = await _once(claims, retry, key="k-1", body={})
    assert len(retry.ran) == 1 and not outcome.replay


async def test_a_claim_left_by_a_request_that_died_is_taken_over_later() -> None:
    claims, action = InMemoryRequestClaims(), Counting()
    request_id = str(request_event_id(office_id="kec-17.02.06", route="/receipts", key="k-1"))
    await claims.claim(request_id, fingerprint=fingerprint({}), now=NOW)  # claimed, never answered
    later = NOW + dt.timedelta(minutes=5)
    outcome = await _once(claims, action, key="k-1", body={}, clock=lambda: later)
    assert len(action.ran) == 1 and not outcome.replay


async def test_without_a_key_every_request_is_new() -> None:
    claims, action = InMemoryRequestClaims(), Counting()
    await _once(claims, action, key=None, body={})
    await _once(claims, action, key=None, body={})
    assert len(set(action.ran)) == 2 and not claims.claims

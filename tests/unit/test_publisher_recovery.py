"""The event publisher replaces a producer that stopped working for good, and only such a one."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, OutOfOrderSequenceNumber

from shared.publishing import KafkaEventPublisher, encoded_headers, event_headers, producer_is_broken
from shared.settings import InfraSettings
from shared.topics import RESIDENT
from tests.integration.helpers import enrolled_event


class ScriptedProducer:
    """A producer whose sends fail with the errors it is given, in order, then succeed."""

    def __init__(self, failures: list[BaseException], made: list[ScriptedProducer], **options: Any) -> None:
        self.failures, self.sent, self.started, self.stopped = list(failures), 0, False, False
        made.append(self)

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, topic: str, value: bytes, **_: Any) -> asyncio.Future[None]:
        if self.failures:
            raise self.failures.pop(0)
        self.sent += 1
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def _publisher(failures_of_first: list[BaseException]) -> tuple[KafkaEventPublisher, list[ScriptedProducer]]:
    made: list[ScriptedProducer] = []

    def make(**options: Any) -> ScriptedProducer:
        return ScriptedProducer(failures_of_first if not made else [], made, **options)

    return KafkaEventPublisher(InfraSettings(), service="unit", make_producer=make), made


async def test_a_producer_broken_by_a_lost_sequence_is_replaced_and_later_events_go_out() -> None:
    publisher, made = _publisher([OutOfOrderSequenceNumber(), OutOfOrderSequenceNumber()])
    event = enrolled_event(random.Random(1))
    await publisher.start()
    with pytest.raises(OutOfOrderSequenceNumber):
        await publisher.publish(event, topic=RESIDENT, key="k")
    await publisher.publish(event, topic=RESIDENT, key="k")
    assert len(made) == 2 and made[0].stopped and made[1].sent == 1
    await publisher.stop()
    assert made[1].stopped
    with pytest.raises(KafkaConnectionError):
        await publisher.publish(event, topic=RESIDENT, key="k")


async def test_timeouts_and_lost_connections_keep_the_producer() -> None:
    publisher, made = _publisher([KafkaTimeoutError(), KafkaConnectionError()])
    event = enrolled_event(random.Random(2))
    await publisher.start()
    for _ in range(2):
        with pytest.raises((KafkaTimeoutError, KafkaConnectionError)):
            await publisher.publish(event, topic=RESIDENT, key="k")
    await publisher.publish(event, topic=RESIDENT, key="k")
    assert len(made) == 1 and made[0].sent == 1
    await publisher.stop()


def test_which_errors_mean_the_producer_is_broken() -> None:
    assert producer_is_broken(OutOfOrderSequenceNumber())
    assert not producer_is_broken(KafkaTimeoutError())
    assert not producer_is_broken(KafkaConnectionError())


def test_headers_encoded_once_per_event_type_are_each_events_own() -> None:
    rng = random.Random(3)
    first, second = enrolled_event(rng), enrolled_event(rng)
    for event in (first, second, first):
        assert encoded_headers(event) == [(name, text.encode()) for name, text in event_headers(event).items()]
    assert encoded_headers(first)[-1] != encoded_headers(second)[-1]

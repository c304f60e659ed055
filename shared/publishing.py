"""Publishing events to Kafka: the one place an event becomes bytes, a key and headers."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError, OutOfOrderSequenceNumber, ProducerFenced

from shared.broker import PublishedEvents, producer_options
from shared.contracts.envelope import Envelope
from shared.kafka_backoff import install_metadata_backoff
from shared.settings import InfraSettings
from shared.topics import Topic

log = logging.getLogger("ektp.publishing")

STOP_BROKEN_PRODUCER_SECONDS = 5.0


def producer_is_broken(error: BaseException) -> bool:
    """Whether `error` means the producer will refuse every later send until it is replaced.

    aiokafka's sender stops for good on these (an idempotent producer whose sequence the broker
    lost after a restart answers OutOfOrderSequenceNumber) and then fails every new send at once
    with the same error. Timeouts and connection errors are not among them: the same producer
    recovers when the broker is back.
    """
    return isinstance(error, (OutOfOrderSequenceNumber, ProducerFenced)) or type(error) is KafkaError


class EventPublisher(Protocol):
    """Sends an event and returns once the broker has it durably (acks=all)."""

    async def publish(self, event: Envelope, *, topic: Topic, key: str) -> None: ...


class BatchPublisher(EventPublisher, Protocol):
    """Also sends many events as one batch, returning once the broker has every one durably."""

    async def publish_many(self, items: list[tuple[Envelope, Topic, str]]) -> None: ...


def event_headers(event: Envelope) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "event_type": str(getattr(event, "event_type", "")),
        "schema_version": str(getattr(event, "schema_version", "")),
        "event_id": str(event.event_id),
    }


_HEADERS_OF_KIND: dict[tuple[object, object], list[tuple[str, bytes]]] = {}


def encoded_headers(event: Envelope) -> list[tuple[str, bytes]]:
    """`event_headers` as Kafka sends them; those an event type shares are encoded once per type."""
    kind = (getattr(event, "event_type", ""), getattr(event, "schema_version", ""))
    shared = _HEADERS_OF_KIND.get(kind)
    if shared is None:
        shared = _HEADERS_OF_KIND[kind] = [("content-type", b"application/json"),
                                           ("event_type", str(kind[0]).encode()),
                                           ("schema_version", str(kind[1]).encode())]
    return [*shared, ("event_id", str(event.event_id).encode())]


class KafkaEventPublisher:
    """EventPublisher on an aiokafka producer of its own: idempotent, acks=all, built from public options.

    Events go straight to the producer: FastStream's publish path (publish command, middleware
    chain, a correlation id per message) cost about 40 % of the publish time for nothing events
    use (bench publish scenario). Each event is counted in `ektp_events_published_total` with the
    broker's own publishes (`counted`). Started and stopped with the service (shared.runtime);
    before `start` or after `stop`, `publish` raises KafkaConnectionError (answered 503).
    A producer that stopped working for good (`producer_is_broken`) is replaced by a new one, so
    one failed send after a broker restart does not turn every later write into a 503.
    """

    def __init__(self, infra: InfraSettings, *, service: str, counted: PublishedEvents | None = None,
                 make_producer: Callable[..., Any] = AIOKafkaProducer) -> None:
        self.options = producer_options(infra, service=service)
        self.counted = counted
        self.make_producer = make_producer
        self.producer: Any = None
        self.running = False
        self.replacing = asyncio.Lock()

    async def start(self) -> None:
        install_metadata_backoff()
        await self._start_producer()
        self.running = True

    async def stop(self) -> None:
        self.running = False
        producer, self.producer = self.producer, None
        if producer is not None:
            await producer.stop()

    async def publish(self, event: Envelope, *, topic: Topic, key: str) -> None:
        """`publish_many` of one event, without gathering a single acknowledgement."""
        producer = self.producer or await self._restart_if_running()
        try:
            delivered = await producer.send(topic.name, event.model_dump_json().encode(), key=key.encode(),
                                            headers=encoded_headers(event))
            await delivered
        except Exception as error:
            self._count(topic.name, "failed")
            if producer_is_broken(error):
                await self._replace(producer, error)
            raise
        self._count(topic.name, "sent")

    async def publish_many(self, items: list[tuple[Envelope, Topic, str]]) -> None:
        """Send (event, topic, key) items without waiting for each: the producer batches them per
        partition; returns once every one is acknowledged, raises the first failure otherwise."""
        if not items:
            return
        producer = self.producer or await self._restart_if_running()
        delivered: list[Any] = []
        failure: BaseException | None = None
        try:
            for event, topic, key in items:
                delivered.append(await producer.send(topic.name, event.model_dump_json().encode(),
                                                     key=key.encode(), headers=encoded_headers(event)))
        except Exception as error:  # noqa: BLE001 - raised below, once the sends in flight are settled
            failure = error
        results = await asyncio.gather(*delivered, return_exceptions=True)
        for (_, topic, _), result in zip(items, results, strict=False):
            self._count(topic.name, "failed" if isinstance(result, BaseException) else "sent")
        failure = failure or next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None:
            for _, topic, _ in items[len(delivered):]:
                self._count(topic.name, "failed")
            if producer_is_broken(failure):
                await self._replace(producer, failure)
            raise failure

    async def _start_producer(self) -> Any:
        producer = self.make_producer(**self.options)
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self.producer = producer
        return producer

    async def _restart_if_running(self) -> Any:
        """The producer, started again if a replacement could not reach the broker; an error when stopped."""
        if not self.running:
            raise KafkaConnectionError("the event producer is not running")
        async with self.replacing:
            return self.producer or await self._start_producer()

    async def _replace(self, broken: Any, error: BaseException) -> None:
        """Swap a producer that refuses every send for a new one (once, however many sends saw it)."""
        async with self.replacing:
            if self.producer is not broken:
                return
            self.producer = None
            log.error("event producer stopped working (%s): replacing it", type(error).__name__)
            try:
                await asyncio.wait_for(broken.stop(), STOP_BROKEN_PRODUCER_SECONDS)
            except Exception:  # noqa: BLE001 - the broken producer is dropped whatever its stop says
                log.warning("the broken event producer did not stop cleanly")
            if self.running:
                try:
                    await self._start_producer()
                except KafkaError:
                    log.warning("new event producer cannot reach Kafka yet: started again on the next event")

    def _count(self, topic: str, outcome: str) -> None:
        if self.counted is not None:
            self.counted.count(topic, outcome)


@dataclass(frozen=True)
class DerivedIds:
    """Ids of events that follow from another event: the same on every redelivery of the source,
    so publishing them again after a crash is harmless. One namespace per service."""

    namespace: uuid.UUID

    def __call__(self, source: object, kind: str) -> uuid.UUID:
        return uuid.uuid5(self.namespace, f"{source}:{kind}")

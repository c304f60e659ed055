"""Subscriptions of the printing service: print requests, its own print topic, the inventory's answers, and
the residents' schools and places (from the resident topic). The recording and resident topics come in
batches (the first mostly events printing skips; the second a bulk write a round at a time)."""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.printing.handlers import (
    PrintingDeps,
    apply_print_event,
    apply_resident_event,
    apply_resident_events,
    apply_stock_event,
    queue_print_request,
)
from shared.batching import apply_in_key_order, apply_in_rounds
from shared.broker import event_bytes, subscribe, subscribe_batch
from shared.contracts import PRINT_EVENTS, RECORDING_EVENTS, RESIDENT_EVENTS, STOCK_EVENTS, RecordingEvent, ResidentEvent
from shared.contracts.recording import PrintRequested
from shared.dead_letter import DeadLetterPolicy
from shared.metrics import ConsumerMetrics
from shared.topics import PRINT, RECORDING, RESIDENT, STOCK, ConsumerGroup


def register_consumers(broker: KafkaBroker, *, deps: PrintingDeps, metrics: ConsumerMetrics,
                       dead_letters: DeadLetterPolicy) -> None:
    count = metrics.record

    async def queue_request(event: RecordingEvent) -> None:
        if isinstance(event, PrintRequested):
            count(event.event_type, await queue_print_request(event, deps=deps))

    # The recording topic is mostly captures and statuses printing skips: read in batches, requests in order.
    @subscribe_batch(broker, RECORDING, group=f"{ConsumerGroup.PRINTING_QUEUE}-requests")
    async def on_recording_events(message: KafkaMessage) -> None:
        await apply_in_key_order(message.raw_message, parse=RECORDING_EVENTS.validate_json,  # type: ignore[arg-type]
                                 key_of=lambda e: e.payload.resident_id, handle=queue_request,
                                 dead_letters=dead_letters)

    @subscribe(broker, PRINT, group=ConsumerGroup.PRINTING_QUEUE)
    async def on_print_event(message: KafkaMessage) -> None:
        event = PRINT_EVENTS.validate_json(event_bytes(message))
        count(event.event_type, await apply_print_event(event, deps=deps))

    @subscribe(broker, STOCK, group=f"{ConsumerGroup.PRINTING_QUEUE}-stock")
    async def on_stock_event(message: KafkaMessage) -> None:
        event = STOCK_EVENTS.validate_json(event_bytes(message))
        count(event.event_type, await apply_stock_event(event, deps=deps))

    async def apply_resident_round(events: list[ResidentEvent]) -> None:
        for event, outcome in zip(events, await apply_resident_events(events, deps=deps), strict=True):
            count(event.event_type, outcome)

    async def apply_resident(event: ResidentEvent) -> None:
        count(event.event_type, await apply_resident_event(event, deps=deps))

    @subscribe_batch(broker, RESIDENT, group=f"{ConsumerGroup.PRINTING_QUEUE}-residents")
    async def on_resident_events(message: KafkaMessage) -> None:
        await apply_in_rounds(message.raw_message, parse=RESIDENT_EVENTS.validate_json,  # type: ignore[arg-type]
                              key_of=lambda e: e.payload.resident_id, apply_round=apply_resident_round,
                              handle=apply_resident, dead_letters=dead_letters)

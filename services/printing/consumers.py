"""Subscriptions of the printing service: print requests, its own print topic, the inventory's answers, and
the residents' schools (from the resident topic; only the school is kept)."""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.printing.handlers import (
    PrintingDeps,
    apply_print_event,
    apply_resident_event,
    apply_stock_event,
    queue_print_request,
)
from shared.broker import event_bytes, subscribe
from shared.contracts import PRINT_EVENTS, RECORDING_EVENTS, RESIDENT_EVENTS, STOCK_EVENTS
from shared.contracts.recording import PrintRequested
from shared.metrics import ConsumerMetrics
from shared.topics import PRINT, RECORDING, RESIDENT, STOCK, ConsumerGroup


def register_consumers(broker: KafkaBroker, *, deps: PrintingDeps, metrics: ConsumerMetrics) -> None:
    count = metrics.record

    @subscribe(broker, RECORDING, group=f"{ConsumerGroup.PRINTING_QUEUE}-requests")
    async def on_recording_event(message: KafkaMessage) -> None:
        event = RECORDING_EVENTS.validate_json(event_bytes(message))
        if isinstance(event, PrintRequested):
            count(event.event_type, await queue_print_request(event, deps=deps))

    @subscribe(broker, PRINT, group=ConsumerGroup.PRINTING_QUEUE)
    async def on_print_event(message: KafkaMessage) -> None:
        event = PRINT_EVENTS.validate_json(event_bytes(message))
        count(event.event_type, await apply_print_event(event, deps=deps))

    @subscribe(broker, STOCK, group=f"{ConsumerGroup.PRINTING_QUEUE}-stock")
    async def on_stock_event(message: KafkaMessage) -> None:
        event = STOCK_EVENTS.validate_json(event_bytes(message))
        count(event.event_type, await apply_stock_event(event, deps=deps))

    @subscribe(broker, RESIDENT, group=f"{ConsumerGroup.PRINTING_QUEUE}-residents")
    async def on_resident_event(message: KafkaMessage) -> None:
        event = RESIDENT_EVENTS.validate_json(event_bytes(message))
        count(event.event_type, await apply_resident_event(event, deps=deps))

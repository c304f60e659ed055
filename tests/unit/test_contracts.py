"""Every example payload parses into its contract; contracts are frozen and versioned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from shared.contracts import (
    OUTREACH_EVENTS,
    PRINT_EVENTS,
    RECORDING_EVENTS,
    RESIDENT_EVENTS,
    STOCK_EVENTS,
    PrintEvent,
    ResidentEnrolled,
    StockEvent,
)
from shared.pseudonym import resident_pseudonym
from shared.topics import ALL, by_name

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "shared/contracts/examples").glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_parses_and_round_trips(path: Path) -> None:
    raw = path.read_text()
    adapter = {"resident": RESIDENT_EVENTS, "visit": OUTREACH_EVENTS, "recording": RECORDING_EVENTS,
               "print": PRINT_EVENTS, "stock": STOCK_EVENTS}[path.name.split(".")[0]]
    event = adapter.validate_json(raw)
    event_type, version = path.name.split(".v")[0], int(path.name.split(".v")[1].split(".")[0])
    assert event.event_type == event_type
    assert event.schema_version == version
    assert adapter.validate_json(event.model_dump_json()) == event
    assert "1702" not in str(event.payload.model_dump().get("resident_id", ""))


def test_examples_exist_for_every_resident_event_type() -> None:
    names = {p.name.split(".v")[0] for p in EXAMPLES}
    assert {"resident.enrolled", "resident.updated", "resident.left", "visit.scheduled", "visit.opened",
            "visit.closed", "recording.captured", "recording.failed", "recording.absent", "recording.siak_status",
            "recording.print_requested", "recording.follow_up"} <= names


def test_examples_exist_for_every_print_and_stock_event_type() -> None:
    names = {p.name.split(".v")[0] for p in EXAMPLES}
    for union in (PrintEvent, StockEvent):
        for model in get_args(get_args(union)[0]):
            event_type = model.model_fields["event_type"].default
            assert event_type in names, f"no example for {event_type}"


def test_unknown_event_type_and_version_are_rejected() -> None:
    data = json.loads((EXAMPLES[0].parent / "resident.enrolled.v1.json").read_text())
    with pytest.raises(ValidationError):
        RESIDENT_EVENTS.validate_python({**data, "event_type": "resident.teleported"})
    with pytest.raises(ValidationError):
        RESIDENT_EVENTS.validate_python({**data, "schema_version": 99})


def test_naive_timestamps_are_rejected() -> None:
    data = json.loads((EXAMPLES[0].parent / "resident.enrolled.v1.json").read_text())
    with pytest.raises(ValidationError):
        ResidentEnrolled.model_validate({**data, "occurred_at": "2024-01-15T09:30:00"})


def test_events_are_frozen() -> None:
    event = RESIDENT_EVENTS.validate_json((EXAMPLES[0].parent / "resident.enrolled.v1.json").read_text())
    with pytest.raises(ValidationError):
        event.payload.name = "other"  # type: ignore[misc]


def test_pseudonym_hides_the_nik_and_depends_on_the_key() -> None:
    nik = "1702064507070001"
    a = resident_pseudonym(nik, key="k1")
    assert nik not in a and len(a) == 33
    assert a == resident_pseudonym(nik, key="k1")
    assert a != resident_pseudonym(nik, key="k2")


def test_topic_registry_is_consistent() -> None:
    names = [t.name for t in ALL]
    assert len(names) == len(set(names))
    for topic in ALL:
        assert by_name(topic.name) is topic
        assert topic.dead_letter == f"{topic.name}.dlq"
        assert topic.partitions >= 1

"""The metadata backoff is installed on the aiokafka versions it was checked against, and only there."""

from __future__ import annotations

import aiokafka
import pytest
from aiokafka.client import AIOKafkaClient

from shared import kafka_backoff


def test_the_locked_aiokafka_is_a_checked_version_and_gets_the_backoff_once() -> None:
    assert kafka_backoff.version_checked()
    assert kafka_backoff.install_metadata_backoff()
    installed = AIOKafkaClient.__dict__["_metadata_update"]
    assert getattr(installed, "backs_off", False)
    assert kafka_backoff.install_metadata_backoff()
    assert AIOKafkaClient.__dict__["_metadata_update"] is installed


def test_an_unchecked_version_is_refused_loudly_and_left_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    async def plain_update(self: object, cluster_metadata: object, topics: object) -> bool:
        return False

    monkeypatch.setattr(aiokafka, "__version__", "0.15.0")
    monkeypatch.setattr(AIOKafkaClient, "_metadata_update", plain_update)
    before = AIOKafkaClient.__dict__["_metadata_update"]
    assert not kafka_backoff.version_checked()
    assert not kafka_backoff.install_metadata_backoff()
    assert AIOKafkaClient.__dict__["_metadata_update"] is before
    assert "0.15.0" in caplog.text and "not installed" in caplog.text

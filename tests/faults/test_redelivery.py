"""Every message delivered twice, one in ten three to five times: the read models equal single delivery."""

from __future__ import annotations

import os
import random
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from tests.faults.system import mongo, read_models, running_system
from tests.faults.workload import Workload, journeys, publish
from tests.support.plugin import report

pytestmark = [pytest.mark.infra, pytest.mark.heavy,
              pytest.mark.timeout(2400 if os.environ.get("EKTP_FAULTS") == "long" else 600)]
RESIDENTS = 2000 if os.environ.get("EKTP_FAULTS") == "long" else 300


async def _run(start_service: Any, infra_env: dict[str, str], name: str, work: Workload,
               copies: Any) -> tuple[dict[str, Any], int]:
    """The workload through the five services of a fresh namespace; their read models afterwards."""
    with running_system(start_service, infra_env, name) as system:
        producer = AIOKafkaProducer(bootstrap_servers=system.bootstrap, acks="all", enable_idempotence=True)
        await producer.start()
        try:
            published = await publish(producer, system.prefix, work, rate=400, copies=copies)
        finally:
            await producer.stop()
        lag = await system.quiet()
        assert not any(lag.values()), lag
        client = mongo(system.env)
        try:
            return await read_models(client[system.env["EKTP_MONGO_DATABASE"]]), published["messages"]
        finally:
            await client.close()


async def test_every_message_delivered_two_to_five_times_leaves_the_read_models_as_single_delivery(
        start_service: Any, infra_env: dict[str, str]) -> None:
    work = journeys(RESIDENTS, tag="dup", blangko=False)
    rng = random.Random(5)
    times = [rng.randint(3, 5) if rng.random() < 0.1 else 2 for _ in work.events]
    once, sent_once = await _run(start_service, infra_env, "once", work, None)
    many, sent_many = await _run(start_service, infra_env, "many", work, lambda i: times[i])
    differing = {name: sum(1 for key in set(once[name]) | set(many[name]) if once[name].get(key) != many[name].get(key))
                 for name in once}
    report(f"\n  {len(work.events)} events: {sent_once} messages delivered once, {sent_many} with copies "
          f"({sum(1 for t in times if t > 2)} events three to five times); "
          f"entries differing per read model: {differing}")
    assert sent_many == sum(times)
    assert len(once["recording"]) == RESIDENTS and len(once["jobs"]) == len(work.prr)
    assert many == once

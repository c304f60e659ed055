"""Coverage's downloads tried as a clerk and an attacker would, on the running services."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.clock import WIB
from shared.contracts import Role
from shared.topics import OUTREACH, RESIDENT
from tests.integration.helpers import (
    create_office_key,
    enrolled_event,
    eventually,
    isolated_env,
    running,
    synthetic_resident,
    topic_in,
)
from tests.support import events as make_events

pytestmark = pytest.mark.infra
KECAMATAN, DESA = "17.02.20", "17.02.20.2001"
FORMULA = '=HYPERLINK("http://contoh.invalid/x","klik")'


@pytest.fixture(scope="module")
def services(start_service: Any) -> Iterator[dict[str, Any]]:
    yield from running(start_service, "intake", "recording", "coverage")


async def test_a_name_that_looks_like_a_formula_is_text_in_the_csv_and_the_nik_keeps_its_digits(
    services: dict[str, Any], mongo_db: Any,
) -> None:
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KECAMATAN)
    resident = {**synthetic_resident(random.Random(), kecamatan=KECAMATAN, desa=DESA), "name": FORMULA}
    async with httpx.AsyncClient(base_url=services["intake"].url, headers={"X-API-Key": key}) as intake, \
            httpx.AsyncClient(base_url=services["coverage"].url, headers={"X-API-Key": key}) as coverage:
        assert (await intake.post("/residents", json=resident)).status_code == 201

        async def listed() -> list[dict[str, str]]:
            answer = await coverage.get("/unrecorded", params={"desa": DESA, "format": "csv"})
            assert answer.status_code == 200, answer.text
            return list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff")), delimiter=";"))

        rows = await eventually(listed, lambda rows: any(FORMULA in row.get("nama", "") for row in rows))
    row = next(row for row in rows if FORMULA in row["nama"])
    assert row["nama"] == "'" + FORMULA
    assert row["nik"] == f'="{resident["nik"]}"'
    assert not [cell for r in rows for name, cell in r.items() if name != "nik" and cell[:1] in ("=", "+", "@")]


async def test_a_list_of_people_longer_than_a_page_says_so_and_the_next_page_has_the_rest(
    services: dict[str, Any], mongo_db: Any,
) -> None:
    desa = "17.02.20.2002"
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KECAMATAN)
    rng = random.Random()
    residents = [synthetic_resident(rng, kecamatan=KECAMATAN, desa=desa) for _ in range(3)]
    async with httpx.AsyncClient(base_url=services["intake"].url, headers={"X-API-Key": key}) as intake, \
            httpx.AsyncClient(base_url=services["coverage"].url, headers={"X-API-Key": key}) as coverage:
        for resident in residents:
            assert (await intake.post("/residents", json=resident)).status_code == 201

        async def page(number: int, **extra: str) -> httpx.Response:
            return await coverage.get("/unrecorded", params={"desa": desa, "per_halaman": 2, "halaman": number,
                                                             **extra})

        first = await eventually(lambda: page(1), lambda a: a.status_code == 200 and a.json()["jumlah"] == 2
                                 and a.json()["ada_halaman_berikutnya"])
        second = (await page(2)).json()
        as_csv = await page(1, format="csv")
    assert second["jumlah"] == 1 and not second["ada_halaman_berikutnya"]
    assert "halaman 2" in first.json()["catatan"]
    niks = {p["nik"] for p in first.json()["penduduk"] + second["penduduk"]}
    assert niks == {r["nik"] for r in residents}
    assert as_csv.headers["X-Halaman-Berikutnya"] == "2"


@pytest.fixture(scope="module")
def own_coverage(start_service: Any, infra_env: dict[str, str]) -> Iterator[tuple[Any, dict[str, str]]]:
    """A coverage service on topics and a database of this module alone: the planner ranks only its places."""
    env = isolated_env(infra_env, "planner")
    service = start_service("coverage", **env)
    yield service, env
    service.stop()


async def _publish(producer: Any, env: dict[str, str], topic: str, event: Any, key: str) -> None:
    await producer.send_and_wait(topic_in(env, topic), event.model_dump_json().encode(), key=key.encode())


async def test_the_planner_ranks_on_visits_held_never_on_scheduled_ones_and_never_counts_days_back_negative(
    own_coverage: tuple[Any, dict[str, str]], kafka_producer: Any,
) -> None:
    """Desa A has a visit scheduled 300 days ahead, desa C one 5 days ago that was never opened, desa B
    one opened 10 days ago: only B counts as visited."""
    service, env = own_coverage
    rng = random.Random()
    kecamatan = "17.02.21"
    future, held, not_held = "17.02.21.2001", "17.02.21.2002", "17.02.21.2003"
    now = dt.datetime.now(WIB)
    today = now.date()
    for desa in (future, held, not_held):
        for _ in range(3):
            event = enrolled_event(rng, kecamatan=kecamatan, desa=desa)
            await _publish(kafka_producer, env, RESIDENT.name, event, event.payload.resident_id)
    plans = {future: today + dt.timedelta(days=300), held: today - dt.timedelta(days=10),
             not_held: today - dt.timedelta(days=5)}
    for desa, day in plans.items():
        visit_id = f"v-{uuid.uuid4().hex[:10]}"
        scheduled = make_events.make("visit.scheduled", visit_id=visit_id, date=day, place_code=desa, kind="desa",
                                     kecamatan_code=kecamatan, targets=[])
        await _publish(kafka_producer, env, OUTREACH.name, scheduled, visit_id)
        if desa == held:
            opened = make_events.make("visit.opened", at=now - dt.timedelta(days=10), visit_id=visit_id,
                                      kecamatan_code=kecamatan)
            await _publish(kafka_producer, env, OUTREACH.name, opened, visit_id)
    async with httpx.AsyncClient(base_url=service.url) as coverage:
        async def ranking() -> dict[str, dict[str, Any]]:
            answer = await coverage.get("/planner/visits", params={"minggu": 1})
            assert answer.status_code == 200, answer.text
            return {row["kode"]: row for row in answer.json()["peringkat"]}

        rows = await eventually(ranking, lambda r: all(r.get(d, {}).get("belum_rekam") == 3 for d in plans)
                                and r[held]["kunjungan"] == 1, timeout=60)
        as_csv = (await coverage.get("/planner/visits", params={"minggu": 1, "format": "csv"})).text
    for desa in (future, not_held):
        assert (rows[desa]["kunjungan"], rows[desa]["terakhir"]) == (0, None), rows[desa]
        assert rows[desa]["alasan"] == "belum pernah dikunjungi"
    assert rows[held]["terakhir"] == (today - dt.timedelta(days=10)).isoformat()
    assert rows[held]["alasan"] == "dikunjungi 10 hari lalu"
    assert rows[future]["skor"] > rows[held]["skor"]
    assert not [row for row in rows.values() if re.search(r"-\d", row["alasan"])]
    assert not re.search(r"dikunjungi -\d", as_csv)


async def test_a_resident_never_recorded_shows_no_1970_date_in_any_list_csv_or_dashboard(
    services: dict[str, Any], mongo_db: Any,
) -> None:
    """A registered resident with no recording yet: every coverage output that shows where they stand
    (lists in JSON and CSV, home visits, backlog, the dashboard pages) names no 1970 date, nor does
    recording's stage of the resident (no date before any recording)."""
    desa = "17.02.20.2003"
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KECAMATAN)
    resident = {**synthetic_resident(random.Random(), kecamatan=KECAMATAN, desa=desa), "disabilitas": True}
    async with httpx.AsyncClient(base_url=services["intake"].url, headers={"X-API-Key": key}) as intake, \
            httpx.AsyncClient(base_url=services["coverage"].url, headers={"X-API-Key": key}) as coverage:
        assert (await intake.post("/residents", json=resident)).status_code == 201

        async def listed() -> httpx.Response:
            return await coverage.get("/unrecorded", params={"desa": desa})

        answer = await eventually(listed, lambda a: a.status_code == 200
                                  and any(p["nik"] == resident["nik"] for p in a.json()["penduduk"]))
        person = next(p for p in answer.json()["penduduk"] if p["nik"] == resident["nik"])
        outputs = {"unrecorded": answer.text}
        for name, path, params in [
            ("unrecorded.csv", "/unrecorded", {"desa": desa, "format": "csv"}),
            ("home-visits", "/planner/home-visits", {"kecamatan": KECAMATAN}),
            ("home-visits.csv", "/planner/home-visits", {"kecamatan": KECAMATAN, "format": "csv"}),
            ("backlog", "/backlog", {}), ("backlog.csv", "/backlog", {"format": "csv"}),
            ("desa", "/coverage/areas", {"tingkat": "desa", "kecamatan": KECAMATAN}),
            ("dasbor", "/dasbor", {}), ("dasbor kecamatan", f"/dasbor/kecamatan/{KECAMATAN}", {}),
        ]:
            got = await coverage.get(path, params=params)
            assert got.status_code == 200, (name, got.text[:500])
            outputs[name] = got.text
        async with httpx.AsyncClient(base_url=services["recording"].url, headers={"X-API-Key": key}) as recording:
            status = await eventually(lambda: recording.get(f"/residents/{person['resident_id']}/status"),
                                      lambda a: a.status_code == 200 and a.json()["in_roster"])
            stuck = await recording.get("/stuck", params={"days": 1, "kecamatan_code": KECAMATAN})
        outputs.update({"recording status": status.text, "recording stuck": stuck.text})
    assert person["wajib_ktp_sejak"] and not person["wajib_ktp_sejak"].startswith("1970")
    assert (status.json()["stage"], status.json()["since"]) == ("belum_rekam", None)
    assert resident["nik"] in outputs["home-visits"] and resident["nik"] in outputs["unrecorded.csv"]
    assert {name: "1970" in text for name, text in outputs.items()} == dict.fromkeys(outputs, False)

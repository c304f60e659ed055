"""No NIK, name or birth date in any /metrics label, after real traffic through every service.

Synthetic residents are registered, read, corrected, imported from a Dapodik file, visited,
recorded (one as a walk-in), given SIAK statuses by JSON and by file, and some requests carry a
NIK where a pseudonym belongs (a clerk's mistake); a message with a NIK that no consumer can
parse goes to a dead-letter topic. Then every label value of every service's /metrics is read.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.areas import load_areas
from shared.contracts import Role
from shared.topics import RESIDENT
from tests.integration.helpers import create_office_key, eventually, synthetic_resident
from tests.support.nik_scan import DIGIT_RUN

SERVICES = ("intake", "recording", "printing", "inventory", "coverage")
KEC = "17.02.11"


def labels_of(metrics_text: str) -> Iterator[tuple[str, str, str]]:
    """(sample, label, value) of every label of every sample in a Prometheus text exposition."""
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            for label, value in sample.labels.items():
                yield sample.name, label, value


def personal_label_values(labels: Iterable[tuple[str, str, str]], residents: list[dict[str, Any]]) -> list[str]:
    """Labels whose value holds a 16-digit number, or a resident's name or birth date (the value is not shown)."""
    names = [r["name"].casefold() for r in residents]
    dates = []
    for resident in residents:
        birth = dt.date.fromisoformat(resident["birth_date"])
        dates += [birth.isoformat(), birth.strftime("%d/%m/%Y"), birth.strftime("%d-%m-%Y")]
    found = []
    for sample, label, value in labels:
        why = ("a 16-digit number" if DIGIT_RUN.search(value) else
               "a resident's name" if any(name in value.casefold() for name in names) else
               "a resident's birth date" if any(day in value for day in dates) else None)
        if why:
            found.append(f"{sample} {label}=: {why}")
    return found


def test_the_label_check_finds_planted_personal_data() -> None:
    resident = synthetic_resident(random.Random(3))
    clean = 'ektp_recordings_total{kecamatan="17.02.11",hasil="direkam"} 3.0\n'
    assert personal_label_values(labels_of(clean), [resident]) == []
    for planted in (resident["nik"], resident["name"].upper(), resident["birth_date"],
                    dt.date.fromisoformat(resident["birth_date"]).strftime("%d/%m/%Y")):
        text = clean + f'ektp_http_requests_total{{route="/residents/{planted}"}} 1.0\n'
        assert personal_label_values(labels_of(text), [resident]) == [
            "ektp_http_requests_total route=: " + ("a 16-digit number" if planted == resident["nik"] else
                                                  "a resident's name" if planted.isalpha() or " " in planted else
                                                  "a resident's birth date")], planted


def _residents(rng: random.Random, count: int) -> list[dict[str, Any]]:
    village = load_areas().kecamatan[KEC].villages[0]
    out = []
    for i in range(count):
        resident = synthetic_resident(rng, kecamatan=KEC, desa=village.code)
        resident["name"] = f"Metrika Sintetis {uuid.uuid4().hex[:6]} {i}"
        out.append(resident)
    return out


def _dapodik(residents: list[dict[str, Any]]) -> bytes:
    kecamatan = load_areas().kecamatan[KEC]
    lines = ["NISN;NIK;Nama Peserta Didik;JK;Tempat Lahir;Tanggal Lahir;NPSN;Nama Sekolah;Kecamatan;Desa/Kelurahan"]
    for i, r in enumerate(residents):
        birth = dt.date.fromisoformat(r["birth_date"])
        lines.append(";".join([f"00{70000000 + i}", r["nik"], r["name"], "Laki-laki" if r["sex"] == "L" else "Perempuan",
                               "Curup", birth.strftime("%d/%m/%Y"), "10700999", "SMA Sintetis", kecamatan.name,
                               kecamatan.villages[0].name]))
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


@pytest.fixture(scope="module")
def services(start_service: Any) -> Iterator[dict[str, Any]]:
    running = {name: start_service(name) for name in SERVICES}
    yield running
    for service in running.values():
        service.stop()


@pytest.mark.infra
async def test_no_personal_data_in_metric_labels_after_real_traffic(
    services: dict[str, Any], mongo_db: Any, kafka_producer: Any,
) -> None:
    rng = random.Random()
    admin = {"X-API-Key": await create_office_key(mongo_db, role=Role.DINAS_ADMIN)}
    office = {"X-API-Key": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC)}
    registered, imported, walk_in = _residents(rng, 6), _residents(rng, 3), _residents(rng, 1)[0]
    corrected_name = f"Metrika Koreksi {uuid.uuid4().hex[:6]}"
    everyone = [*registered, *imported, walk_in, {**registered[0], "name": corrected_name}]
    clients = {name: httpx.AsyncClient(base_url=service.url, timeout=60) for name, service in services.items()}
    intake, recording = clients["intake"], clients["recording"]
    try:
        ids = []
        for resident in registered:
            answer = await intake.post("/residents", json=resident, headers={**office, "Idempotency-Key": uuid.uuid4().hex})
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["resident_id"])
        assert (await intake.get(f"/residents/{ids[0]}", headers=office)).status_code == 200
        correction = {**registered[0], "name": corrected_name, "reason": "salah ketik nama"}
        assert (await intake.put(f"/residents/{ids[0]}", json=correction, headers=office)).status_code == 200
        left = {"reason": "pindah", "effective_date": dt.date.today().isoformat()}
        assert (await intake.post(f"/residents/{ids[5]}/keluar", json=left, headers=office)).status_code == 200
        job = await intake.post("/imports/dapodik", headers=office, files={"file": ("siswa.csv", _dapodik(imported))})
        assert job.status_code == 202, job.text
        await eventually(lambda: intake.get(job.json()["status_url"], headers=office),
                         lambda r: r.json()["status"] != "berjalan")
        # A clerk types a NIK where the pseudonym belongs. The services mask it in their logs; this
        # process's own HTTP client would only echo the URL the test chose, so it is quiet meanwhile.
        httpx_log = logging.getLogger("httpx")
        level = httpx_log.level
        httpx_log.setLevel(logging.WARNING)
        try:
            for client, path in ((intake, f"/residents/{registered[1]['nik']}"),
                                 (recording, f"/residents/{registered[1]['nik']}/status"),
                                 (recording, f"/visits/{registered[2]['nik']}"),
                                 (clients["coverage"], f"/coverage/series?kode={registered[2]['nik']}")):
                assert (await client.get(path, headers=admin)).status_code in (404, 422)
            mistaken = await recording.post(f"/visits/{registered[1]['nik']}/buka", headers=admin)
            assert mistaken.status_code in (404, 422)
        finally:
            httpx_log.setLevel(level)

        for resident_id in ids[:5]:
            await eventually(lambda rid=resident_id: recording.get(f"/residents/{rid}/status", headers=office),
                             lambda r: r.status_code == 200 and r.json()["in_roster"])
        visit_id = f"metrik-{uuid.uuid4().hex[:8]}"
        visit = {"visit_id": visit_id, "date": dt.date.today().isoformat(), "kind": "desa",
                 "place_code": registered[0]["desa_code"], "kecamatan_code": KEC, "team": "tim-metrik",
                 "targets": ids[:5]}
        assert (await recording.post("/visits", json=visit, headers=office)).status_code == 201
        assert (await recording.post(f"/visits/{visit_id}/buka", headers=office)).status_code == 200
        at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).isoformat()
        field = {"visit_id": visit_id, "device_id": "tab-metrik", "operator": "op-metrik", "device_time": at}
        events = [{**field, "event_id": str(uuid.uuid4()), "kind": "captured", "resident_id": rid,
                   "biometrics": ["foto", "sidik_jari", "iris", "tanda_tangan"]} for rid in ids[:3]]
        events.append({**field, "event_id": str(uuid.uuid4()), "kind": "failed", "resident_id": ids[3],
                       "reason": "sidik jari tidak terbaca"})
        events.append({**field, "event_id": str(uuid.uuid4()), "kind": "captured", "biometrics": ["foto"],
                       "walk_in": {"nik": walk_in["nik"], "name": walk_in["name"], "desa_code": walk_in["desa_code"]}})
        batch = await recording.post("/batches", json={"device_id": "tab-metrik", "events": events}, headers=office)
        assert batch.json()["ringkasan"] == {"diterima": 4, "duplikat": 0, "walk_in": 1, "ditolak": 0}, batch.text
        assert (await recording.post(f"/visits/{visit_id}/tutup", headers=office)).status_code == 200
        now = dt.datetime.now(dt.UTC).isoformat()
        statuses = {"updates": [{"resident_id": ids[0], "status": "PRR", "status_at": now},
                                {"resident_id": ids[1], "status": "DUPLICATE_RECORD", "status_at": now}]}
        assert (await recording.post("/siak/status", json=statuses, headers=admin)).json()["diterima"] == 2
        siak_file = f"NIK;STATUS;TANGGAL\n{registered[2]['nik']};SFE;{dt.date.today().isoformat()}\n"
        answer = await recording.post("/siak/import", headers=admin, files={"file": ("siak.csv", siak_file.encode())})
        assert answer.status_code == 200, answer.text
        receipt = {"quantity": 50, "document_no": f"BA/METRIK/{uuid.uuid4().hex[:6]}"}
        assert (await clients["inventory"].post("/receipts", json=receipt, headers=admin)).status_code == 201
        poison = {"event_type": "resident.enrolled", "payload": {"nik": walk_in["nik"], "name": walk_in["name"],
                                                                 "birth_date": walk_in["birth_date"]}}
        await kafka_producer.send_and_wait(RESIDENT.name, json.dumps(poison).encode(),
                                           key=f"metrik-{uuid.uuid4().hex}".encode())
        assert (await clients["coverage"].get("/unrecorded", params={"desa": registered[0]["desa_code"]},
                                              headers=office)).status_code == 200

        recordings = re.compile(r'^ektp_recordings_total\{[^}]*kecamatan="' + re.escape(KEC) + r'"[^}]*\} [1-9]', re.M)
        await eventually(lambda: recording.get("/metrics"), lambda r: bool(recordings.search(r.text)))
        dead_letter = re.compile(r'^ektp_dead_letters_total\{[^}]*topic="' + re.escape(RESIDENT.name) + '"', re.M)
        await eventually(lambda: clients["coverage"].get("/metrics"), lambda r: bool(dead_letter.search(r.text)))

        found: dict[str, list[str]] = {}
        scanned = 0
        for name, client in clients.items():
            labels = list(labels_of((await client.get("/metrics")).text))
            scanned += len(labels)
            if problems := personal_label_values(labels, everyone):
                found[name] = problems
        assert scanned > 100, scanned
        assert not found, found
    finally:
        for client in clients.values():
            await client.aclose()

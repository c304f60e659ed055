"""The jemput bola page in Debian's Chromium with the network switched off: a field team downloads a visit,
goes offline, records 10 outcomes and a walk-in, reloads the page offline (it opens from its service
worker with the outcomes still there), comes back online and sends: every event is answered once, a
second send sends nothing, coverage counts the recordings, and closing the visit empties the device."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.contracts import Role
from tests.integration.helpers import create_office_key, eventually, running, synthetic_resident
from tests.integration.web_helpers import cli, docs_render, shot, sign_in

pytestmark = [pytest.mark.infra, pytest.mark.timeout(600)]
A, DESA = "17.02.06", "17.02.06.2006"
PASSWORD = "kata-sandi-tim-1"
TARGETS = 10
DEVICE_STORES = "['kunjungan', 'kejadian']"


@pytest.fixture(scope="module")
def field(start_service: Any, infra_env: dict[str, str]) -> Iterator[dict[str, Any]]:
    run = uuid.uuid4().hex[:6]
    key = cli(infra_env, "-m", "shared.offices", "office", "web-key", "--id", f"aplikasi-web-{run}").stdout.split()[-1]
    team_office = f"tim-{run}"
    assert cli(infra_env, "-m", "shared.offices", "office", "create", "--id", team_office, "--name", "Tim jemput bola",
               "--role", Role.FIELD_TEAM.value, "--kecamatan", A).returncode == 0
    username = f"tim{run}"
    made = cli(infra_env, "-m", "services.web.users", "create", "--username", username, "--name", "Tim Lapangan",
               "--office", team_office, "--password-stdin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    dinas_office = f"dinas-{run}"
    assert cli(infra_env, "-m", "shared.offices", "office", "create", "--id", dinas_office, "--name", "Dinas",
               "--role", Role.DINAS_ADMIN.value).returncode == 0
    assert cli(infra_env, "-m", "services.web.users", "create", "--username", f"dinas{run}", "--name", "Admin Dinas",
               "--office", dinas_office, "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    for started in running(start_service, "intake", "recording", "coverage"):
        urls = {name: started[name].url for name in ("intake", "recording", "coverage")}
        web = start_service("web", EKTP_WEB_SERVICE_KEY=key, EKTP_WEB_SERVICE_URLS=json.dumps(urls))
        yield {**started, "web": web, "username": username, "run": run}
        web.stop()


async def _visit_with_targets(field: dict[str, Any], db: Any, *, visit_id: str | None = None) -> tuple[str, list[str]]:
    """TARGETS residents registered in DESA, then a visit there scheduled by the kecamatan's office."""
    key = await create_office_key(db, role=Role.KECAMATAN_OFFICE, kecamatan=A)
    headers = {"X-API-Key": key}
    rng = random.Random()
    ids = []
    async with httpx.AsyncClient(base_url=field["intake"].url, headers=headers, timeout=30) as intake:
        for _ in range(TARGETS):
            answer = await intake.post("/residents", json=synthetic_resident(rng, kecamatan=A, desa=DESA))
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["resident_id"])
    visit_id = visit_id or f"jb-{field['run']}"
    async with httpx.AsyncClient(base_url=field["recording"].url, headers=headers, timeout=30) as recording:
        async def scheduled() -> int:
            answer = await recording.post("/visits", json={
                "visit_id": visit_id, "date": dt.date.today().isoformat(), "kind": "desa", "place_code": DESA,
                "kecamatan_code": A, "team": "tim-a", "targets": ids})
            return answer.status_code

        await eventually(scheduled, lambda status: status == 201, timeout=60, interval=0.5)
    async with httpx.AsyncClient(base_url=field["coverage"].url, headers=headers, timeout=30) as coverage:
        async def listed() -> set[str]:
            answer = await coverage.get("/unrecorded", params={"desa": DESA, "per_halaman": "5000"})
            return {p["resident_id"] for p in answer.json()["penduduk"]} if answer.status_code == 200 else set()

        await eventually(listed, lambda found: set(ids) <= found, timeout=60, interval=0.5)
    return visit_id, ids


async def _recorded_in_desa(coverage_url: str) -> int:
    async with httpx.AsyncClient(base_url=coverage_url, timeout=30) as coverage:
        table = (await coverage.get("/coverage/areas", params={"tingkat": "desa", "kecamatan": A})).json()
    return int(next(row["direkam"] for row in table["baris"] if row["kode"] == DESA))


async def _device_rows(page: Any) -> dict[str, int]:
    """How many records each IndexedDB store of the page holds."""
    return dict(await page.evaluate(f"""() => new Promise((resolve, reject) => {{
        const req = indexedDB.open('ektp-lapangan');
        req.onsuccess = () => {{
          const db = req.result, counts = {{}}, names = {DEVICE_STORES};
          const tx = db.transaction(names, 'readonly');
          names.forEach(n => {{ const c = tx.objectStore(n).count(); c.onsuccess = () => {{ counts[n] = c.result; }}; }});
          tx.oncomplete = () => resolve(counts);
          tx.onerror = () => reject(tx.error);
        }};
        req.onerror = () => reject(req.error);
    }})"""))


async def test_a_field_team_records_offline_and_syncs_each_event_once(
    field: dict[str, Any], context: Any, mongo_db: Any,
) -> None:
    visit_id, ids = await _visit_with_targets(field, mongo_db)
    recorded_before = await _recorded_in_desa(field["coverage"].url)
    base, page = field["web"].url, await context.new_page()
    sends: list[str] = []
    page.on("request", lambda request: sends.append(request.url) if request.url.endswith("/lapangan/api/kirim") else None)
    await sign_in(page, base, field["username"], PASSWORD)
    await page.goto(f"{base}/lapangan/")
    await eventually(lambda: page.evaluate("() => navigator.serviceWorker.controller !== null"), bool, timeout=20)
    await page.click(f"#daftar-server li[data-visit='{visit_id}'] button.unduh")
    panel = page.locator(f"section[data-visit='{visit_id}']")
    await panel.wait_for(timeout=20_000)
    assert await panel.locator("tbody tr[data-resident]").count() == TARGETS
    await shot(page, "jemput-bola-diunduh")

    await context.set_offline(True)
    outcomes = {**{rid: "rekam" for rid in ids[:7]}, ids[7]: "gagal", ids[8]: "gagal", ids[9]: "absen"}
    for resident_id, action in outcomes.items():
        await panel.locator(f"tr[data-resident='{resident_id}'] button.{action}").click()
        await page.locator(f"section[data-visit='{visit_id}'] tr[data-resident='{resident_id}'] td.jawaban",
                           has_text="menunggu dikirim").wait_for()
    await page.locator(f"section[data-visit='{visit_id}'] summary").click()
    walk_in = synthetic_resident(random.Random(), kecamatan=A, desa=DESA)
    await page.fill(f"section[data-visit='{visit_id}'] input[name=nik]", walk_in["nik"])
    await page.fill(f"section[data-visit='{visit_id}'] input[name=name]", "Warga Walk In")
    await page.select_option(f"section[data-visit='{visit_id}'] select[name=desa_code]", DESA)
    await page.click(f"section[data-visit='{visit_id}'] .form-walk-in button")
    await page.locator("#menunggu", has_text=str(TARGETS + 1)).wait_for()

    reloaded = await page.reload()
    assert reloaded is not None and reloaded.from_service_worker, "the offline page did not come from its service worker"
    await page.locator("#lapangan[data-siap='1']").wait_for()
    assert (await page.text_content("#menunggu")) == str(TARGETS + 1)
    assert "luring" in (await page.text_content("#jaringan") or "")
    await shot(page, "jemput-bola-luring")
    assert not sends, "something was sent while offline"

    await context.set_offline(False)
    await page.click("#kirim")
    await page.locator("#menunggu", has_text="0").wait_for(timeout=30_000)
    answers = await page.locator(f"section[data-visit='{visit_id}'] td.jawaban").all_text_contents()
    assert sum(text.startswith("diterima") for text in answers) == TARGETS, answers
    assert any(text.startswith("walk_in") for text in answers), answers
    assert len(sends) == 1
    await shot(page, "jemput-bola-terkirim")

    await page.click("#kirim")
    await page.locator("#pesan-lapangan", has_text="Tidak ada yang perlu dikirim").wait_for()
    assert len(sends) == 1, "a second send sent something"

    await eventually(lambda: _recorded_in_desa(field["coverage"].url), lambda n: n == recorded_before + 7,
                     timeout=60, interval=0.5)
    await panel.locator("button.tutup").click()
    await page.locator("#pesan-lapangan", has_text="Kunjungan ditutup").wait_for(timeout=30_000)
    assert await _device_rows(page) == {"kunjungan": 0, "kejadian": 0}


async def test_the_api_pages_of_intake_recording_and_coverage_render_offline(field: dict[str, Any], context: Any) -> None:
    for name in ("intake", "recording", "coverage"):
        assert await docs_render(context, field[name].url) >= 3, name


async def test_the_dinas_schedules_a_proposed_visit_with_one_click(field: dict[str, Any], context: Any,
                                                                   mongo_db: Any) -> None:
    await _visit_with_targets(field, mongo_db, visit_id=f"jb2-{field['run']}")
    base, page = field["web"].url, await context.new_page()
    await sign_in(page, base, f"dinas{field['run']}", PASSWORD)
    await page.goto(f"{base}/jadwal")
    first = page.locator("#usulan tbody tr[data-place]").first
    await first.wait_for(timeout=10_000)
    kecamatan = await first.locator("input[name=kecamatan]").get_attribute("value")
    await shot(page, "jadwal-usulan")
    await first.locator("button").click()
    await page.wait_for_load_state()
    message = await page.text_content("#pesan") or ""
    assert "dijadwalkan" in message, await page.content()
    visit_id = message.split()[1]
    key = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
    async with httpx.AsyncClient(base_url=field["recording"].url, headers={"X-API-Key": key}) as recording:
        listed = await recording.get("/visits", params={"kecamatan_code": kecamatan or ""})
    assert visit_id in {v["visit_id"] for v in listed.json()["kunjungan"]}, listed.text


async def test_the_dinas_uploads_a_siak_status_file_and_reads_each_line(field: dict[str, Any], context: Any,
                                                                       mongo_db: Any) -> None:
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=A)
    resident = synthetic_resident(random.Random(), kecamatan=A, desa=DESA)
    async with httpx.AsyncClient(base_url=field["intake"].url, headers={"X-API-Key": key}, timeout=30) as intake:
        assert (await intake.post("/residents", json=resident)).status_code == 201
    today = dt.date.today().isoformat()
    text = f"NIK;STATUS;TANGGAL\n{resident['nik']};PRR;{today}\n1702069999990001;PRR;{today}\n{resident['nik']};ENTAH;{today}\n"
    base, page = field["web"].url, await context.new_page()
    await sign_in(page, base, f"dinas{field['run']}", PASSWORD)

    async def uploaded() -> str:
        await page.goto(f"{base}/dinas/siak")
        await page.set_input_files("#file", files=[{"name": "status.csv", "buffer": text.encode(), "mimeType": "text/csv"}])
        await page.click("#unggah")
        await page.wait_for_load_state()
        rows = await page.locator("#hasil-siak tbody tr").all_inner_texts()
        return " | ".join(rows)

    rows = await eventually(uploaded, lambda found: found.count("diterima") == 1, timeout=60, interval=1)
    assert rows.count("ditolak") == 2, rows
    await shot(page, "status-siak")

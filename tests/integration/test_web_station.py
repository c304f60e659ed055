"""The print-station page in Debian's Chromium: the operator sees the station's queue in priority order;
once blangko arrive the station prints and the card moves to "dicetak hari ini", where the operator
records its hand-over; a spoiled blank is recorded with its reason and the stock on the page drops."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.web.pages.station import PRIORITY_NAMES
from shared.contracts import Role
from tests.integration.helpers import eventually
from tests.integration.printing_helpers import (
    print_request,
    receipt,
    send_print_request,
    send_stock,
    skip_print_requests_left_unconsumed,
    station_process,
    write_stations,
)
from tests.integration.web_helpers import cli, docs_render, shot, sign_in
from tests.support.plugin import SESSION_ID

pytestmark = [pytest.mark.infra, pytest.mark.timeout(600)]
PREFIX = f"w{SESSION_ID[:6]}"
PUSAT = f"{PREFIX}-pusat"
LOGS = Path(__file__).resolve().parents[2] / "test-artifacts" / "logs"
PASSWORD = "kata-sandi-stasiun-1"
KECAMATAN, DESA = "17.02.09", "17.02.09.1012"  # served by the fallback station PUSAT


@pytest.fixture(scope="module")
def station_web(start_service: Any, infra_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[dict[str, Any]]:
    stations = write_stations(tmp_path_factory.mktemp("stations") / "stations.csv", PREFIX)
    env = {**infra_env, **stations}
    key = cli(env, "-m", "shared.offices", "office", "web-key", "--id", f"aplikasi-web-{PREFIX}").stdout.split()[-1]
    assert cli(env, "-m", "shared.offices", "office", "create", "--id", PUSAT, "--name", "Stasiun pusat", "--role",
               Role.PRINT_STATION.value, "--kecamatan", "17.02.09").returncode == 0
    operator = f"operator{uuid.uuid4().hex[:6]}"
    dinas_office = f"dinas-{PREFIX}"
    assert cli(env, "-m", "shared.offices", "office", "create", "--id", dinas_office, "--name", "Dinas", "--role",
               Role.DINAS_ADMIN.value).returncode == 0
    made = cli(env, "-m", "services.web.users", "create", "--username", operator, "--name", "Operator Cetak",
               "--office", PUSAT, "--password-stdin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    skip_print_requests_left_unconsumed(env["EKTP_KAFKA_BOOTSTRAP"])
    started: dict[str, Any] = {"inventory": start_service("inventory", **stations),
                               "printing": start_service("printing", **stations, EKTP_PRINTING_SWEEP_SECONDS="1")}
    urls = {name: started[name].url for name in ("printing", "inventory")}
    started["web"] = start_service("web", EKTP_WEB_SERVICE_KEY=key, EKTP_WEB_SERVICE_URLS=json.dumps(urls), **stations)
    spool = tmp_path_factory.mktemp("spool")
    started["station"] = station_process(PUSAT, {**env, "EKTP_PRINTING_SPOOL_DIR": str(spool)},
                                         LOGS / f"station-{SESSION_ID}-{PUSAT}.log").start()
    started["operator"] = operator
    started["bootstrap"] = env["EKTP_KAFKA_BOOTSTRAP"]
    kec_office = f"kec-{PREFIX}"
    assert cli(env, "-m", "shared.offices", "office", "create", "--id", kec_office, "--name", "Kecamatan", "--role",
               Role.KECAMATAN_OFFICE.value, "--kecamatan", KECAMATAN).returncode == 0
    assert cli(env, "-m", "services.web.users", "create", "--username", f"clerk{operator[-6:]}", "--name", "Petugas",
               "--office", kec_office, "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    for person in ("kabid", "kasi"):
        assert cli(env, "-m", "services.web.users", "create", "--username", f"{person}{operator[-6:]}", "--name",
                   person.title(), "--office", dinas_office, "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    yield started
    for name in ("station", "web", "printing", "inventory"):
        started[name].stop()


async def printed_at_pusat(producer: Any, db: Any, resident_id: str, *, timeout: float = 120.0) -> None:
    """Blangko for every card waiting at PUSAT until the resident's card is printed: the session's other modules
    queue cards there too (it is the fallback station), cards they sent earlier may still be arriving, and the
    queue prints by priority, not in the order this module sent them."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        job = await db["print_jobs"].find_one({"resident_id": resident_id})
        if job is not None and job["status"] not in WAITING:
            return
        waiting = await db["print_jobs"].count_documents({"station_id": PUSAT, "status": {"$in": WAITING}})
        await send_stock(producer, receipt(PUSAT, waiting + 2), PUSAT)
        await asyncio.sleep(5)
    raise AssertionError(f"the card was not printed at {PUSAT} within {timeout:.0f} s")


WAITING = ["menunggu_blangko", "siap_cetak"]


async def _rows(page: Any, table: str) -> list[str]:
    return list(await page.locator(f"#{table} tbody tr[data-job]").evaluate_all(
        "rows => rows.map(row => row.getAttribute('data-job'))"))


async def test_the_station_page_shows_its_queue_and_a_printed_card_moves_to_printed(
    station_web: dict[str, Any], context: Any, kafka_producer: Any, mongo_db: Any,
) -> None:
    request = print_request(lansia=True)
    await send_print_request(kafka_producer, request)
    resident = request.payload.resident_id

    async def job_id() -> str | None:
        doc = await mongo_db["print_jobs"].find_one({"resident_id": resident})
        return None if doc is None else str(doc["_id"])

    job = await eventually(job_id, lambda found: found is not None, timeout=60)
    base, page = station_web["web"].url, await context.new_page()
    await sign_in(page, base, station_web["operator"], PASSWORD)
    await page.goto(f"{base}/stasiun")
    assert page.url.endswith(f"/stasiun/{PUSAT}")
    assert job in await _rows(page, "antrean")
    row = await page.text_content(f"#antrean tr[data-job='{job}']") or ""
    assert any(name in row for name in PRIORITY_NAMES.values()) and "menunggu blangko" in row, row
    await shot(page, "stasiun-antrean")

    await printed_at_pusat(kafka_producer, mongo_db, resident)

    async def printed() -> list[str]:
        await page.goto(f"{base}/stasiun/{PUSAT}")
        return await _rows(page, "dicetak")

    await eventually(printed, lambda jobs: job in jobs, timeout=90, interval=1)

    async def queued() -> list[str]:
        await page.goto(f"{base}/stasiun/{PUSAT}")
        return await _rows(page, "antrean")

    await eventually(queued, lambda jobs: jobs == [], timeout=90, interval=1)  # every card printed: stock settles
    on_hand = int((await page.text_content("#blangko-ada") or "0").replace(".", ""))
    await shot(page, "stasiun-dicetak")

    await page.click(f"#dicetak tr[data-job='{job}'] button")
    await page.wait_for_load_state()
    assert "diserahkan" in (await page.text_content("#pesan") or "")
    await eventually(lambda: mongo_db["print_jobs"].find_one({"_id": job}),  # once printing applied its event
                     lambda doc: doc["status"] == "diserahkan", timeout=30)

    await page.select_option("select[name=reason]", "laminasi_terkelupas")
    await page.click("form[action$='/rusak'] button")
    await page.wait_for_load_state()
    assert "Blangko rusak dicatat" in (await page.text_content("#pesan") or "")

    async def stock_now() -> int:
        await page.goto(f"{base}/stasiun/{PUSAT}")
        return int((await page.text_content("#blangko-ada") or "0").replace(".", ""))

    await eventually(stock_now, lambda n: n == on_hand - 1, timeout=30, interval=0.5)


async def test_the_api_pages_of_printing_and_inventory_render_offline(station_web: dict[str, Any], context: Any) -> None:
    for name in ("printing", "inventory"):
        assert await docs_render(context, station_web[name].url) >= 3, name


async def _on_hand(page: Any, base: str, location: str) -> int:
    await page.goto(f"{base}/dinas/blangko")
    return int((await page.text_content(f"#lokasi tr[data-lokasi='{location}'] td.ada") or "0").replace(".", ""))


async def test_the_dinas_receives_sends_and_counts_blangko_with_a_second_person_approving(
    station_web: dict[str, Any], context: Any,
) -> None:
    base, suffix = station_web["web"].url, station_web["operator"][-6:]
    kabid = await context.new_page()  # one browser profile: one person signed in at a time
    await sign_in(kabid, base, f"kabid{suffix}", PASSWORD)
    before = await _on_hand(kabid, base, "gudang")

    await kabid.fill("#form-terima input[name=quantity]", "100")
    await kabid.fill("#form-terima input[name=document_no]", f"BA/PROV/{uuid.uuid4().hex[:8]}")
    await kabid.click("#form-terima button")
    await kabid.wait_for_load_state()
    assert "Penerimaan blangko dicatat" in (await kabid.text_content("#pesan") or "")
    assert await _on_hand(kabid, base, "gudang") == before + 100

    await kabid.select_option("#form-kirim select[name=to_location]", PUSAT)
    await kabid.fill("#form-kirim input[name=quantity]", "10")
    await kabid.click("#form-kirim button")
    await kabid.wait_for_load_state()
    assert "Pengiriman blangko dicatat" in (await kabid.text_content("#pesan") or "")
    counted = await _on_hand(kabid, base, "gudang") - 1

    await kabid.fill("#form-hitung input[name=counted]", str(counted))
    await kabid.fill("#form-hitung input[name=reason]", "satu blangko hilang saat opname")
    await kabid.click("#form-hitung button")
    await kabid.wait_for_load_state()
    assert "menunggu persetujuan orang kedua" in (await kabid.text_content("#pesan") or "")
    waiting = kabid.locator("#hitungan tr[data-hitungan]").last
    assert f"kabid{suffix}" in (await waiting.text_content() or "")
    await shot(kabid, "dinas-blangko")
    await waiting.locator("input[name=approved_by]").fill("Kabid Dafduk")
    await waiting.locator("button").click()
    await kabid.wait_for_load_state()
    assert "empat mata" in (await kabid.text_content("#pesan") or ""), await kabid.content()

    kasi = kabid
    await sign_in(kasi, base, f"kasi{suffix}", PASSWORD)
    await kasi.goto(f"{base}/dinas/blangko")
    row = kasi.locator("#hitungan tr[data-hitungan]").last
    await row.locator("input[name=approved_by]").fill("Kasi Pendataan")
    await row.locator("button").click()
    await kasi.wait_for_load_state()
    assert "disetujui" in (await kasi.text_content("#pesan") or "")
    assert await eventually(lambda: _on_hand(kasi, base, "gudang"), lambda n: n == counted, timeout=30, interval=0.5)

    await kasi.fill("#form-usulan input[name=letter_no]", f"470/{uuid.uuid4().hex[:6]}/Dukcapil")
    await kasi.fill("#form-usulan input[name=quantity]", "500")
    await kasi.click("#form-usulan button")
    await kasi.wait_for_load_state()
    assert "Usulan ke provinsi dikirim" in (await kasi.text_content("#pesan") or "")


async def test_students_cards_go_to_their_school_together_and_the_clerk_records_the_schools_receipt(
    station_web: dict[str, Any], context: Any, kafka_producer: Any, mongo_db: Any,
) -> None:
    import random

    from shared.topics import RESIDENT, ConsumerGroup, group_id
    from tests.integration.helpers import enrolled_event, wait_caught_up

    npsn = f"{random.Random().randrange(10_000_000, 99_999_999)}"
    student = enrolled_event(random.Random(), kecamatan=KECAMATAN, desa=DESA, school=npsn)
    rid = student.payload.resident_id
    await kafka_producer.send_and_wait(RESIDENT.name, student.model_dump_json().encode(), key=rid.encode())
    # Printing learns the student's school from the resident topic, read apart from the print requests.
    await wait_caught_up(station_web["bootstrap"], group_id(f"{ConsumerGroup.PRINTING_QUEUE}-residents"), RESIDENT.name,
                         timeout=120)
    await send_print_request(kafka_producer, print_request(kecamatan=KECAMATAN, desa=DESA, resident=rid))
    await eventually(lambda: mongo_db["print_jobs"].find_one({"resident_id": rid}), lambda doc: doc is not None,
                     timeout=60)
    await printed_at_pusat(kafka_producer, mongo_db, rid)
    base, suffix = station_web["web"].url, station_web["operator"][-6:]
    page = await context.new_page()
    await sign_in(page, base, station_web["operator"], PASSWORD)

    async def school_row() -> int:
        await page.goto(f"{base}/stasiun/{PUSAT}")
        return await page.locator(f"#ke-sekolah tr[data-sekolah='{npsn}']").count()

    await eventually(school_row, lambda n: n == 1, timeout=90, interval=1)
    await page.click(f"#ke-sekolah tr[data-sekolah='{npsn}'] button")
    await page.wait_for_load_state()
    assert "menunggu tanda terima" in (await page.text_content("#pesan") or "")

    clerk = await context.new_page()
    await sign_in(clerk, base, f"clerk{suffix}", PASSWORD)

    async def waiting() -> int:
        await clerk.goto(f"{base}/serah-sekolah")
        return await clerk.locator("#kiriman tr[data-kiriman]", has_text=npsn).count()

    await eventually(waiting, lambda n: n == 1, timeout=30, interval=0.5)
    await shot(clerk, "tanda-terima-sekolah")
    row = clerk.locator("#kiriman tr[data-kiriman]", has_text=npsn)
    await row.locator("input[name=received_by]").fill("Kepala Sekolah")
    await row.locator("button").click()
    await clerk.wait_for_load_state()
    assert "Tanda terima sekolah dicatat" in (await clerk.text_content("#pesan") or "")
    job = await mongo_db["print_jobs"].find_one({"resident_id": rid})
    assert await eventually(lambda: mongo_db["print_jobs"].find_one({"_id": job["_id"]}),
                            lambda doc: doc["status"] == "diterima_sekolah", timeout=30)

"""The web app in Debian's Chromium (Playwright), against intake, coverage and the web app started as
`make run` starts them: a clerk registers a resident with the NIK checked while typing, the dinas
sees who did it, and every refusal (another kecamatan, another role, a form without its CSRF token,
an idle session, ten wrong passwords) is a page in Indonesian. Screenshots go to test-artifacts/web/."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.contracts import Role
from tests.integration.helpers import create_office_key, eventually, running
from tests.integration.web_helpers import cli, shot, sign_in

pytestmark = [pytest.mark.infra, pytest.mark.timeout(600)]

A, B = "17.02.06", "17.02.10"
DESA_A = "17.02.06.2001"
PASSWORDS = {"siti": "kata-sandi-siti-1", "budi": "kata-sandi-budi-1", "tono": "kata-sandi-tono-1",
             "admin": "kata-sandi-admin-1", "rina": "kata-sandi-rina-1"}
OFFICES = {"siti": ("kec-a", Role.KECAMATAN_OFFICE, A), "budi": ("kec-b", Role.KECAMATAN_OFFICE, B),
           "tono": ("tim-a", Role.FIELD_TEAM, A), "admin": ("dinas", Role.DINAS_ADMIN, None),
           "rina": ("kec-a", Role.KECAMATAN_OFFICE, A)}
# A NIK of kecamatan 17.02.06 for a woman born 5 July 2007 (day + 40), made up.
NIK = "1702064507079931"


@pytest.fixture(scope="module")
def web_env(infra_env: dict[str, str]) -> dict[str, str]:
    """Offices, the web app's key (the same CLI `make run`'s setup uses) and one account per person."""
    import uuid

    run = uuid.uuid4().hex[:6]
    env = dict(infra_env)
    made = cli(env, "-m", "shared.offices", "office", "web-key", "--id", f"aplikasi-web-{run}")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    for username, (office, role, kecamatan) in OFFICES.items():
        office_id = f"{office}-{run}"
        args = ["-m", "shared.offices", "office", "create", "--id", office_id, "--name", office, "--role", role.value]
        assert cli(env, *args, *(["--kecamatan", kecamatan] if kecamatan else [])).returncode == 0
        created = cli(env, "-m", "services.web.users", "create", "--username", f"{username}{run}", "--name",
                       username.title(), "--office", office_id, "--password-stdin", stdin=PASSWORDS[username] + "\n")
        assert created.returncode == 0, created.stderr
    return {"EKTP_WEB_SERVICE_KEY": key, "run": run}


@pytest.fixture(scope="module")
def services(start_service: Any, web_env: dict[str, str]) -> Iterator[dict[str, Any]]:
    yield from _with_web(start_service, web_env)


def _with_web(start_service: Any, web_env: dict[str, str], **web_extra: str) -> Iterator[dict[str, Any]]:
    for started in running(start_service, "intake", "coverage"):
        urls = {"intake": started["intake"].url, "coverage": started["coverage"].url}
        web = start_service("web", EKTP_WEB_SERVICE_KEY=web_env["EKTP_WEB_SERVICE_KEY"],
                            EKTP_WEB_SERVICE_URLS=json.dumps(urls), **web_extra)
        yield {**started, "web": web}
        web.stop()


def user(name: str, web_env: dict[str, str]) -> str:
    return f"{name}{web_env['run']}"


async def desa_registered(page: Any, base: str, desa: str) -> int:
    await page.goto(f"{base}/kecamatan/{A}")
    text = await page.text_content(f"tr[data-desa='{desa}'] td.terdaftar")
    return int((text or "0").replace(".", ""))


async def test_a_clerk_registers_a_resident_with_the_nik_checked_while_typing_and_the_audit_names_her(
    services: dict[str, Any], web_env: dict[str, str], context: Any, mongo_db: Any,
) -> None:
    base, page = services["web"].url, await context.new_page()
    siti = user("siti", web_env)
    await sign_in(page, base, siti, PASSWORDS["siti"])
    assert page.url.endswith("/beranda")
    await shot(page, "beranda-petugas-kecamatan")
    before = await desa_registered(page, base, DESA_A)
    await shot(page, "kecamatan")

    await page.goto(f"{base}/penduduk/baru")
    await page.fill("#nik", NIK)
    await page.check("input[name=sex][value=P]")
    await page.fill("#birth_date", "2007-07-06")
    reason = page.locator("#alasan-birth_date")
    await reason.filter(has_text="tidak cocok").wait_for(timeout=10_000)
    assert "tanggal lahir tidak cocok dengan digit 7-12 NIK" in (await reason.text_content() or "")
    await shot(page, "daftar-penduduk-nik-salah")
    await page.fill("#birth_date", "2007-07-05")
    await page.locator("#wilayah-nik").filter(has_text="Rejang Lebong").wait_for(timeout=10_000)
    assert (await reason.text_content() or "").strip() == ""
    await page.fill("#name", "Penduduk Sintetis Web")
    await page.select_option("#desa_code", DESA_A)
    await page.click("#simpan")
    await page.wait_for_load_state()
    assert "Pendaftaran diterima" in (await page.text_content("#pesan") or ""), await page.content()
    resident_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    assert re.fullmatch(r"r[0-9a-f]{32}", resident_id)
    await shot(page, "penduduk-terdaftar")

    await eventually(lambda: desa_registered(page, base, DESA_A), lambda n: n == before + 1, timeout=60, interval=1)

    await page.click("#keluar")
    await page.wait_for_load_state()
    assert page.url.endswith("/masuk")
    await page.goto(f"{base}/beranda")
    assert page.url.endswith("/masuk"), "the session outlived its logout"

    admin = await context.new_page()
    await sign_in(admin, base, user("admin", web_env), PASSWORDS["admin"])
    await admin.goto(f"{base}/dinas/audit?pengguna={siti}")
    rows = await admin.locator("#audit tbody tr").all_inner_texts()
    assert any("daftar_penduduk" in row and resident_id in row and "diterima" in row for row in rows), rows
    assert any("baca_penduduk" in row and resident_id in row for row in rows), rows
    await shot(admin, "log-audit")
    await admin.goto(f"{base}/dinas/akun")
    await shot(admin, "akun")
    await admin.goto(f"{base}/kecamatan")
    await shot(admin, "cakupan-kabupaten")

    intake_audit = await _intake_reads_of(services["intake"].url, mongo_db, resident_id)
    assert any(read["petugas"] == siti for read in intake_audit), intake_audit


async def _intake_reads_of(intake: str, db: Any, resident_id: str) -> list[dict[str, Any]]:
    key = await create_office_key(db, role=Role.DINAS_ADMIN)
    async with httpx.AsyncClient(base_url=intake, headers={"X-API-Key": key}) as client:
        answer = await client.get("/audit/pembacaan", params={"resident_id": resident_id})
    assert answer.status_code == 200, answer.text
    reads: list[dict[str, Any]] = answer.json()["pembacaan"]
    return reads


async def test_every_refusal_is_a_page_in_indonesian(
    services: dict[str, Any], web_env: dict[str, str], context: Any,
) -> None:
    base, page = services["web"].url, await context.new_page()
    await sign_in(page, base, user("siti", web_env), PASSWORDS["siti"])
    answer = await page.goto(f"{base}/kecamatan/{B}")
    assert answer.status == 403
    assert "hanya untuk petugas kecamatan itu" in (await page.text_content("#pesan") or "")
    await shot(page, "ditolak-kecamatan-lain")

    registered_in_b = await _register_in(services, web_env, "budi", B)
    answer = await page.goto(f"{base}/penduduk/{registered_in_b}")
    assert answer.status == 403, await page.content()

    forged = await page.request.post(f"{base}/penduduk/baru", form={"nik": NIK, "name": "Tanpa Token"},
                                     max_redirects=0)
    assert forged.status == 403 and "token keamanan" in await forged.text()

    field_team = await context.new_page()
    await sign_in(field_team, base, user("tono", web_env), PASSWORDS["tono"])
    answer = await field_team.goto(f"{base}/dinas/audit")
    assert answer.status == 403 and "bukan untuk peran Anda" in (await field_team.text_content("#pesan") or "")
    answer = await field_team.goto(f"{base}/penduduk/baru")
    assert answer.status == 403


async def _register_in(services: dict[str, Any], web_env: dict[str, str], clerk: str, kecamatan: str,
                       **fields: str) -> str:
    """A resident registered through the web app's form by `clerk`'s office; returns the pseudonym."""
    async with httpx.AsyncClient(base_url=services["web"].url, follow_redirects=False) as client:
        login = await client.get("/masuk")
        token = re.search(r'name="csrf" value="([^"]+)"', login.text)
        assert token
        signed = await client.post("/masuk", data={"csrf": token.group(1), "username": user(clerk, web_env),
                                                   "password": PASSWORDS[clerk]})
        assert signed.status_code == 303, signed.text
        form = await client.get("/penduduk/baru")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf
        data = {"nik": f"{kecamatan.replace('.', '')}1203089{len(clerk)}21", "name": "Warga B", "sex": "L",
                "birth_date": "2008-03-12", "marital_status": "belum_kawin", "desa_code": f"{kecamatan}.2001", **fields}
        posted = await client.post("/penduduk/baru", data={"csrf": csrf.group(1), **data})
        assert posted.status_code == 303, posted.text[-1500:]
        return posted.headers["location"].split("/")[-1].split("?")[0]


async def test_ten_wrong_passwords_lock_the_account(services: dict[str, Any], web_env: dict[str, str],
                                                    context: Any) -> None:
    base, page = services["web"].url, await context.new_page()
    rina = user("rina", web_env)
    for attempt in range(10):
        await sign_in(page, base, rina, f"salah-{attempt}-sekali")
    assert "terkunci" in (await page.text_content("#pesan") or "")
    await sign_in(page, base, rina, PASSWORDS["rina"])
    assert page.url.endswith("/masuk") and "terkunci" in (await page.text_content("#pesan") or "")
    await shot(page, "akun-terkunci")


@pytest.fixture(scope="module")
def hasty_web(start_service: Any, services: dict[str, Any], web_env: dict[str, str]) -> Iterator[Any]:
    """A second web app whose sessions end after 3 idle seconds."""
    urls = {"intake": services["intake"].url, "coverage": services["coverage"].url}
    web = start_service("web", EKTP_WEB_SERVICE_KEY=web_env["EKTP_WEB_SERVICE_KEY"],
                        EKTP_WEB_SERVICE_URLS=json.dumps(urls), EKTP_WEB_IDLE_MINUTES="0.05")
    yield web
    web.stop()


async def test_an_idle_session_goes_back_to_the_login_page(hasty_web: Any, web_env: dict[str, str],
                                                           context: Any) -> None:
    import asyncio

    page = await context.new_page()
    await sign_in(page, hasty_web.url, user("siti", web_env), PASSWORDS["siti"])
    assert page.url.endswith("/beranda")
    await asyncio.sleep(4)
    await page.goto(f"{hasty_web.url}/penduduk/baru")
    assert "/masuk" in page.url
    assert "Sesi berakhir" in await page.content()


async def test_the_web_apps_key_alone_acts_for_no_one(services: dict[str, Any], web_env: dict[str, str]) -> None:
    """The on-behalf key needs the office and the person; it never names itself or an unknown office."""
    key = web_env["EKTP_WEB_SERVICE_KEY"]
    async with httpx.AsyncClient(base_url=services["intake"].url, headers={"X-API-Key": key}) as client:
        bare = await client.post("/residents/periksa", json={"nik": NIK})
        assert bare.status_code == 401 and "X-Atas-Nama-Kantor" in bare.json()["detail"]
        unknown = await client.post("/residents/periksa", json={"nik": NIK},
                                    headers={"X-Atas-Nama-Kantor": "tidak-ada", "X-Petugas": "siti"})
        assert unknown.status_code == 403
        itself = await client.post("/residents/periksa", json={"nik": NIK}, headers={
            "X-Atas-Nama-Kantor": f"aplikasi-web-{web_env['run']}", "X-Petugas": "siti"})
        assert itself.status_code == 403
        acted = await client.post("/residents/periksa", json={"nik": NIK}, headers={
            "X-Atas-Nama-Kantor": f"kec-a-{web_env['run']}", "X-Petugas": "siti"})
        assert acted.status_code == 200 and acted.json()["sah"] is True, acted.text


def _nik(kecamatan: str, born: str, sex: str, serial: int) -> str:
    year, month, day = born.split("-")
    return f"{kecamatan.replace('.', '')}{int(day) + (40 if sex == 'P' else 0):02d}{month}{year[2:]}{serial:04d}"


def _workbook(rows: list[list[object]]) -> bytes:
    import datetime as dt
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Daftar peserta didik kelas XII (ekspor Dapodik)"])
    sheet.append(["NIK", "Nama", "JK", "Tanggal Lahir", "Kecamatan", "Desa", "NPSN", "Nama Sekolah"])
    for row in rows:
        sheet.append([dt.date.fromisoformat(str(c)) if i == 3 else c for i, c in enumerate(row)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_a_clerk_uploads_an_excel_and_a_csv_and_sees_progress_then_each_row_error(
    services: dict[str, Any], web_env: dict[str, str], context: Any,
) -> None:
    import random

    rng = random.Random()
    base, page = services["web"].url, await context.new_page()
    await sign_in(page, base, user("siti", web_env), PASSWORDS["siti"])
    serials = rng.sample(range(1000, 9999), 4)
    as_number = int(_nik(A, "2009-02-03", "L", serials[0]))
    as_text = _nik(A, "2009-04-05", "P", serials[1])
    workbook = _workbook([[as_number, "Siswa Angka", "L", "2009-02-03", A, DESA_A, "10700123", "SMA Sintetis"],
                          [as_text, "Siswa Teks", "P", "2009-04-05", A, DESA_A, "10700123", "SMA Sintetis"]])
    await page.goto(f"{base}/impor")
    await page.check("input[name=jenis][value=dapodik]")
    await page.set_input_files("#file", files=[{"name": "dapodik.xlsx", "buffer": workbook, "mimeType":
                                                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    await shot(page, "impor-file")
    await page.click("#unggah")
    await page.wait_for_url(re.compile(r"/impor/[^/]+$"))
    await page.locator("#kemajuan[data-status=selesai]").wait_for(timeout=60_000)
    assert (await page.text_content("#diimpor") or "").strip() == "2", await page.content()
    await shot(page, "impor-selesai")

    good = _nik(A, "2009-06-07", "L", serials[2])
    text = ("NIK;Nama;JK;Tanggal Lahir;Kecamatan;Desa\n"
            f"{good};Baris Baik;L;07/06/2009;{A};{DESA_A}\n"
            f"{_nik(A, '2009-06-07', 'L', serials[3])};Tanggal Salah;L;08/06/2009;{A};{DESA_A}\n"
            f"12345;NIK Pendek;L;07/06/2009;{A};{DESA_A}\n"
            f"{_nik(A, '2009-06-07', 'P', serials[3])};Desa Tidak Ada;P;07/06/2009;{A};Desa Antah Berantah\n")
    await page.goto(f"{base}/impor")
    await page.check("input[name=jenis][value=penduduk]")
    await page.set_input_files("#file", files=[{"name": "penduduk.csv", "buffer": text.encode(), "mimeType": "text/csv"}])
    await page.click("#unggah")
    await page.wait_for_url(re.compile(r"/impor/[^/]+$"))
    await page.locator("#kemajuan[data-status=selesai]").wait_for(timeout=60_000)
    rows = [row.split("\t") for row in await page.locator("#kesalahan tbody tr").all_inner_texts()]
    by_line = {int(row[0]): (row[1], row[2]) for row in rows}
    assert set(by_line) == {3, 4, 5}, rows
    assert by_line[3][0] == "Tanggal Lahir" and "tidak cocok" in by_line[3][1]
    assert by_line[4][0] == "NIK" and "16" in by_line[4][1]
    assert by_line[5][0].startswith("Desa") and by_line[5][1]
    await shot(page, "impor-kesalahan")
    download = await page.request.get(base + (await page.locator("#unduh-kesalahan").get_attribute("href") or ""))
    assert download.ok and "text/csv" in download.headers["content-type"]
    lines = (await download.text()).lstrip("\ufeff").splitlines()
    assert lines[0] == "baris;kolom;alasan" and len(lines) == 4, lines


async def test_a_clerk_reviews_a_possible_duplicate_corrects_marks_moved_and_lists_the_cohort(
    services: dict[str, Any], web_env: dict[str, str], context: Any,
) -> None:
    import random

    serials = random.Random().sample(range(1000, 9999), 2)
    twin = {"name": "Kembar Sintetis", "birth_date": "2010-01-15", "desa_code": "17.02.06.2002"}
    first = await _register_in(services, web_env, "siti", A, nik=_nik(A, "2010-01-15", "L", serials[0]), **twin)
    second = await _register_in(services, web_env, "siti", A, nik=_nik(A, "2010-01-15", "L", serials[1]), **twin)
    base, page = services["web"].url, await context.new_page()
    await sign_in(page, base, user("siti", web_env), PASSWORDS["siti"])

    await page.goto(f"{base}/tinjauan")
    row = page.locator(f"#tinjauan tr[data-resident='{second}']")
    assert first in (await row.inner_html()), await page.content()
    await shot(page, "tinjauan-duplikat")
    await row.locator("input[name=catatan]").fill("KK dan foto dibandingkan: kembar")
    await row.locator("button").click()
    await page.wait_for_load_state()
    assert "Tinjauan dicatat" in (await page.text_content("#pesan") or "")
    assert await page.locator(f"#tinjauan tr[data-resident='{second}'] form").count() == 0

    await page.goto(f"{base}/kohort")
    await page.fill("input[name=tanggal]", "2027-02-01")
    await page.click("form[action='/kohort'] button")
    await page.wait_for_load_state()
    names = await page.locator("#kohort tbody tr").all_inner_texts()
    assert sum("Kembar Sintetis" in row for row in names) == 2, names
    await shot(page, "wajib-ktp-per-tanggal")
    download = await page.request.get(base + (await page.locator("#unduh-kohort").get_attribute("href") or ""))
    assert download.ok and "Kembar Sintetis" in await download.text()

    await page.goto(f"{base}/penduduk/{first}/koreksi")
    assert await page.locator("#nik").get_attribute("readonly") is not None
    await page.fill("#name", "Kembar Sintetis Pertama")
    await page.fill("#reason", "salah ketik nama")
    await page.click("#simpan")
    await page.wait_for_load_state()
    assert "Koreksi diterima" in (await page.text_content("#pesan") or "")
    assert "Kembar Sintetis Pertama" in (await page.text_content("h1") or "")

    await page.goto(f"{base}/penduduk/{second}/koreksi")
    await shot(page, "koreksi-penduduk")
    await page.select_option("#form-keluar select[name=reason]", "pindah")
    await page.fill("#form-keluar input[name=effective_date]", "2026-11-30")
    await page.click("#form-keluar button")
    await page.wait_for_load_state()
    assert "ditandai keluar" in (await page.text_content("#pesan") or "")


async def test_a_resident_checks_their_ktp_status_without_seeing_a_name_and_lookups_are_limited(
    services: dict[str, Any], web_env: dict[str, str], context: Any, mongo_db: Any,
) -> None:
    import random

    nik = _nik(A, "2006-09-10", "P", random.Random().randrange(1000, 9999))
    resident = await _register_in(services, web_env, "siti", A, nik=nik, name="Warga Cek Status", sex="P",
                                  birth_date="2006-09-10")
    base, page = services["web"].url, await context.new_page()

    async def look_up(birth: str) -> str:
        await page.goto(f"{base}/cek-status")
        await page.fill("input[name=nik]", nik)
        await page.fill("input[name=tanggal_lahir]", birth)
        await page.click("#cek")
        await page.wait_for_load_state()
        found = page.locator("#hasil")
        return str(await found.get_attribute("data-tahap")) if await found.count() else ""

    assert await eventually(lambda: look_up("2006-09-10"), lambda stage: stage == "belum_rekam", timeout=30, interval=1)
    assert "Warga Cek Status" not in await page.content()
    await shot(page, "cek-status")
    assert await look_up("2006-09-11") == "tidak_ditemukan"
    for _ in range(6):
        if await look_up("2006-09-10") == "":
            break
    assert "Terlalu banyak pencarian" in (await page.text_content("#pesan") or "")

    key = await create_office_key(mongo_db, role=Role.DINAS_ADMIN)
    async with httpx.AsyncClient(base_url=services["coverage"].url, headers={"X-API-Key": key}) as coverage:
        reads = (await coverage.get("/audit/pembacaan", params={"resident_id": resident})).json()["pembacaan"]
    assert any(r["kantor"] == "publik" and r["petugas"] == "web" and r["tindakan"] == "cek_status_ktp" for r in reads)


async def test_the_dashboard_draws_its_charts_and_has_a_wall_screen_view(
    services: dict[str, Any], web_env: dict[str, str], context: Any,
) -> None:
    from services.web.formatting import MONTHS
    from shared.areas import load_areas

    base, page = services["web"].url, await context.new_page()
    await sign_in(page, base, user("admin", web_env), PASSWORDS["admin"])
    await page.goto(f"{base}/dasbor")
    for chart in ("grafik-kabupaten", "grafik-stok"):
        assert await page.locator(f"svg#{chart} polyline").count() >= 1, chart
    for chart in ("grafik-antrean", "grafik-stok-lokasi"):  # bars, or "belum ada data" before any
        assert await page.locator(f"svg#{chart} rect, svg#{chart} text.kosong").count() >= 1, chart
    assert await page.locator("svg[id^='grafik-17.02.']").count() == len(load_areas().kecamatan)
    heading = await page.text_content("h1") or ""
    assert any(month in heading for month in MONTHS), heading  # dates in Indonesian: "2 Desember 2026"
    await shot(page, "dasbor")
    await page.goto(f"{base}/dasbor?layar=1")
    assert await page.locator("header nav").count() == 0
    assert await page.locator("meta[http-equiv=refresh]").count() == 1

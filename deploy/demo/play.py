"""`make demo`: a synthetic Rejang Lebong played through the running services, with progress.

    python -m deploy.demo [--scale 1] [--weeks 3] [--seed 1702]

The roster goes in as the offices would load it (a population file per kecamatan through
POST /imports/penduduk, the senior high schools' students through POST /imports/dapodik),
earlier recordings arrive as offline uploads, then a few weeks of jemput bola are played:
three village visits and a school round a week chosen from the planner's ranking, offline
uploads of what the teams recorded, SIAK statuses a few days later, the print stations printing
what the blangko at hand allows, and a replenishment from the province arriving in week two.
Everything goes through the services' HTTP APIs; nothing is written to Kafka or MongoDB directly.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from deploy.demo.population import BLANGKO_IN_STOCK, Person, Population
from shared.clock import WIB
from shared.dates import add_years

UPLOAD_BATCH = 5000
VILLAGE_VISITS_PER_WEEK = 3
FIRST_STOCK = {"dinas-curup": 60, "kec-padang-ulak-tanding": 20}
REPLENISHMENT = {"dinas-curup": 150, "kec-padang-ulak-tanding": 50}
DEMO_NAMESPACE = uuid.UUID("5b0d8f3e-7a42-4c1e-9d6b-2e8f1a3c5d70")
WAJIB_KTP_AGE = 17
BIOMETRICS = ["foto", "sidik_jari", "iris", "tanda_tangan"]


class Progress:
    """One line per phase: a bar redrawn in place on a terminal, a line per tenth otherwise."""

    def __init__(self, label: str, total: int, *, stream: Any = None) -> None:
        self.label = label
        self.total = max(total, 1)
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.began = time.monotonic()
        self.shown_tenth = -1
        self.done = 0

    def update(self, done: int) -> None:
        self.done = min(done, self.total)
        share = self.done / self.total
        if self.tty:
            bar = "#" * int(share * 30)
            self.stream.write(f"\r  {self.label:<34} [{bar:<30}] {self.done:>9,}/{self.total:,}")
            self.stream.flush()
        elif int(share * 10) > self.shown_tenth:
            self.shown_tenth = int(share * 10)
            print(f"  {self.label:<34} {share:>4.0%}  {self.done:,}/{self.total:,}", file=self.stream, flush=True)

    def finish(self, note: str = "") -> None:
        self.update(self.total)
        if self.tty:
            self.stream.write("\n")
        print(f"  {self.label:<34} selesai dalam {time.monotonic() - self.began:.0f} s {note}".rstrip(),
              file=self.stream, flush=True)


@dataclass
class Summary:
    """What the demo did, written to demo-ringkasan.json for whoever checks the dashboard against it."""

    scale: float
    weeks: int
    seed: int
    terdaftar: int = 0
    wajib_ktp: int = 0
    direkam_sebelumnya: int = 0
    direkam_kunjungan: int = 0
    gagal_rekam: int = 0
    tidak_hadir: int = 0
    prr: int = 0
    duplikat: int = 0
    kunjungan: list[dict[str, Any]] = field(default_factory=list)
    blangko_diterima: int = 0
    blangko_ke_stasiun: dict[str, int] = field(default_factory=dict)
    dicetak: int = 0
    antre_cetak: int = 0
    seconds: float = 0.0


@dataclass
class Services:
    intake: httpx.AsyncClient
    recording: httpx.AsyncClient
    printing: httpx.AsyncClient
    inventory: httpx.AsyncClient
    coverage: httpx.AsyncClient

    async def close(self) -> None:
        for client in (self.intake, self.recording, self.printing, self.inventory, self.coverage):
            await client.aclose()


def connect(ports: dict[str, int], key: str) -> Services:
    def client(name: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[name]}", headers={"X-API-Key": key}, timeout=600)

    return Services(*(client(name) for name in ("intake", "recording", "printing", "inventory", "coverage")))


def _ok(answer: httpx.Response, *codes: int) -> Any:
    if answer.status_code not in (codes or (200, 201)):
        raise RuntimeError(f"{answer.request.method} {answer.request.url.path}: {answer.status_code} {answer.text[:500]}")
    return answer.json()


def _reasons(answer: dict[str, Any], shown: int = 3) -> str:
    """The first few reasons an upload answer gives for the items it did not take."""
    reasons = [f"{r.get('event_id')}: {r.get('alasan')}" for r in answer.get("hasil", []) if r.get("hasil") != "diterima"]
    return f"; {'; '.join(reasons[:shown])}{' ...' if len(reasons) > shown else ''}" if reasons else ""


async def _until(check: Callable[[], Awaitable[bool]], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not reached within {timeout:.0f} s")
        await asyncio.sleep(1.0)


async def applied_count(client: httpx.AsyncClient, event_type: str) -> int:
    """ektp_events_applied_total for one event type, read from a service's /metrics."""
    text = (await client.get("/metrics")).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name == "ektp_events_applied":
            total += sum(s.value for s in family.samples
                         if s.name.endswith("_total") and s.labels.get("event_type") == event_type)
    return int(total)


def recordable_from(person: Person) -> dt.date:
    """The first day a resident may be recorded, as the recording service counts it: a year before their
    17th birthday (a married resident is wajib KTP by then at the latest, so this day is never too early)."""
    return add_years(add_years(person.birth_date, WAJIB_KTP_AGE), -1)


def roster_file(people: list[Person]) -> bytes:
    """A population file as the office exports it (semicolons, day-first dates)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(["NIK", "Nama", "Jenis Kelamin", "Tanggal Lahir", "Status Perkawinan", "Disabilitas", "NPSN",
                     "Kecamatan", "Desa/Kelurahan"])
    for p in people:
        writer.writerow([p.nik, p.name, p.sex, p.birth_date.strftime("%d/%m/%Y"), p.marital_status.replace("_", " "),
                         "Ya" if p.disabilitas else "Tidak", p.school_npsn or "", p.kecamatan_code, p.desa_code])
    return out.getvalue().encode()


def roster_uploads(people: list[Person]) -> list[tuple[str, list[Person]]]:
    """How a regency's roster reaches the intake: per kecamatan, the adults as a population file and the
    students as a Dapodik file (import path, residents of the file)."""
    files: list[tuple[str, list[Person]]] = []
    for code in sorted({p.kecamatan_code for p in people}):
        adults = [p for p in people if p.kecamatan_code == code and p.school_npsn is None]
        students = [p for p in people if p.kecamatan_code == code and p.school_npsn is not None]
        files += [("/imports/penduduk", adults), ("/imports/dapodik", students)]
    return [(path, group) for path, group in files if group]


class Demo:
    def __init__(self, services: Services, population: Population, *, weeks: int, seed: int,
                 resident_id: Callable[[str], str], now: Callable[[], dt.datetime]) -> None:
        self.s = services
        self.population = population
        self.weeks = weeks
        self.rng = random.Random(seed)
        self.now = now
        self.resident_id = resident_id
        self.summary = Summary(scale=population.scale, weeks=weeks, seed=seed)
        self.usulan: str | None = None
        self.replenished = False

    async def play(self) -> Summary:
        began = time.monotonic()
        await self.load_roster()
        await self.upload_history()
        await self.first_stock()
        start = self.population.today - dt.timedelta(days=7 * self.weeks + self.population.today.weekday())
        for week in range(self.weeks):
            await self.play_week(week, start + dt.timedelta(days=7 * week))
        await self.settle()
        self.summary.seconds = round(time.monotonic() - began, 1)
        return self.summary

    async def load_roster(self) -> None:
        people = self.population.people
        self.summary.terdaftar = len(people)
        self.summary.wajib_ktp = len(self.population.adults)
        files = roster_uploads(people)
        uploads = Progress("Unggah berkas penduduk dan Dapodik", len(files))
        jobs = []
        for done, (path, group) in enumerate(files, start=1):
            if group:
                job = _ok(await self.s.intake.post(path, files={"file": ("data.csv", roster_file(group), "text/csv")}),
                          200, 202)
                if job.get("errors"):
                    raise RuntimeError(f"import refused rows: {job}")
                jobs.append(job["job_id"])
            uploads.update(done)
        uploads.finish()
        progress = Progress("Daftar penduduk (impor per kecamatan)", len(people))

        async def imported() -> bool:
            views = [_ok(await self.s.intake.get(f"/imports/{job_id}")) for job_id in jobs]
            progress.update(sum(int(v.get("processed", 0)) for v in views))
            failed = [v for v in views if v.get("status") in ("gagal", "terputus")]
            if failed:
                raise RuntimeError(f"import stopped: {failed[0]}")
            return all(v.get("status") == "selesai" for v in views)

        await _until(imported, timeout=7200, what="roster import")
        progress.finish()
        known = Progress("Perekaman menerima daftar penduduk", len(people))

        async def recording_knows_everyone() -> bool:
            count = await applied_count(self.s.recording, "resident.enrolled")
            known.update(count)
            return count >= len(people)

        await _until(recording_knows_everyone, timeout=7200, what="recording service reading the roster")
        known.finish()

    async def upload_history(self) -> None:
        """Residents recorded in earlier years: a backlog of offline uploads, dated before the demo."""
        recorded = [p for p in self.population.adults if p.recorded]
        self.summary.direkam_sebelumnya = len(recorded)
        today = self.population.today
        progress = Progress("Riwayat perekaman (unggahan offline)", len(recorded))
        for start in range(0, len(recorded), UPLOAD_BATCH):
            events = []
            for p in recorded[start:start + UPLOAD_BATCH]:
                # Recorded some time in the last eight years, but not before they could be (from 16).
                oldest = min(8 * 365, (today - recordable_from(p)).days + 1)
                day = today - dt.timedelta(days=self.rng.randrange(200, max(oldest, 201)))
                events.append(self._capture(p, dt.datetime.combine(day, dt.time(10), WIB), device="arsip-01"))
            answer = _ok(await self.s.recording.post("/batches", json={"device_id": "arsip-01", "events": events}))
            if answer["ringkasan"]["diterima"] != len(events):
                raise RuntimeError(f"history upload refused events: {answer['ringkasan']}{_reasons(answer)}")
            progress.update(start + len(events))
        progress.finish()
        applied = Progress("Perekaman memproses riwayat", len(recorded))

        async def history_applied() -> bool:
            count = await applied_count(self.s.recording, "recording.captured")
            applied.update(count)
            return count >= len(recorded)

        await _until(history_applied, timeout=7200, what="recording service applying the history")
        applied.finish()

    def _capture(self, person: Person, at: dt.datetime, *, device: str) -> dict[str, Any]:
        resident_id = self.resident_id(person.nik)
        return {"event_id": str(uuid.uuid5(DEMO_NAMESPACE, f"riwayat:{resident_id}")), "kind": "captured",
                "resident_id": resident_id, "device_id": device, "operator": "arsip-perekaman",
                "device_time": at.isoformat(), "biometrics": BIOMETRICS}

    async def first_stock(self) -> None:
        quantity = BLANGKO_IN_STOCK
        _ok(await self.s.inventory.post("/receipts", json={"quantity": quantity, "document_no": "BAST/DEMO/01"}))
        self.summary.blangko_diterima = quantity
        await self.transfer(FIRST_STOCK)
        print(f"  Blangko: {quantity:,} diterima di gudang; ke stasiun {FIRST_STOCK}", flush=True)

    async def transfer(self, quantities: dict[str, int]) -> None:
        for station, quantity in quantities.items():
            sent = _ok(await self.s.inventory.post("/transfers", json={
                "from_location": "gudang", "to_location": station, "quantity": quantity}), 201)
            _ok(await self.s.inventory.post(f"/transfers/{sent['transfer_id']}/receive"), 201)
            self.summary.blangko_ke_stasiun[station] = self.summary.blangko_ke_stasiun.get(station, 0) + quantity

    async def play_week(self, week: int, monday: dt.date) -> None:
        ranking = _ok(await self.s.coverage.get("/planner/visits", params={"minggu": 1}))["peringkat"]
        villages = [r for r in ranking if r["jenis"] == "desa"][:VILLAGE_VISITS_PER_WEEK]
        schools = [r for r in ranking if r["jenis"] == "sekolah"][:1]
        places = [(monday + dt.timedelta(days=2 * i), place) for i, place in enumerate(villages)]
        places += [(monday + dt.timedelta(days=4), school) for school in schools]
        label = f"Minggu {week + 1} ({monday:%d-%m-%Y}): {len(places)} kunjungan"
        progress = Progress(label, len(places))
        captured: list[tuple[str, dt.datetime]] = []
        for done, (day, place) in enumerate(places, start=1):
            captured += await self.visit(week, day, place)
            progress.update(done)
        progress.finish(f"({len(captured)} direkam)")
        await self.until_recorded([resident_id for resident_id, _ in captured])
        await self.report_siak(captured)
        if week == 0:
            letter = {"letter_no": "470/DEMO/USULAN/01", "quantity": sum(REPLENISHMENT.values())}
            self.usulan = _ok(await self.s.inventory.post("/replenishment", json=letter), 201)["usulan"]
            print(f"  Usulan blangko ke provinsi: {letter['quantity']} ({self.usulan})", flush=True)
        if week == 1 or (week == self.weeks - 1 and self.usulan and not self.replenished):
            quantity = sum(REPLENISHMENT.values())
            _ok(await self.s.inventory.post("/receipts", json={
                "quantity": quantity, "request_id": self.usulan, "document_no": "BAST/DEMO/02"}))
            self.summary.blangko_diterima += quantity
            await self.transfer(REPLENISHMENT)
            self.replenished = True
            print(f"  Kiriman provinsi tiba ({quantity}) dan dibagi ke stasiun {REPLENISHMENT}", flush=True)

    async def visit(self, week: int, day: dt.date, place: dict[str, Any]) -> list[tuple[str, dt.datetime]]:
        visit_id = f"demo-m{week + 1}-{place['kode']}"
        body = {"visit_id": visit_id, "date": day.isoformat(), "kind": place["jenis"], "place_code": place["kode"],
                "kecamatan_code": place["kecamatan"], "team": f"tim-{place['kecamatan']}"}
        scheduled = _ok(await self.s.recording.post("/visits", json=body), 201)
        _ok(await self.s.recording.post(f"/visits/{visit_id}/buka"))
        events: list[dict[str, Any]] = []
        captured: list[tuple[str, dt.datetime]] = []
        moment = dt.datetime.combine(day, dt.time(9), WIB)
        for i, resident_id in enumerate(scheduled["targets"]):
            at = moment + dt.timedelta(minutes=6 * i)
            roll = self.rng.random()
            common = {"event_id": str(uuid.uuid5(DEMO_NAMESPACE, f"{visit_id}:{resident_id}")),
                      "resident_id": resident_id, "visit_id": visit_id, "device_id": f"tab-{place['kecamatan']}",
                      "operator": "operator-jemput-bola", "device_time": at.isoformat()}
            if roll < 0.8:
                events.append({**common, "kind": "captured", "biometrics": BIOMETRICS})
                captured.append((resident_id, at))
            elif roll < 0.9:
                events.append({**common, "kind": "failed", "reason": "sidik jari tidak terbaca"})
                self.summary.gagal_rekam += 1
            else:
                events.append({**common, "kind": "absent"})
                self.summary.tidak_hadir += 1
        if events:
            answer = _ok(await self.s.recording.post("/batches", json={"device_id": common["device_id"],
                                                                        "events": events}))
            if answer["ringkasan"]["diterima"] != len(events):
                raise RuntimeError(f"visit upload refused events: {answer['ringkasan']}{_reasons(answer)}")
        _ok(await self.s.recording.post(f"/visits/{visit_id}/tutup"))
        self.summary.direkam_kunjungan += len(captured)
        self.summary.kunjungan.append({"kunjungan": visit_id, "tanggal": day.isoformat(), "jenis": place["jenis"],
                                       "tempat": place["nama"], "target": len(scheduled["targets"]),
                                       "direkam": len(captured)})
        return captured

    async def until_recorded(self, resident_ids: list[str]) -> None:
        """The recording service has applied the week's uploads, so next week's visits draw other residents."""
        async def all_recorded() -> bool:
            answers = await asyncio.gather(*(self.s.recording.get(f"/residents/{r}/status") for r in resident_ids))
            return all(a.status_code == 200 and a.json()["stage"] != "belum_rekam" for a in answers)

        await _until(all_recorded, timeout=600, what="recording service applying the week's uploads")

    async def report_siak(self, captured: list[tuple[str, dt.datetime]]) -> None:
        """SIAK answers a few days after each recording: mostly PRR, some duplicate records."""
        latest = self.now() - dt.timedelta(minutes=5)
        updates = []
        for resident_id, at in captured:
            roll = self.rng.random()
            if roll < 0.9:
                status = "PRR"
                self.summary.prr += 1
            elif roll < 0.95:
                status = "DUPLICATE_RECORD"
                self.summary.duplikat += 1
            else:
                continue
            when = min(at + dt.timedelta(days=3), latest)
            updates.append({"resident_id": resident_id, "status": status, "status_at": when.isoformat()})
        if updates:
            answer = _ok(await self.s.recording.post("/siak/status", json={"updates": updates}))
            if answer["diterima"] != len(updates):
                raise RuntimeError(f"SIAK statuses refused: {answer}")

    async def settle(self) -> None:
        """Wait until every PRR is a job at its station and each station printed what its own blangko allow
        (a station prints only its kecamatan's cards), then until coverage shows it."""
        async def all_queued() -> bool:
            return await applied_count(self.s.printing, "print.job_queued") >= self.summary.prr

        await _until(all_queued, timeout=600, what="printing queueing the print requests")

        async def printable() -> tuple[int, list[dict[str, Any]]]:
            """Cards the stations' blangko allow: those printed so far (the inventory's blangko used) and
            those still waiting. Read again at every look: a card printed between the two reads counts in
            both, which one look at the start would have kept as a card that never comes."""
            stations = _ok(await self.s.printing.get("/stations"))
            used = {v["lokasi"]: int(v["terpakai"]) for v in _ok(await self.s.inventory.get("/locations"))}
            return sum(min(self.summary.blangko_ke_stasiun.get(s["stasiun"], 0),
                           used.get(s["stasiun"], 0) + int(s["siap_cetak"]) + int(s["menunggu_blangko"]))
                       for s in stations), stations

        progress = Progress("Stasiun cetak mencetak", (await printable())[0])

        async def printed() -> bool:
            count = await applied_count(self.s.printing, "print.printed")
            expected, stations = await printable()
            progress.total = max(expected, 1)
            progress.update(count)
            idle = all(s["siap_cetak"] == 0 and s["permintaan_blangko"] is None
                       and (s["menunggu_blangko"] == 0 or s["menunggu_kiriman_stok"])
                       for s in stations)
            return count >= expected and idle

        await _until(printed, timeout=1800, what="printing")
        progress.finish()
        self.summary.dicetak = await applied_count(self.s.printing, "print.printed")
        self.summary.antre_cetak = self.summary.prr - self.summary.dicetak
        direkam = self.summary.direkam_sebelumnya + self.summary.direkam_kunjungan
        target = (self.summary.terdaftar, direkam, self.summary.prr, self.summary.dicetak)
        shown = Progress("Dasbor cakupan menyusul", sum(target))

        async def coverage_caught_up() -> bool:
            kab = _ok(await self.s.coverage.get("/coverage"))["kabupaten"]
            seen = (int(kab["terdaftar"]), int(kab["direkam"]), int(kab["prr"]), int(kab["dicetak"]))
            shown.update(sum(min(a, b) for a, b in zip(seen, target, strict=True)))
            return seen == target

        await _until(coverage_caught_up, timeout=3600, what="coverage read model")
        shown.finish()


def print_summary(summary: Summary, ports: dict[str, int], prometheus_port: int, path: Path) -> None:
    s = summary
    print("\nDemo selesai: Kabupaten Rejang Lebong sintetis", flush=True)
    print(f"  terdaftar {s.terdaftar:,}, wajib KTP {s.wajib_ktp:,}; direkam sebelumnya {s.direkam_sebelumnya:,}, "
          f"direkam dalam {len(s.kunjungan)} kunjungan {s.direkam_kunjungan:,} (gagal {s.gagal_rekam}, "
          f"tidak hadir {s.tidak_hadir})")
    print(f"  PRR {s.prr:,}, duplikat {s.duplikat}; dicetak {s.dicetak:,}, menunggu blangko {s.antre_cetak:,}; "
          f"blangko ke stasiun {sum(s.blangko_ke_stasiun.values()):,}")
    print(f"  Lihat: dasbor http://127.0.0.1:{ports['coverage']}/dasbor   "
          f"Prometheus http://127.0.0.1:{prometheus_port}/graph?g0.expr=ektp_recordings_total")
    print(f"  Ringkasan: {path}  ({s.seconds:.0f} s)", flush=True)


def write_summary(summary: Summary, path: Path) -> None:
    path.write_text(json.dumps(asdict(summary), indent=2, ensure_ascii=False) + "\n")

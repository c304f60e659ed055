"""Print policy, routing, settings, the card proof PDF, the printer adapters and the worker's restart path."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.printing import policy
from services.printing.config import PrintingSettings
from services.printing.domain import PrintJob
from services.printing.printers import CupsPrinter, PrinterUnavailable, SpoolPdfPrinter
from services.printing.proof import CardProof, render_pdf
from services.printing.routing import station_for
from services.printing.station import StationWorker
from services.printing.store import job_from_document
from shared.contracts import Actor, Role
from shared.contracts.printing import CardPrinted, JobAttempt, JobDispatched, PrintReason, PriorityClass
from shared.stations import load_stations

TARGET = dt.date(2029, 2, 14)
PROOF = CardProof(job_id="job-abc", attempt=1, station_id="dinas-curup", resident_id="r" + "0" * 32,
                  kecamatan="Curup (Tengah)", desa="Talang Rimbo Baru", reason="pertama", printed_on="01-02-2025 09:00 WIB")


@pytest.mark.parametrize(("reason", "wajib", "lansia", "disabilitas", "expected"), [
    (PrintReason.PERTAMA, dt.date(2025, 1, 1), False, False, PriorityClass.PEMILIH_PEMULA),
    (PrintReason.PERTAMA, TARGET, False, False, PriorityClass.PEMILIH_PEMULA),
    (PrintReason.PERTAMA, None, False, False, PriorityClass.PEMILIH_PEMULA),
    (PrintReason.PERTAMA, dt.date(1950, 1, 1), True, False, PriorityClass.PEMILIH_PEMULA),
    (PrintReason.HILANG, dt.date(1950, 1, 1), True, False, PriorityClass.LANSIA_DISABILITAS),
    (PrintReason.RUSAK, dt.date(2000, 1, 1), False, True, PriorityClass.LANSIA_DISABILITAS),
    (PrintReason.PERTAMA, TARGET + dt.timedelta(days=1), False, False, PriorityClass.PERTAMA_LAINNYA),
    (PrintReason.PERUBAHAN_DATA, dt.date(2000, 1, 1), False, False, PriorityClass.CETAK_ULANG),
])
def test_priority_classes(reason: PrintReason, wajib: dt.date | None, lansia: bool, disabilitas: bool,
                          expected: PriorityClass) -> None:
    assert policy.classify(reason=reason, wajib_ktp_from=wajib, lansia=lansia, disabilitas=disabilitas,
                           voter_target_date=TARGET) == expected


def test_priority_order_comes_from_settings_and_must_name_every_class(monkeypatch: pytest.MonkeyPatch) -> None:
    assert PrintingSettings().priority_order == policy.DEFAULT_ORDER
    monkeypatch.setenv("EKTP_PRINTING_PRIORITY_ORDER", "cetak_ulang,pertama_lainnya,lansia_disabilitas,pemilih_pemula")
    assert PrintingSettings().priority_order[0] == PriorityClass.CETAK_ULANG
    monkeypatch.setenv("EKTP_PRINTING_PRIORITY_ORDER", "cetak_ulang,pemilih_pemula")
    with pytest.raises(ValidationError, match="exactly once"):
        PrintingSettings()


def test_routing_by_kecamatan_with_the_fallback() -> None:
    stations = load_stations()
    assert station_for("17.02.07", stations) == "kec-padang-ulak-tanding"
    assert station_for("17.02.09", stations) == "dinas-curup"
    assert station_for("17.02.99", stations) == stations.fallback.station_id == "dinas-curup"
    assert set(stations.locations) == {"gudang", "dinas-curup", "kec-padang-ulak-tanding"}


def test_card_proof_is_a_well_formed_pdf_marked_spesimen() -> None:
    pdf = render_pdf(PROOF)
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert b"(SPESIMEN) Tj" in pdf and b"Curup \\(Tengah\\)" in pdf
    xref_at = int(re.search(rb"startxref\n(\d+)", pdf).group(1))  # type: ignore[union-attr]
    assert pdf[xref_at:].startswith(b"xref")
    offsets = [int(n) for n in re.findall(rb"(\d{10}) 00000 n", pdf)]
    assert [pdf[o:].split(b" ", 1)[0] for o in offsets] == [b"1", b"2", b"3", b"4", b"5"]


async def test_spool_printer_makes_the_file_appear_only_when_complete(tmp_path: Path) -> None:
    printer = SpoolPdfPrinter(tmp_path)
    assert not printer.already_printed("job-abc", 1)
    await printer.print_card(PROOF)
    assert printer.already_printed("job-abc", 1) and not printer.already_printed("job-abc", 2)
    assert os.listdir(tmp_path) == ["job-abc-1.pdf"]


def _fake_command(folder: Path, name: str, script: str) -> str:
    path = folder / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


async def test_cups_printer_sends_once_and_finds_an_interrupted_send_in_the_queue(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    lp = _fake_command(tmp_path, "lp", f'echo "$@" >> {calls}\necho "request id is kartu-1 (1 file(s))"\n')
    lpstat = _fake_command(tmp_path, "lpstat", 'echo "kartu-7 ektp job-abc-1 1024"\n')
    printer = CupsPrinter("kartu", tmp_path / "journal", lp=lp, lpstat=lpstat)
    await printer.print_card(PROOF)
    assert "-d kartu -t job-abc-1" in calls.read_text()
    assert printer.already_printed("job-abc", 1)
    (tmp_path / "journal" / "job-abc-1.sent").unlink()  # as if stopped between lp and the journal
    assert printer.already_printed("job-abc", 1)  # found by lpstat
    assert not printer.already_printed("job-abc", 2)
    failing = CupsPrinter("kartu", tmp_path / "j2", lp=_fake_command(tmp_path, "lp-off", "echo off >&2; exit 1\n"),
                          lpstat=lpstat)
    with pytest.raises(PrinterUnavailable, match="off"):
        await failing.print_card(PROOF)
    assert not failing.already_printed("job-abc", 1)


class FakeStore:
    def __init__(self, job: dict[str, Any]) -> None:
        self.doc = job

    async def job(self, job_id: str) -> PrintJob | None:
        return job_from_document(self.doc) if job_id == self.doc["_id"] else None

    async def heartbeat(self, station_id: str, at: dt.datetime) -> None:
        return None


class Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []

    async def publish(self, event: Any, *, topic: Any, key: str) -> None:
        self.events.append(event)


async def test_worker_reports_an_attempt_printed_before_a_restart_without_printing_again(tmp_path: Path) -> None:
    job = {"_id": "job-abc", "station_id": "dinas-curup", "status": "siap_cetak", "attempt": 1,
           "reservation_id": "job-abc.1.1", "resident_id": "r" + "0" * 32, "kecamatan_code": "17.02.09",
           "desa_code": "17.02.09.1012", "reason": "pertama", "priority_class": "pemilih_pemula"}
    printer = SpoolPdfPrinter(tmp_path)
    recorder = Recorder()
    worker = StationWorker("dinas-curup", store=FakeStore(job), printer=printer, publisher=recorder)  # type: ignore[arg-type]
    now = dt.datetime.now(dt.UTC)
    dispatched = JobDispatched(event_id=uuid.uuid4(), occurred_at=now, recorded_at=now,
                               actor=Actor(office_id="printing", role=Role.SYSTEM, operator="printing"),
                               payload=JobAttempt(job_id="job-abc", station_id="dinas-curup", attempt=1,
                                                  reservation_id="job-abc.1.1"))
    assert await worker.handle(dispatched) == "printed"
    first_file = printer.path_of("job-abc", 1)
    mtime = os.stat(first_file).st_mtime_ns
    assert await worker.handle(dispatched) == "printed"  # redelivered after a crash before the commit
    assert os.stat(first_file).st_mtime_ns == mtime
    assert len(recorder.events) == 2 and all(isinstance(e, CardPrinted) for e in recorder.events)
    assert recorder.events[0].event_id == recorder.events[1].event_id
    job["status"] = "dicetak"
    assert await worker.handle(dispatched) == "not_waiting"
    other = dispatched.model_copy(update={"payload": dispatched.payload.model_copy(update={"station_id": "x-1"})})
    assert await worker.handle(other) == "other_station"

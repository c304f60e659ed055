"""The print station worker: consumes its station's queue and prints each dispatched card once.

    python -m services.printing.station --station dinas-curup [--printer pdf|cups]

A job reaches the station only with a blank reserved for it (print.job_dispatched). For each
one the worker checks the job still waits for this attempt, prints it unless the printer
adapter shows the attempt already printed, and reports print.printed (or print.spoiled) with
an id made from the job and attempt. The offset is committed only after the report, so a
worker stopped mid-job gets the job again on restart, and the adapter's check keeps it from
printing twice.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from faststream.kafka.annotations import KafkaMessage

from services.printing.config import PrintingSettings
from services.printing.domain import PrintJob
from services.printing.handlers import derived_id
from services.printing.ports import JobReader
from services.printing.printers import CupsPrinter, Printer, PrintResult, SpoolPdfPrinter
from services.printing.proof import CardProof
from services.printing.store import PrintingStore
from shared.areas import load_areas
from shared.broker import event_bytes, subscribe
from shared.clock import WIB, Clock, system_clock
from shared.contracts import PRINT_EVENTS, Actor, Role
from shared.contracts.printing import (
    CardPrinted,
    JobDispatched,
    PrintedPayload,
    PrintSpoiled,
    SpoiledPayload,
    SpoilReason,
)
from shared.logs import configure_logging
from shared.publishing import EventPublisher
from shared.runtime import ServiceRuntime
from shared.stations import load_stations
from shared.topics import PRINT

log = logging.getLogger("ektp.station")


class StationWorker:
    """Prints the jobs dispatched to one station, each attempt once, and reports the outcome."""

    def __init__(self, station_id: str, *, store: JobReader, printer: Printer, publisher: EventPublisher,
                 clock: Clock = system_clock) -> None:
        self.station_id = station_id
        self.store = store
        self.printer = printer
        self.publisher = publisher
        self.clock = clock
        self.actor = Actor(office_id=station_id, role=Role.PRINT_STATION, operator=f"station-{station_id}")

    async def handle(self, event: JobDispatched) -> str:
        """Print a dispatched job unless it no longer waits for this attempt; the outcome as a word."""
        p = event.payload
        if p.station_id != self.station_id:
            return "other_station"
        job = await self.store.job(p.job_id)
        if job is None or not job.waits_for(p.attempt, p.reservation_id):
            return "not_waiting"
        if self.printer.already_printed(p.job_id, p.attempt):
            result = PrintResult(printed=True, printer=self.printer.name)
            log.info("job %s attempt %s was printed before a restart; reporting it", p.job_id, p.attempt)
        else:
            result = await self.printer.print_card(self._proof(job, p.attempt))
        await self._report(event, result)
        return "printed" if result.printed else "spoiled"

    def _proof(self, job: PrintJob, attempt: int) -> CardProof:
        areas = load_areas()
        kecamatan = areas.kecamatan.get(job.kecamatan_code)
        desa = areas.villages.get(job.desa_code)
        return CardProof(job_id=job.job_id, attempt=attempt, station_id=self.station_id,
                         resident_id=job.resident_id, kecamatan=kecamatan.name if kecamatan else job.kecamatan_code,
                         desa=desa.name if desa else job.desa_code, reason=job.reason.value,
                         printed_on=self.clock().astimezone(WIB).strftime("%d-%m-%Y %H:%M WIB"))

    async def _report(self, dispatched: JobDispatched, result: PrintResult) -> None:
        p = dispatched.payload
        now = self.clock()
        attempt_key = f"{p.job_id}:{p.attempt}"
        report: CardPrinted | PrintSpoiled
        if result.printed:
            report = CardPrinted(event_id=derived_id(attempt_key, "printed"), occurred_at=now, recorded_at=now,
                                 actor=self.actor, payload=PrintedPayload(**p.model_dump(), printer=result.printer))
        else:
            report = PrintSpoiled(event_id=derived_id(attempt_key, "spoiled"), occurred_at=now, recorded_at=now,
                                  actor=self.actor, payload=SpoiledPayload(
                                      **p.model_dump(), reason=SpoilReason(result.spoil_reason or "printer_gagal")))
        await self.publisher.publish(report, topic=PRINT, key=p.station_id)


def make_printer(kind: str, station_id: str, settings: PrintingSettings, spool: Path | None) -> Printer:
    folder = (spool or settings.spool_dir) / station_id
    if kind == "cups":
        return CupsPrinter(settings.cups_queue, folder / "cups-journal")
    return SpoolPdfPrinter(folder, print_seconds=settings.print_seconds)


async def run(station_id: str, printer: Printer, settings: PrintingSettings) -> None:
    runtime = ServiceRuntime.build(settings.infra, service="station")
    worker = StationWorker(station_id, store=PrintingStore(runtime.db), printer=printer,
                           publisher=runtime.publisher)

    @subscribe(runtime.broker, PRINT, group=f"printing-station-{station_id}")
    async def on_print_event(message: KafkaMessage) -> None:
        event = PRINT_EVENTS.validate_json(event_bytes(message))
        if isinstance(event, JobDispatched):
            outcome = await worker.handle(event)
            if outcome in ("printed", "spoiled"):
                log.info("job %s attempt %s: %s", event.payload.job_id, event.payload.attempt, outcome)

    async def heartbeat() -> None:
        await worker.store.heartbeat(station_id, worker.clock())

    runtime.every(settings.heartbeat_seconds, heartbeat)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    await heartbeat()
    print(f"stasiun {station_id}: siap mencetak ke {printer.name} (Ctrl-C untuk berhenti)", flush=True)
    await stop.wait()
    print(f"stasiun {station_id}: berhenti; kartu yang belum selesai dicetak diambil lagi saat mulai ulang",
          flush=True)
    await runtime.stop()


def main(argv: list[str] | None = None) -> int:
    stations = load_stations().stations
    parser = argparse.ArgumentParser(
        prog="python -m services.printing.station",
        description="Pekerja stasiun cetak: mengambil antrean stasiun dan mencetak setiap kartu satu kali.")
    parser.add_argument("--station", required=True, choices=sorted(stations), help="id stasiun cetak")
    parser.add_argument("--printer", choices=("pdf", "cups"), default="pdf",
                        help="pdf: bukti cetak SPESIMEN ke folder spool (bawaan); cups: kirim ke antrean CUPS")
    parser.add_argument("--spool", type=Path, default=None, help="folder spool (bawaan EKTP_PRINTING_SPOOL_DIR)")
    args = parser.parse_args(argv)
    settings = PrintingSettings()
    # Masked like every service's lines (a print job's log names no resident, a library's error might),
    # JSON lines in production.
    configure_logging(settings.infra.log_level, fmt=settings.infra.effective_log_format, service="station")
    try:
        printer = make_printer(args.printer, args.station, settings, args.spool)
    except ValueError as exc:
        print(f"stasiun {args.station}: {exc}", file=sys.stderr)
        return 2
    asyncio.run(run(args.station, printer, settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Printer adapters of the station worker.

An adapter prints one job attempt and can tell afterwards whether that attempt was already
printed, so a worker restarted mid-job neither prints twice nor loses the card:

- `SpoolPdfPrinter` (default) writes the proof PDF to `<spool>/<job>-<attempt>.pdf`; the file
  appears atomically (written aside, then renamed), so it exists exactly when the card printed.
- `CupsPrinter` sends the PDF to a CUPS queue with `lp`, titled with the job and attempt; a
  journal marks each attempt before and after sending, and an attempt found "sending" after a
  restart is looked up in the queue's jobs (`lpstat`) before anything is sent again.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from services.printing.proof import CardProof, render_pdf
from shared.dead_letter import TransientError


@dataclass(frozen=True)
class PrintResult:
    printed: bool
    spoil_reason: str | None = None
    printer: str = ""


class Printer(Protocol):
    name: str

    def already_printed(self, job_id: str, attempt: int) -> bool: ...

    async def print_card(self, proof: CardProof) -> PrintResult: ...


def _attempt_name(job_id: str, attempt: int) -> str:
    if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", job_id):
        raise ValueError(f"job id {job_id!r} cannot name a spool file")
    return f"{job_id}-{attempt}"


class SpoolPdfPrinter:
    """Renders card proofs into a spool folder; `print_seconds` stands in for the printer's time per card."""

    def __init__(self, spool: Path, *, print_seconds: float = 0.0) -> None:
        self.spool = spool
        self.print_seconds = print_seconds
        self.name = "pdf-spesimen"
        spool.mkdir(parents=True, exist_ok=True)

    def path_of(self, job_id: str, attempt: int) -> Path:
        return self.spool / f"{_attempt_name(job_id, attempt)}.pdf"

    def already_printed(self, job_id: str, attempt: int) -> bool:
        return self.path_of(job_id, attempt).exists()

    async def print_card(self, proof: CardProof) -> PrintResult:
        final = self.path_of(proof.job_id, proof.attempt)
        partial = final.with_suffix(".pdf.partial")
        partial.write_bytes(render_pdf(proof))
        if self.print_seconds:
            await asyncio.sleep(self.print_seconds)
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, final)
        return PrintResult(printed=True, printer=self.name)


class CupsPrinter:
    """Sends proofs to a named CUPS queue with `lp`."""

    def __init__(self, queue: str, journal: Path, *, lp: str = "lp", lpstat: str = "lpstat") -> None:
        if not queue:
            raise ValueError("a CUPS printer needs a queue name (EKTP_PRINTING_CUPS_QUEUE)")
        self.queue = queue
        self.journal = journal
        self.lp = lp
        self.lpstat = lpstat
        self.name = f"cups:{queue}"[:64]
        journal.mkdir(parents=True, exist_ok=True)

    def _mark(self, job_id: str, attempt: int, state: str) -> Path:
        return self.journal / f"{_attempt_name(job_id, attempt)}.{state}"

    def already_printed(self, job_id: str, attempt: int) -> bool:
        if self._mark(job_id, attempt, "sent").exists():
            return True
        if self._mark(job_id, attempt, "sending").exists():
            return self._in_queue(_attempt_name(job_id, attempt))
        return False

    def _in_queue(self, title: str) -> bool:
        listing = subprocess.run([self.lpstat, "-W", "all", "-l", "-o", self.queue], capture_output=True,
                                 text=True, timeout=30, check=False)
        return title in listing.stdout

    async def print_card(self, proof: CardProof) -> PrintResult:
        title = _attempt_name(proof.job_id, proof.attempt)
        document = self.journal / f"{title}.pdf"
        document.write_bytes(render_pdf(proof))
        self._mark(proof.job_id, proof.attempt, "sending").touch()
        result = await asyncio.to_thread(
            subprocess.run, [self.lp, "-d", self.queue, "-t", title, "-o", "media=CR80", str(document)],
            capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            self._mark(proof.job_id, proof.attempt, "sending").unlink(missing_ok=True)
            raise PrinterUnavailable(f"lp -d {self.queue} failed: {result.stderr.strip()[:200]}")
        self._mark(proof.job_id, proof.attempt, "sent").touch()
        return PrintResult(printed=True, printer=self.name)


class PrinterUnavailable(TransientError):
    """The printer did not take the job; nothing was printed, the worker retries later."""

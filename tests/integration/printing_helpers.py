"""Helpers for printing and blangko tests: a station list of their own, print requests, a station worker process."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from shared.contracts import Actor, Role
from shared.contracts.recording import PrintRequested, PrintRequestedPayload
from shared.contracts.stock import ReceivedPayload, StockReceived
from shared.testing.processes import REPO
from shared.topics import RECORDING, STOCK

SYSTEM = Actor(office_id="uji", role=Role.SYSTEM, operator="uji")


def write_stations(path: Path, prefix: str, *, extra: int = 0) -> dict[str, str]:
    """A station list: `<prefix>-pusat` (fallback) and `<prefix>-put` (17.02.07), plus `extra` numbered stations.

    Numbered stations serve no kecamatan; tests address them directly by location.
    """
    rows = ["station_id,nama,kecamatan_codes,cadangan",
            f"{prefix}-pusat,Stasiun uji pusat,17.02.09,ya",
            f"{prefix}-put,Stasiun uji Padang Ulak Tanding,17.02.07,tidak"]
    rows += [f"{prefix}-s{i:03d},Stasiun uji {i},,tidak" for i in range(extra)]
    path.write_text("\n".join(rows) + "\n")
    return {"EKTP_STATIONS_CSV": str(path)}


def resident_id() -> str:
    return "r" + uuid.uuid4().hex


def print_request(*, kecamatan: str = "17.02.09", desa: str = "17.02.09.1012", wajib: dt.date | None = None,
                  lansia: bool = False, disabilitas: bool = False, resident: str | None = None,
                  reason: str = "pertama") -> PrintRequested:
    now = dt.datetime.now(dt.UTC)
    return PrintRequested(event_id=uuid.uuid4(), occurred_at=now, recorded_at=now, actor=SYSTEM,
                          payload=PrintRequestedPayload(resident_id=resident or resident_id(), kecamatan_code=kecamatan,
                                                        desa_code=desa, reason=reason, wajib_ktp_from=wajib,
                                                        lansia=lansia, disabilitas=disabilitas))


async def send_print_request(producer: Any, event: PrintRequested) -> None:
    await producer.send_and_wait(RECORDING.name, event.model_dump_json().encode(),
                                 key=event.payload.resident_id.encode())


def receipt(location: str, quantity: int) -> StockReceived:
    now = dt.datetime.now(dt.UTC)
    return StockReceived(event_id=uuid.uuid4(), occurred_at=now, recorded_at=now, actor=SYSTEM,
                         payload=ReceivedPayload(location_id=location, quantity=quantity, document_no="BA/UJI/1"))


async def send_stock(producer: Any, event: Any, location: str) -> None:
    await producer.send_and_wait(STOCK.name, event.model_dump_json().encode(), key=location.encode())


class StationProcess:
    """`python -m services.printing.station` as a real process, with its output in a log file."""

    def __init__(self, station: str, env: dict[str, str], log_path: Path) -> None:
        self.station = station
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 60.0, **extra_env: str) -> StationProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.printing.station", "--station", self.station],
            cwd=REPO, env={**os.environ, **self.env, **extra_env, "PYTHONUNBUFFERED": "1"},
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"station worker exited with {self.proc.returncode}; see {self.log_path}")
            if b"siap mencetak" in self.log_path.read_bytes()[offset:]:
                return self
            time.sleep(0.2)
        raise RuntimeError(f"station worker not ready within {timeout} s; see {self.log_path}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

"""`make demo` as an operator runs it, at a small scale: it completes with progress, the coverage API
shows its end state, and a real Prometheus scraping the services reports the scenario's figures."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.demo.population import build
from deploy.local.process import port_open
from shared.clock import WIB
from tests.integration.helpers import local_run_env

pytestmark = [pytest.mark.infra, pytest.mark.heavy]
REPO = Path(__file__).resolve().parents[2]
SCALE = 0.005
WEEKS = 2


def _query(prometheus: httpx.Client, expr: str) -> float:
    body = prometheus.get("/api/v1/query", params={"query": expr}).json()
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else float("nan")


def _eventually(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(2)


def test_make_demo_plays_the_regency_and_the_dashboard_and_prometheus_show_its_end_state(
        tmp_path: Path, stack: object) -> None:
    env, ports, infra = local_run_env(tmp_path)
    env["EKTP_PRINTING_SPOOL_DIR"] = str(tmp_path / "spool")
    env["EKTP_RECORDING_STUCK_METRIC_SECONDS"] = "5"
    env["DEMO_ARGS"] = f"--scale {SCALE} --weeks {WEEKS}"
    log = tmp_path / "make-demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(["make", "demo"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 900
            while "Demo selesai" not in log.read_text() and time.monotonic() < deadline:
                text = log.read_text()
                assert proc.poll() is None and "demo gagal" not in text, text[-4000:]
                time.sleep(1)
            text = log.read_text()
            assert "Demo selesai" in text, text[-4000:]
            # Progress was shown for every phase, as lines (no terminal here).
            for phase in ("Daftar penduduk", "Riwayat perekaman", "Minggu 1", f"Minggu {WEEKS}", "Stasiun cetak"):
                assert f"  {phase}" in text and "100%" in text, phase
            summary = json.loads((tmp_path / "run" / "demo-ringkasan.json").read_text())
            stations = httpx.get(f"http://127.0.0.1:{ports['EKTP_PRINTING_PORT']}/stations", timeout=30, headers={
                "X-API-Key": (tmp_path / "run" / "demo-admin-api-key").read_text().strip()}).json()
            _check_coverage(summary, ports["EKTP_COVERAGE_PORT"], tmp_path / "spool", stations)
            _check_prometheus(summary, infra["EKTP_PROMETHEUS_PORT"])
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=120)
    for port in [*ports.values(), *infra.values()]:
        assert not port_open(port), f"port {port} still open after Ctrl-C"


def _check_coverage(summary: dict[str, Any], port: int, spool: Path, stations: list[dict[str, Any]]) -> None:
    population = build(scale=SCALE, today=dt.datetime.now(WIB).date(), seed=1702)
    expected = population.expected()
    assert summary["terdaftar"] == len(population.people)
    assert summary["direkam_sebelumnya"] == expected["direkam"]
    assert summary["direkam_kunjungan"] > 0 and summary["prr"] > 0
    printed_files = sorted(p for p in spool.rglob("*.pdf"))
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as coverage:
        kab = coverage.get("/coverage").json()["kabupaten"]
        assert kab["terdaftar"] == len(population.people)
        assert kab["wajib_ktp"] == expected["wajib_ktp"]
        assert kab["direkam"] == expected["direkam"] + summary["direkam_kunjungan"]
        assert kab["prr"] == summary["prr"]
        assert kab["dicetak"] == summary["dicetak"] == len(printed_files) > 0
        assert kab["duplikat"] == summary["duplikat"]
        # Every PRR card printed or still waiting for its own station's blangko (a station prints its
        # kecamatan's cards only): nothing ready is left unprinted, no station with blangko has cards waiting.
        assert summary["dicetak"] <= min(summary["prr"], sum(summary["blangko_ke_stasiun"].values()))
        on_hand = {row["lokasi"]: row["stok"] for row in coverage.get("/stock").json()["baris"]}
        assert all(s["siap_cetak"] == 0 and (s["menunggu_blangko"] == 0 or on_hand.get(s["stasiun"]) == 0)
                   for s in stations), (stations, on_hand)
        stock = coverage.get("/stock").json()
        assert stock["stok_total"] == summary["blangko_diterima"] - summary["dicetak"]
        series = coverage.get("/coverage/series", params={"kode": "17.02"}).json()
        assert series and coverage.get("/dasbor").status_code == 200


def _check_prometheus(summary: dict[str, Any], port: int) -> None:
    recorded = summary["direkam_sebelumnya"] + summary["direkam_kunjungan"]
    checks = {
        'count(up{job=~"intake|recording|printing|inventory|coverage"} == 1)': 5,
        'sum(ektp_recordings_total{hasil="direkam"})': recorded,
        'sum(ektp_recordings_total{hasil="gagal"})': summary["gagal_rekam"],
        "sum(ektp_print_ready_to_printed_seconds_count)": summary["dicetak"],
        'sum(ektp_events_applied_total{service="printing", event_type="print.printed"})': summary["dicetak"],
        'sum(ektp_print_queue_depth{status=~"menunggu_blangko|siap_cetak"})': summary["prr"] - summary["dicetak"],
        'sum(ektp_blangko_on_hand{location!="gudang"})':
            sum(summary["blangko_ke_stasiun"].values()) - summary["dicetak"],
        "count(ektp_print_station_heartbeat_age_seconds < 60)": 2,
        "count(ektp_residents_stuck)": 4 * 15,
        "sum(ektp_dead_letters_total) or vector(0)": 0,
    }
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as prometheus:
        def all_match() -> dict[str, float]:
            seen = {expr: _query(prometheus, expr) for expr in checks}
            return seen if all(seen[e] == v for e, v in checks.items()) else {}

        seen = _eventually(all_match, timeout=90)
        assert seen, {expr: (_query(prometheus, expr), want) for expr, want in checks.items()}
        # Per kecamatan: the labels are the regency's codes, and they add up.
        by_kecamatan = prometheus.get("/api/v1/query", params={
            "query": 'sum by (kecamatan) (ektp_recordings_total{hasil="direkam"})'}).json()["data"]["result"]
        assert {r["metric"]["kecamatan"] for r in by_kecamatan} <= {f"17.02.{n:02d}" for n in range(6, 25)}
        assert sum(float(r["value"][1]) for r in by_kecamatan) == recorded
        targets = prometheus.get("/api/v1/targets").json()["data"]["activeTargets"]
        assert all(t["health"] == "up" and t["lastError"] == "" for t in targets), targets

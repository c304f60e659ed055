"""A small run of the school-round benchmark, so `make bench` keeps working."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.infra
REPO = Path(__file__).resolve().parents[2]


def test_school_round_benchmark_runs_and_reports(stack: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.school_round", "--students", "30", "--profile", "test", "--out", "smoke"],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads((REPO / "bench/results/smoke.json").read_text())
    assert result["events"] == 120
    assert result["coverage"]["direkam"] == 30 and result["coverage"]["prr"] == 30
    assert result["seconds_until_coverage_exact_after_last_accepted"] >= 0


def test_benchmark_harness_runs_every_scenario_in_pairs_and_writes_json_and_markdown(stack: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--scale", "0.002", "--pairs", "1", "--publish-events", "500",
         "--rate", "50", "--latency-seconds", "2", "--latency-pairs", "1", "--burst-events", "300",
         "--rebuild-scale", "0.001", "--import-scale", "0.003", "--demo-scale", "0.003", "--demo-weeks", "1",
         "--profile", "test", "--out", "smoke-harness"],
        cwd=REPO, capture_output=True, text=True, timeout=900, check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads((REPO / "bench/results/smoke-harness.json").read_text())
    scenarios = {s["scenario"]: s for s in report["scenarios"]}
    assert set(scenarios) == {"publish", "drain", "rebuild", "latency", "burst", "import", "demo"}
    assert scenarios["publish"]["items"] == 500 and scenarios["drain"]["items"] == report["context"]["events"]
    latency, burst, imported = scenarios.pop("latency"), scenarios.pop("burst"), scenarios.pop("import")
    # The rebuild ran at its own scale, in a process and on a corpus of its own.
    assert scenarios["rebuild"]["notes"].startswith("scale 0.001;")
    assert 0 < scenarios["rebuild"]["residents"] < report["context"]["residents"]
    # make demo ran to its summary in a folder of its own; every phase it reports was timed.
    demo = scenarios.pop("demo")
    assert demo["scale"] == 0.003 and demo["weeks"] == 1 and demo["seconds_to_summary"] > 0
    assert demo["target_seconds"] is None and demo["meets_target"] is None
    phases = demo["phases_seconds"]
    for phase in ("Unggah berkas penduduk dan Dapodik", "Daftar penduduk (impor per kecamatan)",
                  "Riwayat perekaman (unggahan offline)", "Stasiun cetak mencetak", "Dasbor cakupan menyusul"):
        assert phase in phases and 0 <= phases[phase] <= demo["seconds_to_summary"], phase
    # The import reached every read model (the scenario itself fails on any count off by one).
    assert imported["items"] == 654 and imported["pairs"] == 1 and imported["ratio_median"] > 0
    assert set(imported["exact_after_seconds"]) == {"roster", "recording", "coverage"}
    assert set(imported["reads_ms"]) == {"/coverage", "/coverage/areas", "/dasbor"}
    assert all(0 < r["p50"] <= r["p95"] for r in imported["reads_ms"].values())
    for side in ("baseline", "system"):
        (run,) = latency[side]["runs"]
        # Every registration posted was accepted and seen: in the read model, or at the pipe's consumer.
        assert run["count"] == 100 and run["refused"] == {}
        assert 0 < run["p50"] <= run["p99"] <= run["max"]
    assert latency["p99_differences_ms"] == [latency["p99_difference_ms_median"]]
    assert burst["accepted"] + sum(burst["refused"].values()) == 300 and burst["accepted"] > 290
    assert burst["areas_wrong_at_end"] == 0 and burst["areas_checked"] > 150
    assert burst["seconds_until_exact_after_last_accepted"] >= 0
    for result in scenarios.values():
        assert result["pairs"] == 1 and len(result["ratios"]) == 1 and result["ratio_median"] > 0
        assert result["system"]["seconds"]["median"] > 0 and result["baseline"]["seconds"]["median"] > 0
        assert result["system"]["cpu_seconds_median"]["harness"] > 0
        assert result["peak_memory_mb"]["harness"] > 0 and result["peak_memory_mb"]["kafka"] > 0
    assert report["context"]["residents"] == 436 and report["context"]["events"] > 4 * 400
    # The drain and the rebuild really projected: every resident enrolled is counted in the regency's figure.
    assert scenarios["drain"]["system"]["extra"]["terdaftar"] == report["context"]["residents"]
    # Every resident of the rebuild's own corpus was counted by the rebuilt projection.
    assert scenarios["rebuild"]["system"]["extra"]["terdaftar"] == scenarios["rebuild"]["residents"]
    assert scenarios["rebuild"]["system"]["items_per_second_median"] > 0
    markdown = (REPO / "bench/results/smoke-harness.md").read_text()
    assert all(f"| {name} |" in markdown for name in scenarios)
    assert "| publish: sent to visible in coverage vs plain pipe | 50 |" in markdown and "| registrations at once | " in markdown
    assert "| roster files through the import API | 654 | 1 |" in markdown

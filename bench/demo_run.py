"""The `demo` scenario: `make demo` timed from its start to its summary, with the time of each phase.

It runs `python -m deploy.demo` (what `make demo` runs) in a data folder and on free ports of its own,
so its Kafka and FerretDB start from nothing, as on a newcomer's machine (the built binaries are
cached), and a `make run` or another benchmark running meanwhile is left alone. The time counts
from the command's start to the line "Demo selesai"; the phases are the demo's own "selesai
dalam N s" lines. Then the demo is stopped with Ctrl-C, as an operator stops it, and its folder is
deleted. There is no raw baseline: the target is a wall time (DEMO_TARGET_SECONDS at full scale).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.harness import REPO

DEMO_TARGET_SECONDS = 15 * 60.0
FINISHED = "Demo selesai"
FAILED = "demo gagal"
PHASE_DONE = re.compile(r"^  (?P<label>\S.*?)\s+selesai dalam (?P<seconds>\d+) s")
STOP_SECONDS = 120.0


def demo_env(folder: Path) -> dict[str, str]:
    """The environment of a demo of its own: `folder` for its data, free ports for everything it starts."""
    from deploy.local.process import free_ports
    from shared.settings import SERVICE_PORTS

    infra_names = ("EKTP_KAFKA_PORT", "EKTP_KAFKA_CONTROLLER_PORT", "EKTP_MONGO_PORT", "EKTP_PROMETHEUS_PORT")
    names = [f"EKTP_{name.upper()}_PORT" for name in SERVICE_PORTS] + list(infra_names)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EKTP_") or k == "EKTP_PORT_RANGE"}
    env.update({name: str(port) for name, port in zip(names, free_ports(len(names)), strict=True)})
    env["EKTP_LOCAL_DIR"] = str(folder)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def demo_scenario(*, scale: float, weeks: int, timeout: float = 3600.0, log: Any = print) -> dict[str, Any]:
    """Run the demo once; its start-to-summary seconds, its phases and the verdict against the target."""
    folder = Path(tempfile.mkdtemp(prefix="ektp-bench-demo-"))
    lines: list[tuple[float, str]] = []
    log(f"[demo] make demo --scale {scale} --weeks {weeks} in {folder}")
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "deploy.demo", "--scale", str(scale), "--weeks", str(weeks)],
                            cwd=REPO, env=demo_env(folder), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    finished = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append((time.monotonic() - started, line.rstrip("\n")))
            log(f"[demo {lines[-1][0]:6.0f} s] {lines[-1][1]}")
            if line.startswith(FINISHED) or FAILED in line:
                finished.set()
        finished.set()

    reader = threading.Thread(target=read, name="demo-output", daemon=True)
    reader.start()
    try:
        if not finished.wait(timeout):
            raise RuntimeError(f"demo gave no summary within {timeout:.0f} s:\n" + _tail(lines))
        summary_at = next((at for at, line in lines if line.startswith(FINISHED)), None)
        if summary_at is None:
            raise RuntimeError("demo stopped without its summary:\n" + _tail(lines))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    phases = {match["label"]: int(match["seconds"]) for _, line in lines if (match := PHASE_DONE.match(line))}
    log(f"[demo] start to summary {summary_at:.1f} s; {len(phases)} phases")
    target = DEMO_TARGET_SECONDS if scale >= 1 else None
    return {"scenario": "demo", "scale": scale, "weeks": weeks, "seconds_to_summary": round(summary_at, 1),
            "phases_seconds": phases, "target_seconds": target,
            "meets_target": None if target is None else summary_at <= target}


def _tail(lines: list[tuple[float, str]]) -> str:
    return "\n".join(line for _, line in lines[-30:])

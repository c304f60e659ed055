"""Runs a service as a real process on a loopback port, for integration and fault tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class ServiceProcess:
    """One running service: its name, port, process and captured output file.

    `name` is the module under `services.` to run; a process without HTTP (a station worker) gives
    `ready_text`, the line its output prints once it is ready, instead of answering /health.
    """

    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    args: tuple[str, ...] = ()
    ready_text: str | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 60.0) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}", *self.args],
            cwd=REPO, env={**os.environ, **self.env, "PYTHONUNBUFFERED": "1"},
            stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            if self._ready(offset):
                return self
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not healthy within {timeout} s; see {self.log_path}")

    def _ready(self, offset: int) -> bool:
        if self.ready_text is None:
            return self.healthy()
        return self.ready_text.encode() in self.log_path.read_bytes()[offset:]

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=1) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def stop(self, *, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        """Stop the process (SIGTERM: clean shutdown; SIGKILL: a crash); returns its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

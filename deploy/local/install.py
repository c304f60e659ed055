"""Install what the local stack (and, with `tests=True`, the test suite) needs, before anything starts.

Each part also installs itself on first use; installing up front keeps the first run's minutes of
building (FerretDB and Helm with Go, Kafka's jars with Maven, Debian's packages) out of every test's
time limit and tells the newcomer what is happening. What is already installed is skipped.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable

from deploy.local.components import FerretDB, Kafka, _run, cache_dir
from deploy.local.helm import ensure_helm, helm_path
from deploy.local.process import InfraError

# Debian packages by a program each provides: the stack's Prometheus, then what tests run.
STACK_PACKAGES = {"prometheus": "prometheus"}
TEST_PACKAGES = {"promtool": "prometheus", "chromium": "chromium", "caddy": "caddy",
                 "amtool": "prometheus-alertmanager"}


def install(*, tests: bool) -> list[str]:
    """Install every missing part; returns what was installed (empty when nothing was missing)."""
    installed: list[str] = []
    wanted = {**STACK_PACKAGES, **(TEST_PACKAGES if tests else {})}
    packages = sorted({package for binary, package in wanted.items() if shutil.which(binary) is None})
    if packages:
        _timed(f"Debian packages {', '.join(packages)}", lambda: _apt_install(packages), installed)
    kafka = Kafka(cache_dir(), 0, 0)
    if not (kafka.libs / ".complete").exists():
        _timed("Kafka", kafka.install, installed)
    ferretdb = FerretDB(cache_dir(), 0)
    if not ferretdb.binary.exists():
        _timed("FerretDB", ferretdb.install, installed)
    if tests and not helm_path().exists():
        _timed("Helm", ensure_helm, installed)
    return installed


def _apt_install(packages: list[str]) -> None:
    if os.geteuid() != 0:
        raise InfraError("apt", f"missing: run 'sudo apt-get install {' '.join(packages)}'")
    _run("apt", ["apt-get", "update", "-q"], "apt-get update failed")
    _run("apt", ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
         f"apt-get could not install {' '.join(packages)}")


def _timed(what: str, step: Callable[[], object], installed: list[str]) -> None:
    began = time.monotonic()
    step()
    installed.append(what)
    print(f"  {what}: siap ({time.monotonic() - began:.0f} detik)", flush=True)

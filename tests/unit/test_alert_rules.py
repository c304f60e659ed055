"""The alert rules load in Prometheus's own checker and fire when they should (promtool)."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy/prometheus"


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    from deploy.local.components import ensure_debian_package

    promtool = ensure_debian_package("promtool", "prometheus", part="prometheus")
    return subprocess.run([promtool, *args], cwd=RULES, capture_output=True, text=True, timeout=120, check=False)


def test_rules_pass_promtool_check() -> None:
    done = _promtool("check", "rules", "alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_stock_lag_and_dead_letter_alerts_fire_as_specified() -> None:
    done = _promtool("test", "rules", "alerts.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout

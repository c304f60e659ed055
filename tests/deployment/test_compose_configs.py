"""The configuration files compose hands to Caddy and Alertmanager, checked by those programs themselves
(Debian's caddy and amtool, installed with apt-get on first use)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from deploy.local.components import ensure_debian_package
from deploy.secrets import Options, make_secrets

REPO = Path(__file__).resolve().parents[2]


def test_caddy_reads_the_proxy_configuration_and_serves_every_site_over_tls() -> None:
    caddy = ensure_debian_package("caddy", "caddy", part="caddy")
    adapted = subprocess.run(
        [caddy, "adapt", "--config", str(REPO / "deploy/proxy/Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "EKTP_SITE": "ektp.dukcapil.local"})
    assert adapted.returncode == 0, adapted.stderr[-2000:]
    config = json.loads(adapted.stdout)
    servers = config["apps"]["http"]["servers"]
    listens = {address for server in servers.values() for address in server["listen"]}
    assert {":443", ":8101", ":8105", ":3000"} <= listens, listens
    certificates = config["apps"]["tls"]["certificates"]["load_files"]
    assert {c["certificate"] for c in certificates} == {"/run/secrets/proxy_cert"}


@pytest.mark.parametrize("webhook", ["", "https://chat.example.invalid/hook/rahasia"])
def test_amtool_accepts_the_alertmanager_configuration_the_secrets_script_makes(webhook: str, tmp_path: Path) -> None:
    amtool = ensure_debian_package("amtool", "prometheus-alertmanager", part="alertmanager")
    make_secrets(Options(tmp_path, alert_webhook=webhook))
    checked = subprocess.run([amtool, "check-config", str(tmp_path / "alertmanager.yml")],
                             capture_output=True, text=True, check=False, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 receivers" in checked.stdout, checked.stdout
    if webhook:
        assert f"url: {webhook}" in (tmp_path / "alertmanager.yml").read_text()

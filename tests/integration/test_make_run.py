"""`make run` as a newcomer runs it: everything starts, the URLs are printed, Ctrl-C stops all."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from deploy.local.process import port_open
from tests.integration.helpers import local_run_env

pytestmark = pytest.mark.infra
REPO = Path(__file__).resolve().parents[2]


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=3) as answer:
        return int(answer.status)


def test_make_run_prints_urls_serves_them_and_stops_on_ctrl_c(tmp_path: Path, stack: object) -> None:
    env, ports, infra = local_run_env(tmp_path)
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(["make", "run"], cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 240
            while "Where to look" not in log.read_text() and time.monotonic() < deadline:
                assert proc.poll() is None, log.read_text()
                time.sleep(0.5)
            text = log.read_text()
            assert "Where to look" in text, text
            web = ports["EKTP_WEB_PORT"]
            after_banner = text.split("Where to look", 1)[1]
            urls = [line for line in after_banner.splitlines() if "http://127.0.0.1:" in line]
            assert f"http://127.0.0.1:{web}/" in urls[0], urls
            assert _get(f"http://127.0.0.1:{web}/masuk") == 200
            _first_account_signs_in(text, env, web, infra["EKTP_MONGO_PORT"])
            intake = ports["EKTP_INTAKE_PORT"]
            coverage = ports["EKTP_COVERAGE_PORT"]
            assert f"http://127.0.0.1:{intake}/docs" in text
            assert f"http://127.0.0.1:{coverage}/dasbor" in text
            assert f"http://127.0.0.1:{infra['EKTP_PROMETHEUS_PORT']}" in text
            assert _get(f"http://127.0.0.1:{intake}/docs") == 200
            assert _get(f"http://127.0.0.1:{coverage}/coverage") == 200
            assert _get(f"http://127.0.0.1:{coverage}/dasbor") == 200
            assert _get(f"http://127.0.0.1:{infra['EKTP_PROMETHEUS_PORT']}/-/ready") == 200
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=90)
    for port in [*ports.values(), *infra.values()]:
        assert not port_open(port), f"port {port} still open after Ctrl-C"


def _first_account_signs_in(banner: str, env: dict[str, str], web: int, mongo: int) -> None:
    """The first account, made with the command the banner prints, signs in; its pages reach the services
    through the web app's key that `make run` made."""
    import re
    import shlex

    import httpx

    command = next(line.split("first account:", 1)[1].strip() for line in banner.splitlines() if "first account:" in line)
    args = shlex.split(command)
    assert args[:3] == [".venv/bin/python", "-m", "services.web.users"], args
    made = subprocess.run([*args, "--password-stdin"], cwd=REPO, input="kata-sandi-pertama-1\n", text=True,
                          capture_output=True, timeout=60, check=False,
                          env={**env, "EKTP_MONGO_URL": f"mongodb://127.0.0.1:{mongo}/", "EKTP_MONGO_DATABASE": "ektp"})
    assert made.returncode == 0, made.stderr
    with httpx.Client(base_url=f"http://127.0.0.1:{web}", follow_redirects=False, timeout=30) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/masuk").text)
        assert token
        signed = client.post("/masuk", data={"csrf": token.group(1), "username": args[args.index("--username") + 1],
                                             "password": "kata-sandi-pertama-1"})
        assert signed.status_code == 303 and signed.headers["location"] == "/beranda", signed.text
        stations = client.get("/stasiun")
        assert stations.status_code == 200 and "Stasiun cetak" in stations.text, stations.text[-800:]

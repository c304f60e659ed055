"""`make run`: infrastructure up, the five services under honcho, URLs printed, all stopped on exit."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from deploy.local.components import REPO
from deploy.local.process import InfraError, read_pid, stop_process
from deploy.local.stack import Stack

LOCAL_ADMIN = "dinas-admin-lokal"
WEB_APP_OFFICE = "aplikasi-web"


def local_admin_key(env: dict[str, str], key_file: Path) -> str:
    """A dinas-admin key for trying the API locally; created once, kept in the ignored folder."""
    return _kept_key(env, key_file, web_app=False)


def web_app_key(env: dict[str, str], key_file: Path) -> str:
    """The web app's own key (it acts for the signed-in person's office); created once, kept like the admin key."""
    return _kept_key(env, key_file, web_app=True)


def _kept_key(env: dict[str, str], key_file: Path, *, web_app: bool) -> str:
    if key_file.exists():
        return key_file.read_text().strip()
    key = asyncio.run(_create_local_key(env, web_app=web_app))
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    return key


async def _create_local_key(env: dict[str, str], *, web_app: bool) -> str:
    from shared.auth import OFFICES_COLLECTION, OfficeDirectory
    from shared.clock import system_clock
    from shared.contracts import Role
    from shared.mongo import make_client
    from shared.settings import InfraSettings

    os.environ.update(env)
    infra = InfraSettings()
    client = make_client(infra, app_name="make-run")
    try:
        directory = OfficeDirectory(client[infra.mongo_database][OFFICES_COLLECTION])
        await directory.ensure_indexes()
        if web_app:
            key = await directory.create(office_id=WEB_APP_OFFICE, name="Aplikasi web", role=Role.SYSTEM,
                                         kecamatan_code=None, now=system_clock(), on_behalf=True)
        else:
            key = await directory.create(office_id=LOCAL_ADMIN, name="Admin Dinas (lokal)",
                                         role=Role.DINAS_ADMIN, kecamatan_code=None, now=system_clock())
    finally:
        await client.close()
    return key


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _banner(stack: Stack, key_file: Path) -> str:
    p = stack.service_ports
    return "\n".join([
        "",
        "Sistem jemput bola KTP-el Rejang Lebong berjalan. Where to look:",
        f"  Aplikasi web (petugas, dinas)  http://127.0.0.1:{p['web']}/",
        f"    first account: .venv/bin/python -m services.web.users create --username admin --name \"Admin Dinas\" "
        f"--office {LOCAL_ADMIN}",
        f"  Intake API (daftar penduduk)   http://127.0.0.1:{p['intake']}/docs",
        f"  Dasbor cakupan (dashboard)     http://127.0.0.1:{p['coverage']}/dasbor",
        f"  Coverage API (cakupan)         http://127.0.0.1:{p['coverage']}/docs",
        f"  Recording / Printing / Inventory  http://127.0.0.1:{p['recording']}/health  "
        f":{p['printing']}/health  :{p['inventory']}/health",
        f"  Printing: station queues        http://127.0.0.1:{p['printing']}/docs   card proofs in .local/run/spool/",
        f"  Inventory: blangko per lokasi   http://127.0.0.1:{p['inventory']}/docs",
        f"  Prometheus                     http://127.0.0.1:{stack.ports.prometheus}/targets",
        f"  Kafka 127.0.0.1:{stack.ports.kafka}   MongoDB (FerretDB) 127.0.0.1:{stack.ports.mongo}",
        f"  Local admin API key (X-API-Key): {key_file}",
        "Ctrl-C (or `make stop` in another terminal) stops everything.",
        "",
    ])


Scenario = Callable[[Stack, dict[str, str], str], None]
"""Played once the services are healthy: the stack, the services' environment, the local admin key."""


def run(*, overrides: dict[str, str] | None = None, key_name: str = "admin-api-key",
        scenario: Scenario | None = None, service_log: Path | None = None) -> int:
    """Start everything, print where to look, optionally play a scenario, then serve until Ctrl-C."""
    stack = Stack.load("run")
    began = time.monotonic()
    print(f"Starting the local infrastructure (data in {stack.data})")
    stack.up()
    service_env = {**stack.environment(), **(overrides or {})}
    env = {**os.environ, **service_env}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    key_file = stack.data / key_name
    key = local_admin_key(service_env, key_file)
    env["EKTP_WEB_SERVICE_KEY"] = web_app_key(service_env, stack.data / "web-app-key")
    honcho_pid = stack.data / "honcho.pid"
    output = service_log.open("ab") if service_log else None
    if service_log:
        print(f"Service output goes to {service_log}")
    honcho = subprocess.Popen(
        [sys.executable, "-m", "honcho", "start", "-f", str(REPO / "Procfile")],
        cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT if output else None,
    )
    honcho_pid.write_text(str(honcho.pid))

    def _terminate(*_: object) -> None:
        honcho.send_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, _terminate)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and honcho.poll() is None:
            if all(_healthy(port) for port in stack.service_ports.values()):
                print(_banner(stack, key_file), flush=True)
                print(f"(up in {time.monotonic() - began:.1f} s)", flush=True)
                if scenario is not None:
                    scenario(stack, service_env, key)
                    print(_banner(stack, key_file), flush=True)
                break
            time.sleep(0.5)
        else:
            if honcho.poll() is None:
                print("error: services did not become healthy within 60 s; see the output above",
                      file=sys.stderr)
        honcho.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if honcho.poll() is None:
            honcho.send_signal(signal.SIGINT)
            try:
                honcho.wait(timeout=60)
            except subprocess.TimeoutExpired:
                honcho.kill()
        honcho_pid.unlink(missing_ok=True)
        if output:
            output.close()
        print("Stopping the local infrastructure")
        stack.down()
    return 0


def stop() -> int:
    """`make stop`: stop the services of a running `make run`, then the infrastructure."""
    stack = Stack.load("run")
    pid = read_pid(stack.data / "honcho.pid")
    if pid is not None:
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and read_pid(stack.data / "honcho.pid"):
            time.sleep(0.3)
    stop_process(stack.data / "honcho.pid")
    stack.down()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(stop() if sys.argv[1:] == ["stop"] else run())
    except InfraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)



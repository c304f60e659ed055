"""Background processes with a pid file: start once, reuse while alive, stop cleanly."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class InfraError(RuntimeError):
    """A part of the local infrastructure could not be installed or started.

    The message is one line a person can act on, prefixed with the part's name.
    """

    def __init__(self, part: str, reason: str) -> None:
        super().__init__(f"{part}: {reason}")
        self.part = part
        self.reason = reason


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.3) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    return free_ports(1)[0]


PORT_RANGE = "EKTP_PORT_RANGE"
"""Where free ports are chosen ("20000-24999"); the kernel's choice when unset. Test processes running side
by side each get a range of their own, so one never picks a port another picked and has yet to bind."""


def free_ports(count: int) -> list[int]:
    """`count` different TCP ports on 127.0.0.1 that nothing listens on right now.

    All sockets stay bound until every port is chosen: asking `free_port` one at a time can
    give the same port twice, once the first socket is closed.
    """
    sockets: list[socket.socket] = []
    try:
        span = os.environ.get(PORT_RANGE)
        if not span:
            for _ in range(count):
                sockets.append(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                sockets[-1].bind(("127.0.0.1", 0))
        else:
            low, high = (int(part) for part in span.split("-", 1))
            first = random.randrange(low, high + 1)  # noqa: S311 - a spread of ports, not a secret
            for offset in range(high - low + 1):
                if len(sockets) == count:
                    break
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    sock.bind(("127.0.0.1", low + (first - low + offset) % (high - low + 1)))
                except OSError:
                    sock.close()
                    continue
                sockets.append(sock)
            if len(sockets) < count:
                raise InfraError("ports", f"no {count} free ports left in {PORT_RANGE}={span}")
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return True
    return state != "Z"


def read_pid(pid_file: Path) -> int | None:
    """The pid recorded in pid_file when that process is still alive."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def start_background(
    part: str,
    command: list[str],
    *,
    pid_file: Path,
    log_file: Path,
    cwd: Path,
    env: dict[str, str] | None = None,
) -> int:
    """Start command detached from this terminal, recording its pid; returns the pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        try:
            proc = subprocess.Popen(
                command,
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise InfraError(part, f"{command[0]} not found ({exc.strerror})") from exc
    pid_file.write_text(str(proc.pid))
    return proc.pid


def wait_until(
    part: str,
    ready: Callable[[], bool],
    *,
    pid: int,
    timeout: float,
    log_file: Path,
) -> None:
    """Wait until ready() holds; fail with the log's last line if the process dies or stalls."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if not pid_alive(pid):
            raise InfraError(part, f"exited while starting: {last_line(log_file)} (log: {log_file})")
        time.sleep(0.25)
    raise InfraError(part, f"did not answer within {timeout:.0f} s (log: {log_file})")


def last_line(log_file: Path) -> str:
    """The last non-empty line of a log file, for one-line error messages."""
    try:
        lines = [ln for ln in log_file.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "no log written"
    return lines[-1][:300] if lines else "no log written"


def stop_process(pid_file: Path, *, timeout: float = 20.0) -> bool:
    """SIGTERM the recorded process group, SIGKILL after timeout; True if something was stopped."""
    pid = read_pid(pid_file)
    pid_file.unlink(missing_ok=True)
    if pid is None:
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except OSError:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.2)
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    return True

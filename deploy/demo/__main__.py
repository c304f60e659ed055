"""`make demo`: start the system like `make run`, play a synthetic Rejang Lebong through it, keep serving.

Each demo gets its own topics and database, so it starts from nothing and ends the same way
for the same arguments; those of earlier demos are deleted (`deploy/demo/earlier.py`), `make run`
data is left alone.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import time


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.demo",
        description="Kabupaten Rejang Lebong sintetis dimainkan lewat layanan yang berjalan: impor daftar penduduk, "
                    "riwayat perekaman, beberapa minggu jemput bola, status SIAK, cetak dengan blangko terbatas.")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="skala penduduk (1 = 211.077 wajib KTP; 0,05 untuk percobaan cepat)")
    parser.add_argument("--weeks", type=int, default=3, help="minggu jemput bola yang dimainkan (bawaan 3)")
    parser.add_argument("--seed", type=int, default=1702, help="benih acak: argumen sama, hasil sama")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 2:
        parser.error("--scale harus di antara 0 dan 2")
    if not 1 <= args.weeks <= 12:
        parser.error("--weeks harus 1 sampai 12")
    return args


def _reason(exc: BaseException) -> str:
    """Why the demo stopped, in Indonesian where it is a service that did not answer (which one, by address)."""
    import httpx

    if isinstance(exc, httpx.TransportError):
        try:
            address = f"{exc.request.url.host}:{exc.request.url.port}"
        except RuntimeError:  # an error raised without its request
            return f"sebuah layanan tidak bisa dihubungi ({exc})"
        return f"layanan di {address} tidak bisa dihubungi ({exc}); lihat log layanan, demo-services.log"
    return str(exc)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_id = time.strftime("%Y%m%d%H%M%S")
    overrides = {"EKTP_TOPIC_PREFIX": f"demo{run_id}.", "EKTP_MONGO_DATABASE": f"ektp_demo_{run_id}",
                 "EKTP_COVERAGE_CONSUMER_GROUP": f"coverage-projector-demo{run_id}"}
    # Topics are named when shared.topics is first imported: the prefix must be set before.
    os.environ.update(overrides)

    import httpx

    from deploy.demo.earlier import forget_earlier_demos
    from deploy.demo.play import Demo, connect, print_summary, write_summary
    from deploy.demo.population import build
    from deploy.local.process import InfraError
    from deploy.local.run import run
    from deploy.local.stack import Stack
    from shared.clock import WIB
    from shared.pseudonym import resident_pseudonym
    from shared.settings import InfraSettings

    def scenario(stack: Stack, env: dict[str, str], key: str) -> None:
        key_env = {k: v for k, v in env.items() if k.startswith("EKTP_")}
        os.environ.update(key_env)
        infra = InfraSettings()
        pseudonym_key = infra.pseudonym_key.get_secret_value()
        databases, topics = asyncio.run(forget_earlier_demos(infra, database=overrides["EKTP_MONGO_DATABASE"],
                                                             topic_prefix=overrides["EKTP_TOPIC_PREFIX"],
                                                             record=stack.data / "demo-databases"))
        if databases or topics:
            print(f"\nData demo sebelumnya dihapus: {databases} basis data, {topics} topik", flush=True)
        today = dt.datetime.now(WIB).date()
        print(f"\nDemo: membangun Rejang Lebong sintetis (skala {args.scale}, {args.weeks} minggu, benih {args.seed})",
              flush=True)
        population = build(scale=args.scale, today=today, seed=args.seed)
        print(f"  {len(population.adults):,} wajib KTP, {len(population.people) - len(population.adults):,} siswa "
              f"akan wajib KTP, {len(population.schools)} SMA/SMK", flush=True)

        async def play() -> None:
            services = connect(stack.service_ports, key)
            try:
                demo = Demo(services, population, weeks=args.weeks, seed=args.seed,
                            resident_id=lambda nik: resident_pseudonym(nik, key=pseudonym_key),
                            now=lambda: dt.datetime.now(dt.UTC))
                summary = await demo.play()
            finally:
                await services.close()
            path = stack.data / "demo-ringkasan.json"
            write_summary(summary, path)
            print_summary(summary, stack.service_ports, stack.ports.prometheus, path)

        try:
            asyncio.run(play())
        except (RuntimeError, httpx.HTTPError) as exc:
            print(f"error: demo gagal: {_reason(exc)}\nThe services keep running for inspection; Ctrl-C stops them.",
                  file=sys.stderr, flush=True)

    stack_dir = Stack.load("run").data
    (stack_dir / "demo-admin-api-key").unlink(missing_ok=True)
    try:
        return run(overrides=overrides, key_name="demo-admin-api-key", scenario=scenario,
                   service_log=stack_dir / "demo-services.log")
    except InfraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

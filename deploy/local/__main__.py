"""Command line for the local infrastructure.

    python -m deploy.local up [--profile run|test] [--no-prometheus]
    python -m deploy.local down [--profile run|test]
    python -m deploy.local status [--profile run|test]
    python -m deploy.local env [--profile run|test]
    python -m deploy.local install [--for-tests]
"""

from __future__ import annotations

import argparse
import sys
import time

from deploy.local.components import cache_dir
from deploy.local.install import install
from deploy.local.process import InfraError
from deploy.local.stack import PROFILES, Stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.local",
        description="Install, start and stop the local Kafka, FerretDB and Prometheus.",
    )
    parser.add_argument("action", choices=["up", "down", "status", "env", "install"])
    parser.add_argument("--profile", choices=PROFILES, default="run",
                        help="run: fixed ports for make run; test: free ports for the test suite")
    parser.add_argument("--no-prometheus", action="store_true", help="start Kafka and FerretDB only")
    parser.add_argument("--for-tests", action="store_true",
                        help="install: also what the test suite uses (Chromium, promtool, caddy, amtool, Helm)")
    args = parser.parse_args(argv)
    try:
        if args.action == "install":
            began = time.monotonic()
            if install(tests=args.for_tests):
                print(f"Terpasang dalam {time.monotonic() - began:.0f} detik (sekali saja, disimpan di {cache_dir()})")
            return 0
        stack = Stack.load(args.profile)
        if args.action == "up":
            began = time.monotonic()
            print(f"Infrastruktur lokal ({args.profile}), data in {stack.data}")
            stack.up(with_prometheus=not args.no_prometheus)
            print(f"  ready in {time.monotonic() - began:.1f} s")
        elif args.action == "down":
            stack.down()
        elif args.action == "status":
            for part, running in stack.status().items():
                print(f"  {part:<10} {'running' if running else 'stopped'}")
        else:
            for key, value in stack.environment().items():
                print(f"{key}={value}")
    except InfraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

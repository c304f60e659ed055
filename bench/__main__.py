"""`make bench`: every scenario in one harness, against raw baselines in the same run.

    python -m bench [--scale 0.02] [--pairs 5] [--scenarios publish,drain,rebuild,latency,burst,import,demo]
                    [--rebuild-scale 1] [--import-scale 1] [--demo-scale 1] [--profile bench]

The corpus (bench/corpus.py) is generated and put on fresh topics before anything is timed.
Results go to bench/results/<out>.json and .md (see bench/harness.py for what is measured).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import subprocess
import sys
from typing import Any

SCENARIOS = ("publish", "drain", "rebuild", "latency", "burst", "import", "demo")
TARGETS = {"publish": 0.85, "drain": 0.6, "rebuild": 0.6}
# A rebuild at this scale or above runs without a warm-up: one pair at full scale takes minutes.
FULL_SCALE_NO_WARM_UP = 0.5


async def main(args: argparse.Namespace, env: dict[str, str]) -> int:
    from bench.corpus import journey_models
    from bench.demo_run import demo_scenario
    from bench.harness import Processes, compare, write_report
    from bench.import_roster import import_scenario
    from bench.live import burst_scenario, latency_scenario
    from bench.rebuild import baseline as rebuild_baseline
    from bench.rebuild import produce
    from bench.rebuild import system as rebuild_system
    from bench.scenarios import drain_scenario, publish_scenario
    from deploy.local.stack import Stack
    from shared.serve import collect_less_often

    processes = Processes.of_stack(Stack.load(args.profile))
    chosen = [s for s in args.scenarios.split(",") if s]
    rebuild_here = "rebuild" in chosen and args.rebuild_scale == args.scale
    models: list[tuple[str, str, Any]] = []
    if {"publish", "drain"} & set(chosen) or rebuild_here:
        models = journey_models(args.scale)
        print(f"corpus: {len(models):,} events (scale {args.scale}); producing ...", flush=True)
        await produce(env, [(topic, key.encode(), event.model_dump_json().encode()) for topic, key, event in models])
    residents = sum(1 for topic, _, _ in models if topic.endswith("resident.events"))
    # The drain's system side runs the service's code in this process: set up the collector as a
    # service process is (shared.serve). That also keeps the pre-generated corpus, which is no part
    # of either side, out of every collection (scanning it slowed the system side by a third).
    collect_less_often()
    results: list[dict[str, Any]] = []
    if "publish" in chosen:
        sample = models[:args.publish_events]
        base, system = publish_scenario(env, sample)
        results.append(await compare("publish", baseline=base, system=system, processes=processes, pairs=args.pairs,
                                     target=TARGETS["publish"], warm_up=args.warm_up,
                                     notes=f"{len(sample):,} events, {256} in flight, acks=all, idempotent"))
    if "drain" in chosen:
        base, system = drain_scenario(env, len(models))
        results.append(await compare("drain", baseline=base, system=system, processes=processes, pairs=args.pairs,
                                     target=TARGETS["drain"], warm_up=args.warm_up,
                                     notes="projector over an in-memory store vs getmany; commit per batch of 500"))
    if "rebuild" in chosen and not rebuild_here:
        results.append(await asyncio.to_thread(rebuild_apart, args))
    if rebuild_here:
        runs = itertools.count()

        async def base_run() -> dict[str, Any]:
            outcome = await rebuild_baseline(env, f"r{next(runs)}")
            return {"items": outcome["messages"]}

        async def system_run() -> dict[str, Any]:
            outcome = await rebuild_system(env)
            return {"items": outcome["messages"], "prefix": outcome["prefix"],
                    "replay_seconds": outcome["replay_seconds"], "write_seconds": outcome["write_seconds"],
                    "terdaftar": await rebuilt_terdaftar(env, outcome["prefix"])}

        result = await compare("rebuild", baseline=base_run, system=system_run, processes=processes,
                               pairs=args.pairs, target=TARGETS["rebuild"], warm_up=args.warm_up,
                               notes=f"{residents:,} residents; wall time of one system rebuild is its seconds")
        results.append(result)
    if "latency" in chosen:
        results.append(await latency_scenario(env, rate=args.rate, seconds=args.latency_seconds,
                                              pairs=args.latency_pairs, via=args.latency_via))
    if "burst" in chosen:
        results.append(await burst_scenario(env, events=args.burst_events))
    if "import" in chosen:
        results.append(await import_scenario(env, scale=args.import_scale, pairs=args.import_pairs))
    if "demo" in chosen:
        results.append(await asyncio.to_thread(demo_scenario, scale=args.demo_scale, weeks=args.demo_weeks))
    path = write_report(results, out_name=args.out, context={"scale": args.scale, "residents": residents,
                                                             "events": len(models), "pairs": args.pairs,
                                                             "warm-up": "yes" if args.warm_up else "no"})
    print(path.read_text())
    return 0


def rebuild_apart(args: argparse.Namespace) -> dict[str, Any]:
    """The rebuild scenario at --rebuild-scale, run by `python -m bench` in a process of its own: its
    corpus goes on topics of its own (topic names are fixed when a process first reads them)."""
    from bench.harness import REPO, RESULTS

    out = f"{args.out}-rebuild"
    scale = str(args.rebuild_scale)
    command = [sys.executable, "-m", "bench", "--scenarios", "rebuild", "--scale", scale, "--rebuild-scale", scale,
               "--pairs", str(args.rebuild_pairs), "--profile", args.profile, "--out", out]
    if not args.warm_up or args.rebuild_scale >= FULL_SCALE_NO_WARM_UP:
        command.append("--no-warm-up")
    print(f"[rebuild] at scale {args.rebuild_scale} in a process of its own: {' '.join(command[1:])}", flush=True)
    subprocess.run(command, check=True, cwd=REPO)
    report = json.loads((RESULTS / f"{out}.json").read_text())
    (result,) = [s for s in report["scenarios"] if s["scenario"] == "rebuild"]
    return {**result, "residents": report["context"]["residents"],
            "notes": f"scale {args.rebuild_scale}; {result['notes']}"}


async def rebuilt_terdaftar(env: dict[str, str], prefix: str) -> int:
    """The regency's terdaftar in a rebuilt projection: the rebuild really counted every resident."""
    from pymongo import AsyncMongoClient

    from services.coverage.store import CoverageStore

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(env["EKTP_MONGO_URL"])
    try:
        kab = await CoverageStore(client[env["EKTP_MONGO_DATABASE"]], prefix).area("kab:17.02")
    finally:
        await client.close()
    return int(kab.get("terdaftar", 0))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.02,
                        help="corpus size: 1.0 = 211,077 wajib KTP and 7,000 students (about 1.1 million events)")
    parser.add_argument("--pairs", type=int, default=5, help="measured pairs per scenario after one warm-up")
    parser.add_argument("--no-warm-up", dest="warm_up", action="store_false",
                        help="publish, drain, rebuild: no warm-up run of each side (for full-scale runs taking minutes each)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma separated, of {', '.join(SCENARIOS)}")
    parser.add_argument("--publish-events", type=int, default=20_000, help="events sent per publish run")
    parser.add_argument("--rate", type=float, default=100.0, help="latency: registrations per second, open loop")
    parser.add_argument("--latency-seconds", type=float, default=20.0, help="latency: seconds per measured run")
    parser.add_argument("--latency-pairs", type=int, default=3, help="latency: measured (baseline, system) pairs")
    parser.add_argument("--latency-via", choices=("publish", "http"), default="publish",
                        help="latency: send through the system's publisher, or post registrations to the intake")
    parser.add_argument("--burst-events", type=int, default=10_000, help="burst: registrations sent at once")
    parser.add_argument("--rebuild-scale", type=float, default=1.0,
                        help="rebuild: corpus size of the full rebuild (1.0 = the regency); when it differs from "
                             "--scale the rebuild runs in a process of its own, on a corpus of its own")
    parser.add_argument("--rebuild-pairs", type=int, default=1,
                        help="rebuild at --rebuild-scale: measured pairs (no warm-up from scale 0.5 up)")
    parser.add_argument("--import-scale", type=float, default=1.0,
                        help="import: roster size (1.0 = the regency's 211,077 wajib KTP and 7,000 students)")
    parser.add_argument("--import-pairs", type=int, default=1, help="import: measured (baseline, system) pairs")
    parser.add_argument("--demo-scale", type=float, default=1.0,
                        help="demo: `make demo` at this scale, timed from start to summary (1.0 = the regency)")
    parser.add_argument("--demo-weeks", type=int, default=3, help="demo: weeks of jemput bola played (make demo's default)")
    parser.add_argument("--profile", default="bench", help="local infrastructure profile (the smoke test uses 'test')")
    parser.add_argument("--out", default="report", help="name of the result files in bench/results/")
    args = parser.parse_args(argv)
    unknown = set(args.scenarios.split(",")) - set(SCENARIOS) - {""}
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    return args


if __name__ == "__main__":
    from bench.school_round import prepare

    arguments = parse_args()
    sys.exit(asyncio.run(main(arguments, prepare(arguments.profile))))

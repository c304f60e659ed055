"""The benchmark harness: interleaved (baseline, system) pairs after a warm-up, with CPU and memory.

Every scenario gives two coroutines that do the same work: a raw baseline (plain aiokafka, plain
PyMongo) and the system's own code path. The harness runs one warm-up of each, then `pairs`
pairs in alternating order (baseline first in even pairs, system first in odd ones, so neither
side always gets a warm cache), and reports for each side min, median and max seconds, the
median of the per-pair ratios (baseline seconds / system seconds: 1.0 means as fast as the
baseline), items per second, and per process the CPU seconds each side used (this harness, the
Kafka broker, FerretDB) and the peak resident memory.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench/results"
TICKS = os.sysconf("SC_CLK_TCK")

Run = Callable[[], Awaitable[dict[str, Any]]]
"""One run of one side; returns at least {"items": n} (n the events or documents it handled)."""


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process has used so far (from /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def process_peak_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM) in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


@dataclass
class Processes:
    """The processes whose CPU is charged to each run: this harness and the local infrastructure."""

    pids: dict[str, int]

    @classmethod
    def of_stack(cls, stack: Any) -> Processes:
        from deploy.local.process import read_pid

        pids = {"harness": os.getpid()}
        for part in (stack.kafka, stack.ferretdb):
            pid = read_pid(part.pid_file)
            if pid is not None:
                pids[part.part] = pid
        return cls(pids)

    def cpu(self) -> dict[str, float]:
        return {name: process_cpu_seconds(pid) for name, pid in self.pids.items()}

    def peak_mb(self) -> dict[str, float]:
        peaks = {name: process_peak_mb(pid) for name, pid in self.pids.items()}
        peaks["harness"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        return peaks


async def timed(run: Run, processes: Processes) -> dict[str, Any]:
    before = processes.cpu()
    began = time.perf_counter()
    outcome = await run()
    seconds = time.perf_counter() - began
    after = processes.cpu()
    return {**outcome, "seconds": seconds, "cpu_seconds": {k: round(after[k] - before[k], 2) for k in after}}


def spread(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3), "max": round(max(values), 3)}


async def compare(name: str, *, baseline: Run, system: Run, processes: Processes, pairs: int = 5,
                  target: float | None = None, notes: str = "", warm_up: bool = True,
                  log: Callable[[str], None] = print) -> dict[str, Any]:
    """Warm up both sides (unless told not to), run `pairs` interleaved pairs, and summarise."""
    if warm_up:
        log(f"[{name}] warm-up")
        await baseline()
        await system()
    else:
        log(f"[{name}] no warm-up")
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "system": []}
    ratios = []
    for pair in range(pairs):
        order = (("baseline", baseline), ("system", system)) if pair % 2 == 0 else \
            (("system", system), ("baseline", baseline))
        done = {side: await timed(run, processes) for side, run in order}
        for side in ("baseline", "system"):
            runs[side].append(done[side])
        if done["baseline"]["items"] != done["system"]["items"]:
            raise AssertionError(f"{name}: sides handled different amounts: {done}")
        ratios.append(done["baseline"]["seconds"] / done["system"]["seconds"])
        log(f"[{name}] pair {pair + 1}/{pairs}: baseline {done['baseline']['seconds']:.2f} s, "
            f"system {done['system']['seconds']:.2f} s, ratio {ratios[-1]:.3f}")
    items = runs["system"][0]["items"]
    result: dict[str, Any] = {"scenario": name, "items": items, "pairs": pairs, "warm_up": warm_up, "notes": notes,
                              "ratio_median": round(statistics.median(ratios), 3),
                              "ratios": [round(r, 3) for r in ratios], "target_ratio": target,
                              "meets_target": None if target is None else statistics.median(ratios) >= target}
    for side in ("baseline", "system"):
        seconds = [r["seconds"] for r in runs[side]]
        cpu_names = runs[side][0]["cpu_seconds"].keys()
        result[side] = {
            "seconds": spread(seconds),
            "items_per_second_median": round(items / statistics.median(seconds), 1),
            "cpu_seconds_median": {p: round(statistics.median(r["cpu_seconds"][p] for r in runs[side]), 2)
                                   for p in cpu_names},
            "extra": {k: v for k, v in runs[side][-1].items() if k not in ("items", "seconds", "cpu_seconds")},
        }
    result["peak_memory_mb"] = processes.peak_mb()
    return result


def write_report(results: list[dict[str, Any]], *, out_name: str, context: dict[str, Any]) -> Path:
    """bench/results/<out_name>.json and .md: every scenario's figures, one table row each."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {"context": {**context, "cores": os.cpu_count(), "at": dt.datetime.now(dt.UTC).isoformat()},
                "scenarios": results}
    (RESULTS / f"{out_name}.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    lines = [
        f"Benchmarks, {document['context']['at'][:19]} UTC, {os.cpu_count()} cores; "
        + ", ".join(f"{k} {v}" for k, v in context.items()),
        "",
        "| scenario | items | baseline s (min / median / max) | system s (min / median / max) | ratio (median) | "
        "target | system CPU s (harness / kafka / ferretdb) | peak MiB (harness / kafka / ferretdb) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    paired = [r for r in results if "ratio_median" in r and "baseline" in r]
    for r in paired:
        b, s = r["baseline"]["seconds"], r["system"]["seconds"]
        cpu = r["system"]["cpu_seconds_median"]
        peak = r["peak_memory_mb"]
        target = "" if r["target_ratio"] is None else f">= {r['target_ratio']} ({'met' if r['meets_target'] else 'NOT met'})"
        lines.append(
            f"| {r['scenario']} | {r['items']:,} | {b['min']} / {b['median']} / {b['max']} | "
            f"{s['min']} / {s['median']} / {s['max']} | {r['ratio_median']} | {target} | "
            f"{cpu.get('harness', 0)} / {cpu.get('kafka', 0)} / {cpu.get('ferretdb', 0)} | "
            f"{peak.get('harness', 0)} / {peak.get('kafka', 0)} / {peak.get('ferretdb', 0)} |")
    lines += latency_lines([r for r in results if r["scenario"] == "latency"])
    lines += burst_lines([r for r in results if r["scenario"] == "burst"])
    lines += import_lines([r for r in results if r["scenario"] == "import"])
    lines += demo_lines([r for r in results if r["scenario"] == "demo"])
    for r in paired:
        if r.get("notes"):
            lines += ["", f"- {r['scenario']}: {r['notes']}"]
    path = RESULTS / f"{out_name}.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _verdict(result: dict[str, Any]) -> str:
    return "met" if result["meets_target"] else "NOT met"


def latency_lines(results: list[dict[str, Any]]) -> list[str]:
    """Markdown rows of the latency scenario: p50 and p99 per side (medians over pairs) and the p99 gap."""
    if not results:
        return []
    lines = ["", "| latency | events/s | s per run | pairs | baseline p50 / p99 ms | system p50 / p99 ms | "
                 "p99 gap ms (median; per pair) | target |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        b, s = r["baseline"], r["system"]
        lines.append(f"| {r['via']}: sent to visible in coverage vs plain pipe | {r['rate_per_second']:.0f} | "
                     f"{r['seconds_per_run']:.0f} | {r['pairs']} | {b['p50_median']} / {b['p99_median']} | "
                     f"{s['p50_median']} / {s['p99_median']} | {r['p99_difference_ms_median']}; "
                     f"{r['p99_differences_ms']} | <= {r['target_ms']:.0f} ({_verdict(r)}) |")
    return lines


def burst_lines(results: list[dict[str, Any]]) -> list[str]:
    """Markdown rows of the burst scenario."""
    if not results:
        return []
    lines = ["", "| burst | accepted | clerks | accepting s (per s) | coverage exact s after the last | areas | target |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| registrations at once | {r['accepted']:,} of {r['events']:,} | {r['clerks']} | "
                     f"{r['accepting_seconds']} ({r['accepted_per_second']}) | "
                     f"{r['seconds_until_exact_after_last_accepted']} | {r['areas_checked']} | "
                     f">= {r.get('target_accepted_per_second', 0):.0f} accepted/s and exact <= "
                     f"{r['target_seconds']:.0f} s ({_verdict(r)}) |")
    return lines


def import_lines(results: list[dict[str, Any]]) -> list[str]:
    """Markdown rows of the import scenario: the roster through the import API until every read model is exact."""
    if not results:
        return []
    lines = ["", "| import | rows | pairs | baseline s (median) | system s (median) | rows/s | ratio (median; per pair) | "
                 "exact after s (roster / recording / coverage) | target |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        exact = r["exact_after_seconds"]
        lines.append(f"| roster files through the import API | {r['items']:,} | {r['pairs']} | "
                     f"{r['baseline_seconds_median']} | {r['system_seconds_median']} | {r['rows_per_second']:,.0f} | "
                     f"{r['ratio_median']}; {r['ratios']} | {exact['roster']} / {exact['recording']} / "
                     f"{exact['coverage']} | >= {r['target_rows_per_second']:.0f} rows/s and ratio >= "
                     f"{r['target_ratio']} ({_verdict(r)}) |")
    lines += ["", "| reads on the imported regency | p50 ms | p95 ms | target p95 |", "|---|---|---|---|"]
    for r in results:
        for path, figures in r["reads_ms"].items():
            verdict = "met" if figures["p95"] <= r["target_read_p95_ms"] else "NOT met"
            lines.append(f"| GET {path} ({r['items']:,} residents) | {figures['p50']} | {figures['p95']} | "
                         f"<= {r['target_read_p95_ms']:.0f} ({verdict}) |")
    return lines


def demo_lines(results: list[dict[str, Any]]) -> list[str]:
    """Markdown rows of the demo scenario: start to summary, and each phase the demo reported."""
    if not results:
        return []
    lines = ["", "| make demo | scale | weeks | start to summary s | target |", "|---|---|---|---|---|"]
    for r in results:
        target = ("(no target below full scale)" if r["target_seconds"] is None
                  else f"<= {r['target_seconds']:.0f} s ({_verdict(r)})")
        lines.append(f"| start to summary | {r['scale']} | {r['weeks']} | {r['seconds_to_summary']} | {target} |")
    lines += ["", "| demo phase | s |", "|---|---|"]
    for r in results:
        lines += [f"| {label} | {seconds} |" for label, seconds in r["phases_seconds"].items()]
    return lines

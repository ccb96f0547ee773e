"""Wall time per stage for the bundled example, dependencies already installed.

    .venv/bin/python benchmarks/spine.py [--runs 5]

The first (warm-up) run builds or reuses the cached environment; the measured runs then time the
CLI as a user runs it (a fresh process each time) and read the stage times from report.json.
CPU is the run's user + system time with every process it started (the CLI, the discovery probe,
uvicorn, the MCP server, git, ruff): unlike wall time it means something on a loaded machine.
Targets: the whole run <= 4 s wall and <= 3 s CPU on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "todo-api"
TARGET_SECONDS = 4.0
TARGET_CPU_SECONDS = 3.0


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def run_once(out: Path) -> tuple[float, float, dict[str, float], int]:
    """Wall seconds, CPU seconds (the CLI and every process it waited for), stage seconds and
    the exit code of one run."""
    cpu = children_cpu()
    began = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "runner.cli", "test", str(EXAMPLE), "--output-dir", str(out), "-q"],
        capture_output=True, text=True, cwd=REPO, check=False,
    )
    wall = time.perf_counter() - began
    cpu = children_cpu() - cpu
    if proc.returncode not in (0, 1):
        sys.exit(f"run failed with exit {proc.returncode}:\n{proc.stderr}")
    report = json.loads((out / "report.json").read_text())
    return wall, cpu, {s["stage"]: s["seconds"] for s in report["stages"]}, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    loads = [load()]
    with tempfile.TemporaryDirectory() as tmp:
        run_once(Path(tmp) / "warmup")
        walls, cpus, stages = [], [], []
        for i in range(args.runs):
            wall, cpu, per_stage, _ = run_once(Path(tmp) / f"run{i}")
            walls.append(wall)
            cpus.append(cpu)
            stages.append(per_stage)
    loads.append(load())
    names = list(stages[0])
    print(f"example: {EXAMPLE.relative_to(REPO)}, {args.runs} runs after one warm-up "
          f"(medians, seconds); load average {loads[0]} before, {loads[1]} after")
    print(f"{'stage':<12}{'median':>8}{'min':>8}{'max':>8}")
    for name in names:
        values = [s.get(name, 0.0) for s in stages]
        print(f"{name:<12}{statistics.median(values):>8.2f}{min(values):>8.2f}"
              f"{max(values):>8.2f}")
    stage_sum = statistics.median(sum(s.values()) for s in stages)
    wall = statistics.median(walls)
    print(f"{'stages sum':<12}{stage_sum:>8.2f}")
    print(f"{'CLI wall':<12}{wall:>8.2f}{min(walls):>8.2f}{max(walls):>8.2f}"
          "   (process start, imports, cleanup and report writing included)")
    cpu = statistics.median(cpus)
    print(f"{'CLI CPU':<12}{cpu:>8.2f}{min(cpus):>8.2f}{max(cpus):>8.2f}"
          "   (user + system, the CLI and every process it started)")
    verdict = "met" if wall <= TARGET_SECONDS else "NOT met"
    print(f"target: whole run <= {TARGET_SECONDS:.0f} s -> {verdict} (median CLI wall {wall:.2f} s)")
    verdict = "met" if cpu <= TARGET_CPU_SECONDS else "NOT met"
    print(f"target: CPU <= {TARGET_CPU_SECONDS:.0f} s -> {verdict} (median {cpu:.2f} s)")


if __name__ == "__main__":
    main()

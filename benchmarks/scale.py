"""A wide API end to end: seconds per stage, CPU and peak memory for N operations.

    .venv/bin/python benchmarks/scale.py [--ops 500 5000] [--python PATH] [--timeout 600]

For each N it writes a FastAPI app with N operations (N/2 resources, a list and a read each),
runs `api-mcp-test test` on it once to build or reuse its environment (the warm-up, not
reported), then once measured: the stage seconds from report.json, the CLI's wall time, the CPU
time of the CLI and every process it started, and the peak resident memory of the largest of
them. A run that ends in a stage failure prints that stage and its message (a clear end is a
result too: see the 5,000-operation target). `--python` runs the app in an environment you
prepared instead of the cached one (`--python` of the CLI; no install stage then).

Targets (issue 17): 500 operations end to end within 15 s; 5,000 run, or end with a clear
message, within bounded time and memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from apps import wide_app  # benchmarks/apps.py (scripts run from their folder)

REPO = Path(__file__).resolve().parents[1]
TARGET_500_SECONDS = 15.0


def children() -> tuple[float, int]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def run(app: Path, out: Path, args: argparse.Namespace) -> tuple[float, float, dict]:
    """Wall and CPU seconds of one CLI run, and its report."""
    command = [sys.executable, "-m", "runner.cli", "test", str(app), "--output-dir", str(out),
               "-q", "--start-timeout", str(args.timeout), "--call-timeout", "30",
               "--discovery-timeout", str(args.timeout), "--timeout", str(args.timeout)]
    if args.python:
        command += ["--python", args.python]
    cpu = children()[0]
    began = time.perf_counter()
    subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False,
                   timeout=args.timeout + 120)
    wall = time.perf_counter() - began
    report_file = out / "report.json"
    report = json.loads(report_file.read_text()) if report_file.is_file() else {}
    return wall, children()[0] - cpu, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--python", help="the app's interpreter (skips the install stage)")
    parser.add_argument("--timeout", type=int, default=600, help="--timeout of each run")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.ops:
            app = wide_app(Path(tmp) / f"wide-{count}", count)
            run(app, Path(tmp) / f"warmup-{count}", args)
            load = os.getloadavg()[0]
            wall, cpu, report = run(app, Path(tmp) / f"run-{count}", args)
            rows.append((count, wall, cpu, load, report))
    peak_mb = children()[1] / 1024
    print(f"{'ops':>6} {'stage':<10} {'seconds':>8}")
    for count, wall, cpu, load, report in rows:
        for stage in report.get("stages", []):
            print(f"{count:>6} {stage['stage']:<10} {stage['seconds']:>8.2f}  {stage['note'][:60]}")
        failed = report.get("failed_stage")
        outcome = (f"failed at [{failed}]: {str(report.get('error'))[:200]}" if failed
                   else f"{report.get('summary', {}).get('passed', '?')} passed")
        print(f"{count:>6} {'CLI wall':<10} {wall:>8.2f}  CPU {cpu:.2f} s, load average "
              f"{load:.1f} at start; {outcome}")
        if count == 500:
            verdict = "met" if wall <= TARGET_500_SECONDS and not failed else "NOT met"
            print(f"{'':>6} target: 500 operations within {TARGET_500_SECONDS:.0f} s -> {verdict}")
    print(f"peak resident memory of the largest process started: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()

"""Wall time of a PR-aware run (`--base`) against a single run, on the bundled example.

    .venv/bin/python benchmarks/pr_baseline.py [--runs 3]

A git repository with the example is made in a temporary folder (the base commit) and the
working tree changed (the PR: one endpoint's handler edited). Timed, each a fresh CLI process
with dependencies already installed:
  single      `api-mcp-test test` without a base;
  base cold   `--base main` with no cached base results (the base runs beside the head);
  base cached `--base main` again: the base's results come from the cache.
Target: base cached <= 1.6x single (medians).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "todo-api"
TARGET_RATIO = 1.6


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=b", "-c", "user.email=b@e", *args],
                   check=True, capture_output=True)


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("__pycache__"))
    git(root, "init", "-q", "-b", "main", str(repo))
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    main = repo / "main.py"
    main.write_text(main.read_text().replace('return {"status": "ok"}',
                                             'return {"status": "ok" if _todos is not None '
                                             'else "?"}'))
    return repo


def run_once(repo: Path, out: Path, cache: Path, *args: str) -> tuple[float, dict]:
    began = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "runner.cli", "test", str(repo), "--output-dir", str(out), "-q",
         *args],
        capture_output=True, text=True, cwd=REPO, check=False,
        env={**os.environ, "API_MCP_TEST_CACHE": str(cache)})
    wall = time.perf_counter() - began
    if proc.returncode not in (0, 1):
        sys.exit(f"run failed with exit {proc.returncode}:\n{proc.stderr}")
    return wall, json.loads((out / "report.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = make_repo(root)
        cache = root / "cache"
        run_once(repo, root / "warmup", cache)  # builds the cached environment
        rows: dict[str, list[float]] = {"single": [], "base cold": [], "base cached": []}
        for i in range(args.runs):
            rows["single"].append(run_once(repo, root / f"s{i}", cache)[0])
            shutil.rmtree(cache / "baselines", ignore_errors=True)
            wall, report = run_once(repo, root / f"c{i}", cache, "--base", "main")
            assert report["baseline"]["source"] == "run", report["baseline"]
            rows["base cold"].append(wall)
            wall, report = run_once(repo, root / f"w{i}", cache, "--base", "main")
            assert report["baseline"]["source"] == "cache", report["baseline"]
            rows["base cached"].append(wall)
    single = statistics.median(rows["single"])
    print(f"example: {EXAMPLE.relative_to(REPO)}, {args.runs} runs each (seconds)")
    print(f"{'run':<14}{'median':>8}{'min':>8}{'max':>8}{'x single':>10}")
    for name, walls in rows.items():
        median = statistics.median(walls)
        print(f"{name:<14}{median:>8.2f}{min(walls):>8.2f}{max(walls):>8.2f}"
              f"{median / single:>10.2f}")
    ratio = statistics.median(rows["base cached"]) / single
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"target: base cached <= {TARGET_RATIO}x single -> {verdict} ({ratio:.2f}x)")


if __name__ == "__main__":
    main()

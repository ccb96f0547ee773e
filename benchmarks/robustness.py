"""Run the broken-input corpus through the CLI and print a Markdown table.

    python benchmarks/robustness.py [--workers N]

Each case is a repository that is broken, slow or hostile (tests/corpus.py), run with fake
secrets in the runner's environment. Columns: the exit code and the failed stage the run
reported, wall seconds, processes left behind, and fake secret values found in any output
(stdout, stderr, reports, logs, calls.jsonl).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import build_fixture_python
from tests.corpus import run_all


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3, help="cases run at the same time")
    args = parser.parse_args()
    python = build_fixture_python()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="robustness-") as tmp:
        outcomes = run_all(python, Path(tmp), workers=args.workers)
    total = time.monotonic() - began
    print("| Input | Exit code | Stage | Seconds | Leftover processes | Secrets seen | As expected |")
    print("|---|---:|---|---:|---:|---:|---|")
    unexpected = 0
    for o in outcomes:
        ok = (o.exit_code == o.case.exit_code and o.failed_stage == o.case.stage
              and not o.leftovers and not o.secrets_seen and "Traceback" not in o.stderr)
        unexpected += not ok
        exit_code = "hung" if o.exit_code is None else str(o.exit_code)
        print(f"| {o.case.name} | {exit_code} | {o.failed_stage or '(completed)'} "
              f"| {o.seconds:.1f} | {len(o.leftovers)} | {len(o.secrets_seen)} "
              f"| {'yes' if ok else 'NO'} |")
    print(f"\n{len(outcomes)} inputs, {unexpected} unexpected, {total:.0f} s wall with "
          f"{args.workers} at a time.")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())

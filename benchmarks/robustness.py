"""Run the hostile corpus through the CLI (and the action) and print a Markdown table.

    python benchmarks/robustness.py [--workers N] [-k TEXT]

Each case is a repository that is broken, slow or hostile (tests/corpus.py and the modules that
contribute cases), run with fake secrets in the runner's environment. Columns: how it ran (CLI,
or the action against the local GitHub API), the exit code and the failed stage the run reported,
wall seconds (the runner's own exit), processes left behind (setsid daemons included), fake
secret values found in any encoding in any output (stdout, stderr, reports, logs, calls.jsonl,
generated files, the PR comment and job summary), and in action mode whether the comment was
forged or a comment the action does not own was edited.
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
from tests.corpus import Outcome, all_cases, run_all


def as_expected(o: Outcome) -> bool:
    deadline = o.case.deadline
    return (o.exit_code == o.case.exit_code and o.failed_stage == o.case.stage
            and not o.leftovers and not o.secrets_seen and "Traceback" not in o.stderr
            and (deadline is None or o.seconds < deadline)
            and not o.comment_forged and not o.foreign_edited)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3, help="cases run at the same time")
    parser.add_argument("-k", dest="select", default="", help="only cases whose name has TEXT")
    args = parser.parse_args()
    python = build_fixture_python()
    cases = [c for c in all_cases() if args.select.lower() in c.name.lower()]
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="robustness-") as tmp:
        outcomes = run_all(python, Path(tmp), workers=args.workers, cases=cases)
    total = time.monotonic() - began
    print("| Input | Run as | Exit code | Stage | Seconds | Leftover processes | Secrets seen "
          "| Comment forged / foreign edited | As expected |")
    print("|---|---|---:|---|---:|---:|---:|---|---|")
    unexpected = 0
    for o in outcomes:
        ok = as_expected(o)
        unexpected += not ok
        exit_code = "hung" if o.exit_code is None else str(o.exit_code)
        comment = (f"{'FORGED' if o.comment_forged else 'no'} / "
                   f"{'EDITED' if o.foreign_edited else 'no'}" if o.case.action else "")
        expected = "yes" if ok else "NO (known: " + o.case.xfail + ")" if o.case.xfail else "NO"
        print(f"| {o.case.name} | {'action' if o.case.action else 'CLI'} | {exit_code} "
              f"| {o.failed_stage or '(completed)'} | {o.seconds:.1f} | {len(o.leftovers)} "
              f"| {len(o.secrets_seen)} | {comment} | {expected} |")
    for o in outcomes:
        for line in (*o.leftovers, *o.secrets_seen):
            print(f"- {o.case.name}: {line[:200]}", file=sys.stderr)
    print(f"\n{len(outcomes)} inputs, {unexpected} unexpected, {total:.0f} s wall with "
          f"{args.workers} at a time.")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())

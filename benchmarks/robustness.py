"""Run the hostile corpus through the CLI (and the action) and print a Markdown table.

    python benchmarks/robustness.py [--workers N] [-k TEXT ...]

Each case is a repository that is broken, slow or hostile (tests/corpus.py and the modules that
contribute cases), run with fake secrets in the runner's environment. Columns: how it ran (CLI,
or the action against the local GitHub API; as root with API_MCP_TEST_SANDBOX_USER for the
privilege-drop cases), the exit code and the failed stage the run reported, wall seconds (the
runner's own exit) and how far past its --timeout (or timeout-minutes) that was, processes left
behind (setsid daemons included), fake secret values found in any encoding in any output
(stdout, stderr, reports, logs, calls.jsonl, generated files, the PR comment and job summary),
in action mode whether the comment was forged or a comment the action does not own was edited,
and whether all of it, and the case's own checks, were as expected.
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


def unexpected(o: Outcome) -> str:
    """What about the run was not as its case expects ("" when all was), including the case's
    own further checks (those of tests/test_robustness.py)."""
    deadline = o.case.deadline
    wrong = [
        (o.exit_code != o.case.exit_code, f"exit {o.exit_code}"),
        (not o.case.stage_expected(o.failed_stage), f"stage {o.failed_stage}"),
        (bool(o.leftovers), "leftover processes"),
        (bool(o.secrets_seen), "secrets seen"),
        ("Traceback" in o.stderr, "traceback"),
        (deadline is not None and o.seconds >= deadline, "over its time limit"),
        (o.comment_forged, "comment forged"),
        (o.foreign_edited, "foreign comment edited"),
    ]
    found = [what for bad, what in wrong if bad]
    if not found and o.case.check:
        try:
            o.case.check(o)
        except Exception as exc:  # noqa: BLE001 - a broken check is a row, not a crash
            found.append(f"check: {type(exc).__name__} {str(exc)[:80]}".replace("|", "/")
                         .replace("\n", " "))
    return ", ".join(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3, help="cases run at the same time")
    parser.add_argument("-k", dest="select", action="append", default=[],
                        help="only cases whose name has TEXT (repeatable: any of them)")
    args = parser.parse_args()
    python = build_fixture_python()
    cases = [c for c in all_cases()
             if not args.select or any(t.lower() in c.name.lower() for t in args.select)]
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="robustness-") as tmp:
        outcomes = run_all(python, Path(tmp), workers=args.workers, cases=cases)
        total = time.monotonic() - began
        print("| Input | Run as | Exit code | Stage | Seconds | Past --timeout | Leftover processes "
              "| Secrets seen | Comment forged / foreign edited | As expected |")
        print("|---|---|---:|---|---:|---:|---:|---:|---|---|")
        surprises = 0
        for o in outcomes:
            wrong = unexpected(o)
            surprises += bool(wrong)
            exit_code = "hung" if o.exit_code is None else str(o.exit_code)
            comment = (f"{'FORGED' if o.comment_forged else 'no'} / "
                       f"{'EDITED' if o.foreign_edited else 'no'}" if o.case.action else "")
            expected = ("yes" if not wrong else f"NO ({wrong}; known: {o.case.xfail})"
                        if o.case.xfail else f"NO ({wrong})")
            run_as = ("action" if o.case.action else "CLI") + (
                ", root + sandbox user" if o.case.sandbox else "")
            limit = o.case.run_limit
            past = f"{o.seconds - limit:+.1f}" if limit is not None else ""
            print(f"| {o.case.name} | {run_as} | {exit_code} | {o.failed_stage or '(completed)'} "
                  f"| {o.seconds:.1f} | {past} | {len(o.leftovers)} | {len(o.secrets_seen)} "
                  f"| {comment} | {expected} |")
        for o in outcomes:
            for line in (*o.leftovers, *o.secrets_seen):
                print(f"- {o.case.name}: {line[:200]}", file=sys.stderr)
        print(f"\n{len(outcomes)} inputs, {surprises} unexpected, {total:.0f} s wall with "
              f"{args.workers} at a time.")
        return 1 if surprises else 0


if __name__ == "__main__":
    sys.exit(main())

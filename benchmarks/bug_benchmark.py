"""Bug-finding benchmark: api-mcp-test (smoke, comprehensive) and Schemathesis on planted bugs.

    python benchmarks/bug_benchmark.py [-k APP] [--skip-schemathesis] [--jobs N]

The apps in benchmarks/bugs/ carry planted bugs and correct operations, listed in
benchmarks/bugs/manifest.json. api-mcp-test runs as a user would run it, with no configuration:
`api-mcp-test test APP --python PY --agent deterministic --suite S`. Schemathesis is installed into
this benchmark's own venv (.bench-venv/) and runs `--checks all` against the app started here,
with the credentials a user would give it (a user registered through the API's own sign-up).
The plain Flask app has no spec: Schemathesis gets the one `api-mcp-test discover` synthesizes.

Scoring is mechanical and the same for both tools: a bug is found when the tool reports a failure
of the bug's kind on one of the bug's operations; any failure on a correct operation is a false
alarm; other failures (other kinds on buggy operations, undeclared methods, Schemathesis'
unattributed "Stateful tests") are counted as `other`.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUGS = REPO / "benchmarks" / "bugs"
BENCH_VENV = REPO / ".bench-venv"
sys.path.insert(0, str(REPO))

# Check names by the kind of bug they reveal (Schemathesis uses the same names for the same meaning).
KINDS = {
    "not_a_server_error": "server_error",
    "negative_data_rejection": "accepts_invalid",
    "use_after_free": "use_after_free",
    "ensure_resource_availability": "resource_availability",
    "update_persisted": "update_lost",
    "ignored_auth": "ignored_auth",
    "object_level_authorization": "bola",
    "paging_respected": "paging",
    "filter_respected": "filter",
}


@dataclass(frozen=True)
class Failure:
    operation: str  # "METHOD /path"
    check: str  # the tool's own name for it
    kind: str | None  # the bug kind it reveals, None when no kind matches


@dataclass
class Score:
    found: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    false_alarms: list[Failure] = field(default_factory=list)
    other: list[Failure] = field(default_factory=list)


def load_manifest() -> dict:
    return json.loads((BUGS / "manifest.json").read_text())


def score(app: str, failures: list[Failure], manifest: dict) -> Score:
    """Found / missed bugs, false alarms and other failures of one tool's run on one app."""
    bugs = [b for b in manifest["bugs"] if b["app"] == app]
    correct = set(manifest["apps"][app]["correct"])
    result = Score()
    for bug in bugs:
        hit = any(f.kind == bug["kind"] and f.operation in bug["operations"] for f in failures)
        (result.found if hit else result.missed).append(bug["id"])
    explained = {(op, b["kind"]) for b in bugs for op in b["operations"]}
    for f in dict.fromkeys(failures):
        if f.operation in correct:
            result.false_alarms.append(f)
        elif (f.operation, f.kind) not in explained:
            result.other.append(f)
    return result


def amt_failures(report: dict) -> list[Failure]:
    """The failed checks of an api-mcp-test report.json, by operation."""
    out = []
    for result in report.get("test_results", []):
        operation = f"{result['method']} {result['endpoint']}"
        for check in result.get("checks", []):
            if not check.get("passed", True):
                out.append(Failure(operation, check["check"], KINDS.get(check["check"])))
    return out


def st_failures(events: list[dict]) -> list[Failure]:
    """The failed checks of a Schemathesis NDJSON event report, by the operation of each case.

    Read per case (not from the summary) so that failures of the stateful phase, which the
    summary files under "Stateful tests", count for the operation that failed.
    """
    out = []
    for event in events:
        recorder = event.get("ScenarioFinished", {}).get("recorder") or {}
        cases = recorder.get("cases", {})
        for case_id, checks in recorder.get("checks", {}).items():
            case = cases.get(case_id, {}).get("value", {})
            operation = f"{case.get('method', '?')} {case.get('path', '?')}"
            out += [Failure(operation, c["name"], KINDS.get(c["name"]))
                    for c in checks if c.get("status") == "failure"]
    return out


# ---- running the tools ------------------------------------------------------------------------

@dataclass(frozen=True)
class AppRun:
    """How to start an app for Schemathesis, where its spec is, and how a user gets a token."""
    command: tuple[str, ...]  # {python} and {port} substituted
    spec: str  # URL path of the spec ("" : synthesized by `api-mcp-test discover`)
    register: tuple[str, dict] | None = None  # sign-up: path, JSON body
    login: tuple[str, dict, str, str] | None = None  # path, JSON body, token field, scheme
    setup: tuple[str, ...] = ()  # run once before start


USER = {"username": "benchuser", "password": "bench-pass-123"}
APPS = {
    "fastapi_shop": AppRun(("{python}", "-m", "uvicorn", "main:app", "--port", "{port}"),
                           "/openapi.json", ("/auth/register", USER),
                           ("/auth/login", USER, "access_token", "Bearer")),
    "smorest_library": AppRun(("{python}", "-m", "flask", "--app", "app", "run", "-p", "{port}"),
                              "/openapi.json"),
    "flask_tasks": AppRun(("{python}", "-m", "flask", "--app", "app", "run", "-p", "{port}"), ""),
    "drf_tickets": AppRun(("{python}", "manage.py", "runserver", "{port}", "--noreload"),
                          "/api/schema/?format=json", ("/api/register/", USER),
                          ("/api/token/", USER, "token", "Token"),
                          ("{python} manage.py migrate -v0",)),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"{}")


def wait_up(url: str, deadline: float = 120.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {deadline:.0f} s")


def run_amt(app: str, python: Path, suite: str, out: Path) -> tuple[list[Failure], float]:
    began = time.monotonic()
    subprocess.run([str(REPO / ".venv" / "bin" / "api-mcp-test"), "test", str(BUGS / app),
                    "--python", str(python), "--agent", "deterministic", "--suite", suite,
                    "--output-dir", str(out), "-q"],
                   check=False, timeout=1800, capture_output=True)
    seconds = time.monotonic() - began
    return amt_failures(json.loads((out / "report.json").read_text())), seconds


def run_schemathesis(app: str, python: Path, out: Path) -> tuple[list[Failure], float]:
    spec = APPS[app]
    workdir = out / "app"
    subprocess.run(["cp", "-r", str(BUGS / app), str(workdir)], check=True)
    fill = {"python": str(python)}
    for step in spec.setup:
        subprocess.run(step.format(**fill), shell=True, cwd=workdir, check=True, timeout=300)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (out / "app.log").open("wb")
    proc = subprocess.Popen([part.format(port=port, **fill) for part in spec.command],
                            cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_up(base + "/health" if app != "drf_tickets" else base + "/api/health/")
        began = time.monotonic()
        command = [str(BENCH_VENV / "bin" / "schemathesis"), "run", "--checks", "all",
                   "--seed", "1", "--report", "ndjson", "--report-dir", str(out / "st")]
        if spec.spec:
            command.insert(2, base + spec.spec)
        else:
            spec_file = out / "spec.json"
            subprocess.run([str(REPO / ".venv" / "bin" / "api-mcp-test"), "discover",
                            str(BUGS / app), "--python", str(python), "-o", str(spec_file)],
                           check=True, capture_output=True, timeout=600)
            command[2:2] = [str(spec_file), "--url", base]
        if spec.register and spec.login:
            post_json(base + spec.register[0], spec.register[1])
            path, body, token_field, scheme = spec.login
            token = post_json(base + path, body)[token_field]
            command += ["-H", f"Authorization: {scheme} {token}"]
        subprocess.run(command, check=False, timeout=1800, capture_output=True, cwd=out)
        seconds = time.monotonic() - began
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    events = next((out / "st").glob("ndjson-*.ndjson")).read_text().splitlines()
    return st_failures([json.loads(line) for line in events if line.strip()]), seconds


def ensure_schemathesis() -> None:
    if (BENCH_VENV / "bin" / "schemathesis").exists():
        return
    subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    subprocess.run([str(BENCH_VENV / "bin" / "pip"), "install", "-q", "schemathesis"], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="select", default="", help="only apps whose name has TEXT")
    parser.add_argument("--skip-schemathesis", action="store_true")
    parser.add_argument("--jobs", type=int, default=1, help="tool runs at the same time")
    parser.add_argument("--keep", type=Path, help="keep every run's reports in this folder")
    args = parser.parse_args()
    from tests.conftest import build_fixture_python

    python = build_fixture_python()
    manifest = load_manifest()
    apps = [a for a in manifest["apps"] if args.select in a]
    tools = ["smoke", "comprehensive"] + ([] if args.skip_schemathesis else ["schemathesis"])
    if not args.skip_schemathesis:
        ensure_schemathesis()
    rows: dict[tuple[str, str], tuple[Score, float]] = {}

    def one(app: str, tool: str, tmp: str) -> None:
        out = Path(tmp) / app / tool
        out.mkdir(parents=True)
        if tool == "schemathesis":
            failures, seconds = run_schemathesis(app, python, out)
        else:
            failures, seconds = run_amt(app, python, tool, out)
        rows[app, tool] = score(app, failures, manifest), seconds
        print(f"{app} {tool}: {seconds:.0f} s", file=sys.stderr, flush=True)

    with (tempfile.TemporaryDirectory(prefix="bug-benchmark-") as tmp,
          ThreadPoolExecutor(args.jobs) as pool):
        for job in [pool.submit(one, a, t, str(args.keep or tmp)) for a in apps for t in tools]:
            job.result()
    print_table(apps, tools, rows, manifest)
    return 0


def print_table(apps, tools, rows, manifest) -> None:
    print("| App | Tool | Bugs found / planted | False alarms | Other failures | Wall s |")
    print("|---|---|---:|---:|---:|---:|")
    for app in apps:
        planted = sum(b["app"] == app for b in manifest["bugs"])
        for tool in tools:
            s, seconds = rows[app, tool]
            print(f"| {app} | {tool} | {len(s.found)} / {planted} | {len(s.false_alarms)} "
                  f"| {len(s.other)} | {seconds:.0f} |")
    planted = sum(b["app"] in apps for b in manifest["bugs"])
    for tool in tools:
        scores = [rows[a, tool] for a in apps]
        print(f"| **all** | {tool} | {sum(len(s.found) for s, _ in scores)} / {planted} "
              f"| {sum(len(s.false_alarms) for s, _ in scores)} "
              f"| {sum(len(s.other) for s, _ in scores)} | {sum(t for _, t in scores):.0f} |")
    print()
    for tool in tools:
        missed = [m for a in apps for m in rows[a, tool][0].missed]
        alarms = [f"{f.operation} ({f.check})" for a in apps for f in rows[a, tool][0].false_alarms]
        print(f"- {tool} missed: {', '.join(missed) or 'none'}")
        print(f"- {tool} false alarms: {', '.join(alarms) or 'none'}")


if __name__ == "__main__":
    sys.exit(main())

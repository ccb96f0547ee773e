"""What this pull request did: results and contract compared with the PR's base.

The base's results come from a stored report (`--baseline report.json`, e.g. an artifact of the
last push to main) or from a run of the base commit (`--base REF`): the same CLI, run on a
checkout of the base with the deterministic agent (reproducible), in its own process beside the
head's run, and cached by base commit so a re-run is cheap.

Each endpoint result then gets a baseline status, and the base's OpenAPI document against the
head's gives the contract changes (runner/apidiff.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from runner import procs, sandbox
from runner.apidiff import diff_endpoints
from runner.errors import RunnerError, UsageError
from runner.models import (
    ApiChange,
    BaselineStatus,
    Endpoint,
    EndpointResult,
    RunConfig,
    RunReport,
)
from runner.openapi import endpoints_from_openapi
from runner.runconfig import DEFAULT_MAX_TOOL_CALLS

_FAILING = ("failed", "error")
# A stored report is read whole; one of a real API is a few MB at most.
_MAX_REPORT_BYTES = 64 * 1024 * 1024
# The runner's own variables and the job's secrets stay out of the base run's environment.
_PRIVATE_PREFIXES = ("GITHUB_", "INPUT_", "ACTIONS_", "RUNNER_", "ANTHROPIC_")


@dataclass(frozen=True)
class BaseResults:
    """What the base did: outcome per operation, the kinds of calls (intents) it made and those
    that failed a check, and its OpenAPI document when known."""

    outcomes: dict[str, str]  # "METHOD /path" -> passed | failed | error | skipped
    openapi: dict[str, Any] | None
    commit: str | None = None
    completed: bool = True  # False: the base run stopped at a stage (see failure)
    failure: str = ""
    failed_intents: dict[str, set[str]] = field(default_factory=dict)  # key -> {"valid", ...}

    @property
    def operations(self) -> set[str]:
        """The operations the base has: its spec's when known, else those it reported."""
        if self.openapi is not None:
            return {e.key for e in endpoints_from_openapi(self.openapi)}
        return set(self.outcomes)


def read_report(path: Path) -> BaseResults:
    """A base's report.json (or the report folder holding it); `openapi.json` beside it, when
    present, gives the contract diff."""
    report_path = path / "report.json" if path.is_dir() else path
    what = f"--baseline {path}"
    try:
        if report_path.stat().st_size > _MAX_REPORT_BYTES:
            raise UsageError(f"{what}: the report is larger than "
                             f"{_MAX_REPORT_BYTES // 2**20} MB.", "Give the report.json of a run.")
        data = json.loads(report_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{what}: no report.json there.",
                         "Give the report.json (or the report folder) of an earlier run, e.g. "
                         "the artifact of the base branch's last run.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{what}: the report cannot be read ({type(exc).__name__}).",
                         "Give the report.json written by api-mcp-test.") from None
    results = data.get("test_results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise UsageError(f"{what} is not an api-mcp-test report (no test_results).",
                         "Give the report.json written by api-mcp-test.")
    outcomes: dict[str, str] = {}
    failed_intents: dict[str, set[str]] = {}
    for entry in results:
        if isinstance(entry, dict) and {"method", "endpoint", "outcome"} <= entry.keys():
            key = f"{entry['method']} {entry['endpoint']}"
            outcomes[key] = str(entry["outcome"])
            failed_intents[key] = _failed_intents(entry)
    openapi = None
    spec_path = report_path.parent / "openapi.json"
    if spec_path.is_file() and spec_path.stat().st_size <= _MAX_REPORT_BYTES:
        try:
            loaded = json.loads(spec_path.read_text(encoding="utf-8"))
            openapi = loaded if isinstance(loaded, dict) and "paths" in loaded else None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            openapi = None
    repo = data.get("repo_info") or {}
    return BaseResults(outcomes, openapi, commit=repo.get("commit") if isinstance(repo, dict)
                       else None, completed=data.get("status") == "completed",
                       failure=str(data.get("error") or ""), failed_intents=failed_intents)


def _failed_intents(entry: dict[str, Any]) -> set[str]:
    """The intents (valid, boundary, not_found, ...) of the calls whose checks failed."""
    calls = entry.get("calls") if isinstance(entry.get("calls"), list) else []
    intents = {c.get("call_id"): str(c.get("intent")) for c in calls if isinstance(c, dict)}
    checks = entry.get("checks") if isinstance(entry.get("checks"), list) else []
    failed = {intents.get(c.get("call_id"), "?") for c in checks
              if isinstance(c, dict) and c.get("passed") is False}
    if not failed and entry.get("outcome") in _FAILING:
        failed.add("?")  # failed without a failing check (e.g. a stage of its own)
    return failed


def status_of(result: EndpointResult, base: BaseResults, base_operations: set[str]) -> \
        BaselineStatus:
    """new failure | fixed | still failing | new endpoint | unchanged.

    The base is judged on the kinds of calls this run made too: the base runs the comprehensive
    plan, so a failure of a probe this run did not make (a boundary value in a smoke run) is
    neither fixed nor still failing here."""
    key = result.endpoint.key
    if key not in base_operations:
        return "new endpoint"
    made = {c.intent for c in result.calls}
    failed_before = base.failed_intents.get(key, set())
    failing_before = bool(failed_before & made) or "?" in failed_before
    if result.outcome in _FAILING:
        return "still failing" if failing_before else "new failure"
    if failing_before and result.outcome == "passed":
        return "fixed"
    return "unchanged"


def compare(report: RunReport, base: BaseResults, operations: list[Endpoint]) -> None:
    """Give every result its baseline status and record the contract changes between the base's
    operations and `operations` (all of this run's, also when a shard tested a part)."""
    base_operations = base.operations
    for result in report.results:
        result.baseline = status_of(result, base, base_operations)
    if base.openapi is not None:
        report.api_changes = diff_endpoints(endpoints_from_openapi(base.openapi), operations)


def blocking(report: RunReport, fail_on_breaking: bool = True) -> tuple[list[EndpointResult],
                                                                        list[ApiChange]]:
    """What this PR introduced that fails `fail-on: new-failures`: endpoints failing here that
    did not fail on the base (new ones included), and breaking contract changes."""
    introduced = [r for r in report.results if r.outcome in _FAILING
                  and r.baseline in (None, "new failure", "new endpoint")]
    breaking = [c for c in report.api_changes if c.breaking] if fail_on_breaking else []
    return introduced, breaking


def story(report: RunReport) -> str:
    """The PR's story in one line: "2 new failures, 1 fixed, 3 still failing on main · API:
    1 breaking change, 2 additions" ("" without a baseline)."""
    if report.baseline is None:
        return ""
    base = report.baseline
    where = base.ref if base.source != "file" else "the base"
    if re.fullmatch(r"[0-9a-f]{40}", where):
        where = where[:12]
    if not base.compared:
        return f"Not compared with {where}: {base.note}"
    counts = {s: sum(r.baseline == s for r in report.results)
              for s in ("new failure", "fixed", "still failing", "new endpoint")}
    parts = [_plural(counts["new failure"], "new failure"), f"{counts['fixed']} fixed",
             f"{counts['still failing']} still failing on {where}"]
    failing_new = sum(r.baseline == "new endpoint" and r.outcome in _FAILING
                      for r in report.results)
    if counts["new endpoint"]:
        parts.append(_plural(counts["new endpoint"], "new endpoint")
                     + (f" ({failing_new} failing)" if failing_new else ""))
    breaking = sum(c.breaking for c in report.api_changes)
    added = sum(c.change == "operation-added" for c in report.api_changes)
    other = len(report.api_changes) - breaking - added
    api = [_plural(breaking, "breaking change")]
    if added:
        api.append(_plural(added, "addition"))
    if other:
        api.append(_plural(other, "other change"))
    caveat = f" ({base.note})" if base.note else ""
    return ", ".join(parts) + " · API: " + ", ".join(api) + caveat


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


# -- a run of the base commit -------------------------------------------------------------------


def max_calls(config: RunConfig) -> int:
    """The head's call budget, as the base run gets it (the default when none was set)."""
    return DEFAULT_MAX_TOOL_CALLS if config.max_tool_calls is None else config.max_tool_calls


def cache_key(commit: str, relative_folder: str, config: RunConfig) -> str:
    """A base run's results depend on the base commit, the app's folder in it, the runner's
    version and the options that change what is tested."""
    try:
        runner_version = version("api-mcp-test")
    except PackageNotFoundError:
        runner_version = "dev"
    parts = [runner_version, commit, relative_folder, config.app or "",
             config.python or "", config.install_command or "", str(config.install),
             json.dumps(sorted(config.app_env.items())), ",".join(config.checks),
             str(max_calls(config))]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def base_command(folder: Path, output_dir: Path, config: RunConfig) -> list[str]:
    """The CLI command that tests the base checkout like this run tests the head: deterministic
    agent, comprehensive plan (a superset of any plan the head makes), the base's own config
    file."""
    cmd = [sys.executable, "-m", "runner.cli", "test", str(folder), "--agent", "deterministic",
           "--suite", "comprehensive",
           "--output-dir", str(output_dir), "--quiet",
           "--max-tool-calls", str(max_calls(config)),
           "--call-timeout", str(config.timeouts.call),
           "--start-timeout", str(config.timeouts.start),
           "--install-timeout", str(config.timeouts.install),
           "--discovery-timeout", str(config.timeouts.discovery)]
    if config.app:
        cmd += ["--app", config.app]
    if config.python:
        cmd += ["--python", config.python]
    if not config.install:
        cmd.append("--no-install")
    if config.install_command:
        cmd += ["--install-command", config.install_command]
    if config.dev_requirements:
        cmd.append("--dev-requirements")
    for name, value in config.app_env.items():
        cmd += ["--app-env", f"{name}={value}"]
    for check in config.checks:
        cmd += ["--check", check]
    for name in config.allow_env:  # the base's config may read what the head's may
        cmd += ["--allow-env", name]
    return cmd


def base_env(granted: tuple[str, ...] = ()) -> dict[str, str]:
    """The runner's environment without the job's secrets: the base run needs no token or key
    (its checkout is already made) and starts its own children scrubbed as usual. The variables
    the workflow granted to the project's config (`allow_env`) stay."""
    return {k: v for k, v in os.environ.items()
            if k in granted or not k.startswith(_PRIVATE_PREFIXES) and not sandbox.looks_secret(k)}


class BaseRun:
    """The base's run in its own process, started early and read when the head is done."""

    def __init__(self, folder: Path, output_dir: Path, config: RunConfig, commit: str,
                 cache_dir: Path | None, timeout: float) -> None:
        self.output_dir = output_dir
        self.commit = commit
        self.cache_dir = cache_dir
        output_dir.mkdir(parents=True, exist_ok=True)
        cmd = [*base_command(folder, output_dir, config), "--timeout", f"{timeout:.0f}"]
        self.process = procs.start("base run", cmd, cwd=Path(__file__).resolve().parents[1],
                                   env=base_env(config.allow_env), log_path=output_dir / "base-run.log",
                                   trusted=True)

    def spec_ready(self) -> dict[str, Any] | None:
        """The base's OpenAPI document once its discovery is done (None before)."""
        path = self.output_dir / "openapi.json"
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        return loaded if isinstance(loaded, dict) else None

    def wait_for_spec(self, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.running():
            spec = self.spec_ready()
            if spec is not None:
                return spec
            time.sleep(0.2)
        return self.spec_ready()

    def results(self, timeout: float) -> BaseResults:
        """Wait (at most `timeout` seconds) for the base run and read its report."""
        deadline = time.monotonic() + timeout
        while self.process.running() and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.process.running():
            self.process.stop()
            raise RunnerError("baseline", f"The base run did not finish within {timeout:.0f} s.",
                              "Raise --timeout, or compare with a stored report (--baseline).")
        self.process.stop()
        try:
            base = read_report(self.output_dir)
        except UsageError as exc:
            raise RunnerError("baseline", "The base run wrote no usable report.",
                              "See base-run.log in the report folder.",
                              detail=self.process.log_tail()) from exc
        if base.completed and self.cache_dir is not None:
            store(self.cache_dir, self.output_dir)
        return replace(base, commit=self.commit)


def store(cache_dir: Path, output_dir: Path) -> None:
    """Keep a completed base run's report and spec for the next run on the same base."""
    partial = cache_dir.with_name(cache_dir.name + f".tmp{os.getpid()}")
    partial.mkdir(parents=True, exist_ok=True)
    for name in ("report.json", "openapi.json"):
        source = output_dir / name
        if source.is_file():
            (partial / name).write_bytes(source.read_bytes())
    try:
        partial.rename(cache_dir)
    except OSError:  # another run stored it first
        for item in partial.iterdir():
            item.unlink()
        partial.rmdir()

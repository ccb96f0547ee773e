"""The pull request's base (--base / --baseline): its run started in the repo stage, the
operations this PR touched chosen before the agent, and every result compared at the end
(stage `baseline`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from runner import baseline as baseline_mod
from runner import environment, sandbox
from runner.apidiff import changed_operations, diff_endpoints
from runner.base_checkout import check_out_base, touched_operations
from runner.errors import RunnerError
from runner.mcpgen import readiness
from runner.models import ApiSpec, Baseline, Endpoint, RunConfig, RunReport
from runner.openapi import endpoints_from_openapi
from runner.repo import fetch_env


@dataclass
class Base:
    """What the run compares with: the base's results, or its run still going."""

    baseline: Baseline
    results: baseline_mod.BaseResults | None = None
    run: baseline_mod.BaseRun | None = None
    changed_lines: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    app_folder: str = ""  # the app's folder relative to the repository root


def from_report(path: Path) -> Base:
    results = baseline_mod.read_report(path)
    return Base(Baseline("file", str(path), results.commit), results=results)


def start(config: RunConfig, source: Path, workspace: Path, output_dir: Path,
          clone_timeout: float, remaining: float) -> Base:
    """Check the base out and start its run (or take its cached results)."""
    assert config.base_ref is not None
    # The run may fetch into a clone it made (with the clone's token), or into the action's
    # checkout (with the credentials actions/checkout left); never into the user's folder.
    fetch = (fetch_env(config.repo_url, config.token) if config.repo_url
             else fetch_env("", None) if config.base_auto else None)
    try:
        checkout = check_out_base(source, config.base_ref, workspace / "base",
                                  timeout=clone_timeout, fetch_env=fetch)
    except RunnerError as exc:
        if not config.base_auto:
            raise
        # The PR's base was chosen for the user: without it the run goes on uncompared.
        return Base(Baseline("run", config.base_ref, compared=False, note=exc.message))
    app_folder = checkout.folder.relative_to(checkout.root).as_posix()
    base = Base(Baseline("run", config.base_ref, checkout.commit),
                changed_lines=checkout.changed_lines, app_folder=app_folder)
    key = baseline_mod.cache_key(checkout.commit, app_folder, config)
    cached = environment.cache_root() / "baselines" / key
    if (cached / "report.json").is_file():
        base.results = replace(baseline_mod.read_report(cached), commit=checkout.commit)
        base.baseline.source = "cache"
        return base
    sandbox.hand_over(checkout.root)
    base.run = baseline_mod.BaseRun(checkout.folder, output_dir / "baseline", config,
                                    checkout.commit, cached, timeout=remaining)
    return base


def focus(base: Base, spec: ApiSpec, operations: list[Endpoint], remaining: float) -> set[str]:
    """Operations this PR touched (their handler's lines, or their contract), so the agent
    takes them first and with the comprehensive plan."""
    touched = touched_operations(spec.endpoints, base.changed_lines, base.app_folder)
    document = (base.results.openapi if base.results is not None
                else base.run.wait_for_spec(min(30.0, remaining / 4))
                if base.run is not None else None)
    if document is not None:
        touched |= changed_operations(diff_endpoints(endpoints_from_openapi(document),
                                                     operations))
    return touched


def compare(report: RunReport, base: Base, spec: ApiSpec, operations: list[Endpoint],
            remaining: float) -> str:
    """Each result against the base's, and the base's contract against this one; returns the
    stage's note."""
    assert report.baseline is not None
    results = base.results
    if results is None and base.run is not None:
        results = base.run.results(max(1.0, remaining))
    assert results is not None
    if not results.completed:
        report.baseline.note = f"the base run stopped: {results.failure}"
    baseline_mod.compare(report, results, operations)
    if results.openapi is not None and report.mcp_readiness:
        base_spec = replace(spec, endpoints=endpoints_from_openapi(results.openapi))
        readiness.note_regressions(report.mcp_readiness,
                                   readiness.worse_than_base(report.mcp_readiness, base_spec))
    return baseline_mod.story(report)

"""The only place that knows the order of the stages.

    repo -> install -> [setup] -> discovery -> [app -> served spec] -> mcpgen -> credentials
      -> [focus] -> servers -> agent -> checks -> [baseline] -> (reports, in the driver)

Every face runs this: `test`, the action and the Python API run it all; `discover` and
`generate` stop after discovery (`until="spec"`). The app starts before generation only when
something needs it first (its spec is read from it, the run logs in to it, it has its own start
command); otherwise it starts while the MCP server does.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import threading
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

from runner import auth as auth_mod
from runner.errors import StageTimeout
from runner.evidence import AppLog
from runner.limits import run_async, within, write_replacing
from runner.models import ApiSpec, RunConfig, TargetEnv
from runner.pipeline import base as base_mod
from runner.pipeline import serve
from runner.pipeline import spec as spec_mod
from runner.pipeline.choices import agent_module, agent_settings
from runner.pipeline.credentials import (
    Login,
    credentials_file,
    left_for_agent,
    log_in,
    seeder_for,
)
from runner.pipeline.driver import Progress, Run, drive
from runner.pipeline.exercise import make_agent, measured
from runner.pipeline.generate import Wrapper, generate
from runner.pipeline.install import describe, install, set_up
from runner.pipeline.judge import judge
from runner.pipeline.reports import write_reports
from runner.pipeline.source import check_out

Until = Literal["spec", "all"]
UNWIND_LIMIT = 2.0  # seconds the agent's work may take to unwind once the time limit is reached
T = TypeVar("T")


def run_pipeline(config: RunConfig, progress: Progress, until: Until = "all") -> Run:
    """Run the stages up to `until` and finish (processes stopped, workspace removed, and for a
    whole run the reports written); the returned run holds the report and what was measured."""
    if until == "all":
        # The MCP client library takes ~1.5 s to import; do it while install and discovery
        # wait on their subprocesses.
        threading.Thread(target=importlib.import_module, args=(agent_module(config),),
                         daemon=True).start()
    run = Run(config, progress, announce_to=None if until == "all" else sys.stderr)
    drive(run, lambda r: _stages(r, until), write_reports if until == "all" else _no_reports)
    return run


def _no_reports(run: Run) -> None:
    """`discover` and `generate` print or ship what they found; they write no test report."""


def _stages(run: Run, until: Until) -> None:
    run.judge = lambda: _judge(run)
    config = run.config
    with run.stage("repo") as timing:
        source = check_out(config, run.workspace, run.budget(config.timeouts.clone))
        run.report.repo_info = source.info
        run.config = config = source.config
        run.report.suite = config.suite
        base = _base(run, source.origin)
        timing.note = source.note

    with run.stage("install") as timing:
        env = install(config.install_settings, source.cache_scope, source.as_of,
                      run.budget(config.timeouts.install), run.output_dir / "install.log")
        timing.note = describe(env)
    if config.setup:
        with run.stage("setup") as timing:
            timing.note = set_up(env, config.install_settings,
                                 run.budget(config.timeouts.install), run.output_dir / "setup.log")

    settings, serving = config.spec_settings, config.serve_settings
    with run.stage("discovery") as timing:
        found = spec_mod.discover(settings, env, run.budget(config.timeouts.discovery),
                                  run.output_dir / "discovery.log", run.workspace / "discovery",
                                  source.shown_root)
        run.report.notes.extend(found.notes)  # settings filled with placeholders
        selection = _adopt(run, found)
        spec = selection.spec
        timing.note = f"{spec.framework}, {len(spec.endpoints)} operations, {spec.app_locator}"
        if until == "spec":
            return  # discover and generate show what was found, even no operations
        if not selection.operations:
            raise spec_mod.no_operations(spec)
        if not spec.endpoints:
            # More shards than resources: this one has nothing to do, by design.
            run.report.notes.append(f"shard {config.shard} has no operations (resources stay "
                                    "whole in one shard; use fewer shards)")
            return

    app_first = spec_mod.needs_running_app(spec, settings, serving)
    if app_first:
        with run.stage("app") as timing:
            timing.note = _bounded(run, asyncio.to_thread(
                serve.start_app, run.servers, env, spec, serving, run.workspace,
                run.report.notes))
        if spec_mod.wants_served_spec(spec, settings):
            with run.stage("served spec") as timing:
                selection = _served(run, spec) or selection
                spec = selection.spec
                timing.note = f"{spec.spec_source}, {len(spec.endpoints)} operations"

    with run.stage("mcpgen") as timing:
        wrapper = generate(spec, run.output_dir, run.mcp_dir, run.workspace,
                           run.budget(config.timeouts.discovery))
        run.tool_names = wrapper.tool_names
        run.report.mcp_readiness = wrapper.readiness
        timing.note = f"{len(wrapper.tool_names)} tools -> {wrapper.path.name}"

    with run.stage("credentials") as timing:
        base_url = run.servers.base_url if app_first else run.servers.reserve_port()
        assert base_url
        seeder = seeder_for(spec, serving, run.servers.served, run.workspace / "seed",
                            run.budget(config.timeouts.discovery))
        run.credentials = credentials_file(spec, serving, base_url,
                                           run.workspace / "credentials", seeder)
        login = log_in(run.credentials, run.tool_names)
        run.report.auth = login.record
        run.report.notes.extend(login.notes)
        timing.note = auth_mod.describe(login.record) if login.headers else "none sent"

    focus: set[str] = set()
    if base is not None and base.baseline.compared:
        with run.stage("focus") as timing:
            focus = base_mod.focus(base, spec, selection.operations, run.remaining())
            if focus:
                run.report.notes.append(f"{len(focus)} operation(s) this PR touched were "
                                        "tested first and with the comprehensive plan")
            timing.note = f"{len(focus)} operation(s) touched"

    _bounded(run, _serve_and_exercise(run, env, spec, wrapper, login, frozenset(focus),
                                      start_app=not app_first))
    _judge(run)
    if base is not None and base.baseline.compared:
        with run.stage("baseline") as timing:
            timing.note = base_mod.compare(run.report, base, spec, selection.operations,
                                           run.remaining())


def _base(run: Run, origin: Any) -> base_mod.Base | None:
    """The pull request's base, when one is asked for (a stored report, or a ref to run)."""
    config = run.config
    base = None
    if config.baseline_report:
        base = base_mod.from_report(config.baseline_report)
    elif config.base_ref:
        base = base_mod.start(config, origin, run.workspace, run.output_dir,
                              run.budget(config.timeouts.clone), run.remaining())
    if base is not None:
        run.report.baseline = base.baseline
    return base


def _adopt(run: Run, spec: ApiSpec) -> spec_mod.Selection:
    """Make `spec` (its configured operations) the run's, and write openapi.json."""
    selection = spec_mod.select(spec, run.config.spec_settings)
    run.spec = run.report.spec = selection.spec
    run.report.notes.extend(selection.notes)
    write_replacing(run.output_dir / "openapi.json",  # a FIFO or link there is not opened
                    json.dumps(selection.spec.openapi, indent=2).encode("utf-8", "replace"))
    return selection


def _served(run: Run, spec: ApiSpec) -> spec_mod.Selection | None:
    """The document the running app serves, preferred over a synthesized one, within a
    deadline of its own: an app that trickles its spec fails discovery by name instead of
    eating the whole run's time."""
    config = run.config
    base_url = run.servers.base_url
    assert base_url
    limit = run.budget(max(spec_mod.SERVED_SPEC_DEADLINE, config.timeouts.start))
    try:
        found = run_async(within(asyncio.to_thread(spec_mod.read_served, spec,
                                                   config.spec_settings, base_url), limit))
    except TimeoutError:
        raise spec_mod.served_timeout(config.spec_settings, limit) from None
    if found is None:
        return None
    served, path = found
    selection = _adopt(run, served)
    run.report.notes.append(f"spec: the OpenAPI document the app serves at {path}")
    if not selection.spec.endpoints:
        raise spec_mod.no_served_operations(path)
    return selection


def _bounded(run: Run, coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` within what is left of the whole run's time."""

    async def bounded() -> T:
        try:
            return await within(coro, run.budget(run.config.timeouts.run),
                                grace=UNWIND_LIMIT)
        except TimeoutError:
            raise StageTimeout(
                run.current_stage or "agent",
                f"The run reached its time limit ({run.config.timeouts.run:.0f} s).",
                "Raise --timeout, or test fewer operations; results so far are in the report.",
            ) from None

    return run_async(bounded())


async def _serve_and_exercise(run: Run, env: TargetEnv, spec: ApiSpec, wrapper: Wrapper,
                              login: Login, focus: frozenset[str], start_app: bool) -> None:
    """Start the MCP server (and, meanwhile, the app when it is not running yet), then let the
    agent exercise the API through the tools."""
    config = run.config
    assert run.credentials is not None
    agent = None
    try:
        with run.stage("servers") as timing:
            serving = config.serve_settings
            mcp = serve.mcp_command(run.servers, wrapper.path, run.call_log_path,
                                    run.credentials.path, serving)
            remaining = left_for_agent(spec, login.calls)
            agent = make_agent(agent_settings(config, len(remaining.endpoints)), mcp, remaining,
                               run.tool_names, run.call_log_path, run.credentials, focus,
                               run.output_dir / "agent.log", run.progress,
                               AppLog(run.servers.app_log, run.workspace / "repo"))
            ready = await serve.start(run.servers, agent, mcp, len(run.tool_names), start_app,
                                      env, spec, serving, run.workspace, run.report.notes)
            timing.note = ", ".join(filter(None, (
                ready, f"MCP server with {len(run.tool_names)} tools")))
        with run.stage("agent") as timing:
            try:
                await agent.exercise()
            finally:
                # Keep whatever was measured, even when the agent did not finish.
                got = measured(agent, login.calls)
                run.calls, run.findings, run.not_called = got.calls, got.findings, got.not_called
                run.report.agent = got.agent
                if agent.usage is not None:
                    run.report.usage = got.usage
                run.report.notes.extend(got.notes)
            timing.note = f"{run.report.agent}, {len(agent.calls)} calls"
    finally:
        if agent is not None:
            await serve.close(agent, run.report.notes)


def _judge(run: Run) -> None:
    if run.spec is None:
        return
    with run.stage("checks") as timing:
        judged = judge(run.spec, run.calls, run.tool_names, run.config.check_settings,
                       run.findings, run.not_called, logged_in=bool(run.report.auth.get("ok")))
        run.report.results = judged.results
        run.report.notes.extend(judged.notes)
        counts = run.report.counts
        timing.note = ", ".join(f"{v} {k}" for k, v in counts.items() if v)

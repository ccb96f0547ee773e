"""The only place that knows the order of the stages.

repo -> install -> discovery -> mcpgen -> servers -> agent -> checks -> report.
Every stage is timed and bounded; whatever happens, the servers are stopped and the reports are
written with everything measured so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from runner import auth as auth_mod
from runner import baseline as baseline_mod
from runner import checks as checks_mod
from runner import envcache, environment, procs, trust, verdicts
from runner.agent.calllog import CallLog
from runner.apidiff import changed_operations, diff_endpoints
from runner.base_checkout import check_out_base, touched_operations
from runner.config import apply_project_config, select_operations
from runner.discovery import APIDiscoveryService, load_spec_file
from runner.discovery.served import served_spec
from runner.errors import ExitCode, RunnerError, StageTimeout, UsageError, unexpected
from runner.limits import (
    Backstop,
    Watchdog,
    read_regular_file,
    run_async,
    tail_text,
    within,
    write_replacing,
)
from runner.mcpgen import MCPGenerator, readiness
from runner.models import (
    ApiSpec,
    Baseline,
    Endpoint,
    Finding,
    RunConfig,
    RunReport,
    StageTiming,
    TargetEnv,
    ToolCall,
)
from runner.openapi import endpoints_from_openapi, validate_document
from runner.redact import Redactor
from runner.repo import (
    clone,
    commit_date,
    fetch_env,
    read_repo_info,
    run_copy,
    working_folder,
)
from runner.report import inert, junit, markdown, result
from runner.servers import DynamicServerManager, McpCommand
from runner.shard import select_shard

Progress = Callable[[str], None]
_AGENT_MODULE = "runner.agent.deterministic"
_CANCEL_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SOURCE_LIMIT = 64 * 1024 * 1024  # characters of generated server source we compile and run
WATCHDOG_GRACE = 3.0  # seconds past --timeout before in-process work is interrupted (limits.py)
# Seconds past the watchdog for stopping the processes and writing the reports; past them the
# backstop kills everything, writes a minimal report and exits 3 (see `_Run.last_resort`).
FINISH_LIMIT = 7.0
CLOSE_LIMIT = 5.0  # seconds the agent may take to close the MCP connection
UNWIND_LIMIT = 2.0  # seconds the agent's work may take to unwind once the time limit is reached
CALL_LOG_LIMIT = 512 * 1024 * 1024  # bytes of the sandbox's call log copied to the output folder
SPEC_FETCH_LIMIT = 10.0  # seconds (at least; the start timeout when longer) to read a served spec
# Files the run writes into the output folder besides the reports; all are masked at the end.
_WRITTEN = ("install.log", "discovery.log", "app.log", "mcp.log", "calls.jsonl", "openapi.json",
            "mcp_server.py")


def cancel_on_signals() -> None:
    """Ctrl-C and SIGTERM (a cancelled CI job) raise KeyboardInterrupt wherever the run is, so
    the servers are stopped and the partial report is written.

    A handler of our own also keeps asyncio.run from installing its SIGINT handler, which only
    cancels the main task, and that cancellation can be absorbed by the MCP client.
    """

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    for sig in _CANCEL_SIGNALS:
        signal.signal(sig, interrupt)


def agent_kind(config: RunConfig) -> str:
    """auto means the LLM agent when an Anthropic key is configured (or another provider is
    named), else the deterministic agent."""
    if config.agent != "auto":
        return config.agent
    model = config.model or ""
    other_provider = ":" in model and not model.startswith("anthropic:")
    return "llm" if config.anthropic_api_key or other_provider else "deterministic"


def use_configured_scenarios(config: RunConfig) -> RunConfig:
    """Scenarios named in the config file choose the custom suite (unless --suite says
    otherwise) when the LLM agent runs; the deterministic agent keeps its suite."""
    from runner.agent.instructions import load_scenarios

    assert config.scenarios_path is not None
    load_scenarios(config.scenarios_path, scenarios_root(config))
    if "suite" in config.given or agent_kind(config) != "llm":
        return config
    return replace(config, suite="custom")


def scenarios_root(config: RunConfig) -> Path | None:
    """Scenarios named by the project's config are the repository's: read inside the run copy
    (runner/untrusted.py); a --scenarios file is the user's own."""
    return None if "scenarios_path" in config.given else config.boundary


def check_agent_choice(config: RunConfig) -> None:
    """Usage errors in the agent settings, once the project's config file is applied."""
    if config.suite == "custom" and agent_kind(config) == "deterministic":
        raise UsageError("Custom scenarios need the LLM agent.",
                         "Set ANTHROPIC_API_KEY (or pass --agent llm with a --model).")


def compiles(source: str) -> None:
    """Fail the mcpgen stage when the generated server is not valid Python, before it is
    started (where it would only be a broken pipe in the MCP client). Past SOURCE_LIMIT it is
    not compiled at all: compiling hundreds of MB is one uninterruptible call."""
    if len(source) > SOURCE_LIMIT:
        raise RunnerError(
            "mcpgen", f"The generated MCP server is {len(source) >> 20} MB, over the "
            f"{SOURCE_LIMIT >> 20} MB limit (its schemas expand too far).",
            "Test fewer operations (`include` / `exclude` in .api-mcp-test.yml), or share large "
            "schemas less: each tool carries its schemas resolved.",
        )
    try:
        compile(source, "mcp_server.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise RunnerError(
            "mcpgen", f"The generated MCP server does not compile: {type(exc).__name__}: "
            f"{str(exc)[:300]}".encode("utf-8", "backslashreplace").decode("utf-8") + ".",
            "The generator must turn any spec into valid Python: this is a bug in api-mcp-test; "
            "please report it with openapi.json from the output folder.",
        ) from None


class RunInterrupted(RunnerError):
    """The run was cancelled (Ctrl-C, SIGTERM from a cancelled job)."""


class DynamicBackendOrchestrator:
    """Tests an API end to end; `test_local` / `test_repo` return the JSON result dict."""

    def __init__(self, config: RunConfig | None = None, progress: Progress | None = None) -> None:
        self.config = config
        self.progress = progress or (lambda line: None)

    async def test_local(
        self, api_path: str | Path, app_module: str | None = None, test_suite: str = "smoke",
        **options: Any,
    ) -> dict[str, Any]:
        base = self.config or RunConfig(repo_path=Path(api_path))
        config = replace(base, repo_path=Path(api_path), app=app_module or base.app,
                         suite=test_suite, **options)  # type: ignore[arg-type]
        report = await asyncio.to_thread(self.run, config)
        return result.to_dict(report)

    async def test_repo(
        self, repo_url: str, branch: str | None = None, pr_number: int | None = None,
        commit: str | None = None, app_module: str | None = None, test_suite: str = "smoke",
        **options: Any,
    ) -> dict[str, Any]:
        """Clone `repo_url` (at a branch, a pull request's head or a commit) into the run's
        workspace and test it; the same result dict as `test_local`. The token for a private
        repository defaults to $GITHUB_TOKEN."""
        options.setdefault("token", os.environ.get("GITHUB_TOKEN") or None)
        return await self.test_local(Path("."), app_module=app_module, test_suite=test_suite,
                                     repo_url=repo_url, branch=branch, pr_number=pr_number,
                                     commit=commit, **options)

    # -- the pipeline -------------------------------------------------------------------------

    def run(self, config: RunConfig) -> RunReport:
        # The MCP client library takes ~1.5 s to import; do it while install and discovery wait
        # on their subprocesses.
        module = "runner.agent.llm" if agent_kind(config) == "llm" else _AGENT_MODULE
        threading.Thread(target=importlib.import_module, args=(module,),
                         daemon=True).start()
        run = _Run(config, self.progress)
        watchdog = Watchdog(config.timeouts.run + WATCHDOG_GRACE)
        backstop = Backstop(config.timeouts.run + WATCHDOG_GRACE + FINISH_LIMIT, run.last_resort)
        try:
            run.execute()
        except RunnerError as exc:
            run.fail(exc)
        except KeyboardInterrupt:
            stage = run.current_stage or "run"
            if watchdog.fired:
                run.fail(StageTimeout(
                    stage, f"The run reached its time limit ({config.timeouts.run:.0f} s) "
                    f"during {stage}.",
                    "Raise --timeout, or test fewer operations; results so far are in the "
                    "report."))
            else:
                run.fail(RunInterrupted(stage, "The run was cancelled.",
                                        "Partial results are in the report."))
        except Exception as exc:  # noqa: BLE001 - whatever the input, a failed stage, not a crash
            run.fail(unexpected(run.current_stage or "run", exc))
        finally:
            # Cleanup and the report must complete: a second signal now is ignored.
            in_main = threading.current_thread() is threading.main_thread()
            previous = ({sig: signal.signal(sig, signal.SIG_IGN) for sig in _CANCEL_SIGNALS}
                        if in_main else {})
            watchdog.cancel()
            try:
                run.finish()
            finally:
                backstop.cancel()
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
        return run.report


class _Run:
    """State of one run; stages append to `report` as they complete."""

    def __init__(self, config: RunConfig, progress: Progress) -> None:
        self.config = config
        # Granted variables may be secrets whatever their names: masked too.
        self.redact = Redactor.for_run([config.anthropic_api_key, config.token,
                                        *trust.granted_values(config.allow_env)], config.app_env)
        self.redact.announce()
        self.progress: Progress = lambda line: progress(self.redact(line))
        self.started = time.monotonic()
        self.current_stage: str | None = None
        self.source_folder = config.repo_path
        self.report = RunReport(status="completed", repo_info=None, spec=None,
                                agent="deterministic", suite=config.suite)
        self.report.shard = str(config.shard) if config.shard else None
        self.output_dir = config.output_dir.resolve()
        self.output_dir.mkdir(parents=True, exist_ok=True)
        root = config.workspace_root
        if root:
            root.mkdir(parents=True, exist_ok=True)
        self.workspace = Path(tempfile.mkdtemp(prefix="api-mcp-test-", dir=root))
        procs.track_descendants()  # whatever the project's code starts is swept at the end
        procs.use_workspace(self.workspace)
        if procs.unsandboxed_root():
            self.report.notes.append(
                f"running as root without {procs.SANDBOX_USER_VARIABLE}: the project's code runs "
                "as root too and could read this process's environment; set it to an "
                "unprivileged user (the action's image does) when testing untrusted code")
        self.servers = DynamicServerManager(self.output_dir, config.timeouts.start)
        # The MCP server runs its wrapper from, and writes the call log into, the output folder;
        # when the sandbox user cannot reach that folder, the workspace (the log is copied to the
        # output folder at the end).
        box = procs.sandbox()
        self.mcp_dir = (self.output_dir if box is None
                        or box.can_reach(self.output_dir / "calls.jsonl") is None
                        else self.workspace)
        self.call_log_path = self.mcp_dir / "calls.jsonl"
        self.call_log_path.write_text("")
        procs.hand_over(self.call_log_path)
        self.spec: ApiSpec | None = None
        self.tool_names: dict[str, str] = {}
        self.calls: list[ToolCall] = []
        self.findings: list[Finding] = []
        self.not_called: dict[str, str] = {}  # operations the agent left out, and why
        self.auth_calls: list[ToolCall] = []  # register/login requests the run made itself
        self.credentials: auth_mod.Credentials | None = None  # what the tools send
        # The PR's base (--base / --baseline): its results, or its run still going.
        self.base_results: baseline_mod.BaseResults | None = None
        self.base_run: baseline_mod.BaseRun | None = None
        self.changed_lines: dict[str, list[tuple[int, int]]] = {}
        self.app_folder = ""  # the app's folder relative to the repository root
        self.focus: set[str] = set()  # operations this PR touched: first, and deeper
        self.operations: list[Endpoint] = []  # every selected operation (a shard tests a part)

    @contextmanager
    def stage(self, name: str) -> Iterator[StageTiming]:
        self.current_stage = name
        self.progress(f"▶ {name}")
        timing = StageTiming(stage=name, seconds=0.0)
        began = time.monotonic()
        try:
            yield timing
        except BaseException:
            timing.ok = False
            raise
        finally:
            timing.seconds = round(time.monotonic() - began, 3)
            self.report.stages.append(timing)
            mark = "✓" if timing.ok else "✗"
            note = f" ({timing.note})" if timing.note else ""
            self.progress(f"{mark} {name} {timing.seconds:.2f}s{note}")
        self.current_stage = None

    def remaining(self) -> float:
        return self.config.timeouts.run - (time.monotonic() - self.started)

    def budget(self, stage_timeout: float) -> float:
        """A stage's time limit, cut to what is left of the whole run's."""
        return max(1.0, min(stage_timeout, self.remaining()))

    def execute(self) -> None:
        config = self.config
        with self.stage("repo") as timing:
            # The runner's own Python runs the MCP server, as the sandbox user when root.
            procs.require_reachable(Path(sys.executable), "repo",
                                    "the runner's Python, which runs the MCP server", execute=True)
            procs.require_reachable(self.workspace, "repo",
                                    "the run's workspace (see --workspace-root)")
            copy = self.workspace / "repo"
            config_root = copy
            # Messages name the folder as the user knows it, never the run's copy.
            shown_root = "/".join(filter(None, (config.repo_url or str(config.repo_path),
                                                config.working_directory)))
            if config.repo_url:
                info = clone(config.repo_url, copy, branch=config.branch,
                             pr_number=config.pr_number, commit=config.commit,
                             token=config.token, timeout=self.budget(config.timeouts.clone))
                procs.hand_over(copy)
                copied = ""
            else:
                root = config_root = config.repo_path.resolve()
                if not root.is_dir():
                    raise RunnerError("repo", f"{config.repo_path} is not a folder.",
                                      "Give the path of the API's repository (or a subfolder "
                                      "of it), or a URL to clone.")
                info = read_repo_info(working_folder(root, config.working_directory))
                began = time.monotonic()
                run_copy(root, copy)
                copied = f"copied in {time.monotonic() - began:.2f}s"
            self.source_folder = config_root  # the cache's trust domain of a local run
            # Every later stage works on the copy; source paths in reports are relative to it,
            # so they name the user's files.
            repo = working_folder(copy, config.working_directory)
            self.report.repo_info = info
            # The project's own settings (.api-mcp-test.yml), under what the user gave.
            config = apply_project_config(replace(config, repo_path=repo), config.given,
                                          boundary=copy)
            if config.scenarios_path and "scenarios_path" not in config.given:
                config = use_configured_scenarios(config)
            check_agent_choice(config)
            self.config = config
            self.report.suite = config.suite
            repo = config.repo_path
            if config.baseline_report:
                self.base_results = baseline_mod.read_report(config.baseline_report)
                self.report.baseline = Baseline("file", str(config.baseline_report),
                                                self.base_results.commit)
            elif config.base_ref:
                # The app's folder in the git repository the copy came from (a clone has it).
                origin = copy if config.repo_url else config_root
                self.start_base(origin / repo.relative_to(copy))
            timing.note = " ".join(filter(None, (
                info.commit[:12] if info.commit else "",
                f"PR #{info.pr_number}" if info.pr_number else info.branch or "", copied)))

        with self.stage("install") as timing:
            env = environment.prepare(
                repo, python=config.python, install=config.install,
                install_command=config.install_command,
                timeout=self.budget(config.timeouts.install),
                log_path=self.output_dir / "install.log", dev=config.dev_requirements,
                python_version=config.python_version, boundary=config.boundary,
                scope=config.cache_scope or envcache.scope_for(
                    config.repo_url, config.pr_number, config.branch, config.commit,
                    self.source_folder),
                extra=config.install_extra, as_of=commit_date(self.source_folder),
            )
            timing.note = ("existing interpreter" if not env.created
                           else f"reused cached environment, {env.source}" if env.reused
                           else f"new environment, {env.source}")

        if config.setup:
            with self.stage("setup") as timing:
                environment.run_setup(env, config.setup, dict(config.app_env),
                                      self.budget(config.timeouts.install),
                                      self.output_dir / "setup.log")
                timing.note = f"{len(config.setup)} command(s)"

        with self.stage("discovery") as timing:
            service = APIDiscoveryService(timeout=self.budget(config.timeouts.discovery),
                                          log_path=self.output_dir / "discovery.log")
            spec_file = self._spec_file()  # after setup: a setup step may write it
            self.spec = service.discover(env, app=config.app, app_env=config.app_env,
                                         workdir=self.workspace / "discovery",
                                         shown_root=shown_root, locate_only=bool(spec_file))
            self.report.notes.extend(self.spec.notes)  # settings filled with placeholders
            self.use_spec(load_spec_file(spec_file, self.config.boundary
                                         if self._project_file(spec_file) else None)
                          if spec_file else None, "file")
            timing.note = (f"{self.spec.framework}, {len(self.spec.endpoints)} operations, "
                           f"{self.spec.app_locator}")
            if not self.operations:
                raise RunnerError("discovery",
                                  f"The app {self.spec.app_locator} declares no operations.",
                                  "Check that routes are registered on the app object found, or "
                                  "pass the right one with --app.")
            if not self.spec.endpoints:
                # More shards than resources: this one has nothing to do, by design.
                self.report.notes.append(f"shard {config.shard} has no operations (resources "
                                         "stay whole in one shard; use fewer shards)")
                return

        with self.stage("mcpgen") as timing:
            wrapper = self.generate()
            timing.note = f"{len(self.tool_names)} tools -> {wrapper.name}"

        self.calls = run_async(self._bounded(self.serve_and_exercise(env, wrapper)))
        self.judge()
        self.compare_with_base()

    def start_base(self, source: Path) -> None:
        """Check the base out and start its run (or take its cached results)."""
        config = self.config
        assert config.base_ref is not None
        # The run may fetch into a clone it made (with the clone's token), or into the action's
        # checkout (with the credentials actions/checkout left); never into the user's folder.
        fetch = (fetch_env(config.repo_url, config.token) if config.repo_url
                 else fetch_env("", None) if config.base_auto else None)
        try:
            checkout = check_out_base(source, config.base_ref, self.workspace / "base",
                                      timeout=self.budget(config.timeouts.clone),
                                      fetch_env=fetch)
        except RunnerError as exc:
            if not config.base_auto:
                raise
            # The PR's base was chosen for the user: without it the run goes on uncompared.
            self.report.baseline = Baseline("run", config.base_ref, compared=False,
                                            note=exc.message)
            return
        self.changed_lines = checkout.changed_lines
        self.app_folder = checkout.folder.relative_to(checkout.root).as_posix()
        self.report.baseline = Baseline("run", config.base_ref, checkout.commit)
        key = baseline_mod.cache_key(checkout.commit, self.app_folder, config)
        cached = environment.cache_root() / "baselines" / key
        if (cached / "report.json").is_file():
            self.base_results = replace(baseline_mod.read_report(cached), commit=checkout.commit)
            self.report.baseline.source = "cache"
            return
        procs.hand_over(checkout.root)
        self.base_run = baseline_mod.BaseRun(checkout.folder, self.output_dir / "baseline",
                                             config, checkout.commit, cached,
                                             timeout=self.remaining())

    def choose_focus(self) -> None:
        """Operations this PR touched (their handler's lines, or their contract), so the agent
        takes them first and with the comprehensive plan."""
        assert self.spec is not None
        if self.report.baseline is None or not self.report.baseline.compared:
            return
        self.focus = touched_operations(self.spec.endpoints, self.changed_lines,
                                        self.app_folder)
        document = (self.base_results.openapi if self.base_results is not None
                    else self.base_run.wait_for_spec(min(30.0, self.remaining() / 4))
                    if self.base_run is not None else None)
        if document is not None:
            self.focus |= changed_operations(diff_endpoints(
                endpoints_from_openapi(document), self.operations))
        if self.focus:
            self.report.notes.append(f"{len(self.focus)} operation(s) this PR touched were "
                                     "tested first and with the comprehensive plan")

    def compare_with_base(self) -> None:
        """Each result against the base's, and the base's contract against this one."""
        if self.report.baseline is None or not self.report.baseline.compared or self.spec is None:
            return
        with self.stage("baseline") as timing:
            base = self.base_results
            if base is None and self.base_run is not None:
                base = self.base_run.results(max(1.0, self.remaining()))
            assert base is not None
            if not base.completed:
                self.report.baseline.note = f"the base run stopped: {base.failure}"
            baseline_mod.compare(self.report, base, self.operations)
            if base.openapi is not None and self.report.mcp_readiness:
                base_spec = replace(self.spec, endpoints=endpoints_from_openapi(base.openapi))
                readiness.note_regressions(self.report.mcp_readiness,
                                           readiness.worse_than_base(self.report.mcp_readiness,
                                                                     base_spec))
            timing.note = baseline_mod.story(self.report)

    async def serve_and_exercise(self, env: TargetEnv, wrapper: Path) -> list[ToolCall]:
        """Start the API and, meanwhile, the MCP server (both mostly spend their start-up
        importing), then let the agent exercise the API through the tools."""
        assert self.spec is not None
        config = self.config
        agent: Any = None
        try:
            with self.stage("servers") as timing:
                # The app answers first when its spec is read from it or the run logs in to it
                # (or it has its own start command); otherwise the MCP server starts meanwhile.
                launch_first = self.app_first() or bool(config.start_command)
                ready = ""
                if launch_first:
                    await asyncio.to_thread(self.launch, env)
                    ready = await asyncio.to_thread(self.servers.wait_ready, config.ready_path)
                    wrapper = await self.spec_from_running_app(wrapper)
                else:
                    self.servers.reserve_port()
                headers = await asyncio.to_thread(self.authenticate)
                assert self.credentials is not None
                extra = {"API_MCP_TEST_HEADERS_FILE": str(self.credentials.path)}
                if config.max_result_chars:
                    extra["API_MCP_TEST_RESULT_LIMIT"] = str(config.max_result_chars)
                mcp = self.servers.configure_mcp_server(wrapper, self.call_log_path, extra,
                                                        call_timeout=config.timeouts.call)
                await asyncio.to_thread(self.choose_focus)
                agent = self.make_agent(mcp)
                connecting = asyncio.create_task(agent.connect())
                try:
                    if not launch_first:
                        # Django's migrations (if any) run while the MCP server starts.
                        await asyncio.to_thread(self.launch, env)
                    timing.note = ready or await asyncio.to_thread(self.servers.wait_ready,
                                                                   config.ready_path)
                    await self.connected(connecting, mcp)
                except BaseException:
                    connecting.cancel()
                    raise
                timing.note += f", MCP server with {len(self.tool_names)} tools"
                if headers:
                    timing.note += f", {auth_mod.describe(self.report.auth)}"
            with self.stage("agent") as timing:
                try:
                    await agent.exercise()
                finally:
                    # Keep whatever was measured, even when the agent did not finish.
                    self.calls = self.auth_calls + agent.calls
                    self.findings = list(getattr(agent, "findings", []))
                    self.not_called = dict(getattr(agent, "not_called", {}))
                    self.report.agent = getattr(agent, "label", agent.name)
                    if getattr(agent, "usage", None) is not None:
                        self.report.usage = agent.usage.as_dict()
                    self.report.notes.extend(agent.notes)
                timing.note = f"{self.report.agent}, {len(agent.calls)} calls"
        finally:
            if agent is not None:
                await self.close_agent(agent)
        return self.calls

    async def close_agent(self, agent: Any) -> None:
        """Close the agent's MCP connection without replacing the run's own error: a server
        that does not let go is killed with the run's processes later; a close that fails (it
        re-raises a failed start) is a note."""
        try:
            await within(agent.close(), CLOSE_LIMIT)
        except TimeoutError:
            self.report.notes.append(f"the MCP connection did not close within {CLOSE_LIMIT:.0f}"
                                     " s; the server was stopped")
        except Exception as exc:  # noqa: BLE001 - the run's outcome is already decided
            self.report.notes.append(f"closing the MCP connection failed: "
                                     f"{type(exc).__name__}")

    async def connected(self, connecting: asyncio.Task[None], mcp: McpCommand) -> None:
        """Wait for the agent's MCP connection: a server that fails to start (a crash, an
        `initialize` that times out with thousands of tools) fails the servers stage by name."""
        try:
            await connecting
        except RunnerError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever broke, the stage says so
            said = str(exc).encode("utf-8", "backslashreplace").decode("utf-8")[:300]
            raise RunnerError(
                "servers", f"The generated MCP server ({len(self.tool_names)} tools) did not "
                f"start: {type(exc).__name__}: {said}.",
                "Its own output is in mcp.log. With thousands of operations, test fewer "
                "(`include` / `exclude` in .api-mcp-test.yml) or raise --timeout.",
                detail=tail_text(mcp.log_path, 4000) if mcp.log_path else "",
            ) from None

    def make_agent(self, mcp: McpCommand) -> Any:
        """The deterministic agent, or the LLM agent when chosen (see agent_kind)."""
        assert self.spec is not None
        config = self.config
        call_log = CallLog(self.call_log_path)
        if agent_kind(config) == "llm":
            from runner.agent import llm
            from runner.agent.instructions import load_scenarios

            return llm.LlmAgent(
                mcp, self.agent_spec(), self.tool_names, call_log,
                model=llm.build_model(config.model, config.anthropic_api_key,
                                      config.model_base_url),
                model_name=config.model or llm.DEFAULT_MODEL, suite=config.suite,
                call_timeout=config.timeouts.call,
                budget=llm.Budget(config.max_tool_calls, config.max_tokens, config.max_cost_usd),
                max_tools=config.max_tools_per_session,
                scenarios=load_scenarios(config.scenarios_path, scenarios_root(config))
                if config.scenarios_path
                else None,
                forced=config.agent == "llm", log_path=self.output_dir / "agent.log",
                credentials=self.credentials, progress=self.progress,
            )
        from runner.agent.deterministic import DeterministicAgent
        from runner.evidence import AppLog

        spec = self.agent_spec()
        return DeterministicAgent(mcp, spec, self.tool_names, call_log, suite=config.suite,
                                  call_timeout=config.timeouts.call,
                                  max_calls=call_budget(config, len(spec.endpoints)),
                                  focus=frozenset(self.focus), credentials=self.credentials,
                                  examples=config.examples_per_operation,
                                  app_log=AppLog(self.servers.app_log, self.workspace / "repo"))

    # -- the project's settings: spec location, start command, auth (runner/config.py) ---------

    def _spec_file(self) -> Path | None:
        """The spec file: one the project's config names (inside the run copy, read with
        runner/untrusted.py), or one given through the Python API."""
        location = self.config.spec_location
        if not location:
            return None
        if self._project_file(Path(location)):
            return Path(location)
        return Path(location) if Path(location).is_file() else None

    def _project_file(self, path: Path) -> bool:
        boundary = self.config.boundary
        return boundary is not None and os.path.abspath(path).startswith(
            str(boundary).rstrip("/") + "/")

    def use_spec(self, document: dict[str, Any] | None, source: str) -> None:
        """Adopt `document` (when given) as the spec, select the configured operations, and
        write openapi.json."""
        assert self.spec is not None
        if document is not None:
            info = document.get("info") or {}
            self.spec = replace(self.spec, openapi=document, spec_source=source,  # type: ignore[arg-type]
                                endpoints=endpoints_from_openapi(document),
                                title=str(info.get("title") or ""),
                                version=str(info.get("version") or ""))
        self.spec = select_operations(self.spec, self.config.include, self.config.exclude)
        self.operations = self.spec.endpoints  # all of them: the contract diff needs the whole
        if self.config.shard is not None:
            self.spec = select_shard(self.spec, self.config.shard)
        self.report.spec = self.spec
        if self.spec.spec_source != "synthesized":
            self.report.notes.extend(validate_document(self.spec.openapi))
        (self.output_dir / "openapi.json").write_text(json.dumps(self.spec.openapi, indent=2))

    def generate(self) -> Path:
        assert self.spec is not None
        generator = MCPGenerator()
        self.tool_names = generator.tool_names(self.spec)
        self.report.mcp_readiness = readiness.assess(self.spec, self.tool_names)
        source = generator.generate_mcp_wrapper(self.spec)
        compiles(source)
        saved = generator.save_wrapper(source, self.output_dir)
        if self.mcp_dir == self.output_dir:
            return saved
        return generator.save_wrapper(source, self.mcp_dir)  # with its runtime beside it

    def launch(self, env: TargetEnv) -> str:
        assert self.spec is not None
        app_env = dict(self.config.app_env)
        if self.config.django_debug and (self.config.start_command
                                         or self.spec.framework != "django"):
            self.report.notes.append("django.debug is ignored: it applies to a Django app that "
                                     "api-mcp-test starts itself (no `start` command).")
        if self.config.start_command:
            return self.servers.launch_command(env, self.config.start_command,
                                               {**self.spec.server_env, **app_env})
        return self.servers.launch_api(env, self.spec, app_env, self.workspace,
                                       django_debug=self.config.django_debug)

    def _spec_url(self) -> str | None:
        location = self.config.spec_location
        return location if location and self._spec_file() is None else None

    def app_first(self) -> bool:
        """Whether the app must answer before the MCP server starts: its spec is read from it
        (configured URL path, or a synthesized spec to replace), or the run logs in to it."""
        assert self.spec is not None
        auth = self.config.auth
        if auth is not None and auth.mode == "login":
            return True
        if (auth is None or auth.mode == "auto") and auth_mod.automatic_plan(self.spec)[0]:
            return True
        return bool(self._spec_url()) or self.spec.spec_source == "synthesized"

    async def spec_from_running_app(self, wrapper: Path) -> Path:
        """`use_running_app` within a deadline of its own: an app that trickles its spec fails
        discovery by name instead of eating the whole run's time."""
        limit = self.budget(max(SPEC_FETCH_LIMIT, self.config.timeouts.start))
        try:
            return await within(asyncio.to_thread(self.use_running_app, wrapper), limit)
        except TimeoutError:
            where = self._spec_url() or "its usual spec paths"
            raise RunnerError(
                "discovery", f"The app did not finish serving its OpenAPI document at {where} "
                f"within {limit:.0f} s.",
                "Check that the spec endpoint answers quickly against the running app, or point "
                "`spec` in .api-mcp-test.yml at a file.",
            ) from None

    def use_running_app(self, wrapper: Path) -> Path:
        """Prefer the spec the app serves over a synthesized one; returns the (new) wrapper."""
        assert self.spec is not None and self.servers.base_url
        url_path = self._spec_url()
        if url_path is None and self.spec.spec_source != "synthesized":
            return wrapper
        found = served_spec(self.servers.base_url, url_path)
        if found is None:
            return wrapper
        document, path = found
        self.use_spec(document, "native")
        self.report.notes.append(f"spec: the OpenAPI document the app serves at {path}")
        if not self.spec.endpoints:
            raise RunnerError("discovery", f"The spec the app serves at {path} declares no "
                              "operations (after include/exclude).",
                              "Check `spec`, `include` and `exclude` in .api-mcp-test.yml.")
        return self.generate()

    def authenticate(self) -> dict[str, str]:
        """Headers for the tools (static, basic, or from a login made now), in the credentials
        file the wrapper reads; noted in the report."""
        assert self.spec is not None and self.servers.base_url
        self.credentials = auth_mod.Credentials(
            self.workspace / "credentials" / "headers.json", self.config.auth, self.spec,
            self.servers.base_url, self.config.timeouts.call)
        outcome = self.credentials.log_in()
        self.report.auth = outcome.record
        self.auth_calls = [replace(c, tool=self.tool_names.get(c.endpoint_key, ""))
                           for c in outcome.calls]
        if outcome.record.get("ok") is False and outcome.record.get("message"):
            self.report.notes.append(f"automatic login did not work: "
                                     f"{outcome.record['message']}")
        return outcome.headers

    def agent_spec(self) -> ApiSpec:
        """The operations left for the agent: the run's own successful register/login calls
        already exercised those (with credentials the agent does not know)."""
        assert self.spec is not None
        done = {c.endpoint_key for c in self.auth_calls
                if c.status_code is not None and c.status_code < 400}
        return replace(self.spec, endpoints=[e for e in self.spec.endpoints if e.key not in done])

    async def _bounded(self, coro: Any) -> Any:
        try:
            return await within(coro, self.budget(self.config.timeouts.run), grace=UNWIND_LIMIT)
        except TimeoutError:
            raise StageTimeout(
                self.current_stage or "agent",
                f"The run reached its time limit ({self.config.timeouts.run:.0f} s).",
                "Raise --timeout, or test fewer operations; results so far are in the report.",
            ) from None

    def judge(self) -> None:
        if self.spec is None:
            return
        with self.stage("checks") as timing:
            selected = checks_mod.select(self.config.checks)
            self.report.results = verdicts.evaluate(self.spec.endpoints, self.calls,
                                                    self.tool_names, selected,
                                                    strict=self.config.strict,
                                                    not_called=self.not_called)
            self.report.notes.extend(verdicts.apply_findings(self.report.results,
                                                             self.findings))
            needs_auth = [r for r in self.report.results
                          if r.outcome == "skipped" and "needs auth" in r.reason]
            if needs_auth:
                granted = " even with the credentials obtained" if self.report.auth.get("ok") else ""
                self.report.notes.append(
                    f"{len(needs_auth)} operation(s) not tested: they answered 401/403{granted}. "
                    + auth_mod.configure_hint(self.spec))
            counts = self.report.counts
            timing.note = ", ".join(f"{v} {k}" for k, v in counts.items() if v)

    def fail(self, exc: RunnerError) -> None:
        self.report.status = "failed"
        self.report.failed_stage = exc.stage
        self.report.error = exc.user_message()
        self.report.error_detail = exc.detail or None
        if not exc.detail and exc.stage == "servers":
            self.report.error_detail = self.servers.api_log_tail() or None
        # Calls already made still count: judge them so the report shows what was measured.
        if self.spec is not None and not self.report.results:
            self.calls = self.calls or CallLog(self.call_log_path).all_calls()
            if self.calls:
                self.judge()

    def finish(self) -> None:
        """Stop every process and write the reports. Never raises: a step that fails is
        recorded as a failed stage and the next one still runs."""
        if self.credentials is not None:  # first: no token renewal against a stopped API
            self.salvage("servers", self.credentials.discard)
        self.salvage("servers", self.servers.stop_all)
        try:
            if self.mcp_dir != self.output_dir:  # written by the sandbox user: read as such
                self.salvage("report", lambda: write_replacing(
                    self.output_dir / "calls.jsonl",
                    read_regular_file(self.call_log_path, CALL_LOG_LIMIT)))
            # Everything that renders the report (files, terminal, PR comment) sees it masked.
            self.salvage("report", self.redact.value, self.report)
            self.write_reports()
            self.salvage("report", self.redact.files,
                         [self.output_dir / name for name in _WRITTEN])
        finally:
            if not self.config.keep_workspace:
                shutil.rmtree(self.workspace, ignore_errors=True)

    def last_resort(self) -> None:
        """The backstop (on its own thread): the run is still going FINISH_LIMIT seconds after
        the watchdog, the main thread stuck where no signal reaches. Kill every process, write
        what is known as a failed run, and end the process with exit 3 (the action publishes
        nothing then: its step fails). Never waits: a last timer ends the process whatever."""
        last = threading.Timer(FINISH_LIMIT, os._exit, (int(ExitCode.STAGE),))
        last.daemon = True
        last.start()
        procs.kill_all_now()
        stage = self.current_stage or "run"
        failure = StageTimeout(
            stage, f"The run did not end within its time limit ({self.config.timeouts.run:.0f} s)"
            f" and {WATCHDOG_GRACE + FINISH_LIMIT:.0f} s more to clean up; it was stopped "
            f"during {stage}.",
            "Raise --timeout, or test fewer operations; the report has what was known then.")
        self.report.status, self.report.failed_stage = "failed", stage
        self.report.error = failure.user_message()
        self.salvage("report", self.redact.value, self.report)
        self.salvage("report", self.write_reports)
        with contextlib.suppress(Exception):
            sys.stderr.write(f"\nerror: {inert.terminal(self.report.error)}\n")
            sys.stderr.flush()
        os._exit(int(ExitCode.STAGE))

    def salvage(self, stage: str, step: Callable[..., Any], *args: Any) -> None:
        """Run a closing step; its failure fails the run (unless it already failed) instead of
        escaping."""
        try:
            step(*args)
        except Exception as exc:  # noqa: BLE001 - reported as a failed stage
            if self.report.status != "failed":
                failure = unexpected(stage, exc)
                self.report.status, self.report.failed_stage = "failed", stage
                self.report.error = self.redact(failure.user_message())
                self.report.error_detail = failure.detail

    def write_reports(self) -> None:
        out = self.output_dir
        paths = {
            "junit": self.config.junit_path or out / "junit.xml",
            "json": self.config.json_path or out / "report.json",
            "markdown": self.config.markdown_path or out / "report.md",
        }
        self.report.artifacts = {
            **{k: str(Path(v).resolve()) for k, v in paths.items()},
            "output_dir": str(out),
            "wrapper": str(out / "mcp_server.py"),
            "calls": str(self.output_dir / "calls.jsonl"),
            "app_log": str(self.servers.app_log),
        }
        for path in paths.values():
            self.salvage("report", Path(path).parent.mkdir, 0o777, True, True)

        def write(kind: str, render: Callable[[RunReport], str]) -> None:
            # Text that cannot be encoded (a lone surrogate from the app) is replaced, not fatal.
            # A new file replaces the old: a FIFO or a link put there is never opened.
            text = render(self.report).encode("utf-8", errors="replace")
            write_replacing(Path(paths[kind]), text)

        self.salvage("report", write, "junit", junit.render)
        self.salvage("report", write, "markdown", markdown.render)
        # Last: it records a failure of the others.
        self.salvage("report", write, "json",
                     lambda report: json.dumps(result.to_dict(report), indent=2, default=str))


def call_budget(config: RunConfig, operations: int) -> int:
    """The deterministic agent's call budget: the one set (flag or config file), else the
    default grown so every operation gets its first call and its probes."""
    if "max_tool_calls" in config.given or config.max_tool_calls != RunConfig.max_tool_calls:
        return config.max_tool_calls
    per_operation = 40 if config.suite == "comprehensive" else 6
    return max(config.max_tool_calls, operations * per_operation)

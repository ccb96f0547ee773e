"""The run's driver: what must survive a failure (the report, the processes, the workspace),
each stage's timing and time budget, the whole run's watchdog, redaction and cleanup.

It knows no stage: `runner/pipeline/run.py` gives it the order. Whatever happens, `drive`
stops the processes and writes the reports with everything measured so far.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from runner import procs, sandbox, trust
from runner.agent.calllog import CallLog
from runner.auth import Credentials
from runner.errors import ExitCode, RunnerError, StageTimeout, unexpected
from runner.limits import Backstop, Watchdog, read_regular_file, write_replacing
from runner.models import ApiSpec, Finding, RunConfig, RunReport, StageTiming, ToolCall
from runner.redact import Redactor
from runner.report import inert
from runner.servers import DynamicServerManager

Progress = Callable[[str], None]
CANCEL_SIGNALS = (signal.SIGINT, signal.SIGTERM)
WATCHDOG_GRACE = 3.0  # seconds past --timeout before in-process work is interrupted (limits.py)
# Seconds past the watchdog for stopping the processes and writing the reports; past them the
# backstop kills everything, writes a minimal report and exits 3 (see `Run.last_resort`).
FINISH_LIMIT = 7.0
GUARD_GRACE = 5.0  # seconds the backstop gets before the guard process kills the run
CALL_LOG_LIMIT = 512 * 1024 * 1024  # bytes of the sandbox's call log copied to the output folder
# Files the run writes into the output folder besides the reports; all are masked at the end.
WRITTEN = ("install.log", "discovery.log", "app.log", "mcp.log", "calls.jsonl", "openapi.json",
           "mcp_server.py")


class RunInterrupted(RunnerError):
    """The run was cancelled (Ctrl-C, SIGTERM from a cancelled job)."""


def skip_exit_collection() -> None:
    """The process ends soon: keep the garbage collector from walking everything loaded (the
    MCP and agent libraries) once more at interpreter shutdown, which took about a second on
    a busy 2-core machine. Objects created later are still collected as usual."""
    gc.freeze()


def cancel_on_signals() -> None:
    """Ctrl-C and SIGTERM (a cancelled CI job) raise KeyboardInterrupt wherever the run is, so
    the servers are stopped and the partial report is written.

    A handler of our own also keeps asyncio.run from installing its SIGINT handler, which only
    cancels the main task, and that cancellation can be absorbed by the MCP client.
    """

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    for sig in CANCEL_SIGNALS:
        signal.signal(sig, interrupt)


class Run:
    """One run's lasting state. Stages get their inputs as arguments and return records; they
    add to `report` and to what was measured (`spec`, `tool_names`, `calls`, ...) so that a
    failure still judges the calls already made."""

    def __init__(self, config: RunConfig, progress: Progress,
                 announce_to: TextIO | None = None) -> None:
        self.config = config  # the project's settings applied once the repo stage has read them
        # Granted variables may be secrets whatever their names: masked too.
        self.redact = Redactor.for_run([config.anthropic_api_key, config.token,
                                        *trust.granted_values(config.allow_env)], config.app_env)
        self.redact.announce(announce_to)  # stderr when stdout carries a document
        self.progress: Progress = lambda line: progress(self.redact(line))
        self.started = time.monotonic()
        self.current_stage: str | None = None
        self.error: RunnerError | None = None  # why the run stopped, for faces that re-raise
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
        sandbox.use_workspace(self.workspace)
        if sandbox.unsandboxed_root():
            self.report.notes.append(
                f"running as root without {sandbox.SANDBOX_USER_VARIABLE}: the project's code runs "
                "as root too and could read this process's environment; set it to an "
                "unprivileged user (the action's image does) when testing untrusted code")
        self.servers = DynamicServerManager(self.output_dir, config.timeouts.start)
        # The MCP server runs its wrapper from, and writes the call log into, the output folder;
        # when the sandbox user cannot reach that folder, the workspace (the log is copied to the
        # output folder at the end).
        box = sandbox.user()
        self.mcp_dir = (self.output_dir if box is None
                        or box.can_reach(self.output_dir / "calls.jsonl") is None
                        else self.workspace)
        self.call_log_path = self.mcp_dir / "calls.jsonl"
        self.call_log_path.write_text("")
        sandbox.hand_over(self.call_log_path)
        self.credentials: Credentials | None = None  # discarded first at the end
        # What was measured so far: judged even when a later stage fails.
        self.spec: ApiSpec | None = None
        self.tool_names: dict[str, str] = {}
        self.calls: list[ToolCall] = []
        self.findings: list[Finding] = []
        self.not_called: dict[str, str] = {}  # operations the agent left out, and why
        self.judge: Callable[[], None] | None = None  # set once there is something to judge

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

    def fail(self, exc: RunnerError) -> None:
        self.error = exc
        self.report.status = "failed"
        self.report.failed_stage = exc.stage
        self.report.error = exc.user_message()
        self.report.error_detail = exc.detail or None
        if not exc.detail and exc.stage == "servers":
            self.report.error_detail = self.servers.api_log_tail() or None
        # Calls already made still count: judge them so the report shows what was measured.
        if self.spec is not None and not self.report.results and self.judge is not None:
            self.calls = self.calls or CallLog(self.call_log_path).all_calls()
            if self.calls:
                self.judge()

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

    def finish(self, write_reports: Callable[[Run], None]) -> None:
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
            write_reports(self)
            # What is not masked 2 s before the backstop would end the run is removed.
            masked_by = self.started + self.config.timeouts.run + WATCHDOG_GRACE + FINISH_LIMIT - 2
            self.salvage("report", self.redact.files,
                         [self.output_dir / name for name in WRITTEN], masked_by)
        finally:
            if not self.config.keep_workspace:
                shutil.rmtree(self.workspace, ignore_errors=True)

    def last_resort(self, write_reports: Callable[[Run], None]) -> None:
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
        self.salvage("report", write_reports, self)
        with contextlib.suppress(Exception):
            sys.stderr.write(f"\nerror: {inert.terminal(self.report.error)}\n")
            sys.stderr.flush()
        os._exit(int(ExitCode.STAGE))


def drive(run: Run, stages: Callable[[Run], None], write_reports: Callable[[Run], None]) -> None:
    """Run `stages` under the whole run's watchdog; turn whatever stops them into a failed stage
    and always finish (processes stopped, reports written, workspace removed)."""
    limit = run.config.timeouts.run
    watchdog = Watchdog(limit + WATCHDOG_GRACE)
    backstop = Backstop(limit + WATCHDOG_GRACE + FINISH_LIMIT,
                        lambda: run.last_resort(write_reports))
    # Should even the backstop not get to run (a C call holding the GIL), a process of its own
    # kills the run a little later. Not when embedded: the process is not ours.
    guard = (procs.guard(limit + WATCHDOG_GRACE + FINISH_LIMIT + GUARD_GRACE)
             if backstop.armed else None)
    try:
        stages(run)
    except RunnerError as exc:
        run.fail(exc)
    except KeyboardInterrupt:
        stage = run.current_stage or "run"
        if watchdog.fired:
            run.fail(StageTimeout(
                stage, f"The run reached its time limit ({limit:.0f} s) during {stage}.",
                "Raise --timeout, or test fewer operations; results so far are in the report."))
        else:
            run.fail(RunInterrupted(stage, "The run was cancelled.",
                                    "Partial results are in the report."))
    except Exception as exc:  # noqa: BLE001 - whatever the input, a failed stage, not a crash
        run.fail(unexpected(run.current_stage or "run", exc))
    finally:
        # Cleanup and the report must complete: a second signal now is ignored.
        in_main = threading.current_thread() is threading.main_thread()
        previous = ({sig: signal.signal(sig, signal.SIG_IGN) for sig in CANCEL_SIGNALS}
                    if in_main else {})
        watchdog.cancel()
        try:
            run.finish(write_reports)
        finally:
            backstop.cancel()
            if guard is not None:
                guard.cancel()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

"""One exception hierarchy: every failure names its stage and a hint for the user."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    PASSED = 0  # every endpoint passed
    FAILED = 1  # at least one endpoint failed
    USAGE = 2  # bad flags or configuration
    STAGE = 3  # a stage could not complete (no app, app did not start, ...)


class RunnerError(Exception):
    """A failure the user can act on.

    `stage` is the pipeline stage that failed (repo, install, discovery, mcpgen, servers, agent,
    report, publish), `hint` says what to do about it, `detail` carries evidence (a log tail).
    """

    exit_code: ExitCode = ExitCode.STAGE

    def __init__(self, stage: str, message: str, hint: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.hint = hint
        self.detail = detail

    def user_message(self) -> str:
        """One paragraph: what failed, where, and how to fix it."""
        text = f"[{self.stage}] {self.message}"
        if self.hint:
            text += f" {self.hint}"
        return text


class UsageError(RunnerError):
    exit_code = ExitCode.USAGE

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__("config", message, hint)


class StageTimeout(RunnerError):
    """A stage ran past its time limit."""

"""One exception hierarchy: every failure names its stage and a hint for the user."""

from __future__ import annotations

import re
import traceback
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    PASSED = 0  # every endpoint passed
    FAILED = 1  # at least one endpoint failed
    USAGE = 2  # bad flags or configuration
    STAGE = 3  # a stage could not complete (no app, app did not start, ...), or nothing
    # was tested (every endpoint skipped)


def stage_exit_code(failed_stage: str | None) -> ExitCode:
    """The exit code of a run that stopped at `failed_stage`: a configuration mistake is a
    usage error (2), anything else a stage that could not complete (3)."""
    return ExitCode.USAGE if failed_stage == "config" else ExitCode.STAGE


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


def unexpected(stage: str, exc: BaseException) -> RunnerError:
    """An exception no stage expected (an input nothing anticipated, or a bug), as the failure of
    `stage`: what was raised and where, in one paragraph; the last frames go to the detail,
    never a traceback to the terminal."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" in {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    said = str(exc).encode("utf-8", "backslashreplace").decode("utf-8")[:300]
    message = f"Unexpected {type(exc).__name__}{where}" + (f": {said}" if said else "") + "."
    if isinstance(exc, RecursionError):
        hint = ("The input is nested too deeply for this stage (a schema or document hundreds "
                "of levels deep): flatten it, or exclude the operation (`exclude` in "
                ".api-mcp-test.yml).")
    elif isinstance(exc, MemoryError):
        hint = "The input is too large for this stage: test fewer operations (`include`)."
    else:
        hint = ("This is a bug in api-mcp-test or an input it does not handle yet: please "
                "report it with report.json and, if you can, the input.")
    detail = "".join(traceback.format_list(frames[-6:]))
    return RunnerError(stage, message, hint, detail=detail)


_TRACEBACK_START = "Traceback (most recent call last):"
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b.*")


def condense_tracebacks(text: str) -> str:
    """Log text for a terminal: each Python traceback cut to its last frame and the exception,
    so the evidence stays one screen long (the full log is kept in its file)."""
    out: list[str] = []
    frame: list[str] = []
    inside = False
    for line in text.splitlines():
        if _TRACEBACK_START in line:
            inside, frame = True, []
            out.append(line.replace(_TRACEBACK_START, "(traceback, last frame:)"))
        elif inside and line[:1].isspace():
            if line.lstrip().startswith("File "):
                frame = [line]
            elif frame and len(frame) < 2 and not set(line.strip()) <= {"^", "~"}:
                frame.append(line)
        else:
            if inside:
                out.extend(frame)
                inside = False
            out.append(line)
    if inside:
        out.extend(frame)
    return "\n".join(out)


def last_error_line(text: str) -> str:
    """The most telling line of a log: the last exception raised, else the last line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if _EXCEPTION_LINE.match(line)]
    return (errors or lines or [""])[-1]

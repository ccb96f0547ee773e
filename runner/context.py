"""The action's context: one frozen record built from the environment GitHub gives a Docker action.

Inputs arrive as `INPUT_<NAME>` with the name upper-cased and hyphens kept (`INPUT_FAIL-ON`);
the pull request comes from the event payload at `GITHUB_EVENT_PATH` (runner/github_event.py).
Each input has one `clean_<name>` function that returns a typed value or raises `UsageError`
naming the input and what it accepts. `from_env` runs them all and reports every bad input at once.

Paths (`working-directory`, `output-dir`, `junit-path`, `python`) are relative to
`GITHUB_WORKSPACE`.
"""

from __future__ import annotations

import posixpath
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from runner.config.build import build_config
from runner.errors import UsageError
from runner.github_event import pull_request_from, read_event
from runner.models import AgentKind, RunConfig, Suite, Timeouts
from runner.report.verdict import FAIL_ON, FailOn
from runner.shard import Shard, parse_shard
from runner.trust import clean_grants

SUITES = ("smoke", "comprehensive")
AGENTS = ("auto", "deterministic", "llm")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")

DEFAULT_OUTPUT_DIR = "api-mcp-test-report"
DEFAULT_TIMEOUT_MINUTES = Timeouts.run / 60

T = TypeVar("T")


@dataclass(frozen=True)
class PublishConfig:
    """Where and how the results are published, and how the job's status is decided."""

    comment: bool
    fail_on: FailOn
    fail_on_breaking: bool  # with fail-on new-failures: a breaking API change fails the job
    github_token: str | None
    repository: str | None  # owner/name
    api_url: str  # GITHUB_API_URL: https://api.github.com or https://HOST/api/v3 on GHES
    server_url: str
    event_name: str | None
    pr_number: int | None
    head_sha: str | None
    head_ref: str | None
    base_ref: str | None
    is_fork: bool
    workspace: Path  # GITHUB_WORKSPACE
    working_directory: str  # as given, relative to the workspace ("." by default)
    step_summary_path: Path | None
    output_path: Path | None
    run_url: str | None  # the workflow run, where the report artifact is uploaded
    merge_reports: Path | None = None  # merge mode: the shards' reports, instead of testing

    @property
    def comment_marker(self) -> str:
        """The hidden marker that finds this action's comment again (one per working directory:
        `services/todo/` and `./services/todo` are one folder; `--` cannot end the comment)."""
        folder = re.sub("-(?=-)", "%2D", posixpath.normpath(self.working_directory.strip() or "."))
        return f"<!-- api-mcp-test:{folder} -->"


@dataclass(frozen=True)
class ActionContext:
    run: RunConfig
    publish: PublishConfig

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.publish.github_token, self.run.anthropic_api_key) if s)


# -- one function per input -------------------------------------------------------------------


def _choice(name: str, value: str, allowed: tuple[str, ...], default: str) -> str:
    value = value.strip().lower() or default
    if value not in allowed:
        raise UsageError(f"Input '{name}' must be one of {', '.join(allowed)}; got {value!r}.")
    return value


def _optional(value: str) -> str | None:
    return value.strip() or None


def _relative_path(name: str, value: str, workspace: Path, default: str) -> Path:
    text = value.strip() or default
    path = Path(text)
    if path.is_absolute():
        return path
    if ".." in path.parts:
        raise UsageError(f"Input '{name}' must stay inside the workspace; got {text!r}.",
                         "Give a path relative to the repository root.")
    return workspace / path


def clean_working_directory(value: str, workspace: Path) -> Path:
    return _relative_path("working-directory", value, workspace, ".")


def clean_app(value: str) -> str | None:
    app = _optional(value)
    if app and (app.count(":") != 1 or not all(app.split(":"))):
        raise UsageError(f"Input 'app' must be module:attribute (e.g. app.main:app); got {app!r}.",
                         "Leave it empty to auto-detect the app.")
    return app


def clean_suite(value: str) -> Suite:
    return cast(Suite, _choice("suite", value, SUITES, "smoke"))


def clean_agent(value: str) -> AgentKind:
    return cast(AgentKind, _choice("agent", value, AGENTS, "auto"))


def clean_model(value: str) -> str | None:
    return _optional(value)


def clean_anthropic_api_key(value: str) -> str | None:
    return _optional(value)


def clean_github_token(value: str) -> str | None:
    return _optional(value)


def _flag(name: str, value: str, default: bool) -> bool:
    text = value.strip().lower()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(f"Input '{name}' must be true or false; got {value.strip()!r}.")


def clean_comment(value: str) -> bool:
    return _flag("comment", value, True)


def clean_fail_on_breaking(value: str) -> bool:
    return _flag("fail-on-breaking", value, True)


def clean_base(value: str, pr_base_sha: str | None) -> tuple[str | None, bool]:
    """(the base ref to compare with, whether it was chosen automatically). `auto` (default):
    the pull request's base commit; `none`: no comparison; anything else: that ref."""
    text = value.strip()
    if text.lower() in ("", "auto"):
        return pr_base_sha, pr_base_sha is not None
    if text.lower() in ("none", "false", "off"):
        return None, False
    if text.startswith("-") or any(c.isspace() for c in text):
        raise UsageError(f"Input 'base' must be auto, none or a branch, tag or sha; got {text!r}.")
    return text, False


def clean_shard(value: str) -> Shard | None:
    return parse_shard(value, "Input 'shard'") if value.strip() else None


def clean_merge_reports(value: str, workspace: Path) -> Path | None:
    if not value.strip():
        return None
    return _relative_path("merge-reports", value, workspace, "")


def clean_baseline_report(value: str, workspace: Path) -> Path | None:
    if not value.strip():
        return None
    return _relative_path("baseline-report", value, workspace, "")


def clean_fail_on(value: str) -> FailOn:
    return cast(FailOn, _choice("fail-on", value, FAIL_ON, "failures"))


def clean_output_dir(value: str, workspace: Path) -> Path:
    return _relative_path("output-dir", value, workspace, DEFAULT_OUTPUT_DIR)


def clean_junit_path(value: str, workspace: Path, output_dir: Path) -> Path:
    if not value.strip():
        return output_dir / "junit.xml"
    return _relative_path("junit-path", value, workspace, "")


def clean_timeout_minutes(value: str) -> dict[str, float]:
    """The run's time limit, as the timeouts it sets."""
    text = value.strip()
    try:
        minutes = float(text) if text else DEFAULT_TIMEOUT_MINUTES
    except ValueError:
        minutes = -1.0
    if not 0 < minutes <= 360:
        raise UsageError(f"Input 'timeout-minutes' must be a number of minutes between 0 and 360; "
                         f"got {text!r}.")
    return {"run": minutes * 60}


def clean_install_command(value: str) -> str | None:
    return _optional(value)


def clean_app_env(value: str) -> dict[str, str]:
    """One NAME=VALUE per line; blank lines and lines starting with # are ignored."""
    env: dict[str, str] = {}
    for number, line in enumerate(value.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, setting = line.partition("=")
        name = name.strip()
        if not sep or not name or not name.replace("_", "a").isalnum() or name[0].isdigit():
            raise UsageError(f"Input 'app-env' line {number} is not NAME=VALUE: {line!r}.",
                             "Write one setting per line, e.g. DEBUG=1.")
        env[name] = setting
    return env


def clean_allow_env(value: str) -> tuple[str, ...]:
    """Variable names (one per line, or comma- or space-separated) the project's config may read
    as ${NAME} (see runner/trust.py)."""
    return clean_grants([value], "Input 'allow-env':")


def clean_python(value: str, workspace: Path) -> str | None:
    text = value.strip()
    if not text:
        return None
    if "/" not in text:  # a command name such as python3.12
        found = shutil.which(text)
        if not found:
            raise UsageError(f"Input 'python': no interpreter named {text!r} on PATH.")
        return found
    path = Path(text) if Path(text).is_absolute() else workspace / text
    if not path.exists():
        raise UsageError(f"Input 'python': {text!r} does not exist (relative paths start at the "
                         "repository root).")
    return str(path)


# -- everything together ----------------------------------------------------------------------


def read_input(environ: Mapping[str, str], name: str) -> str:
    """The value of input `name` (e.g. `fail-on`): `INPUT_FAIL-ON`, also `INPUT_FAIL_ON`."""
    upper = name.upper()
    return environ.get(f"INPUT_{upper}", environ.get(f"INPUT_{upper.replace('-', '_')}", ""))


def from_env(environ: Mapping[str, str]) -> ActionContext:
    """Build the context; every invalid input is reported in one UsageError."""
    workspace = Path(environ.get("GITHUB_WORKSPACE") or ".").resolve()
    problems: list[str] = []

    def clean(fn: Callable[..., T], name: str, *args: Any) -> T:
        try:
            return fn(read_input(environ, name), *args)
        except UsageError as exc:
            problems.append(exc.user_message().removeprefix("[config] "))
            return cast(T, None)

    output_dir = clean(clean_output_dir, "output-dir", workspace)
    try:
        event = read_event(environ.get("GITHUB_EVENT_PATH"))
    except UsageError as exc:
        problems.append(exc.message)
        event = {}
    pr = pull_request_from(event)
    base_ref, base_auto = clean(clean_base, "base", pr.base_sha) or (None, False)
    workspace_inputs = {  # the action's own defaults, relative to the workspace
        "repo_path": clean(clean_working_directory, "working-directory", workspace),
        "output_dir": output_dir,
        "junit_path": clean(clean_junit_path, "junit-path", workspace, output_dir or workspace),
        "base_ref": base_ref,
        "base_auto": base_auto,
    }
    # The other inputs when set: an empty input is absent, so the project's config file (or
    # the default) applies.
    inputs = {field: clean(fn, name, *args) for field, (fn, name, *args) in {
        "app": (clean_app, "app"),
        "suite": (clean_suite, "suite"),
        "agent": (clean_agent, "agent"),
        "model": (clean_model, "model"),
        "anthropic_api_key": (clean_anthropic_api_key, "anthropic-api-key"),
        "timeouts": (clean_timeout_minutes, "timeout-minutes"),
        "install_command": (clean_install_command, "install-command"),
        "app_env": (clean_app_env, "app-env"),
        "allow_env": (clean_allow_env, "allow-env"),
        "python": (clean_python, "python", workspace),
        "baseline_report": (clean_baseline_report, "baseline-report", workspace),
        "shard": (clean_shard, "shard"),
    }.items() if read_input(environ, name).strip()}
    comment = clean(clean_comment, "comment")
    fail_on = clean(clean_fail_on, "fail-on")
    fail_on_breaking = clean(clean_fail_on_breaking, "fail-on-breaking")
    merge_reports = clean(clean_merge_reports, "merge-reports", workspace)
    token = clean(clean_github_token, "github-token")
    if problems:
        raise UsageError(" ".join(problems), "See the inputs table in the README.")

    server_url = environ.get("GITHUB_SERVER_URL") or "https://github.com"
    repository = environ.get("GITHUB_REPOSITORY") or None
    run_id = environ.get("GITHUB_RUN_ID")
    publish = PublishConfig(
        comment=comment,
        fail_on=fail_on,
        fail_on_breaking=fail_on_breaking,
        github_token=token,
        repository=repository,
        api_url=(environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
        server_url=server_url.rstrip("/"),
        event_name=environ.get("GITHUB_EVENT_NAME") or None,
        pr_number=pr.number,
        head_sha=pr.head_sha or environ.get("GITHUB_SHA") or None,
        head_ref=pr.head_ref or environ.get("GITHUB_REF_NAME") or None,
        base_ref=pr.base_ref or environ.get("GITHUB_BASE_REF") or None,
        is_fork=pr.is_fork,
        workspace=workspace,
        working_directory=(read_input(environ, "working-directory").strip().strip("/") or "."),
        step_summary_path=_file(environ.get("GITHUB_STEP_SUMMARY")),
        output_path=_file(environ.get("GITHUB_OUTPUT")),
        run_url=(f"{server_url.rstrip('/')}/{repository}/actions/runs/{run_id}"
                 if repository and run_id else None),
        merge_reports=merge_reports,
    )
    # The environment cache's trust domain: this pull request (or ref) of this repository.
    scope = (f"{repository}#pr-{pr.number}" if pr.number is not None
             else f"{repository}@{publish.head_ref or publish.head_sha}")
    config = build_config({**inputs, **workspace_inputs, "cache_scope": scope})
    return ActionContext(run=config, publish=publish)


def _file(value: str | None) -> Path | None:
    return Path(value) if value else None

"""The run's settings: `RunConfig` holds them all (built once by the CLI, the action's context
or the Python API through `runner.config.build_config`: defaults < the project's
.api-mcp-test.yml < explicit inputs), and gives each stage only its part (InstallSettings,
SpecSettings, ...: runner/pipeline/ takes those).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from runner.shard import Shard

Suite = Literal["smoke", "comprehensive", "custom"]
AgentKind = Literal["deterministic", "llm", "auto"]
DEFAULT_MAX_TOOL_CALLS = 200


@dataclass(frozen=True)
class Timeouts:
    """Seconds each stage may take; every stage is bounded."""

    clone: float = 300.0
    install: float = 600.0
    discovery: float = 120.0
    start: float = 60.0
    call: float = 30.0
    run: float = 1800.0


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs, built once by the CLI or the action's context."""

    repo_path: Path  # the folder to test (unused with repo_url: the run clones into its workspace)
    # The explicit inputs this config was built from (flags, action inputs, Python API keywords;
    # only those given, "timeouts" as a mapping of the timeouts given): the project's config
    # file goes under them (runner/config/build.py). Holds the token: never printed.
    explicit: Mapping[str, Any] = field(default_factory=dict, repr=False)
    repo_url: str | None = None  # clone this (https://, ssh://, git@host:path, file://)
    branch: str | None = None
    pr_number: int | None = None
    commit: str | None = None
    token: str | None = field(default=None, repr=False)  # for cloning; never stored or logged
    # Runner variables the project's config may read as ${NAME} (see runner/trust.py).
    allow_env: tuple[str, ...] = ()
    # The repository's run copy: files the project's config names are read inside it, with the
    # pull request's rights (runner/untrusted.py). Set when the config is applied.
    boundary: Path | None = None
    # The run's trust domain for the environment cache (runner/envcache.py); None: from the
    # repository URL and PR/branch/commit, or the folder.
    cache_scope: str | None = None
    working_directory: str | None = None  # the app's folder inside the repository
    dev_requirements: bool = False  # also install requirements-dev.txt and dev groups
    app: str | None = None
    python: str | None = None
    install: bool = True
    install_command: str | None = None
    config_file: Path | None = None  # --config FILE instead of the project's .api-mcp-test.yml
    install_extra: tuple[str, ...] = ()  # config `install: {extra: [...]}`: on top of the install
    suite: Suite = "smoke"
    agent: AgentKind = "auto"
    model: str | None = None
    output_dir: Path = Path("api-mcp-test-report")
    junit_path: Path | None = None
    json_path: Path | None = None
    markdown_path: Path | None = None
    workspace_root: Path | None = None
    keep_workspace: bool = False
    app_env: dict[str, str] = field(default_factory=dict)
    checks: tuple[str, ...] = ()
    timeouts: Timeouts = field(default_factory=Timeouts)
    # Tool calls an agent may make; None (not set): DEFAULT_MAX_TOOL_CALLS, and the
    # deterministic agent's grows with the API so every operation is called (see call_budget).
    max_tool_calls: int | None = None
    strict: bool = False  # an undocumented 4xx to valid input fails (default: a warning)
    examples_per_operation: int | None = None  # generated inputs per operation (None: by suite)
    anthropic_api_key: str | None = None  # for the model client only, never a child's env
    model_base_url: str | None = None  # e.g. a proxy or a local stand-in of the Messages API
    max_tokens: int | None = None  # LLM budget: input + output tokens over all sessions
    max_cost_usd: float | None = None  # LLM budget: estimated from list prices
    max_tools_per_session: int = 40  # larger APIs get one LLM session per group of tools
    max_result_chars: int | None = None  # body text a tool returns to the model
    scenarios_path: Path | None = None
    # The run copy when the scenarios are the project's (read with the pull request's rights,
    # runner/untrusted.py); None for the user's own file.
    scenarios_root: Path | None = None
    # From the project's config file (runner/config.py); command-line flags override these.
    python_version: str | None = None  # a version request ("3.12", ">=3.11") for the new venv
    setup: tuple[str, ...] = ()  # shell commands run in the target environment before start
    start_command: str | None = None  # custom start command with a {port} placeholder
    ready_path: str | None = None  # answers below 500 when the app is ready
    spec_location: str | None = None  # URL path on the running app, or a file
    include: tuple[str, ...] = ()  # operation selectors: "GET /admin/*", "/users/*", "tag:x"
    exclude: tuple[str, ...] = ()
    auth: AuthConfig | None = None  # None: automatic
    django_debug: bool = False  # serve a Django project with DEBUG=True (loopback run only)
    # Pull-request awareness (runner/baseline.py): compare with the base's results.
    base_ref: str | None = None  # a branch, tag or sha of the same repository to run and diff
    baseline_report: Path | None = None  # a stored report.json (or its folder) of the base
    # The base came from the PR's event, not from the user: when it cannot be had, the run says
    # so and goes on (and may fetch it from origin).
    base_auto: bool = False
    shard: Shard | None = None  # test only shard K of N of the operations (runner/shard.py)

    @property
    def agent_kind(self) -> Literal["deterministic", "llm"]:
        """The agent-choice rule: auto means the LLM agent when an Anthropic key is configured
        (or another provider is named), else the deterministic agent."""
        if self.agent != "auto":
            return self.agent
        model = self.model or ""
        other_provider = ":" in model and not model.startswith("anthropic:")
        return "llm" if self.anthropic_api_key or other_provider else "deterministic"

    # -- each stage's part ---------------------------------------------------------------------

    @property
    def install_settings(self) -> InstallSettings:
        return InstallSettings(self.repo_path, self.python, self.install, self.install_command,
                               self.dev_requirements, self.python_version, self.boundary,
                               self.install_extra, self.setup, dict(self.app_env))

    @property
    def spec_settings(self) -> SpecSettings:
        return SpecSettings(self.app, dict(self.app_env), self.spec_location, self.boundary,
                            self.include, self.exclude, self.shard)

    @property
    def serve_settings(self) -> ServeSettings:
        return ServeSettings(dict(self.app_env), self.start_command, self.ready_path,
                             self.django_debug, self.auth, self.timeouts.call,
                             self.max_result_chars)

    @property
    def check_settings(self) -> CheckSettings:
        return CheckSettings(self.checks, self.strict)

    @property
    def report_paths(self) -> ReportPaths:
        return ReportPaths(self.output_dir, self.junit_path, self.json_path, self.markdown_path)


@dataclass(frozen=True)
class AuthStep:
    """One request of a login flow: `POST /token` with a form or JSON body (None: built from the
    operation's schema for a generated user), or `basic`: the body's username and password sent
    as HTTP basic auth, no body (`POST /api/tokens` answering a token)."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    content: Literal["json", "form", "basic"] = "json"


@dataclass(frozen=True)
class AuthConfig:
    """How the runner gets credentials for the API under test (runner/auth.py).

    Strings may name runner environment variables the workflow granted (`allow_env`) as ${NAME}
    and the generated user as ${user.username}, ${user.email}, ${user.password}; they are
    expanded when the run logs in.
    """

    mode: Literal["auto", "off", "static", "basic", "login"] = "auto"
    header: str = "Authorization"
    value: str | None = None  # static
    username: str | None = None  # basic
    password: str | None = None  # basic
    login: AuthStep | None = None
    register: AuthStep | None = None
    token: str | None = None  # JSON path of the token in the login answer, e.g. $.access_token
    scheme: str | None = None  # Bearer, Token, ... ("" for the bare token)
    # The granted variables the strings reference, resolved when the config is applied
    # (runner/trust.py); the only runner variables a login can use.
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class InstallSettings:
    """Stages install and setup: the app's own environment."""

    folder: Path  # the app's folder (in the run copy)
    python: str | None  # an existing interpreter instead of a new environment
    install: bool
    command: str | None  # a shell command instead of the dependency files
    dev: bool  # also development dependencies
    python_version: str | None  # a version request for the new environment
    boundary: Path | None  # the run copy: project files are read inside it
    extra: tuple[str, ...]  # packages on top of the install
    setup: tuple[str, ...]  # the project's setup commands
    app_env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SpecSettings:
    """Stage discovery (and served spec): where the app and its document are, what to test."""

    app: str | None  # module:attr, or None to find it
    app_env: dict[str, str]
    location: str | None  # a spec file or a URL path on the running app
    boundary: Path | None
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    shard: Shard | None


@dataclass(frozen=True)
class ServeSettings:
    """Stages app, credentials and servers: how the app starts and what the tools send."""

    app_env: dict[str, str]
    start_command: str | None
    ready_path: str | None
    django_debug: bool
    auth: AuthConfig | None
    call_timeout: float
    max_result_chars: int | None


@dataclass(frozen=True)
class AgentSettings:
    """Stage agent: which agent, its plan and its budget (runner/pipeline/choices.py)."""

    kind: Literal["deterministic", "llm"]  # after the agent-choice rule
    forced: bool  # --agent llm: fail instead of falling back
    suite: Suite
    call_timeout: float
    start_timeout: float  # the MCP server's start (its `initialize`)
    max_calls: int  # tool calls (the deterministic agent's grows with the API unless set)
    examples: int | None
    model: str | None = None
    api_key: str | None = field(default=None, repr=False)
    model_base_url: str | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    max_tools: int = 40
    scenarios_path: Path | None = None
    scenarios_root: Path | None = None  # the run copy, for the project's own scenarios


@dataclass(frozen=True)
class CheckSettings:
    """Stage checks."""

    checks: tuple[str, ...]  # by name; () for all
    strict: bool  # an undocumented 4xx to valid input fails


@dataclass(frozen=True)
class ReportPaths:
    """Where the reports go."""

    output_dir: Path
    junit: Path | None
    json: Path | None
    markdown: Path | None

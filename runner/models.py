"""The typed records that flow one way through the pipeline.

context -> RunConfig; repo -> RepoInfo, TargetEnv; discovery -> ApiSpec (Endpoints);
agent -> ToolCalls; checks -> CheckResults; report -> EndpointResults in a RunReport.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from runner.shard import Shard

Suite = Literal["smoke", "comprehensive", "custom"]
AgentKind = Literal["deterministic", "llm", "auto"]
Outcome = Literal["passed", "failed", "error", "skipped"]
BaselineStatus = Literal["new failure", "fixed", "still failing", "new endpoint", "unchanged"]


_Record = TypeVar("_Record")


def from_fields(cls: type[_Record], data: Mapping[str, Any] | None) -> _Record:
    """`cls` from a JSON object (a call record, a report.json part), keeping only the fields
    `cls` has: what another version of the runner wrote still reads back."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in (data or {}).items() if k in names})


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
    # Fields the user set explicitly (flags, action inputs): the project's config file does not
    # override them. "timeouts.start"-style names for single timeouts.
    given: frozenset[str] = frozenset()
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
    # Tool calls an agent may make; the deterministic agent's default grows with the API so
    # every operation is called at least once (see call_budget).
    max_tool_calls: int = 200
    strict: bool = False  # an undocumented 4xx to valid input fails (default: a warning)
    examples_per_operation: int | None = None  # generated inputs per operation (None: by suite)
    anthropic_api_key: str | None = None  # for the model client only, never a child's env
    model_base_url: str | None = None  # e.g. a proxy or a local stand-in of the Messages API
    max_tokens: int | None = None  # LLM budget: input + output tokens over all sessions
    max_cost_usd: float | None = None  # LLM budget: estimated from list prices
    max_tools_per_session: int = 40  # larger APIs get one LLM session per group of tools
    max_result_chars: int | None = None  # body text a tool returns to the model
    scenarios_path: Path | None = None
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


@dataclass
class RepoInfo:
    path: str
    remote: str | None = None
    branch: str | None = None
    commit: str | None = None
    message: str | None = None
    author: str | None = None
    pr_number: int | None = None


@dataclass(frozen=True)
class TargetEnv:
    """The interpreter the API under test runs in (never the runner's own)."""

    python: Path
    root: Path  # folder the app is imported from
    created: bool  # False when --python named an existing interpreter
    reused: bool = False  # True when a cached environment was reused
    source: str = ""  # what the dependencies were installed from (requirements.txt, uv.lock, ...)


@dataclass(frozen=True)
class Parameter:
    name: str
    location: Literal["path", "query", "header", "cookie"]
    required: bool
    schema: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Endpoint:
    method: str  # upper case
    path: str
    operation_id: str
    summary: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    request_body: dict[str, Any] | None = None  # {"required": bool, "content_type": str, "schema": {}}
    responses: dict[str, Any] = field(default_factory=dict)  # status -> response object
    source: dict[str, Any] | None = None  # {"file": str, "line": int} when discovery knows it
    security: bool = False  # the operation declares a security requirement
    openapi_version: str = ""  # of its document: the dialect of its schemas ("" = 2020-12)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class ApiSpec:
    framework: str
    app_locator: str
    openapi: dict[str, Any]
    endpoints: list[Endpoint]
    spec_source: Literal["native", "synthesized", "file"] = "native"
    title: str = ""
    version: str = ""
    interface: str = "asgi"  # how uvicorn serves it: asgi | wsgi
    factory: bool = False  # app_locator names a factory to call
    server_env: dict[str, str] = field(default_factory=dict)  # e.g. DJANGO_SETTINGS_MODULE
    sqlite_databases: tuple[str, ...] = ()  # Django aliases served from a throwaway copy
    # Django alias -> the project's sqlite file, which the throwaway copy starts from (what a
    # setup step wrote there: a test user, fixtures).
    sqlite_files: tuple[tuple[str, str], ...] = ()
    # Settings gates discovery opened with placeholders (runner/discovery/gates.py): the
    # variables given to the app, the modules made in the run's copy, and the report's notes.
    filled_env: tuple[tuple[str, str], ...] = ()
    filled_modules: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (module, names it defines)
    filled_packages: tuple[str, ...] = ()  # installed: imported, declared nowhere
    notes: tuple[str, ...] = ()

    @property
    def synthesized_note(self) -> str:
        """What a synthesized spec means for the verdicts ("" for a documented spec)."""
        if self.spec_source != "synthesized":
            return ""
        return (f"The {self.framework} app documents no OpenAPI spec: it was synthesized from its "
                "routes, so response schemas are unknown and only status-based checks apply "
                "(a 5xx fails; a 4xx to a guessed request is a warning).")

    @property
    def metadata(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "version": self.version,
            "framework": self.framework,
            "app": self.app_locator,
            "spec_source": self.spec_source,
            "operations": len(self.endpoints),
            "paths": len({e.path for e in self.endpoints}),
        }


@dataclass
class ToolCall:
    """One call of a generated MCP tool, as recorded by the wrapper (outside any model)."""

    call_id: str
    tool: str
    method: str
    path: str
    arguments: dict[str, Any]
    url: str = ""
    status_code: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # parsed JSON when the body was JSON, else text (capped)
    body_is_json: bool = False
    body_truncated: bool = False
    body_bytes: int = 0
    elapsed_ms: float = 0.0
    error: str | None = None  # transport error: timeout, connection refused, ...
    # What the caller meant: valid | invalid | boundary | explore | not_found; guess when the
    # valid input is not known (synthesized spec, values only the API's emails carry); auth for
    # the runner's own login requests; after_create | after_update | after_delete | no_auth |
    # other_user | paging | filter for the state, auth and meaning probes (runner/checks.py).
    intent: str = "valid"
    agent: str = "deterministic"
    expect: dict[str, Any] = field(default_factory=dict)  # what a probe's check compares with
    traceback: str = ""  # for a 5xx: the app's own traceback from its log (runner/evidence.py)

    @property
    def endpoint_key(self) -> str:
        return f"{self.method} {self.path}"

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ToolCall:
        return from_fields(cls, record)


@dataclass
class CheckResult:
    check: str
    passed: bool
    call_id: str
    message: str = ""
    reproduce: str = ""  # a failure's copy-paste curl command (runner/evidence.py)


@dataclass
class Finding:
    """A verdict from the LLM agent; only accepted when it cites recorded calls."""

    endpoint: str
    verdict: Literal["pass", "fail", "concern"]
    summary: str
    evidence: list[str]  # call ids from the call log
    reasoning: str = ""  # the agent's short why
    accepted: bool = True
    rejection: str = ""


@dataclass
class EndpointResult:
    endpoint: Endpoint
    tool: str
    outcome: Outcome
    reason: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # worth a look, not a failure
    baseline: BaselineStatus | None = None  # against the base's run, when there is one

    @property
    def success(self) -> bool:
        return self.outcome in ("passed", "skipped")


@dataclass(frozen=True)
class ApiChange:
    """One difference between the base's API contract and this run's (runner/apidiff.py)."""

    operation: str  # "METHOD /path" (the head's; the base's for a removed operation)
    change: str  # the rule that found it, e.g. "response-field-removed"
    breaking: bool  # a client written against the base may fail
    detail: str


@dataclass
class Baseline:
    """The base the results were compared with: a run of the base commit, or a stored report."""

    source: Literal["run", "cache", "file"]
    ref: str  # as given: a branch, tag, sha, or the report's path
    commit: str | None = None
    compared: bool = True  # False: no base results could be had (see note)
    note: str = ""


@dataclass
class StageTiming:
    stage: str
    seconds: float
    ok: bool = True
    note: str = ""


@dataclass
class RunReport:
    status: Literal["completed", "failed"]
    repo_info: RepoInfo | None
    spec: ApiSpec | None
    results: list[EndpointResult] = field(default_factory=list)
    stages: list[StageTiming] = field(default_factory=list)
    agent: str = "deterministic"
    suite: str = "smoke"
    failed_stage: str | None = None
    error: str | None = None
    error_detail: str | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    auth: dict[str, Any] = field(default_factory=dict)  # how credentials were obtained (no secrets)
    baseline: Baseline | None = None  # what the results were compared with (a PR's base)
    api_changes: list[ApiChange] = field(default_factory=list)  # base spec -> this spec
    # Whether a model can call each tool right from its description (mcpgen.readiness.assess).
    mcp_readiness: dict[str, Any] = field(default_factory=dict)
    shard: str | None = None  # "K/N" when this run tested one shard of the operations

    @property
    def counts(self) -> dict[str, int]:
        counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
        for result in self.results:
            counts[result.outcome] += 1
        return counts

    @property
    def success_rate(self) -> float:
        tested = [r for r in self.results if r.outcome != "skipped"]
        if not tested:
            return 0.0
        return round(100.0 * sum(r.outcome == "passed" for r in tested) / len(tested), 1)

    @property
    def nothing_tested(self) -> bool:
        """A completed run in which no endpoint was judged (none, or every one skipped, e.g.
        every one answered 401): not a pass."""
        if self.shard and not self.results:
            return False  # an empty shard (more shards than resources) has nothing to test
        return self.status == "completed" and not any(
            r.outcome in ("passed", "failed", "error") for r in self.results)

    @property
    def overall_success(self) -> bool:
        return (self.status == "completed" and not self.nothing_tested
                and all(r.success for r in self.results))


def as_plain(value: Any) -> Any:
    """Dataclass records to JSON-ready values."""
    if hasattr(value, "__dataclass_fields__"):
        return {k: as_plain(v) for k, v in asdict(value).items()}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): as_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_plain(v) for v in value]
    return value

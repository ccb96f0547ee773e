"""The typed records that flow one way through the pipeline.

context -> RunConfig (runner/runconfig.py); repo -> RepoInfo, TargetEnv; discovery -> ApiSpec
(Endpoints); agent -> ToolCalls; checks -> CheckResults; report -> EndpointResults in a RunReport.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TypeVar

# The settings live in runner/runconfig.py; importing them from here still works.
from runner.runconfig import (  # noqa: F401
    AgentKind,
    AuthConfig,
    AuthStep,
    RunConfig,
    Suite,
    Timeouts,
)

Outcome = Literal["passed", "failed", "error", "skipped"]
BaselineStatus = Literal["new failure", "fixed", "still failing", "new endpoint", "unchanged"]


_Record = TypeVar("_Record")


def from_fields(cls: type[_Record], data: Mapping[str, Any] | None) -> _Record:
    """`cls` from a JSON object (a call record, a report.json part), keeping only the fields
    `cls` has: what another version of the runner wrote still reads back."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in (data or {}).items() if k in names})


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
class RequestBody:
    """An operation's request body: the JSON media type (else the first one) and its schema,
    `$ref`s resolved."""

    content_type: str = "application/json"
    schema: dict[str, Any] = field(default_factory=dict)
    required: bool = False


@dataclass(frozen=True)
class SourceLocation:
    """Where an operation's handler is: a file relative to the app's folder (or absolute, for an
    installed package) and its first line. Discovery writes it as the operation's `x-source`."""

    file: str
    line: int | None = None

    @classmethod
    def from_json(cls, value: Any) -> SourceLocation | None:
        """`{"file": str, "line": int}` (line optional); None for any other shape: `x-source`
        may come from a document the app or the repository wrote."""
        if not isinstance(value, dict) or not isinstance(value.get("file"), str) \
                or not value["file"]:
            return None
        line = value.get("line")
        return cls(value["file"], line if isinstance(line, int) and not isinstance(line, bool)
                   and line > 0 else None)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line}

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@dataclass(frozen=True)
class Endpoint:
    method: str  # upper case
    path: str
    operation_id: str
    summary: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    request_body: RequestBody | None = None
    responses: dict[str, Any] = field(default_factory=dict)  # status -> response object
    source: SourceLocation | None = None  # when discovery knows it
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
    # How a user can be made in the run's own database for a login (runner/auth/seed.py):
    # "django" (served on throwaway sqlite), "sqlalchemy" (a sqlite file in the run's copy), "".
    seed: str = ""

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
        """The call log's record (written by the MCP runtime's `answer.new_call`): a key this
        class does not declare means the two sides disagree, so it is refused, not dropped."""
        unknown = set(record) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"call record with undeclared fields: {', '.join(sorted(unknown))}")
        return cls(**record)


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


@dataclass(frozen=True)
class ModelUsage:
    """What the LLM agent used: report.json's `usage` (the cost estimated from list prices)."""

    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd_estimate: float | None = None
    tool_calls: int = 0

    @classmethod
    def from_json(cls, data: Any) -> ModelUsage | None:
        """The record of an agent's or a report.json's `usage` ({} or null: no model); a
        ValueError names what does not fit (an unknown key, a count that is not one)."""
        if not data:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("model"), str):
            raise ValueError(f"usage {data!r} names no model")  # noqa: TRY004 - one error for any bad shape
        unknown = set(data) - {f.name for f in fields(cls)}
        counts = [data.get(name, 0) for name in ("input_tokens", "output_tokens", "tool_calls")]
        cost = data.get("cost_usd_estimate")
        if unknown or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                              for n in counts) \
                or not (cost is None or isinstance(cost, int | float) and not isinstance(cost, bool)):
            raise ValueError(f"usage {data!r} is not model, token and call counts and a cost"
                             + (f" (unknown: {', '.join(sorted(unknown))})" if unknown else ""))
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def __add__(self, other: ModelUsage) -> ModelUsage:
        """Two shards' usage together (the first's model; a cost only when both have one)."""
        costs = (self.cost_usd_estimate, other.cost_usd_estimate)
        return ModelUsage(self.model, self.input_tokens + other.input_tokens,
                          self.output_tokens + other.output_tokens,
                          None if None in costs else round(sum(costs), 6),  # type: ignore[arg-type]
                          self.tool_calls + other.tool_calls)


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
    usage: ModelUsage | None = None  # None: no model ran
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

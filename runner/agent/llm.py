"""The LLM agent: an Agno agent with Claude (or another Agno model) exercising the API through the
generated MCP server's tools.

Evidence, not opinion. The model's tool calls are recorded by the generated wrapper in the call
log, outside the model, and judged by the same checks as the deterministic agent's. The model
reports verdicts only through `record_finding`, which must cite call ids from that log; a finding
citing no recorded call (or a call to another endpoint only) is kept but marked rejected.

Credentials: the model is told which operations need auth (declared security, or a 401/403
earlier in the run) and whether the runner holds credentials; when the run's login worked it
gets `log_in` (the configured or automatic login, through runner/auth.py, again) and `log_out`
(to check that protected operations refuse anonymous calls). Both rewrite the headers file the
generated wrapper rereads, so later tool calls carry the new credentials; each session and the
deterministic cover start with the credentials restored.

Bounded: one agent session per group of at most `max_tools` tools (by tag or first path segment),
a budget of API calls, tokens and estimated cost checked before every tool call, and the
model's errors (auth, rate limit, overload, connection) end the LLM part cleanly. Endpoints the
model never called are then exercised by the deterministic agent, so every endpoint gets hard
checks.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from agno.agent import Agent
from agno.exceptions import ModelProviderError, StopAgentRun
from agno.models.base import Model
from agno.tools.mcp import MCPTools
from fastmcp import Client
from fastmcp.client.transports import StdioTransport

from runner.agent.calllog import CallLog
from runner.agent.deterministic import DeterministicAgent
from runner.agent.instructions import auth_instructions, session_instructions
from runner.auth import Credentials
from runner.errors import RunnerError, UsageError
from runner.evidence import AppLog, attach_tracebacks
from runner.models import ApiSpec, Endpoint, Finding, Suite, Timeouts, ToolCall
from runner.servers import McpCommand

DEFAULT_MODEL = "anthropic:claude-sonnet-5-5"
INTENTS = ("valid", "invalid", "boundary", "not_found")
MAX_LOGINS = 5  # log_in calls per run: each may register a user on the API
# Runner-side tools that send no request to the API: not counted against the call budget.
_FREE_TOOLS = ("record_finding", "log_out")
VERDICTS = ("pass", "fail", "concern")
# USD per million tokens (input, output), list prices by model family: an estimate only (no
# cache discounts, no batch pricing). Models not listed get no cost figure.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "claude-opus": (5.0, 25.0),
    "claude-sonnet": (3.0, 15.0),
    "claude-haiku": (1.0, 5.0),
}


class ModelUnavailable(RunnerError):
    """The model could not be used: bad key, rate limit, overload, no connection."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__("agent", message, hint)


# -- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    max_tool_calls: int = 200
    max_tokens: int | None = None
    max_cost_usd: float | None = None


@dataclass
class Usage:
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = 0

    @property
    def cost_usd(self) -> float | None:
        return estimate_cost(self.model, self.input_tokens, self.output_tokens)

    def as_dict(self) -> dict[str, Any]:
        cost = self.cost_usd
        return {"model": self.model, "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "cost_usd_estimate": round(cost, 6) if cost is not None else None,
                "tool_calls": self.tool_calls}


def estimate_cost(model: str, input_tokens: int, output_tokens: int) -> float | None:
    model_id = model.split(":", 1)[-1]
    for family, (per_in, per_out) in PRICES_PER_MTOK.items():
        if model_id.startswith(family):
            return (input_tokens * per_in + output_tokens * per_out) / 1_000_000
    return None


def build_model(model: str | None, api_key: str | None, base_url: str | None = None,
                max_output_tokens: int = 4096) -> Model:
    """`provider:model-id` (or a bare Claude id) to an Agno model; the key goes to the client
    only, never into any child process's environment."""
    spec = model or DEFAULT_MODEL
    provider, sep, model_id = spec.partition(":")
    if not sep:
        provider, model_id = "anthropic", spec
    provider = provider.strip().lower()
    if not model_id.strip():
        raise UsageError(f"--model {spec!r} names no model.",
                         "Write it as provider:model-id, e.g. anthropic:claude-sonnet-5-5.")
    if provider == "anthropic":
        from agno.models.anthropic import Claude

        client_params: dict[str, Any] = {"max_retries": 0}
        if base_url:
            client_params["base_url"] = base_url
        return Claude(id=model_id, api_key=api_key, max_tokens=max_output_tokens,
                      client_params=client_params)
    from agno.models.utils import get_model

    try:
        built = get_model(f"{provider}:{model_id}")
    except (ValueError, ImportError) as exc:
        raise UsageError(f"--model {spec!r}: {exc}",
                         "Use provider:model-id with an Agno provider, e.g. openai:gpt-5 or "
                         "ollama:llama3 (install the provider's client package).") from None
    assert built is not None
    return built


def tool_groups(endpoints: list[Endpoint], tool_names: dict[str, str],
                max_tools: int) -> list[tuple[str, list[Endpoint]]]:
    """Endpoints grouped by first tag (else first path segment), each group at most
    `max_tools` long, so one agent session's tool list stays within a context budget."""
    grouped: dict[str, list[Endpoint]] = {}
    for endpoint in endpoints:
        if endpoint.key not in tool_names:
            continue
        segment = next((s for s in endpoint.path.split("/") if s), "root")
        grouped.setdefault(endpoint.tags[0] if endpoint.tags else segment, []).append(endpoint)
    # Small groups share a session: fewer sessions, fewer repeated instructions.
    merged: list[tuple[str, list[Endpoint]]] = []
    for name, members in grouped.items():
        for start in range(0, len(members), max_tools):
            chunk = members[start:start + max_tools]
            if merged and len(merged[-1][1]) + len(chunk) <= max_tools:
                merged[-1] = (f"{merged[-1][0]}, {name}", merged[-1][1] + chunk)
            else:
                merged.append((name, chunk))
    return merged


# -- the agent -------------------------------------------------------------------------------


@dataclass
class _Evidence:
    """Validates findings against the call log and keeps the model's intents for calls."""

    call_log: CallLog
    endpoints: dict[str, Endpoint]  # key and tool name -> endpoint
    before: set[str]  # call ids in the log before the LLM started (not its evidence)
    findings: list[Finding] = field(default_factory=list)
    intents: dict[str, str] = field(default_factory=dict)

    def record(self, endpoint: str, verdict: str, summary: str, evidence_call_ids: list[str],
               reasoning: str, intent: str) -> str:
        target = self.endpoints.get(_endpoint_key(endpoint))
        finding = Finding(endpoint=target.key if target else endpoint.strip(),
                          verdict=verdict if verdict in VERDICTS else "concern",  # type: ignore[arg-type]
                          summary=summary.strip()[:500], evidence=[str(i) for i in evidence_call_ids],
                          reasoning=reasoning.strip()[:1000])
        cited = {i: self.call_log.get(i) for i in finding.evidence}
        unknown = [i for i, call in cited.items() if call is None or i in self.before]
        problem = ""
        if target is None:
            problem = f"unknown endpoint {endpoint!r}"
        elif verdict not in VERDICTS:
            problem = f"verdict must be one of {', '.join(VERDICTS)}"
        elif intent not in INTENTS:
            problem = f"intent must be one of {', '.join(INTENTS)}"
        elif not finding.evidence:
            problem = "cites no recorded call"
        elif unknown:
            problem = f"cites call ids that were never recorded: {', '.join(unknown)}"
        elif not any(c is not None and c.endpoint_key == target.key for c in cited.values()):
            problem = f"none of the cited calls is to {target.key}"
        if problem:
            finding.accepted, finding.rejection = False, problem
            self.findings.append(finding)
            return f"Rejected: {problem}. Cite call_id values from tool results of this endpoint."
        for call_id, call in cited.items():
            if call is not None and call.endpoint_key == finding.endpoint:
                self.intents[call_id] = intent
        self.findings.append(finding)
        return "Recorded."


def _endpoint_key(text: str) -> str:
    parts = text.strip().split(None, 1)
    return f"{parts[0].upper()} {parts[1].strip()}" if len(parts) == 2 else text.strip()


class LlmAgent:
    """Implements runner.agent.protocol.Agent: a model exercises the tools and records
    findings; usage counts its tokens."""

    name = "llm"

    def __init__(
        self,
        mcp: McpCommand,
        spec: ApiSpec,
        tool_names: dict[str, str],
        call_log: CallLog,
        model: Model,
        model_name: str,
        suite: Suite = "smoke",
        call_timeout: float = Timeouts.call,
        budget: Budget | None = None,
        max_tools: int = 40,
        scenarios: list[str] | None = None,
        forced: bool = False,
        log_path: Path | None = None,
        credentials: Credentials | None = None,
        progress: Callable[[str], None] | None = None,
        start_timeout: float = 0.0,
        app_log: AppLog | None = None,
    ) -> None:
        self.mcp = mcp
        self.spec = spec
        self.tool_names = tool_names
        self.call_log = call_log
        self.model = model
        self.suite = suite
        self.call_timeout = call_timeout
        self.start_timeout = max(start_timeout, call_timeout + 10)  # as DeterministicAgent's
        self.budget = budget or Budget()
        self.max_tools = max_tools
        self.scenarios = scenarios or []
        self.forced = forced
        self.log_path = log_path
        self.credentials = credentials
        self.progress = progress or (lambda line: None)
        # Where the app log stood when each model call began: a 5xx gets the app's traceback.
        self.app_log = app_log
        self._log_marks: dict[str, int] = {}
        self.usage = Usage(model=model_name)
        self.calls: list[ToolCall] = []
        self.notes: list[str] = []
        self.label = "llm"
        self.not_called: dict[str, str] = {}  # the model chooses what to call
        self._client: Client | None = None
        self._listed: set[str] = set()
        self._run_tokens = (0, 0)  # (input, output) of the session in progress
        self._stopped = ""
        self._login_calls: list[ToolCall] = []  # requests made by the model's log_in
        endpoints = {e.key: e for e in spec.endpoints}
        endpoints.update({tool_names[e.key]: e for e in spec.endpoints if e.key in tool_names})
        self._evidence = _Evidence(call_log, endpoints, set())

    @property
    def findings(self) -> list[Finding]:
        return self._evidence.findings

    async def connect(self) -> None:
        _route_agno_logs(self.log_path)
        transport = StdioTransport(command=self.mcp.command, args=self.mcp.args,
                                   env=self.mcp.env, keep_alive=False,
                                   log_file=self.mcp.log_path)
        self._client = Client(transport, timeout=self.call_timeout + 10,
                              init_timeout=self.start_timeout)
        await self._client.__aenter__()
        self._listed = {tool.name for tool in await self._client.list_tools()}

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.__aexit__(None, None, None)

    async def exercise(self) -> list[ToolCall]:
        assert self._client is not None, "connect() first"
        self._evidence.before = {c.call_id for c in self.call_log.all_calls()}
        try:
            groups = tool_groups(self.spec.endpoints, self.tool_names, self.max_tools)
            for number, (name, endpoints) in enumerate(groups, 1):
                if self._stopped:
                    break
                await self._session(name, endpoints)
                if len(groups) > 1:
                    self.notes.append(f"LLM session {number}/{len(groups)} ({name}): "
                                      f"{len(endpoints)} tools")
        except ModelUnavailable as exc:
            self._collect()
            if self.forced:
                raise
            self.label = "deterministic (llm unavailable)" if not self.calls else self.label
            self.notes.append(f"LLM agent stopped: {exc.message} Falling back to the "
                              "deterministic agent.")
        self._collect()
        if self.app_log is not None and any((c.status_code or 0) >= 500 for c in self.calls):
            await asyncio.sleep(0.2)  # uvicorn logs a traceback just after the answer
            attach_tracebacks(self.calls, self._log_marks, self.app_log)
        if self.credentials is not None:
            self.credentials.restore()  # the model may have logged out
        if self._stopped:
            self.notes.append(self._stopped)
        self.notes.append(f"model usage: {self.usage.input_tokens} input + "
                          f"{self.usage.output_tokens} output tokens"
                          + (f", about ${self.usage.cost_usd:.4f} (estimate)"
                             if self.usage.cost_usd is not None else ""))
        await self._cover_the_rest()
        return self.calls

    async def _session(self, group: str, endpoints: list[Endpoint]) -> None:
        include = [self.tool_names[e.key] for e in endpoints
                   if self.tool_names.get(e.key) in self._listed]
        tools = MCPTools(session=self._client, include_tools=include,
                         timeout_seconds=int(self.call_timeout + 10))
        await tools.connect()
        if not tools.initialized or not tools.functions:
            raise RunnerError("agent", f"The MCP tools for {group} could not be loaded.",
                              "See mcp.log in the output folder for the server's errors.")
        remaining = self.budget.max_tool_calls - self.usage.tool_calls
        offered = self.credentials is not None and self.credentials.offered
        if self.credentials is not None:
            self.credentials.restore()
        agent = Agent(
            model=self.model,
            tools=[tools, self._finding_tool(), *(self._auth_tools() if offered else [])],
            instructions=session_instructions(self.spec, endpoints, self.tool_names, self.suite,
                                              self.scenarios, remaining,
                                              self._auth_text(endpoints, offered)),
            tool_hooks=[self._guard],
            telemetry=False,
            markdown=False,
        )
        self._run_tokens = (0, 0)
        try:
            output = await agent.arun(f"Test the {len(include)} operations listed in your "
                                      "instructions now.")
        except ModelProviderError as exc:
            raise _model_error(exc) from None
        finally:
            await tools.close()
        metrics = output.metrics
        self.usage.input_tokens += (metrics.input_tokens if metrics else 0) or 0
        self.usage.output_tokens += (metrics.output_tokens if metrics else 0) or 0
        self._run_tokens = (0, 0)
        status = str(getattr(output.status, "value", output.status))
        if status == "ERROR":
            raise _model_error(output.content)

    def _finding_tool(self) -> Callable[..., str]:
        evidence = self._evidence

        def record_finding(endpoint: str, verdict: Literal["pass", "fail", "concern"],
                           summary: str, evidence_call_ids: list[str], reasoning: str = "",
                           intent: Literal["valid", "invalid", "boundary", "not_found"] = "valid",
                           ) -> str:
            """Record a verdict about one endpoint, citing the calls that show it.

            Args:
                endpoint: The operation as "METHOD /path" (or its tool name).
                verdict: pass, fail (the API is wrong) or concern (suspicious).
                summary: One sentence.
                evidence_call_ids: call_id values from tool results that show it.
                reasoning: At most three sentences on why.
                intent: What the cited calls of this endpoint tested: valid, invalid,
                    boundary or not_found.
            """
            return evidence.record(endpoint, verdict, summary, evidence_call_ids, reasoning,
                                   intent)

        return record_finding

    def _auth_text(self, endpoints: list[Endpoint], offered: bool) -> str:
        """Which of `endpoints` need credentials (declared, or answered 401/403 so far in the
        run), and where the credentials stand."""
        refused = {c.endpoint_key for c in self.call_log.all_calls() + self._login_calls
                   if c.status_code in (401, 403)}
        protected = [f"{self.tool_names[e.key]}: {e.key}" for e in endpoints
                     if e.security or e.key in refused]
        state = self.credentials.describe_state() if self.credentials else "none configured"
        return auth_instructions(protected, state, offered)

    def _auth_tools(self) -> list[Callable[..., Any]]:
        credentials = self.credentials
        assert credentials is not None
        agent = self

        async def log_in() -> str:
            """Log in again with the runner's configured (or automatic) login; every later
            tool call carries the new credentials. Returns what happened, never a secret."""
            if credentials.logins > MAX_LOGINS:
                return f"Refused: log_in was already used {MAX_LOGINS} times in this run."
            try:
                outcome = await asyncio.to_thread(credentials.log_in)
            except RunnerError as exc:
                return f"Login failed: {exc.message}"
            number = credentials.logins
            agent._login_calls += [replace(c, call_id=f"login{number}-{i}", agent="llm (log_in)",
                                           tool=agent.tool_names.get(c.endpoint_key, ""))
                                   for i, c in enumerate(outcome.calls, 1)]
            steps = ", ".join(f"{c['method']} {c['path']} -> {c['status_code']}"
                              for c in outcome.record.get("calls", []))
            if not outcome.headers:
                why = outcome.record.get("message") or "no login is known for this API"
                return f"Login failed ({steps or 'no request sent'}): {why}."
            return f"Logged in ({steps or 'configured header'}): later calls carry credentials."

        def log_out() -> str:
            """Drop the credentials: later tool calls are anonymous until log_in."""
            credentials.log_out()
            return "Logged out: later calls carry no credentials until log_in."

        return [log_in, log_out]

    async def _guard(self, function_name: str, function_call: Callable[..., Any],
                     arguments: dict[str, Any], run_context: Any = None) -> Any:
        """Runs around every tool call: API calls count against the budgets."""
        if function_name not in _FREE_TOOLS:
            self._run_tokens = _tokens_so_far(run_context)
            reason = self._over_budget()
            if reason:
                self._stopped = reason
                raise StopAgentRun(reason)
            self.usage.tool_calls += 1
        mark = self.app_log.mark() if self.app_log is not None else 0
        result = function_call(**arguments)
        result = await result if inspect.isawaitable(result) else result
        call_id = re.search(r'"call_id":\s*"([^"]+)"', str(result))
        if call_id:
            self._log_marks[call_id.group(1)] = mark
        if function_name != "record_finding":  # the run is not streamed: a line per call
            status = re.search(r'"status_code":\s*(\d+|null)', str(result))
            self.progress(f"  llm: {function_name}" + (f" -> {status.group(1)}" if status else ""))
        return result

    def _over_budget(self) -> str:
        budget = self.budget
        tokens_in = self.usage.input_tokens + self._run_tokens[0]
        tokens_out = self.usage.output_tokens + self._run_tokens[1]
        if self.usage.tool_calls >= budget.max_tool_calls:
            return f"LLM agent stopped at the tool-call budget ({budget.max_tool_calls} calls)."
        if budget.max_tokens is not None and tokens_in + tokens_out >= budget.max_tokens:
            return (f"LLM agent stopped at the token budget ({tokens_in + tokens_out} of "
                    f"{budget.max_tokens} tokens).")
        cost = estimate_cost(self.usage.model, tokens_in, tokens_out)
        if budget.max_cost_usd is not None and cost is not None and cost >= budget.max_cost_usd:
            return (f"LLM agent stopped at the cost budget (about ${cost:.4f} of "
                    f"${budget.max_cost_usd:.2f}, estimated).")
        return ""

    def _collect(self) -> None:
        """The LLM's calls, from the call log (never from what the model says)."""
        calls = [c for c in self.call_log.all_calls() if c.call_id not in self._evidence.before]
        for call in calls:
            call.agent = "llm"
            call.intent = self._evidence.intents.get(call.call_id, "valid")
        self.calls = self._login_calls + calls

    async def _cover_the_rest(self) -> None:
        """Endpoints the model never called get the deterministic agent's calls, so every
        endpoint is judged by the hard checks."""
        called = {c.endpoint_key for c in self.calls}
        rest = [e for e in self.spec.endpoints if e.key not in called]
        if not rest:
            return
        fallback = DeterministicAgent(self.mcp, replace(self.spec, endpoints=rest),
                                      self.tool_names, self.call_log, suite=self.suite
                                      if self.suite != "custom" else "smoke",
                                      call_timeout=self.call_timeout,
                                      max_calls=self.budget.max_tool_calls, known_calls=self.calls,
                                      app_log=self.app_log)
        assert self._client is not None
        await fallback.attach(self._client)
        try:
            await fallback.exercise()
        finally:
            self.calls = self.calls + fallback.calls
            self.notes.extend(fallback.notes)
        self.notes.append(f"{len(rest)} endpoint(s) the LLM did not call were exercised by the "
                          f"deterministic agent: {', '.join(e.key for e in rest)}")


def _route_agno_logs(path: Path | None) -> None:
    """Agno logs to stdout when it is not a terminal; our stdout is the result table."""
    from agno.utils.log import LOGGER_NAME

    agno_logger = logging.getLogger(LOGGER_NAME)
    for handler in list(agno_logger.handlers):
        agno_logger.removeHandler(handler)
        handler.close()
    if path is None:
        agno_logger.addHandler(logging.NullHandler())
        return
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s"))
    agno_logger.addHandler(handler)
    agno_logger.setLevel(logging.INFO)


def _tokens_so_far(run_context: Any) -> tuple[int, int]:
    """Tokens of the model answers in the current session (from the run's messages)."""
    total_in = total_out = 0
    for message in getattr(run_context, "messages", None) or []:
        metrics = getattr(message, "metrics", None)
        if getattr(message, "role", "") == "assistant" and metrics is not None:
            total_in += metrics.input_tokens or 0
            total_out += metrics.output_tokens or 0
    return total_in, total_out


def _model_error(error: Any) -> ModelUnavailable:
    """One line: what the model endpoint answered (Agno passes the SDK's message on)."""
    text = " ".join(str(getattr(error, "message", None) or error or "unknown error").split())
    status = getattr(error, "status_code", None)
    if status is None:
        found = re.search(r"Error code: (\d{3})", text)
        status = int(found.group(1)) if found else None
    kinds = {401: "the API key was refused (401)", 403: "the API key may not use this model (403)",
             404: "the model id is unknown (404)", 429: "rate limited (429)",
             529: "the model is overloaded (529)"}
    what = kinds.get(status or 0, f"status {status}" if status else "no answer from the endpoint")
    hint = ("Try again later or lower the budgets; --agent deterministic needs no model."
            if status in (429, 529) or status is None or status >= 500
            else "Check ANTHROPIC_API_KEY and --model, or run with --agent deterministic.")
    return ModelUnavailable(f"The model failed: {what}: {text[:200]}.", hint)


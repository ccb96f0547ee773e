"""The LLM agent: an Agno agent with Claude (or another Agno model) exercising the API through the
generated MCP server's tools.

Evidence, not opinion. The model's tool calls are recorded by the generated wrapper in the call
log, outside the model, and judged by the same checks as the deterministic agent's. The model
reports verdicts only through `record_finding` (runner/agent/findings.py), which must cite call
ids from that log. The model, its budgets and usage are runner/agent/model.py's.

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
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from agno.agent import Agent
from agno.exceptions import ModelProviderError, StopAgentRun
from agno.models.base import Model
from agno.tools.mcp import MCPTools
from fastmcp import Client
from fastmcp.client.transports import StdioTransport

from runner.agent.deterministic import DeterministicAgent
from runner.agent.findings import Evidence, finding_tool
from runner.agent.instructions import auth_instructions, session_instructions
from runner.agent.model import (
    Budget,
    ModelUnavailable,
    Usage,
    model_error,
    over_budget,
    route_agno_logs,
    tokens_so_far,
)
from runner.agent.protocol import AgentSetup
from runner.errors import RunnerError
from runner.evidence import attach_logged_tracebacks
from runner.models import Endpoint, Finding, ToolCall

MAX_LOGINS = 5  # log_in calls per run: each may register a user on the API
# Runner-side tools that send no request to the API: not counted against the call budget.
_FREE_TOOLS = ("record_finding", "log_out")


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




class LlmAgent:
    """Implements runner.agent.protocol.Agent: a model exercises the tools and records
    findings; usage counts its tokens."""

    name = "llm"

    def __init__(
        self,
        setup: AgentSetup,
        model: Model,
        model_name: str,
        budget: Budget | None = None,
        max_tools: int = 40,
        scenarios: list[str] | None = None,
        forced: bool = False,
        log_path: Path | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.setup = setup
        self.model = model
        self.budget = budget or Budget()
        self.max_tools = max_tools
        self.scenarios = scenarios or []
        self.forced = forced
        self.log_path = log_path
        self.progress = progress or (lambda line: None)
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
        # Where the app log stood when each model call began: a 5xx gets the app's traceback.
        self._log_marks: dict[str, int] = {}
        spec, tool_names = setup.spec, setup.tool_names
        endpoints = {e.key: e for e in spec.endpoints}
        endpoints.update({tool_names[e.key]: e for e in spec.endpoints if e.key in tool_names})
        self._evidence = Evidence(setup.call_log, endpoints, set())

    @property
    def findings(self) -> list[Finding]:
        return self._evidence.findings

    async def connect(self) -> None:
        route_agno_logs(self.log_path)
        transport = StdioTransport(command=self.setup.mcp.command, args=self.setup.mcp.args,
                                   env=self.setup.mcp.env, keep_alive=False,
                                   log_file=self.setup.mcp.log_path)
        self._client = Client(transport, timeout=self.setup.call_timeout + 10,
                              init_timeout=self.setup.init_timeout)
        await self._client.__aenter__()
        self._listed = {tool.name for tool in await self._client.list_tools()}

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.__aexit__(None, None, None)

    async def exercise(self) -> list[ToolCall]:
        assert self._client is not None, "connect() first"
        self._evidence.before = {c.call_id for c in self.setup.call_log.all_calls()}
        try:
            groups = tool_groups(self.setup.spec.endpoints, self.setup.tool_names, self.max_tools)
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
        await attach_logged_tracebacks(self.calls, self._log_marks, self.setup.app_log)
        if self.setup.credentials is not None:
            self.setup.credentials.restore()  # the model may have logged out
        if self._stopped:
            self.notes.append(self._stopped)
        self.notes.append(f"model usage: {self.usage.input_tokens} input + "
                          f"{self.usage.output_tokens} output tokens"
                          + (f", about ${self.usage.cost_usd:.4f} (estimate)"
                             if self.usage.cost_usd is not None else ""))
        await self._cover_the_rest()
        return self.calls

    async def _session(self, group: str, endpoints: list[Endpoint]) -> None:
        include = [self.setup.tool_names[e.key] for e in endpoints
                   if self.setup.tool_names.get(e.key) in self._listed]
        tools = MCPTools(session=self._client, include_tools=include,
                         timeout_seconds=int(self.setup.call_timeout + 10))
        await tools.connect()
        if not tools.initialized or not tools.functions:
            raise RunnerError("agent", f"The MCP tools for {group} could not be loaded.",
                              "See mcp.log in the output folder for the server's errors.")
        remaining = self.budget.max_tool_calls - self.usage.tool_calls
        offered = self.setup.credentials is not None and self.setup.credentials.offered
        if self.setup.credentials is not None:
            self.setup.credentials.restore()
        agent = Agent(
            model=self.model,
            tools=[tools, finding_tool(self._evidence), *(self._auth_tools() if offered else [])],
            instructions=session_instructions(self.setup.spec, endpoints, self.setup.tool_names, self.setup.suite,
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
            raise model_error(exc) from None
        finally:
            await tools.close()
        metrics = output.metrics
        self.usage.input_tokens += (metrics.input_tokens if metrics else 0) or 0
        self.usage.output_tokens += (metrics.output_tokens if metrics else 0) or 0
        self._run_tokens = (0, 0)
        status = str(getattr(output.status, "value", output.status))
        if status == "ERROR":
            raise model_error(output.content)

    def _auth_text(self, endpoints: list[Endpoint], offered: bool) -> str:
        """Which of `endpoints` need credentials (declared, or answered 401/403 so far in the
        run), and where the credentials stand."""
        refused = {c.endpoint_key for c in self.setup.call_log.all_calls() + self._login_calls
                   if c.status_code in (401, 403)}
        protected = [f"{self.setup.tool_names[e.key]}: {e.key}" for e in endpoints
                     if e.security or e.key in refused]
        state = self.setup.credentials.describe_state() if self.setup.credentials else "none configured"
        return auth_instructions(protected, state, offered)

    def _auth_tools(self) -> list[Callable[..., Any]]:
        credentials = self.setup.credentials
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
                                           tool=agent.setup.tool_names.get(c.endpoint_key, ""))
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
            self._run_tokens = tokens_so_far(run_context)
            reason = over_budget(self.budget, self.usage, self._run_tokens)
            if reason:
                self._stopped = reason
                raise StopAgentRun(reason)
            self.usage.tool_calls += 1
        mark = self.setup.app_log.mark() if self.setup.app_log is not None else 0
        result = function_call(**arguments)
        result = await result if inspect.isawaitable(result) else result
        call_id = re.search(r'"call_id":\s*"([^"]+)"', str(result))
        if call_id:
            self._log_marks[call_id.group(1)] = mark
        if function_name != "record_finding":  # the run is not streamed: a line per call
            status = re.search(r'"status_code":\s*(\d+|null)', str(result))
            self.progress(f"  llm: {function_name}" + (f" -> {status.group(1)}" if status else ""))
        return result

    def _collect(self) -> None:
        """The LLM's calls, from the call log (never from what the model says)."""
        calls = [c for c in self.setup.call_log.all_calls() if c.call_id not in self._evidence.before]
        for call in calls:
            call.agent = "llm"
            call.intent = self._evidence.intents.get(call.call_id, "valid")
        self.calls = self._login_calls + calls

    async def _cover_the_rest(self) -> None:
        """Endpoints the model never called get the deterministic agent's calls, so every
        endpoint is judged by the hard checks."""
        called = {c.endpoint_key for c in self.calls}
        rest = [e for e in self.setup.spec.endpoints if e.key not in called]
        if not rest:
            return
        # The run's credentials stay as they are: no re-login, no second user here.
        setup = replace(self.setup, spec=replace(self.setup.spec, endpoints=rest),
                        suite="smoke" if self.setup.suite == "custom" else self.setup.suite,
                        credentials=None)
        fallback = DeterministicAgent(setup, max_calls=self.budget.max_tool_calls,
                                      known_calls=self.calls)
        assert self._client is not None
        await fallback.attach(self._client)
        try:
            await fallback.exercise()
        finally:
            self.calls = self.calls + fallback.calls
            self.notes.extend(fallback.notes)
        self.notes.append(f"{len(rest)} endpoint(s) the LLM did not call were exercised by the "
                          f"deterministic agent: {', '.join(e.key for e in rest)}")



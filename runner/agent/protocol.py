"""What the pipeline needs of an agent (both agents, deterministic.py and llm.py, implement it)
and what it gives every agent (`AgentSetup`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from runner.models import ApiSpec, Finding, Suite, Timeouts, ToolCall

if TYPE_CHECKING:
    from runner.agent.calllog import CallLog
    from runner.auth import Credentials
    from runner.evidence import AppLog
    from runner.servers import McpCommand


@dataclass(frozen=True)
class AgentSetup:
    """What every agent is given: the MCP server to start and the operations it exposes (by
    tool name), the call log it writes, the suite, the timeouts, the run's credentials (to log
    in again, act as another user or none) and the app's log (a 5xx's traceback)."""

    mcp: McpCommand
    spec: ApiSpec
    tool_names: dict[str, str]
    call_log: CallLog
    suite: Suite = "smoke"
    call_timeout: float = Timeouts.call
    start_timeout: float = 0.0
    credentials: Credentials | None = None
    app_log: AppLog | None = None

    @property
    def init_timeout(self) -> float:
        """How long the server may take to answer `initialize`: it answers once its module has
        registered every tool (seconds for thousands), so the servers stage's time, at least
        one call's."""
        return max(self.start_timeout, self.call_timeout + 10)


class UsageRecord(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


class Agent(Protocol):
    """Connects to the generated MCP server, exercises the API through its tools, and keeps
    what it measured even when it stops early."""

    name: str  # "deterministic" | "llm"
    label: str  # what ran, for the report (e.g. "deterministic (llm unavailable)")
    calls: list[ToolCall]  # every tool call made, in order
    notes: list[str]  # for the report's notes
    not_called: dict[str, str]  # operation -> why it was not called
    usage: UsageRecord | None  # model tokens and cost (None: no model)

    @property
    def findings(self) -> list[Finding]: ...  # verdicts the agent reached itself

    async def connect(self) -> None: ...

    async def exercise(self) -> list[ToolCall]: ...

    async def close(self) -> None: ...

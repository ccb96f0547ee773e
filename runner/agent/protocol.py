"""What the pipeline needs of an agent: both agents (deterministic.py, llm.py) implement it."""

from __future__ import annotations

from typing import Any, Protocol

from runner.models import Finding, ToolCall


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

"""Stage `agent`: the chosen agent (choices.agent_kind) exercises the API through the MCP
tools; what it measured is kept even when it stops early."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.agent.calllog import CallLog
from runner.agent.protocol import Agent
from runner.auth import Credentials
from runner.evidence import AppLog
from runner.models import ApiSpec, Finding, RunConfig, ToolCall
from runner.pipeline.choices import agent_kind, call_budget, scenarios_root
from runner.servers import McpCommand


def make_agent(config: RunConfig, mcp: McpCommand, spec: ApiSpec, tool_names: dict[str, str],
               call_log: Path, credentials: Credentials | None, focus: frozenset[str],
               log_path: Path, progress: Callable[[str], None], app_log: AppLog) -> Agent:
    """The deterministic agent, or the LLM agent when chosen; `spec` holds the operations
    left for it."""
    log = CallLog(call_log)
    if agent_kind(config) == "llm":
        from runner.agent import llm
        from runner.agent.instructions import load_scenarios

        return llm.LlmAgent(
            mcp, spec, tool_names, log,
            model=llm.build_model(config.model, config.anthropic_api_key, config.model_base_url),
            model_name=config.model or llm.DEFAULT_MODEL, suite=config.suite,
            call_timeout=config.timeouts.call, start_timeout=config.timeouts.start,
            budget=llm.Budget(config.max_tool_calls, config.max_tokens, config.max_cost_usd),
            max_tools=config.max_tools_per_session,
            scenarios=load_scenarios(config.scenarios_path, scenarios_root(config))
            if config.scenarios_path else None,
            forced=config.agent == "llm", log_path=log_path, credentials=credentials,
            progress=progress,
        )
    from runner.agent.deterministic import DeterministicAgent

    return DeterministicAgent(mcp, spec, tool_names, log, suite=config.suite,
                              call_timeout=config.timeouts.call,
                              start_timeout=config.timeouts.start,
                              max_calls=call_budget(config, len(spec.endpoints)),
                              focus=focus, credentials=credentials,
                              examples=config.examples_per_operation, app_log=app_log)


@dataclass
class Exercised:
    """What an agent measured: its calls (after the run's own login calls), its verdicts."""

    agent: str
    calls: list[ToolCall]
    findings: list[Finding] = field(default_factory=list)
    not_called: dict[str, str] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def measured(agent: Agent, login_calls: list[ToolCall]) -> Exercised:
    return Exercised(agent=agent.label, calls=login_calls + agent.calls,
                     findings=list(agent.findings), not_called=dict(agent.not_called),
                     usage=agent.usage.as_dict() if agent.usage is not None else {},
                     notes=list(agent.notes))

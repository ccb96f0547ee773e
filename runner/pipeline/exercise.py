"""Stage `agent`: the chosen agent (choices.agent_kind) exercises the API through the MCP
tools; what it measured is kept even when it stops early."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runner.agent.calllog import CallLog
from runner.agent.protocol import Agent, AgentSetup
from runner.auth import Credentials
from runner.evidence import AppLog
from runner.models import ApiSpec, Finding, ModelUsage, ToolCall
from runner.runconfig import AgentSettings
from runner.servers import McpCommand


def make_agent(settings: AgentSettings, mcp: McpCommand, spec: ApiSpec,
               tool_names: dict[str, str], call_log: Path, credentials: Credentials | None,
               focus: frozenset[str], log_path: Path, progress: Callable[[str], None],
               app_log: AppLog) -> Agent:
    """The deterministic agent, or the LLM agent when chosen; `spec` holds the operations
    left for it."""
    setup = AgentSetup(mcp, spec, tool_names, CallLog(call_log), suite=settings.suite,
                       call_timeout=settings.call_timeout, start_timeout=settings.start_timeout,
                       credentials=credentials, app_log=app_log)
    if settings.kind == "llm":
        from runner.agent import llm, model
        from runner.agent.instructions import load_scenarios

        return llm.LlmAgent(
            setup,
            model=model.build_model(settings.model, settings.api_key, settings.model_base_url),
            model_name=settings.model or model.DEFAULT_MODEL,
            budget=model.Budget(settings.max_calls, settings.max_tokens, settings.max_cost_usd),
            max_tools=settings.max_tools,
            scenarios=load_scenarios(settings.scenarios_path, settings.scenarios_root)
            if settings.scenarios_path else None,
            forced=settings.forced, log_path=log_path, progress=progress,
        )
    from runner.agent.deterministic import DeterministicAgent

    return DeterministicAgent(setup, max_calls=settings.max_calls, focus=focus,
                              examples=settings.examples)


@dataclass
class Exercised:
    """What an agent measured: its calls (after the run's own login calls), its verdicts."""

    agent: str
    calls: list[ToolCall]
    findings: list[Finding] = field(default_factory=list)
    not_called: dict[str, str] = field(default_factory=dict)
    usage: ModelUsage | None = None
    notes: list[str] = field(default_factory=list)


def measured(agent: Agent, login_calls: list[ToolCall]) -> Exercised:
    return Exercised(agent=agent.label, calls=login_calls + agent.calls,
                     findings=list(agent.findings), not_called=dict(agent.not_called),
                     usage=ModelUsage.from_json(agent.usage.as_dict()) if agent.usage else None,
                     notes=list(agent.notes))

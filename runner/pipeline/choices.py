"""The rules that pick the agent and its plan from the settings: one place for every face."""

from __future__ import annotations

from typing import Literal

from runner.errors import UsageError
from runner.models import RunConfig
from runner.runconfig import DEFAULT_MAX_TOOL_CALLS, AgentSettings

LLM_MODULE = "runner.agent.llm"
DETERMINISTIC_MODULE = "runner.agent.deterministic"


def agent_kind(config: RunConfig) -> Literal["deterministic", "llm"]:
    """The agent-choice rule (`RunConfig.agent_kind`: the config builder needs it too)."""
    return config.agent_kind


def agent_module(config: RunConfig) -> str:
    return LLM_MODULE if agent_kind(config) == "llm" else DETERMINISTIC_MODULE


def check_model_key(config: RunConfig) -> None:
    """`--agent llm` with a Claude model cannot run without the key (a usage error up front)."""
    model = config.model or ""
    anthropic = model.startswith("anthropic:") or ":" not in model
    if config.agent == "llm" and anthropic and not config.anthropic_api_key:
        raise UsageError("--agent llm with a Claude model needs ANTHROPIC_API_KEY.",
                         "Set it in the environment, or use --agent auto to fall back to "
                         "the deterministic agent without a key.")


def check_configured_scenarios(config: RunConfig) -> None:
    """The project's scenarios file (read inside the run copy, runner/untrusted.py) is readable
    and holds scenarios: a usage error up front, not in the agent stage."""
    from runner.agent.instructions import load_scenarios

    if config.scenarios_path is not None and config.scenarios_root is not None:
        load_scenarios(config.scenarios_path, config.scenarios_root)


def check_agent_choice(config: RunConfig) -> None:
    """Usage errors in the agent settings, once the project's config file is applied."""
    if config.suite == "custom" and agent_kind(config) == "deterministic":
        raise UsageError("Custom scenarios need the LLM agent.",
                         "Set ANTHROPIC_API_KEY (or pass --agent llm with a --model).")


def call_budget(config: RunConfig, operations: int) -> int:
    """The deterministic agent's call budget: the one set (flag or config file), else the
    default grown so every operation gets its first call and its probes."""
    if config.max_tool_calls is not None:
        return config.max_tool_calls
    per_operation = 40 if config.suite == "comprehensive" else 6
    return max(DEFAULT_MAX_TOOL_CALLS, operations * per_operation)


def agent_settings(config: RunConfig, operations: int) -> AgentSettings:
    """The agent stage's part of the settings, after the rules above."""
    kind = agent_kind(config)
    # The deterministic agent's budget grows with the API; the model's is the one set.
    max_calls = call_budget(config, operations) if kind == "deterministic" \
        else config.max_tool_calls or DEFAULT_MAX_TOOL_CALLS
    return AgentSettings(
        kind=kind, forced=config.agent == "llm", suite=config.suite,
        call_timeout=config.timeouts.call, start_timeout=config.timeouts.start,
        max_calls=max_calls,
        examples=config.examples_per_operation, model=config.model,
        api_key=config.anthropic_api_key, model_base_url=config.model_base_url,
        max_tokens=config.max_tokens, max_cost_usd=config.max_cost_usd,
        max_tools=config.max_tools_per_session, scenarios_path=config.scenarios_path,
        scenarios_root=config.scenarios_root)

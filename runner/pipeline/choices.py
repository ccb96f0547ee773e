"""The rules that pick the agent and its plan from the settings: one place for every face."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Literal

from runner.errors import UsageError
from runner.models import RunConfig
from runner.runconfig import AgentSettings

LLM_MODULE = "runner.agent.llm"
DETERMINISTIC_MODULE = "runner.agent.deterministic"


def agent_kind(config: RunConfig) -> Literal["deterministic", "llm"]:
    """auto means the LLM agent when an Anthropic key is configured (or another provider is
    named), else the deterministic agent."""
    if config.agent != "auto":
        return config.agent
    model = config.model or ""
    other_provider = ":" in model and not model.startswith("anthropic:")
    return "llm" if config.anthropic_api_key or other_provider else "deterministic"


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


def scenarios_root(config: RunConfig) -> Path | None:
    """Scenarios named by the project's config are the repository's: read inside the run copy
    (runner/untrusted.py); a --scenarios file is the user's own."""
    return None if "scenarios_path" in config.given else config.boundary


def use_configured_scenarios(config: RunConfig) -> RunConfig:
    """Scenarios named in the config file choose the custom suite (unless --suite says
    otherwise) when the LLM agent runs; the deterministic agent keeps its suite."""
    from runner.agent.instructions import load_scenarios

    assert config.scenarios_path is not None
    load_scenarios(config.scenarios_path, scenarios_root(config))
    if "suite" in config.given or agent_kind(config) != "llm":
        return config
    return replace(config, suite="custom")


def check_agent_choice(config: RunConfig) -> None:
    """Usage errors in the agent settings, once the project's config file is applied."""
    if config.suite == "custom" and agent_kind(config) == "deterministic":
        raise UsageError("Custom scenarios need the LLM agent.",
                         "Set ANTHROPIC_API_KEY (or pass --agent llm with a --model).")


def call_budget(config: RunConfig, operations: int) -> int:
    """The deterministic agent's call budget: the one set (flag or config file), else the
    default grown so every operation gets its first call and its probes."""
    if "max_tool_calls" in config.given or config.max_tool_calls != RunConfig.max_tool_calls:
        return config.max_tool_calls
    per_operation = 40 if config.suite == "comprehensive" else 6
    return max(config.max_tool_calls, operations * per_operation)


def agent_settings(config: RunConfig, operations: int) -> AgentSettings:
    """The agent stage's part of the settings, after the rules above."""
    kind = agent_kind(config)
    # The deterministic agent's budget grows with the API; the model's is the one set.
    max_calls = call_budget(config, operations) if kind == "deterministic" \
        else config.max_tool_calls
    return AgentSettings(
        kind=kind, forced=config.agent == "llm", suite=config.suite,
        call_timeout=config.timeouts.call, start_timeout=config.timeouts.start,
        max_calls=max_calls,
        examples=config.examples_per_operation, model=config.model,
        api_key=config.anthropic_api_key, model_base_url=config.model_base_url,
        max_tokens=config.max_tokens, max_cost_usd=config.max_cost_usd,
        max_tools=config.max_tools_per_session, scenarios_path=config.scenarios_path,
        scenarios_root=scenarios_root(config))

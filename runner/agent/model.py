"""The model side of the LLM agent: which model (`provider:model-id`), the budgets it runs
under, the tokens and estimated cost it used, and its errors as one clear line.

The key goes to the model's client only, never into any child process's environment.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agno.models.base import Model

from runner.errors import RunnerError, UsageError

DEFAULT_MODEL = "anthropic:claude-sonnet-5-5"
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



def over_budget(budget: Budget, usage: Usage, session_tokens: tuple[int, int]) -> str:
    """Why the model must stop before its next API call ("" : it may go on); the tokens of
    the session in progress count with the usage so far."""
    tokens_in = usage.input_tokens + session_tokens[0]
    tokens_out = usage.output_tokens + session_tokens[1]
    if usage.tool_calls >= budget.max_tool_calls:
        return f"LLM agent stopped at the tool-call budget ({budget.max_tool_calls} calls)."
    if budget.max_tokens is not None and tokens_in + tokens_out >= budget.max_tokens:
        return (f"LLM agent stopped at the token budget ({tokens_in + tokens_out} of "
                f"{budget.max_tokens} tokens).")
    cost = estimate_cost(usage.model, tokens_in, tokens_out)
    if budget.max_cost_usd is not None and cost is not None and cost >= budget.max_cost_usd:
        return (f"LLM agent stopped at the cost budget (about ${cost:.4f} of "
                f"${budget.max_cost_usd:.2f}, estimated).")
    return ""


def route_agno_logs(path: Path | None) -> None:
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


def tokens_so_far(run_context: Any) -> tuple[int, int]:
    """Tokens of the model answers in the current session (from the run's messages)."""
    total_in = total_out = 0
    for message in getattr(run_context, "messages", None) or []:
        metrics = getattr(message, "metrics", None)
        if getattr(message, "role", "") == "assistant" and metrics is not None:
            total_in += metrics.input_tokens or 0
            total_out += metrics.output_tokens or 0
    return total_in, total_out


def model_error(error: Any) -> ModelUnavailable:
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


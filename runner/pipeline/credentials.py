"""Stage `credentials`: the headers the tools send (static, basic, or from a login made now
against the running app), written to the credentials file the generated server reads."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from runner.auth import Credentials
from runner.models import ApiSpec, ToolCall
from runner.runconfig import ServeSettings


@dataclass
class Login:
    headers: dict[str, str]
    record: dict[str, Any]  # how they were obtained (no secrets), for the report
    calls: list[ToolCall]  # the run's own register/login requests
    notes: list[str] = field(default_factory=list)


def credentials_file(spec: ApiSpec, settings: ServeSettings, base_url: str,
                     folder: Path) -> Credentials:
    """The (empty) credentials file: made before logging in, so that it is discarded whatever
    the login does."""
    return Credentials(folder / "headers.json", settings.auth, spec, base_url,
                       settings.call_timeout)


def log_in(credentials: Credentials, tool_names: dict[str, str]) -> Login:
    outcome = credentials.log_in()
    calls = [replace(c, tool=tool_names.get(c.endpoint_key, "")) for c in outcome.calls]
    notes = []
    if outcome.record.get("ok") is False and outcome.record.get("message"):
        notes.append(f"automatic login did not work: {outcome.record['message']}")
    return Login(outcome.headers, outcome.record, calls, notes)


def left_for_agent(spec: ApiSpec, login_calls: list[ToolCall]) -> ApiSpec:
    """The operations left for the agent: the run's own successful register/login calls already
    exercised those (with credentials the agent does not know)."""
    done = {c.endpoint_key for c in login_calls
            if c.status_code is not None and c.status_code < 400}
    return replace(spec, endpoints=[e for e in spec.endpoints if e.key not in done])

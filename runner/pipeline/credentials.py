"""Stage `credentials`: the headers the tools send (static, basic, or from a login made now
against the running app), written to the credentials file the generated server reads."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from runner.auth import Credentials
from runner.auth.seed import Seeder, Served
from runner.discovery import install_probe
from runner.models import ApiSpec, ToolCall
from runner.runconfig import ServeSettings


@dataclass
class Login:
    headers: dict[str, str]
    record: dict[str, Any]  # how they were obtained (no secrets), for the report
    calls: list[ToolCall]  # the run's own register/login requests
    notes: list[str] = field(default_factory=list)


def credentials_file(spec: ApiSpec, settings: ServeSettings, base_url: str,
                     folder: Path, seeder: Seeder | None = None) -> Credentials:
    """The (empty) credentials file: made before logging in, so that it is discarded whatever
    the login does."""
    return Credentials(folder / "headers.json", settings.auth, spec, base_url,
                       settings.call_timeout, seeder)


def seeder_for(spec: ApiSpec, settings: ServeSettings, served: Served | None,
               folder: Path, timeout: float) -> Seeder | None:
    """What creates a user in the run's throwaway database, when the login is automatic and
    api-mcp-test serves the app on a database of its own (see runner/auth/seed.py)."""
    if not may_seed(spec, settings) or served is None:
        return None
    return Seeder(served, spec.seed, folder, install_probe(folder / "probe"), timeout)


def may_seed(spec: ApiSpec, settings: ServeSettings) -> bool:
    automatic = settings.auth is None or settings.auth.mode == "auto"
    return bool(spec.seed) and automatic and not settings.start_command


def log_in(credentials: Credentials, tool_names: dict[str, str]) -> Login:
    outcome = credentials.log_in()
    calls = [replace(c, tool=tool_names.get(c.endpoint_key, "")) for c in outcome.calls]
    notes = []
    record = outcome.record
    if record.get("user_created"):
        done = "logged in with it" if record.get("ok") else "its login did not work"
        notes.append(f"the API has no open sign-up the run could use"
                     f"{' (' + record['sign_up_error'] + ')' if record.get('sign_up_error') else ''}"
                     f": a user was created in the run's throwaway database "
                     f"({record['user_created']}) and {done}; your own database is never written")
    if record.get("ok") is False and record.get("message"):
        notes.append(f"automatic login did not work: {record['message']}")
    return Login(outcome.headers, outcome.record, calls, notes)


def left_for_agent(spec: ApiSpec, login_calls: list[ToolCall]) -> ApiSpec:
    """The operations left for the agent: the run's own successful register/login calls already
    exercised those (with credentials the agent does not know)."""
    done = {c.endpoint_key for c in login_calls
            if c.status_code is not None and c.status_code < 400}
    return replace(spec, endpoints=[e for e in spec.endpoints if e.key not in done])

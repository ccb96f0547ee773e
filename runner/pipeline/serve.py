"""Stages `app` and `servers`: the API under test, and the generated MCP server (started by the
agent's MCP connection). When nothing needs the app first, both start at once: each spends its
start-up importing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from runner.agent.protocol import Agent
from runner.errors import RunnerError
from runner.limits import tail_text, within
from runner.models import ApiSpec, TargetEnv
from runner.runconfig import ServeSettings
from runner.servers import DynamicServerManager, McpCommand

CLOSE_LIMIT = 5.0  # seconds the agent may take to close the MCP connection


def launch(servers: DynamicServerManager, env: TargetEnv, spec: ApiSpec,
           settings: ServeSettings, workspace: Path, notes: list[str]) -> str:
    """Start the app (its own start command, or served by api-mcp-test); returns its URL."""
    app_env = dict(settings.app_env)
    if settings.django_debug and (settings.start_command or spec.framework != "django"):
        notes.append("django.debug is ignored: it applies to a Django app that api-mcp-test "
                     "starts itself (no `start` command).")
    if settings.start_command:
        return servers.launch_command(env, settings.start_command,
                                      {**spec.server_env, **app_env})
    return servers.launch_api(env, spec, app_env, workspace, django_debug=settings.django_debug)


def start_app(servers: DynamicServerManager, env: TargetEnv, spec: ApiSpec,
              settings: ServeSettings, workspace: Path, notes: list[str]) -> str:
    """Start the app and wait until it answers HTTP; returns the readiness note."""
    launch(servers, env, spec, settings, workspace, notes)
    return servers.wait_ready(settings.ready_path)


def mcp_command(servers: DynamicServerManager, wrapper: Path, call_log: Path,
                headers_file: Path, settings: ServeSettings) -> McpCommand:
    extra = {"API_MCP_TEST_HEADERS_FILE": str(headers_file)}
    if settings.max_result_chars:
        extra["API_MCP_TEST_RESULT_LIMIT"] = str(settings.max_result_chars)
    return servers.configure_mcp_server(wrapper, call_log, extra,
                                        call_timeout=settings.call_timeout)


async def start(servers: DynamicServerManager, agent: Agent, mcp: McpCommand, tools: int,
                start_app_now: bool, env: TargetEnv, spec: ApiSpec, settings: ServeSettings,
                workspace: Path, notes: list[str]) -> str:
    """Connect the agent (which starts the MCP server) and, meanwhile, start the app unless it
    already runs; returns the app's readiness note ("" when it was started before)."""
    connecting = asyncio.create_task(agent.connect())
    ready = ""
    try:
        if start_app_now:
            # Django's migrations (if any) run while the MCP server starts.
            await asyncio.to_thread(launch, servers, env, spec, settings, workspace, notes)
            ready = await asyncio.to_thread(servers.wait_ready, settings.ready_path)
        await connected(connecting, mcp, tools)
    except BaseException:
        connecting.cancel()
        raise
    return ready


async def connected(connecting: asyncio.Task[None], mcp: McpCommand, tools: int) -> None:
    """Wait for the agent's MCP connection: a server that fails to start (a crash, an
    `initialize` that times out with thousands of tools) fails the servers stage by name."""
    try:
        await connecting
    except RunnerError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever broke, the stage says so
        said = str(exc).encode("utf-8", "backslashreplace").decode("utf-8")[:300]
        raise RunnerError(
            "servers", f"The generated MCP server ({tools} tools) did not start: "
            f"{type(exc).__name__}: {said}.",
            "Its own output is in mcp.log. With thousands of operations, split the run with "
            "--shard K/N (one matrix job per shard, then `merge`; each server starts with 1/N "
            "of the tools), test fewer (`include` / `exclude` in .api-mcp-test.yml), or raise "
            "--start-timeout and --timeout.",
            detail=tail_text(mcp.log_path, 4000) if mcp.log_path else "",
        ) from None


async def close(agent: Agent, notes: list[str]) -> None:
    """Close the agent's MCP connection without replacing the run's own error: a server that
    does not let go is killed with the run's processes later; a close that fails (it re-raises
    a failed start) is a note."""
    try:
        await within(agent.close(), CLOSE_LIMIT)
    except TimeoutError:
        notes.append(f"the MCP connection did not close within {CLOSE_LIMIT:.0f} s; the server "
                     "was stopped")
    except Exception as exc:  # noqa: BLE001 - the run's outcome is already decided
        notes.append(f"closing the MCP connection failed: {type(exc).__name__}")

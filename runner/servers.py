"""Server lifecycle: the user's API on a free loopback port, and the generated MCP server's command."""

from __future__ import annotations

import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from runner import procs
from runner.environment import target_shell_env
from runner.errors import RunnerError
from runner.models import ApiSpec, TargetEnv


@dataclass(frozen=True)
class McpCommand:
    """How an MCP client starts the generated server over stdio."""

    command: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None  # the server's stderr (stdout is the protocol)

    @property
    def command_line(self) -> str:
        return " ".join([self.command, *self.args])


class DynamicServerManager:
    """Starts the API under test and describes the MCP server; `stop_all()` always cleans up."""

    def __init__(self, artifacts_dir: Path, start_timeout: float = 60.0) -> None:
        self.artifacts_dir = artifacts_dir
        self.start_timeout = start_timeout
        self.base_url: str | None = None
        self._api: procs.ManagedProcess | None = None
        self._mcp: McpCommand | None = None

    @property
    def app_log(self) -> Path:
        return self.artifacts_dir / "app.log"

    def launch_api(self, env: TargetEnv, spec: ApiSpec, app_env: dict[str, str]) -> str:
        """Start the app with uvicorn from its own environment; return its base URL at once.

        We bind the loopback socket ourselves and hand it to uvicorn (`--fd`): the port is ours
        from the start, so no other process can take it between choosing and serving.
        """
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            sock.listen(128)
            port = int(sock.getsockname()[1])
            cmd = [str(env.python), "-m", "uvicorn", spec.app_locator, "--fd",
                   str(sock.fileno()), "--app-dir", str(env.root), "--log-level", "info"]
            if spec.factory:
                cmd.append("--factory")
            if spec.interface == "wsgi":
                cmd += ["--interface", "wsgi"]
            child_env = procs.scrubbed_env({**spec.server_env, **app_env})
            self._api = procs.start("api", cmd, cwd=env.root, env=child_env,
                                    log_path=self.app_log, pass_fds=(sock.fileno(),))
        finally:
            sock.close()  # the child has its own copy
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    def start_api(self, env: TargetEnv, spec: ApiSpec, app_env: dict[str, str]) -> str:
        """Launch the app and wait until it answers HTTP."""
        self.launch_api(env, spec, app_env)
        return self.wait_ready()

    def launch_command(self, env: TargetEnv, command: str, app_env: dict[str, str]) -> str:
        """Start the app with the project's own start command (`{port}` and $PORT name a free
        loopback port), in the target environment; return its base URL at once."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        shell_env = target_shell_env(env, {**app_env, "PORT": str(port)})
        self._api = procs.start("api", ["/bin/sh", "-c", command.replace("{port}", str(port))],
                                cwd=env.root, env=shell_env, log_path=self.app_log)
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    def wait_ready(self, path: str | None = None) -> str:
        """Any HTTP answer means the server is up (with a ready `path`: an answer below 500 there);
        the app exiting or the deadline ends the wait."""
        if self._api is None or self.base_url is None:
            raise RunnerError("servers", "The app has not been launched.")
        base_url = self.base_url
        deadline = time.monotonic() + self.start_timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if not self._api.running():
                    raise RunnerError(
                        "servers",
                        f"The app exited while starting (exit code {self._api.popen.returncode}): "
                        f"{self._api.log_tail(1) or 'no output'}",
                        "Run it yourself with uvicorn to see the error; fix the crash, or give the "
                        "settings it needs with --app-env NAME=VALUE. The full log is in app.log.",
                        detail=self._api.log_tail(40),
                    )
                try:
                    answer = client.get(base_url + (path or "/"))
                    if path is None or answer.status_code < 500:
                        return base_url
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise RunnerError(
            "servers",
            f"The app did not answer HTTP on {base_url} within {self.start_timeout:.0f} s.",
            "If it is slow to start, raise the start timeout (--start-timeout); otherwise check "
            "app.log for what it is waiting on.",
            detail=self._api.log_tail(40),
        )

    def configure_mcp_server(
        self, wrapper: Path, call_log: Path, extra_env: dict[str, str] | None = None,
        call_timeout: float = 30.0,
    ) -> McpCommand:
        """The generated server runs in the runner's environment (it needs fastmcp), with only the
        API's base URL and its own settings: no secrets from our environment."""
        if not self.base_url:
            raise RunnerError("servers", "The MCP server needs the API to be started first.")
        env = {
            "API_BASE_URL": self.base_url,
            "API_MCP_TEST_CALL_LOG": str(call_log),
            "API_MCP_TEST_TIMEOUT": str(call_timeout),
            "FASTMCP_SHOW_CLI_BANNER": "false",
            "FASTMCP_CHECK_FOR_UPDATES": "off",
            **(extra_env or {}),
        }
        self._mcp = McpCommand(command=sys.executable, args=[str(wrapper)], env=env,
                               log_path=self.artifacts_dir / "mcp.log")
        return self._mcp

    def get_mcp_command(self) -> McpCommand:
        if self._mcp is None:
            raise RunnerError("servers", "The MCP server has not been configured yet.")
        return self._mcp

    def api_log_tail(self, lines: int = 40) -> str:
        return self._api.log_tail(lines) if self._api else ""

    def stop_all(self) -> None:
        if self._api is not None:
            self._api.stop()
            self._api = None
        procs.stop_all()

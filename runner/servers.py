"""Server lifecycle: the user's API on a free loopback port, and the generated MCP server's command."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from runner import procs, sandbox
from runner.auth.seed import Served
from runner.errors import RunnerError, last_error_line
from runner.limits import http_status
from runner.models import ApiSpec, TargetEnv, Timeouts
from runner.project_setup import target_shell_env


@dataclass(frozen=True)
class McpCommand:
    """How an MCP client starts the generated server over stdio."""

    command: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None  # the server's stderr (stdout is the protocol)


DJANGO_OVERRIDE_MODULE = "api_mcp_test_settings"
PROBE_LIMIT = 10.0  # seconds one readiness request may take, whole answer included


def seed_sqlite_copies(spec: ApiSpec, root: Path, folder: Path) -> None:
    """Start each throwaway sqlite database from the project's own file when it exists inside
    the run copy `root` (a `setup:` step made a test user there): the app is served from the
    database setup wrote. `migrate` then brings it up to date."""
    folder.mkdir(parents=True, exist_ok=True)
    for alias, path in spec.sqlite_files:
        source = Path(path)
        if source.is_file() and source.resolve().is_relative_to(root.resolve()) \
                and _is_sqlite(source):
            shutil.copyfile(source, folder / f"db-{alias}.sqlite3")


def _is_sqlite(path: Path) -> bool:
    """A file that is a sqlite database (anything else at that path is no seed: a fresh
    database is migrated instead)."""
    try:
        with path.open("rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def django_settings_override(settings: str, sqlite_aliases: tuple[str, ...], folder: Path,
                             debug: bool = False) -> str:
    """Write a settings module into `folder` that is `settings` with each sqlite database in
    `sqlite_aliases` moved to a throwaway file there, loopback hosts allowed and, with `debug`,
    DEBUG on; return its name. The project's own database file is never opened."""
    folder.mkdir(parents=True, exist_ok=True)
    databases = {alias: str(folder / f"db-{alias}.sqlite3") for alias in sqlite_aliases}
    (folder / f"{DJANGO_OVERRIDE_MODULE}.py").write_text(f'''"""Written by api-mcp-test: {settings}, served with throwaway sqlite databases."""

import copy as _copy
import importlib as _importlib

_base = _importlib.import_module({settings!r})
globals().update({{name: value for name, value in vars(_base).items() if name.isupper()}})
DATABASES = _copy.deepcopy(getattr(_base, "DATABASES", {{}}))
for _alias, _name in {databases!r}.items():
    if "sqlite" in str(DATABASES[_alias].get("ENGINE", "")):
        DATABASES[_alias] = {{**DATABASES[_alias], "NAME": _name}}
    else:  # a database server that does not answer here (the probe checked): sqlite instead
        DATABASES[_alias] = {{"ENGINE": "django.db.backends.sqlite3", "NAME": _name}}
ALLOWED_HOSTS = [*getattr(_base, "ALLOWED_HOSTS", []), "127.0.0.1", "localhost"]
''' + ("DEBUG = True  # django: {debug: true} in .api-mcp-test.yml\n" if debug else ""),
        encoding="utf-8")
    return DJANGO_OVERRIDE_MODULE


class DynamicServerManager:
    """Starts the API under test and describes the MCP server; `stop_all()` always cleans up."""

    def __init__(self, artifacts_dir: Path, start_timeout: float = 60.0) -> None:
        self.artifacts_dir = artifacts_dir
        self.start_timeout = start_timeout
        self.base_url: str | None = None
        self._api: procs.ManagedProcess | None = None
        self._mcp: McpCommand | None = None
        self._socket: socket.socket | None = None
        self.served: Served | None = None  # how api-mcp-test serves the app (not a start command)

    @property
    def app_log(self) -> Path:
        return self.artifacts_dir / "app.log"

    def reserve_port(self) -> str:
        """Bind the loopback socket the app will serve on; return its base URL.

        We bind it ourselves and hand it to uvicorn (`--fd`): the port is ours from the start,
        so no other process can take it between choosing and serving, and the MCP server can be
        configured (and started) before the app is.
        """
        if self._socket is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind(("127.0.0.1", 0))
                sock.listen(128)
            except OSError:
                sock.close()
                raise
            self._socket = sock
            self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        assert self.base_url is not None
        return self.base_url

    def launch_api(
        self, env: TargetEnv, spec: ApiSpec, app_env: dict[str, str], workspace: Path | None = None,
        django_debug: bool = False,
    ) -> str:
        """Start the app with uvicorn from its own environment on the reserved socket; return
        its base URL without waiting for it to answer.

        WSGI apps
        (Flask, Django) go through uvicorn's WSGI interface, which uses a2wsgi when the
        environment has it. A Django project is served with settings that point its sqlite
        databases at throwaway copies in `workspace`, migrated first (and with DEBUG on when
        `django_debug`).
        """
        child_env = sandbox.scrubbed_env({**spec.server_env, **app_env})
        if spec.framework == "django":
            folder = (workspace or self.artifacts_dir) / "django"
            child_env.update(self.prepare_django(env, spec, child_env, folder, django_debug))
        base_url = self.reserve_port()
        sock, self._socket = self._socket, None
        assert sock is not None
        try:
            cmd = [str(env.python), "-m", "uvicorn", spec.app_locator, "--fd",
                   str(sock.fileno()), "--app-dir", str(env.root), "--log-level", "info"]
            if spec.factory:
                cmd.append("--factory")
            if spec.interface == "wsgi":
                cmd += ["--interface", "wsgi"]
            self._api = procs.start("api", cmd, cwd=env.root, env=child_env,
                                    log_path=self.app_log, pass_fds=(sock.fileno(),))
            self.served = Served(env.python, env.root, child_env, spec.app_locator,
                                 spec.framework)
        finally:
            sock.close()  # the child has its own copy
        return base_url

    def start_api(
        self, env: TargetEnv, spec: ApiSpec, app_env: dict[str, str], workspace: Path | None = None
    ) -> str:
        """Launch the app and wait until it answers HTTP."""
        self.launch_api(env, spec, app_env, workspace)
        return self.wait_ready()

    def prepare_django(
        self, env: TargetEnv, spec: ApiSpec, child_env: dict[str, str], folder: Path,
        debug: bool = False,
    ) -> dict[str, str]:
        """Settings for serving (see `django_settings_override`), and `migrate` run with them
        when the project uses sqlite. Returns the variables to serve with."""
        settings = child_env.get("DJANGO_SETTINGS_MODULE")
        if not settings:
            raise RunnerError("servers", "Django needs DJANGO_SETTINGS_MODULE to serve the app.",
                              "Pass it with --app-env DJANGO_SETTINGS_MODULE=project.settings.")
        module = django_settings_override(settings, spec.sqlite_databases, folder, debug)
        seed_sqlite_copies(spec, env.root, folder)
        sandbox.hand_over(folder)  # the app creates its databases there
        paths = [str(folder), *filter(None, [child_env.get("PYTHONPATH")])]
        serving = {"DJANGO_SETTINGS_MODULE": module, "PYTHONPATH": os.pathsep.join(paths)}
        if spec.sqlite_databases:
            finished = procs.run(
                [str(env.python), "-m", "django", "migrate", "--noinput"], cwd=env.root,
                env={**child_env, **serving}, timeout=self.start_timeout, stage="servers",
                log_path=self.app_log, what="Django migrations (`migrate --noinput`)",
            )
            if finished.returncode != 0:
                raise RunnerError(
                    "servers",
                    f"Django migrations failed on a fresh sqlite database: "
                    f"{finished.tail(1) or f'exit code {finished.returncode}'}",
                    "Run `python manage.py migrate` against an empty sqlite database to see the "
                    "error and fix the migrations (or the settings they need, via --app-env). "
                    "The output is in app.log.",
                    detail=finished.tail(40),
                )
        return serving

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
        while time.monotonic() < deadline:
            if not self._api.running():
                raise RunnerError(
                    "servers",
                    f"The app exited while starting (exit code {self._api.popen.returncode}): "
                    f"{last_error_line(self._api.log_tail(40)) or 'no output'}",
                    "Run it yourself with uvicorn to see the error; fix the crash, or give the "
                    "settings it needs with --app-env NAME=VALUE. The full log is in app.log.",
                    detail=self._api.log_tail(40),
                )
            # Only the status line is read, within a deadline for the whole answer: an app
            # that trickles its answer (or never ends its body) cannot hold the run.
            remaining = deadline - time.monotonic()
            status = http_status(base_url + (path or "/"), max(0.5, min(PROBE_LIMIT, remaining)))
            if status is not None and (path is None or status < 500):
                return base_url
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
        call_timeout: float = Timeouts.call,
    ) -> McpCommand:
        """The generated server runs in the runner's environment (it needs fastmcp), with only the
        API's base URL and its own settings: no secrets from our environment. When the runner is
        root it runs as the sandbox user, like the app (the MCP client starts it, so the command
        itself drops the privileges)."""
        if not self.base_url:
            raise RunnerError("servers", "The MCP server needs the API to be started first.")
        env = {
            "API_BASE_URL": self.base_url,
            "API_MCP_TEST_CALL_LOG": str(call_log),
            "API_MCP_TEST_TIMEOUT": str(call_timeout),
            "FASTMCP_SHOW_CLI_BANNER": "false",
            "FASTMCP_CHECK_FOR_UPDATES": "off",
            # Its runtime module sits beside it in the report folder: no __pycache__ there.
            "PYTHONDONTWRITEBYTECODE": "1",
            **(extra_env or {}),
        }
        box = sandbox.user()
        if box is not None:
            env.update(HOME=str(box.home()), USER=box.name, LOGNAME=box.name)
        command, *args = sandbox.sandboxed([sys.executable, str(wrapper)])
        self._mcp = McpCommand(command=command, args=args, env=env,
                               log_path=self.artifacts_dir / "mcp.log")
        return self._mcp

    def get_mcp_command(self) -> McpCommand:
        if self._mcp is None:
            raise RunnerError("servers", "The MCP server has not been configured yet.")
        return self._mcp

    def api_log_tail(self, lines: int = 40) -> str:
        return self._api.log_tail(lines) if self._api else ""

    def stop_all(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        # Every child at once, 1 s to exit on SIGTERM (no graceful shutdown: a hung request
        # would hold the app), then SIGKILL: at most about 2 s however many there are.
        procs.stop_all(grace=1.0)
        self._api = None

"""The sandbox: who the project's code runs as, and what environment it sees.

When the runner is root and `API_MCP_TEST_SANDBOX_USER` names a user (the action's image sets
it), every child that runs the project's code (installs, setup commands, the discovery probe, the
app, migrations) and the MCP server runs as that unprivileged user. A process of another user
cannot read the runner's `/proc/PID/environ`, where the token and the API key are. The sandbox
gets its own HOME, and only the folders it must write are handed to it (`hand_over`).
Without it (a normal local run), children run as the runner's user: the run trusts the code as
much as you do; as root, the run says so in its notes.

Whoever a child runs as, it inherits only an allow-listed environment (`scrubbed_env`): tokens,
keys and the runner's own settings stay out. Starting and reaping children is runner/procs.py.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.errors import RunnerError

SANDBOX_USER_VARIABLE = "API_MCP_TEST_SANDBOX_USER"
_LAUNCHER = Path(__file__).with_name("sandbox_exec.py")

# What a child may inherit from us; everything else (tokens, keys, INPUT_*, ACTIONS_*, cloud
# credentials) stays out. The app's own settings are passed explicitly.
_INHERITED = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM", "USER", "LOGNAME", "SHELL")
_SECRET_MARKERS = ("TOKEN", "SECRET", "PASSWORD", "KEY", "CREDENTIAL", "AUTH")


def looks_secret(name: str) -> bool:
    upper = name.upper()
    return any(marker in upper for marker in _SECRET_MARKERS)


# Network settings installers need (CA bundles, proxies, package index); not credentials.
_INSTALLER = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
              "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
_INSTALLER_PREFIXES = ("PIP_", "UV_")


def installer_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The scrubbed environment plus the network settings package installers need."""
    network = {
        k: v for k, v in os.environ.items()
        if (k in _INSTALLER or k.startswith(_INSTALLER_PREFIXES)) and not looks_secret(k)
    }
    return scrubbed_env({**network, **(extra or {})})


def scrubbed_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """An allow-listed environment for untrusted code, plus `extra` set by the caller."""
    env = {k: v for k, v in os.environ.items() if k in _INHERITED or k.startswith("LC_")}
    env.setdefault("PATH", os.defpath)
    box = user()
    if box is not None:
        env.update(HOME=str(box.home()), USER=box.name, LOGNAME=box.name)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if extra:
        env.update(extra)
    return env


# -- the sandbox user ------------------------------------------------------------------------


@dataclass
class Sandbox:
    """The unprivileged user children run as when the runner is root."""

    name: str
    uid: int
    gid: int
    _home: Path | None = None

    def command(self, cmd: Sequence[str]) -> list[str]:
        """`cmd` prefixed so it execs as this user: no supplementary groups, no way back up
        (setpriv from util-linux, else our own launcher)."""
        setpriv = shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin")
        if setpriv:
            return [setpriv, f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups",
                    "--no-new-privs", "--", *cmd]
        return [sys.executable, "-I", "-S", str(_LAUNCHER), str(self.uid), str(self.gid), "--",
                *cmd]

    def home(self) -> Path:
        """The children's HOME: a folder of the run's workspace (see `use_workspace`), else a
        temporary one made on first use."""
        if self._home is None:
            self.use_home(Path(tempfile.mkdtemp(prefix="api-mcp-test-home-")))
        assert self._home is not None
        return self._home

    def use_home(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, self.uid, self.gid)
        home.chmod(0o700)
        self._home = home

    def can_reach(self, path: Path, execute: bool = False) -> Path | None:
        """The first folder on the way to `path` (or `path` itself) this user may not enter or
        read; None when it can. Symlinks are followed."""
        for candidate in dict.fromkeys((Path(os.path.abspath(path)), Path(os.path.realpath(path)))):
            for folder in reversed(candidate.parents):
                if not self._allowed(folder, 0o1):
                    return folder
            if not self._allowed(candidate, 0o5 if execute else 0o4):
                return candidate
        return None

    def _allowed(self, path: Path, want: int) -> bool:
        try:
            info = path.stat()
        except OSError:
            return True  # missing: whoever creates it decides
        shift = 6 if info.st_uid == self.uid else 3 if info.st_gid == self.gid else 0
        return (info.st_mode >> shift) & want == want


_sandbox: Sandbox | None = None


def user() -> Sandbox | None:
    """The sandbox user when the runner is root and one is configured (None otherwise, or when
    the configured user is root itself); looked up once."""
    global _sandbox
    name = os.environ.get(SANDBOX_USER_VARIABLE, "").strip()
    if os.geteuid() != 0 or not name:
        return None
    if _sandbox is None or _sandbox.name != name:
        try:
            entry = pwd.getpwnam(name) if not name.isdigit() else pwd.getpwuid(int(name))
        except KeyError:
            raise RunnerError(
                "repo", f"The sandbox user {name!r} ({SANDBOX_USER_VARIABLE}) does not exist.",
                "Running as root, api-mcp-test runs the project's code as an unprivileged user: "
                "create that user, or name an existing one in " + SANDBOX_USER_VARIABLE + ".",
            ) from None
        _sandbox = Sandbox(entry.pw_name, entry.pw_uid, entry.pw_gid)
    return _sandbox if _sandbox.uid != 0 else None


def unsandboxed_root() -> bool:
    """Root with no sandbox user: the project's code runs as root."""
    return os.geteuid() == 0 and user() is None


def use_workspace(workspace: Path) -> None:
    """Give the run's workspace to the sandbox: the folder itself stays ours (readable), its
    `home` folder becomes the children's HOME."""
    box = user()
    if box is not None:
        workspace.chmod(0o755)
        box.use_home(workspace / "home")


def hand_over(path: Path) -> None:
    """Make `path` (and everything below it) the sandbox user's, so children can write there.
    Only for what the run itself created. Nothing to do when not root."""
    box = user()
    if box is None:
        return
    os.chown(path, box.uid, box.gid, follow_symlinks=False)
    if path.is_dir() and not path.is_symlink():
        for folder, dirs, files in os.walk(path):
            for name in (*dirs, *files):
                os.chown(os.path.join(folder, name), box.uid, box.gid, follow_symlinks=False)


def require_reachable(path: Path, stage: str, what: str, execute: bool = False) -> None:
    """Fail with a clear error when the sandbox user cannot reach `path` (it needs `what`)."""
    box = user()
    blocked = box.can_reach(path, execute) if box else None
    if box is None or blocked is None:
        return
    mode = stat.filemode(blocked.stat().st_mode)
    raise RunnerError(
        stage,
        f"Running as root, the project's code runs as the user {box.name}, which cannot reach "
        f"{what} ({path}): {blocked} is {mode}.",
        f"Put it where every user can read it (e.g. /usr/local, /opt, or "
        f"API_MCP_TEST_CACHE=/var/cache/api-mcp-test), allow others into {blocked} (chmod o+x), "
        f"or run api-mcp-test as a normal user. {SANDBOX_USER_VARIABLE} names another user.",
    )


def sandboxed(cmd: Sequence[str]) -> list[str]:
    """`cmd` as it must be started: as the sandbox user when there is one."""
    box = user()
    return box.command(cmd) if box else list(cmd)

"""Child processes: own process group, scrubbed environment, logs to a file, always reaped.

Every process the run starts goes through this module, so one `stop_all()` (called on success,
error, timeout or signal) leaves nothing behind: each child's process group is killed, and the
final sweep of the run's process tree (proctree.py: the runner is a child subreaper on Linux)
kills what escaped its group (setsid daemons, double forks). A finished child's output goes
through a file, never a pipe a daemon could hold open.

When the runner is root and `API_MCP_TEST_SANDBOX_USER` names a user (the action's image sets
it), every child that runs the project's code (installs, setup commands, the discovery probe, the
app, migrations) and the MCP server runs as that unprivileged user. A process of another user
cannot read the runner's `/proc/PID/environ`, where the token and the API key are. The sandbox
gets its own HOME, and only the folders it must write are handed to it (`hand_over`).
Without it (a normal local run), children run as the runner's user: the run trusts the code as
much as you do; as root, the run says so in its notes.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from runner.errors import RunnerError, StageTimeout
from runner.limits import tail_text
from runner.proctree import Guard, ProcessTree

SANDBOX_USER_VARIABLE = "API_MCP_TEST_SANDBOX_USER"
OUTPUT_LIMIT = 4 * 1024 * 1024  # what is kept of a finished child's output
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
    box = sandbox()
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


def sandbox() -> Sandbox | None:
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
    return os.geteuid() == 0 and sandbox() is None


def use_workspace(workspace: Path) -> None:
    """Give the run's workspace to the sandbox: the folder itself stays ours (readable), its
    `home` folder becomes the children's HOME."""
    box = sandbox()
    if box is not None:
        workspace.chmod(0o755)
        box.use_home(workspace / "home")


def hand_over(path: Path) -> None:
    """Make `path` (and everything below it) the sandbox user's, so children can write there.
    Only for what the run itself created. Nothing to do when not root."""
    box = sandbox()
    if box is None:
        return
    os.chown(path, box.uid, box.gid, follow_symlinks=False)
    if path.is_dir() and not path.is_symlink():
        for folder, dirs, files in os.walk(path):
            for name in (*dirs, *files):
                os.chown(os.path.join(folder, name), box.uid, box.gid, follow_symlinks=False)


def require_reachable(path: Path, stage: str, what: str, execute: bool = False) -> None:
    """Fail with a clear error when the sandbox user cannot reach `path` (it needs `what`)."""
    box = sandbox()
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
    box = sandbox()
    return box.command(cmd) if box else list(cmd)


@dataclass
class Finished:
    returncode: int
    output: str

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output.strip().splitlines()[-lines:])


class ManagedProcess:
    """A background child in its own process group, logging to a file."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], log_path: Path | None) -> None:
        self.name = name
        self.popen = popen
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path:
            return ""
        text = tail_text(self.log_path)
        return "\n".join(text.strip().splitlines()[-lines:])

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM the whole group, SIGKILL what is left after `grace` seconds, then reap."""
        _kill_group(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        # Grandchildren (uvicorn reloaders, workers) may outlive the leader: kill the group anyway.
        _kill_group(self.popen.pid, signal.SIGKILL)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        _registry.discard(self)


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class _Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: set[ManagedProcess] = set()

    def add(self, proc: ManagedProcess) -> None:
        with self._lock:
            self._live.add(proc)

    def discard(self, proc: ManagedProcess) -> None:
        with self._lock:
            self._live.discard(proc)

    def snapshot(self) -> list[ManagedProcess]:
        with self._lock:
            return list(self._live)


_registry = _Registry()


def _popen(cmd: Sequence[str], cwd: Path, env: Mapping[str, str], output: IO[bytes] | int,
           trusted: bool, pass_fds: Sequence[int] = ()) -> subprocess.Popen[bytes]:
    """A child in a new session (its own process group), stdout and stderr into `output`, as
    the sandbox user unless `trusted`."""
    return subprocess.Popen(list(cmd) if trusted else sandboxed(cmd), cwd=cwd, env=dict(env),
                            stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                            start_new_session=True, pass_fds=tuple(pass_fds))


def start(
    name: str,
    cmd: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path | None = None,
    pass_fds: Sequence[int] = (),
    trusted: bool = False,
) -> ManagedProcess:
    """Start a background child in a new session (its own process group), as the sandbox
    user when there is one, unless `trusted` (our own runner, e.g. the base's run)."""
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        popen = _popen(cmd, cwd, env, log, trusted, pass_fds)
    finally:
        if log_path:
            log.close()  # type: ignore[union-attr]
    proc = ManagedProcess(name, popen, log_path)
    _registry.add(proc)
    return proc


def run(
    cmd: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    stage: str,
    log_path: Path | None = None,
    what: str | None = None,
    trusted: bool = False,
) -> Finished:
    """Run a child to completion in its own process group; raise StageTimeout past `timeout`.

    Output (stdout and stderr together, its last OUTPUT_LIMIT bytes) is returned and, when
    `log_path` is given, appended there.
    The child runs as the sandbox user unless `trusted` (our own tools on our own data: git
    fetching with the token, uv finding an interpreter).
    """
    # Output goes to a file, never a pipe: a grandchild that keeps it open (a setsid daemon)
    # cannot make us wait for an end of file; we wait for the child itself.
    with tempfile.TemporaryFile() as capture:
        popen = _popen(cmd, cwd, env, capture, trusted)
        proc = ManagedProcess(what or cmd[0], popen, None)
        _registry.add(proc)
        try:
            popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.stop(grace=1.0)
            text = _captured(capture)
            _append(log_path, text)
            raise StageTimeout(
                stage,
                f"{what or cmd[0]} did not finish within {timeout:.0f} s and was stopped.",
                "Raise the stage's timeout if it is legitimately slow, or fix what hangs.",
                detail="\n".join(text.strip().splitlines()[-30:]),
            ) from None
        finally:
            # The leader exited; anything it left in its group goes too.
            _kill_group(popen.pid, signal.SIGKILL)
            _registry.discard(proc)
        text = _captured(capture)
    _append(log_path, text)
    return Finished(popen.returncode, text)


def _captured(capture: IO[bytes]) -> str:
    """What a child wrote so far, its last OUTPUT_LIMIT bytes (a chatty or hostile child cannot
    fill our memory)."""
    capture.flush()
    size = os.fstat(capture.fileno()).st_size
    capture.seek(max(0, size - OUTPUT_LIMIT))
    return capture.read(OUTPUT_LIMIT).decode(errors="replace")


def _append(log_path: Path | None, text: str) -> None:
    if log_path and text:
        with open(log_path, "a", encoding="utf-8", errors="replace") as handle:
            handle.write(text)


_tree: ProcessTree | None = None


def track_descendants() -> None:
    """From now on, every process started below this one (by our children, their setsid
    daemons, double forks) is killed by `stop_all()`; see proctree.py."""
    global _tree
    _tree = ProcessTree()


_guard: Guard | None = None


def guard(seconds: float) -> Guard:
    """A guard process that kills this one and everything below it in `seconds` unless
    cancelled (see proctree.Guard); the final sweep spares it, `kill_all_now` stops it."""
    global _guard
    _guard = Guard(seconds, _tree)
    return _guard


def stop_all(grace: float = 2.0) -> None:
    """Stop every child this process started and has not stopped yet, then sweep what they
    left behind (when `track_descendants` was called). All at once: SIGTERM to every group,
    `grace` seconds in all for them to exit, then SIGKILL; however many children there are,
    this takes at most about twice `grace`."""
    live = _registry.snapshot()
    for proc in live:
        _kill_group(proc.pid, signal.SIGTERM)
    _wait_all(live, grace)
    for proc in live:
        _kill_group(proc.pid, signal.SIGKILL)
    _wait_all(live, grace)
    for proc in live:
        _registry.discard(proc)
    if _tree is not None:
        _tree.sweep()


def kill_all_now() -> None:
    """SIGKILL every child and whatever is below us, waiting for nothing: the last resort when
    the run overran every other limit (see orchestrator's backstop)."""
    for proc in _registry.snapshot():
        _kill_group(proc.pid, signal.SIGKILL)
    if _tree is not None:
        _tree.sweep(rounds=10)
    if _guard is not None:  # the process ends now: nothing left to guard
        _guard.cancel()


def _wait_all(processes: list[ManagedProcess], seconds: float) -> None:
    """Wait until every process exited (reaped), `seconds` at most in all."""
    deadline = time.monotonic() + seconds
    for proc in processes:
        try:
            proc.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass

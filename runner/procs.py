"""Child processes: own process group, scrubbed environment, logs to a file, always reaped.

Every process the run starts goes through this module, so one `stop_all()` (called on success,
error, timeout or signal) leaves nothing behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.errors import StageTimeout

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
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if extra:
        env.update(extra)
    return env


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
        if not self.log_path or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace")
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


def start(
    name: str,
    cmd: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path | None = None,
    pass_fds: Sequence[int] = (),
) -> ManagedProcess:
    """Start a background child in a new session (its own process group)."""
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        popen = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=tuple(pass_fds),
        )
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
) -> Finished:
    """Run a child to completion in its own process group; raise StageTimeout past `timeout`.

    Output (stdout and stderr together) is returned and, when `log_path` is given, appended there.
    """
    popen = subprocess.Popen(
        list(cmd),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    proc = ManagedProcess(what or cmd[0], popen, None)
    _registry.add(proc)
    try:
        out, _ = popen.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.stop(grace=1.0)
        out = popen.stdout.read() if popen.stdout else b""
        text = out.decode(errors="replace")
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
    text = out.decode(errors="replace")
    _append(log_path, text)
    return Finished(popen.returncode, text)


def _append(log_path: Path | None, text: str) -> None:
    if log_path and text:
        with open(log_path, "a", encoding="utf-8", errors="replace") as handle:
            handle.write(text)


def stop_all() -> None:
    """Stop every child this process started and has not stopped yet."""
    for proc in _registry.snapshot():
        proc.stop(grace=2.0)


def live_children() -> list[ManagedProcess]:
    return [p for p in _registry.snapshot() if p.running()]

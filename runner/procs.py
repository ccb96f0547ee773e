"""Child processes: own process group, output to a file, always reaped.

Every process the run starts goes through this module, so one `stop_all()` (called on success,
error, timeout or signal) leaves nothing behind: each child's process group is killed, and the
final sweep of the run's process tree (proctree.py: the runner is a child subreaper on Linux)
kills what escaped its group (setsid daemons, double forks). A finished child's output goes
through a file, never a pipe a daemon could hold open. Who a child runs as and the environment
it gets are runner/sandbox.py's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from runner.errors import StageTimeout
from runner.limits import tail_text
from runner.proctree import Guard, ProcessTree
from runner.sandbox import sandboxed

OUTPUT_LIMIT = 4 * 1024 * 1024  # what is kept of a finished child's output


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

"""The run's process tree: whatever the project's code starts stays below the runner, and a final
sweep kills what is left, setsid daemons and double forks included.

Killing a child's process group misses a grandchild that called setsid(); once its parent is
gone it is reparented to init and nobody would stop it. On Linux the runner therefore becomes a
child subreaper (prctl PR_SET_CHILD_SUBREAPER): orphans below it are reparented to the runner,
so they stay its descendants and `ProcessTree.sweep()` finds them through /proc. Where that is
not available only the process groups are killed (see procs.py).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def become_subreaper() -> bool:
    """Make this process the reaper of orphans below it; False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    state: str
    started: int  # clock ticks after boot: with the pid, names one process even if pids recycle


def process_table(proc: Path = Path("/proc")) -> dict[int, Proc]:
    """Every process /proc shows, by pid (empty where there is no /proc)."""
    table = {}
    try:
        entries = list(proc.iterdir())
    except OSError:
        return {}
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text(errors="replace")
        except OSError:
            continue
        # "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
        fields = text[text.rfind(")") + 2:].split()
        if len(fields) > 19:
            pid = int(entry.name)
            table[pid] = Proc(pid, int(fields[1]), fields[0], int(fields[19]))
    return table


def descendants(root: int, table: dict[int, Proc] | None = None) -> list[Proc]:
    """Processes below `root`, children before grandchildren."""
    table = process_table() if table is None else table
    children: dict[int, list[Proc]] = {}
    for proc in table.values():
        children.setdefault(proc.ppid, []).append(proc)
    found, frontier = [], [root]
    while frontier:
        below = [c for pid in frontier for c in children.get(pid, []) if c.pid != root]
        found += below
        frontier = [c.pid for c in below]
    return found


class ProcessTree:
    """The processes started below this one since `__init__` (the run's), to sweep at the end.

    Processes that were already there (a test's own servers) are never touched, nor those
    named in `spare` (the run's own guard)."""

    def __init__(self) -> None:
        self.root = os.getpid()
        self.subreaper = become_subreaper()
        self._before = {(p.pid, p.started) for p in descendants(self.root)}
        self.spare: set[int] = set()

    def new(self) -> list[Proc]:
        return [p for p in descendants(self.root)
                if (p.pid, p.started) not in self._before and p.pid not in self.spare]

    def sweep(self, rounds: int = 50) -> list[Proc]:
        """SIGKILL every new descendant until none is left alive (a process may fork while the
        sweep runs); returns the processes killed.

        Orphans reparented to us stay zombies until this process exits: reaping them here
        could take the exit status of a child some other code of this process still waits
        for (a Popen would then report 0)."""
        killed: dict[int, Proc] = {}
        for _ in range(rounds):
            live = [p for p in self.new() if p.state != "Z"]
            if not live:
                break
            for proc in live:
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                    killed[proc.pid] = proc
                except OSError:
                    pass
            time.sleep(0.02)
        return list(killed.values())


# The guard: a separate process, so that it acts even when this one cannot run any Python (a
# C call holding the GIL for minutes: a huge regular expression match, a repr). At its deadline
# it SIGKILLs every descendant of the runner, then the runner; it leaves as soon as the runner
# is gone. It reads nothing of the project's and needs nothing but /proc.
_GUARD = r"""
import os, signal, sys, time
runner, deadline = int(sys.argv[1]), float(sys.argv[2])
while time.monotonic() < deadline:
    if os.getppid() != runner:
        sys.exit(0)
    time.sleep(0.25)
children = {}
for name in os.listdir("/proc"):
    if name.isdigit():
        try:
            with open(f"/proc/{name}/stat") as handle:
                text = handle.read()
        except OSError:
            continue
        children.setdefault(int(text[text.rfind(")") + 2:].split()[1]), []).append(int(name))
below, frontier = [], [runner]
while frontier:
    frontier = [c for pid in frontier for c in children.get(pid, []) if c != os.getpid()]
    below += frontier
sys.stderr.write(f"api-mcp-test: the run did not end by its last limit; {len(below)} "
                 "processes and the runner were killed\n")
for pid in [*below, runner]:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
"""


class Guard:
    """Kills this process and everything below it `seconds` from now unless `cancel`led first:
    the last resort when a deadline must hold whatever this process is stuck in."""

    def __init__(self, seconds: float, tree: ProcessTree | None = None) -> None:
        import subprocess

        self._popen: subprocess.Popen[bytes] | None = None
        if not sys.platform.startswith("linux"):
            return
        deadline = time.monotonic() + seconds  # CLOCK_MONOTONIC: the same in every process
        self._popen = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _GUARD, str(os.getpid()), repr(deadline)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True, env={})
        if tree is not None:
            tree.spare.add(self._popen.pid)

    def cancel(self) -> None:
        popen, self._popen = self._popen, None  # the backstop's thread may cancel it too
        if popen is not None:
            popen.kill()
            popen.wait()  # SIGKILL: at once

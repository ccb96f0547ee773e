"""Limits that hold whatever the project's code does: bounded reads of files it could replace,
readiness probes with a total deadline, child output through files, the process-tree sweep,
async waits that give up, and unexpected exceptions turned into a failed stage."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from runner import procs, sandbox
from runner.errors import RunnerError, unexpected
from runner.limits import UnsafeFile, http_status, read_regular_file, run_async, tail_text, within
from runner.orchestrator import compiles
from runner.proctree import ProcessTree, descendants


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text('{"ok": true}')
    assert read_regular_file(path, 100) == b'{"ok": true}'


def test_a_fifo_in_place_of_a_file_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    os.mkfifo(path)  # no writer: a plain open() would block forever
    with pytest.raises(UnsafeFile, match="FIFO"):
        read_regular_file(path, 100)


def test_a_symlink_in_place_of_a_file_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("root-only")
    (tmp_path / "result.json").symlink_to(secret)
    with pytest.raises(UnsafeFile, match="symbolic link"):
        read_regular_file(tmp_path / "result.json", 100)


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"x" * 101)
    with pytest.raises(UnsafeFile, match="limit"):
        read_regular_file(path, 100)


def test_a_log_tail_reads_only_the_end(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"a" * 10_000 + b"\nlast line\n")
    assert tail_text(path, 20).endswith("last line\n") and len(tail_text(path, 20)) == 20
    assert tail_text(tmp_path / "missing") == ""


class _Server:
    """A loopback TCP server answering every connection with `answer(conn)` in a thread."""

    def __init__(self, answer) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.answer = answer
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(4096)
            try:
                self.answer(conn)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()


def test_the_status_line_is_enough_even_when_the_body_never_ends() -> None:
    def endless(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        while True:
            conn.sendall(b"1\r\n.\r\n")
            time.sleep(0.2)

    server = _Server(endless)
    try:
        assert http_status(server.url + "/", deadline=30) == 200
    finally:
        server.close()


def test_a_trickled_status_line_is_given_up_at_the_deadline() -> None:
    def trickle(conn: socket.socket) -> None:
        for byte in b"HTTP/1.1 200 OK\r\n":
            conn.sendall(bytes([byte]))
            time.sleep(0.5)

    server = _Server(trickle)
    began = time.monotonic()
    try:
        assert http_status(server.url + "/", deadline=1.0) is None
    finally:
        server.close()
    assert time.monotonic() - began < 5  # the deadline, not the 9 s the trickle takes


def test_no_server_is_no_status() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert http_status(f"http://127.0.0.1:{port}/", deadline=2) is None


# A process that starts a setsid daemon (sleeping, holding the inherited stdout) and exits.
_DAEMON = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                         start_new_session=True)
print(child.pid, flush=True)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "zombie" not in state


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="subreaper: Linux")
def test_a_setsid_daemon_holding_stdout_neither_holds_the_run_nor_outlives_the_sweep(
    tmp_path: Path,
) -> None:
    procs.track_descendants()
    began = time.monotonic()
    finished = procs.run([sys.executable, "-c", _DAEMON], cwd=tmp_path, env=sandbox.scrubbed_env(),
                         timeout=60, stage="discovery", log_path=tmp_path / "log")
    assert time.monotonic() - began < 30  # not the daemon's 120 s: no wait for pipe EOF
    daemon = int(finished.output.split()[0])
    assert _alive(daemon)
    # Its parent exited: as the subreaper we adopted it, so it is still our descendant.
    assert daemon in {p.pid for p in descendants(os.getpid())}
    procs.stop_all()
    assert not _alive(daemon)
    assert (tmp_path / "log").read_text().split()[0] == str(daemon)


def test_the_sweep_spares_processes_that_were_there_before(tmp_path: Path) -> None:
    before = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        tree = ProcessTree()
        after = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        killed = {p.pid for p in tree.sweep()}
        assert after.pid in killed and before.pid not in killed
        assert after.wait(timeout=10) != 0 and before.poll() is None
    finally:
        before.kill()
        before.wait()


def test_a_child_output_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(procs, "OUTPUT_LIMIT", 1000)
    finished = procs.run([sys.executable, "-c", "print('x' * 5000 + 'END')"], cwd=tmp_path,
                         env=sandbox.scrubbed_env(), timeout=60, stage="install")
    assert len(finished.output) == 1000 and finished.output.rstrip().endswith("END")


def test_run_async_returns_although_a_worker_thread_is_stuck() -> None:
    release = threading.Event()

    async def main() -> str:
        stuck = asyncio.create_task(asyncio.to_thread(release.wait))
        await asyncio.sleep(0.05)
        stuck.cancel()
        return "done"

    began = time.monotonic()
    try:
        assert run_async(main()) == "done"
        assert time.monotonic() - began < 20  # asyncio.run would join the stuck thread
    finally:
        release.set()


def test_within_gives_up_on_a_coroutine_that_ignores_cancellation() -> None:
    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                continue  # ignores it

    async def main() -> float:
        began = time.monotonic()
        with pytest.raises(TimeoutError):
            await within(stubborn(), timeout=0.1, grace=0.2)
        return time.monotonic() - began

    assert run_async(main(), grace=0.2) < 10


def test_run_async_prints_nothing_when_a_generator_is_still_running_at_the_end(
        caplog: pytest.LogCaptureFixture) -> None:
    """A task left iterating an async generator that resists cancellation: closing the
    generator fails ("already running"), and asyncio would print that traceback."""
    async def stubborn_items() -> AsyncIterator[int]:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                await asyncio.sleep(3)  # still inside the generator when it is closed
            yield 1

    async def consume() -> None:
        async for _ in stubborn_items():
            pass

    async def main() -> str:
        asyncio.get_running_loop().create_task(consume())
        await asyncio.sleep(0.05)
        return "done"

    assert run_async(main(), grace=0.5) == "done"
    gc.collect()  # the abandoned task and generator are reported when collected, too
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []


def test_an_unexpected_exception_is_one_paragraph_with_the_stage() -> None:
    def deep(n: int) -> int:
        return deep(n + 1)

    try:
        deep(0)
    except RecursionError as exc:
        error = unexpected("mcpgen", exc)
    message = error.user_message()
    assert message.startswith("[mcpgen] Unexpected RecursionError in test_limits.py:")
    assert "nested too deeply" in message and "\n" not in message
    assert "Traceback" not in error.detail and "deep" in error.detail
    odd = unexpected("report", UnicodeEncodeError("utf-8", "a\ud800", 1, 2, "surrogates"))
    odd.user_message().encode("utf-8")  # printable: no lone surrogate in the message


def test_generated_source_that_does_not_compile_fails_mcpgen(tmp_path: Path) -> None:
    compiles("x = 1\n", tmp_path, 60)
    for broken in ("def f(:\n", "x = '\0'\n", "x = " + "(" * 300 + ")" * 300 + "\n",
                   "x = '\ud800'\n"):
        with pytest.raises(RunnerError) as caught:
            compiles(broken, tmp_path, 60)
        assert caught.value.stage == "mcpgen" and "does not compile" in caught.value.message
    assert list(tmp_path.iterdir()) == []


def test_compiling_the_generated_source_is_bounded_in_time(tmp_path: Path) -> None:
    """compile() holds the GIL throughout: in this process no signal or thread could end it."""
    slow = "x = [" + "1 + 1, " * 2_000_000 + "]\n"  # seconds to compile
    began = time.monotonic()
    with pytest.raises(RunnerError) as caught:
        compiles(slow, tmp_path, 0.3)
    assert caught.value.stage == "mcpgen" and "did not finish within" in caught.value.message
    assert time.monotonic() - began < 30


@pytest.fixture
def runner_signals() -> Iterator[None]:
    """SIGINT and SIGTERM handled as the CLI handles them during a run (`cancel_on_signals`),
    whatever an earlier test in this worker left installed (a handler that does not raise
    swallows the watchdog's signal); the previous handlers come back afterwards."""
    from runner.pipeline.driver import CANCEL_SIGNALS, cancel_on_signals

    previous = {sig: signal.getsignal(sig) for sig in CANCEL_SIGNALS}
    cancel_on_signals()
    yield
    for sig, handler in previous.items():
        signal.signal(sig, handler)


@pytest.mark.usefixtures("runner_signals")
def test_the_watchdog_interrupts_work_nothing_else_bounds() -> None:
    from runner.limits import Watchdog

    watchdog = Watchdog(0.2)
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        while time.monotonic() - began < 30:  # in-process work with no limit of its own
            sum(range(1000))
    assert watchdog.fired and time.monotonic() - began < 20
    quiet = Watchdog(0.05)
    quiet.cancel()
    time.sleep(0.2)
    assert not quiet.fired


def test_a_fifo_in_place_of_the_call_log_is_no_calls(tmp_path: Path) -> None:
    from runner.agent.calllog import CallLog

    os.mkfifo(tmp_path / "calls.jsonl")
    assert CallLog(tmp_path / "calls.jsonl").all_calls() == []  # and it did not block


def test_generated_source_over_the_limit_is_not_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    from runner.pipeline import generate

    monkeypatch.setattr(generate, "SOURCE_LIMIT", 1000)
    with pytest.raises(RunnerError) as caught:
        compiles("x = 1\n" * 1000, Path("/nonexistent"), 60)
    assert caught.value.stage == "mcpgen" and "over the" in caught.value.message


@pytest.mark.usefixtures("runner_signals")
def test_the_watchdog_interrupts_a_main_thread_blocked_in_a_system_call(tmp_path: Path) -> None:
    """Opening a FIFO blocks in the kernel until a writer comes: a flag checked between
    bytecodes (what `_thread.interrupt_main` sets) would never be seen; a real signal is."""
    from runner.limits import Watchdog

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def rescue() -> None:  # should the watchdog fail: unblock the test instead of hanging it
        with open(fifo, "wb"):
            pass

    safety = threading.Timer(60, rescue)
    safety.daemon = True
    safety.start()
    watchdog = Watchdog(0.2)
    try:
        with pytest.raises(KeyboardInterrupt), open(fifo, "rb"):
            pass
        assert watchdog.fired
    finally:
        safety.cancel()


def test_the_backstop_runs_its_last_resort_unless_cancelled() -> None:
    from runner.limits import Backstop

    fired = threading.Event()
    backstop = Backstop(0.1, fired.set)
    assert backstop.armed and fired.wait(30)
    quiet = threading.Event()
    Backstop(0.1, quiet.set).cancel()
    time.sleep(0.3)
    assert not quiet.is_set()


def test_a_new_file_replaces_a_fifo_or_a_link_without_opening_it(tmp_path: Path) -> None:
    from runner.limits import write_replacing

    outside = tmp_path / "outside.txt"
    outside.write_text("theirs")
    os.mkfifo(tmp_path / "report.json")  # opening it for writing would block
    (tmp_path / "report.md").symlink_to(outside)  # writing through it would write outside
    write_replacing(tmp_path / "report.json", b"{}")
    write_replacing(tmp_path / "report.md", b"# ours")
    assert (tmp_path / "report.json").read_bytes() == b"{}"
    assert not (tmp_path / "report.md").is_symlink()
    assert (tmp_path / "report.md").read_text() == "# ours" and outside.read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside.txt", "report.json",
                                                         "report.md"]


def test_stopping_many_children_takes_the_grace_once_not_once_each(tmp_path: Path) -> None:
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
    children = [procs.start(f"c{i}", [sys.executable, "-c", stubborn], cwd=tmp_path,
                            env=sandbox.scrubbed_env()) for i in range(6)]
    time.sleep(0.5)  # let them ignore SIGTERM
    began = time.monotonic()
    procs.stop_all(grace=1.0)
    # One by one that is 6 x 2 x 1 s; all at once about 1 s (generous on a loaded machine).
    assert time.monotonic() - began < 10
    assert all(child.popen.poll() is not None for child in children)


def _stuck_run(repo_stage: str, limits: str, run_limit: float) -> str:
    """A script: a whole run into the output folder argv[1], limited to `run_limit` seconds, whose
    repo stage runs `repo_stage` (indented code), after `limits` (code) set the driver's own
    limits; it prints "returned" if the run returns."""
    return f"""
import re, signal, sys, time
from pathlib import Path
from runner import orchestrator, procs, sandbox
from runner.models import RunConfig, Timeouts
from runner.pipeline import driver, run

def stuck(state, until):
    with state.stage("repo"):
{repo_stage}
run._stages = stuck
{limits}
out = Path(sys.argv[1])
orchestrator.DynamicBackendOrchestrator().run(RunConfig(
    repo_path=out.parent, output_dir=out, timeouts=Timeouts(run={run_limit})))
print("returned")
"""


def _run_stuck(script: str, out: Path) -> subprocess.CompletedProcess[str]:
    """Run `script` (see _stuck_run); it must end long before its stuck stage would."""
    from tests.helpers import REPO

    began = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script, str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert time.monotonic() - began < 60  # not the stuck stage's 600 s, or years
    return done


# A run whose main thread is stuck where no signal reaches it (SIGINT ignored, a sleep in the
# repo stage): the backstop ends it, with a report, exit 3.
_STUCK_RUN = _stuck_run("        time.sleep(600)\n",
                        "driver.WATCHDOG_GRACE, driver.FINISH_LIMIT = 0.5, 1.0\n"
                        "signal.signal(signal.SIGINT, signal.SIG_IGN)", 1.0)


@pytest.mark.slow
def test_a_run_stuck_past_every_limit_is_ended_by_the_backstop(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = _run_stuck(_STUCK_RUN, out)
    assert done.returncode == 3 and "returned" not in done.stdout, done.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "failed" and report["failed_stage"] == "repo"
    assert "did not end within its time limit (1 s)" in report["error"]
    assert [x for x in done.stderr.splitlines() if x.startswith("error: [repo] ")]
    assert "Traceback" not in done.stderr
    assert (out / "junit.xml").exists() and (out / "report.md").exists()


# After the run gave up on a worker thread (stuck on a read that never ends), the process must
# still exit: Python would join that thread at exit, forever.
_STUCK_THREAD = """
import asyncio, sys, threading
from runner.limits import leave, run_async

async def main():
    stuck = asyncio.ensure_future(asyncio.to_thread(threading.Event().wait))
    await asyncio.sleep(0.1)
    stuck.cancel()
    return "done"

print(run_async(main()), flush=True)
if sys.argv[1] == "leave":
    leave(4)
sys.exit(4)
"""


@pytest.mark.parametrize("how", ["leave", "sys.exit"])
def test_leave_exits_although_a_worker_thread_is_stuck(how: str) -> None:
    command = [sys.executable, "-c", _STUCK_THREAD, how]
    if how == "sys.exit":  # what leave() prevents: the exit waits for the stuck thread
        with pytest.raises(subprocess.TimeoutExpired):
            subprocess.run(command, capture_output=True, timeout=5, check=False)
        return
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (4, "done\n"), done.stderr


# The same, stuck in a C call that holds the GIL (catastrophic backtracking in `re`), with a
# child started before: neither the watchdog nor the backstop can run Python; the guard process
# kills the child and the run.
_GIL_HELD_RUN = _stuck_run('''\
        child = procs.start("sleeper", [sys.executable, "-c", "import time; time.sleep(600)"],
                            cwd=Path.cwd(), env=sandbox.scrubbed_env())
        print(child.pid, flush=True)
        re.match(r"(a+)+$", "a" * 64 + "b")  # years, the GIL held throughout
''', "driver.WATCHDOG_GRACE, driver.FINISH_LIMIT, driver.GUARD_GRACE = 0.5, 1.0, 1.0", 2.0)


@pytest.mark.slow
def test_a_run_holding_the_gil_past_every_limit_is_killed_by_the_guard(tmp_path: Path) -> None:
    done = _run_stuck(_GIL_HELD_RUN, tmp_path / "out")
    assert done.returncode == -9 and "returned" not in done.stdout, done.stderr
    assert "the run did not end by its last limit" in done.stderr
    child = int(done.stdout.split()[0])
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)  # killed with the run, not left to init

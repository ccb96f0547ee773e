"""Bounds on everything untrusted: reads of files the project's code could have replaced, HTTP
answers from the app, and waits on async work that may never end.

A limit that only bounds each read (a socket timeout) does not bound a trickle, and a file
opened by name can be a FIFO that blocks `open()` itself; every helper here has a total deadline
or a size cap, and gives up with an error instead of waiting.
"""

from __future__ import annotations

import _thread
import asyncio
import contextlib
import os
import re
import signal
import socket
import stat
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, NoReturn, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")
LOG_TAIL_BYTES = 256 * 1024  # what is read of a log to quote its end


class UnsafeFile(ValueError):
    """A file that is not what it must be: a symlink, a FIFO, a device, or too large."""


def open_regular(path: Path) -> BinaryIO:
    """`path` opened for reading, which must be a regular file: opened without following a
    symlink and without blocking (a FIFO opens at once and is then refused), so whoever could
    write the folder cannot make the run wait or read elsewhere. Raises UnsafeFile."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if os.path.islink(path):
            raise UnsafeFile(f"{path} is a symbolic link, not a regular file") from None
        raise UnsafeFile(f"{path} cannot be opened: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        raise UnsafeFile(f"{path} is {kind}, not a regular file")
    return os.fdopen(fd, "rb")


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of `path`, a regular file (see `open_regular`) of at most `limit` bytes."""
    with open_regular(path) as handle:
        if os.fstat(handle.fileno()).st_size > limit:
            raise UnsafeFile(f"{path} is over the {limit}-byte limit")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UnsafeFile(f"{path} grew over the {limit}-byte limit while read")
    return data


def tail_text(path: Path, max_bytes: int = LOG_TAIL_BYTES) -> str:
    """The end of a log file (at most `max_bytes`), decoded leniently; "" when unreadable."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return ""
            handle.seek(max(0, size - max_bytes))
            return handle.read(max_bytes).decode(errors="replace")
    except OSError:
        return ""


def write_replacing(path: Path, data: bytes) -> None:
    """Write `path` as a new file that replaces whatever is there: what the project's code may
    have put in its place (a FIFO that would block the open, a symlink that would redirect the
    write) is never opened."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)
    fd = os.open(temporary, flags, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


_STATUS_LINE = re.compile(rb"HTTP/\d(?:\.\d)? (\d{3})")


def http_status(url: str, deadline: float) -> int | None:
    """The status code `GET url` answers with, reading no more than its status line, within
    `deadline` seconds in total (None: no HTTP answer in time). A server that trickles its
    answer or never ends its body cannot hold the caller."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    end = time.monotonic() + deadline
    request = (f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: api-mcp-test\r\n"
               "Accept: */*\r\nConnection: close\r\n\r\n").encode()
    data = b""
    try:
        with socket.create_connection((host, port), timeout=deadline) as sock:
            sock.sendall(request)
            while b"\n" not in data and len(data) < 4096:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    return None
                sock.settimeout(remaining)
                chunk = sock.recv(1024)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    match = _STATUS_LINE.match(data)
    return int(match[1]) if match else None


# -- async work that may never end ------------------------------------------------------------


class _Abandoning(ThreadPoolExecutor):
    """The loop's executor: at the end of the run, threads still blocked (a read the deadline
    gave up on) are left behind instead of waited for; stopping the app ends them."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=False, cancel_futures=True)


def _quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """An event loop's exception handler for its cleanup: nothing printed."""


def run_async(coro: Coroutine[Any, Any, T], grace: float = 2.0) -> T:
    """`asyncio.run(coro)` that cannot hang after `coro` ends: leftover tasks and async
    generators get `grace` seconds in all to finish cancelling (what is left then is killed
    with the run's processes), and worker threads are not joined."""
    loop = asyncio.new_event_loop()
    loop.set_default_executor(_Abandoning(thread_name_prefix="api-mcp-test"))
    try:
        return loop.run_until_complete(coro)
    finally:
        try:
            # Nothing is left to save once `coro` ended: a failure while cleaning up loses
            # nothing; an interrupt (the watchdog) cuts the cleanup short and goes on.
            with contextlib.suppress(Exception):
                # What goes wrong while closing (an async generator still running when it is
                # closed: "aclose(): asynchronous generator is already running") is not news
                # to the user; asyncio would print its traceback.
                loop.set_exception_handler(_quiet)
                end = time.monotonic() + grace
                tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in tasks:
                    task.cancel()
                if tasks:
                    loop.run_until_complete(asyncio.wait(tasks, timeout=grace))
                left = max(0.01, end - time.monotonic())
                loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), left))
                loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def leave(code: int, patience: float = 1.0) -> NoReturn:
    """`sys.exit(code)`, except that worker threads still blocked in something the run gave up
    on (a read from the app that `within` stopped waiting for) are not waited for: Python joins
    every non-daemon thread at exit, forever if one never returns. They get `patience` seconds
    in all; then the output is flushed and the process ends at once."""
    end = time.monotonic() + patience
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(max(0.0, end - time.monotonic()))
    if any(t.is_alive() and not t.daemon and t is not threading.current_thread()
           for t in threading.enumerate()):
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    sys.exit(code)


async def within(coro: Coroutine[Any, Any, T], timeout: float, grace: float = 10.0) -> T:
    """Await `coro` for at most `timeout` seconds; then cancel it, give it `grace` seconds to
    unwind (its cleanup runs), and raise TimeoutError even if it ignores the cancellation."""
    task = asyncio.ensure_future(coro)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task in done:
        return task.result()
    task.cancel()
    await asyncio.wait({task}, timeout=grace)
    raise TimeoutError


class Watchdog:
    """The whole run's backstop: past `seconds`, work that no other limit bounds (parsing or
    generating in this process, a wait with no time limit of its own) is interrupted as Ctrl-C
    would, so the run still ends with its reports. Armed only in the main thread: an embedding
    program's main thread is not ours to interrupt.

    The interrupt is a real SIGINT sent to the main thread, not only a flag Python checks
    between bytecodes: a main thread blocked in a system call (an event loop waiting with no
    timeout, the open() of a FIFO) returns from it and raises KeyboardInterrupt."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        if threading.current_thread() is threading.main_thread():
            self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        interrupt_main_thread()

    def cancel(self) -> None:
        self._timer.cancel()


def interrupt_main_thread() -> None:
    """KeyboardInterrupt (or whatever the SIGINT handler raises) in the main thread, also when it
    is blocked in a system call. Where SIGINT is not handled by Python (ignored), nothing
    happens: the caller's `Backstop` is then what ends the run."""
    if callable(signal.getsignal(signal.SIGINT)):
        main = threading.main_thread().ident
        assert main is not None
        signal.pthread_kill(main, signal.SIGINT)  # EINTR for a blocked call; the handler runs
    else:
        _thread.interrupt_main()


class Backstop:
    """The last resort past every other limit: when the process is still in the guarded work
    `seconds` from now, `last_resort` runs on this timer's thread (it must not wait on anything
    and should end the process). Nothing else may then be relied on: the main thread may be
    stuck in a call that no signal ends. Armed only in the main thread (see Watchdog)."""

    def __init__(self, seconds: float, last_resort: Callable[[], None]) -> None:
        self._last_resort = last_resort
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self.armed = threading.current_thread() is threading.main_thread()
        if self.armed:
            self._timer.start()

    def _fire(self) -> None:
        self._last_resort()

    def cancel(self) -> None:
        self._timer.cancel()

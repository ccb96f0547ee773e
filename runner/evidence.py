"""A copy-paste `curl` reproduction of a recorded call, for the failures in the reports.

The call log records the URL and the tool arguments, not the bytes sent: the body is rebuilt
from the arguments the way the generated tool sends them (body fields under their documented
names; the raw-request tool's json_body / body_text as given). Credentials are never written:
a secured operation gets a placeholder header to fill in.

For a 5xx, the app's own traceback is taken from its log (`AppLog`): the stretch the app wrote
while and just after that call was answered.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.models import Endpoint, RequestBody, ToolCall

RAW_TOOL = "api_mcp_test_raw_request"


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def request_body(call: ToolCall, endpoint: Endpoint) -> Any:
    """The JSON body the call sent (None: none)."""
    if call.tool == RAW_TOOL:
        return call.arguments.get("json_body")
    if not endpoint.request_body:
        return None
    params = {_norm(p.name) for p in endpoint.parameters}
    params |= {_norm(p.name) + p.location for p in endpoint.parameters}
    props = endpoint.request_body.schema.get("properties")
    if "body" in call.arguments and not (props and "body" in props):
        return call.arguments["body"]
    body = {}
    for arg, value in call.arguments.items():
        if _norm(arg) in params:
            continue
        name = next((p for p in (props or {}) if _norm(p) in (_norm(arg),
                                                            _norm(arg).removesuffix("body"))),
                    arg)
        body[name] = value
    return body


def curl(call: ToolCall, endpoint: Endpoint) -> str:
    """One shell line that sends the same request again."""
    method = str(call.arguments.get("method") or call.method) if call.tool == RAW_TOOL \
        else call.method
    parts = ["curl", "-i", "-X", method.upper(), call.url or call.path]
    if endpoint.security:
        parts += ["-H", "Authorization: <your credentials>"]
    body = request_body(call, endpoint)
    text = call.arguments.get("body_text") if call.tool == RAW_TOOL else None
    content_type = (endpoint.request_body or RequestBody()).content_type
    if body is not None:
        if "form" in content_type and isinstance(body, dict):
            for key, value in body.items():
                parts += ["--data-urlencode", f"{key}={value}"]
        else:
            parts += ["-H", "Content-Type: application/json",
                      "--data-raw", json.dumps(body, ensure_ascii=False)]
    elif isinstance(text, str):
        parts += ["--data-raw", text]
    return " ".join(shlex.quote(p) for p in parts)


# ---- the app's own traceback for a 5xx -------------------------------------------------------

_TRACEBACK = "Traceback (most recent call last):"
# Exception-group tracebacks (3.11+) prefix their lines with `|` and `+-` rails.
_RAIL = re.compile(r"^[ \t]*(?:[|+][-+ ]*)?")
_FRAME = re.compile(r'^File "([^"]+)", line (\d+), in (.+)$')
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Group|"
                        r"Fault|Failure|[A-Z]\w*)(?::.*)?$")
_LIBRARY = ("site-packages", "dist-packages", "/lib/python", "<frozen", "<string>")
TRACEBACK_LINES = 40  # the tail of a traceback kept as evidence
LOG_WINDOW = 256 * 1024  # bytes of the app log read per failing call
LOG_WAIT = 2.0  # seconds a run waits at its end for the tracebacks of its 5xx calls


@dataclass(frozen=True)
class AppTraceback:
    """A traceback the app logged: its text (the tail), the exception line, and the app's own
    frame nearest the error (file:line in function), paths relative to the app's root."""

    text: str
    exception: str
    where: str

    def summary(self) -> str:
        return f"{self.exception} ({self.where})" if self.where else self.exception


def parse_traceback(log_text: str, root: str = "") -> AppTraceback | None:
    """The first complete Python traceback in a stretch of the app log (its root cause when
    exceptions are chained), or None."""
    found = _next_traceback(log_text.splitlines(), 0, root)
    return found[0] if found else None


def parse_tracebacks(log_text: str, root: str = "") -> list[AppTraceback]:
    """Every complete traceback in a stretch of the app log, in the order logged."""
    lines, start, found = log_text.splitlines(), 0, []
    while (next_one := _next_traceback(lines, start, root)) is not None:
        found.append(next_one[0])
        start = next_one[1]
    return found


def _next_traceback(lines: list[str], begin: int, root: str) -> tuple[AppTraceback, int] | None:
    """The first traceback from line `begin` on, and the line after its exception line."""
    start = next((i for i in range(begin, len(lines))
                  if lines[i].rstrip().endswith(_TRACEBACK)), None)
    if start is None:
        return None
    frames: list[tuple[str, str, str]] = []
    for number in range(start + 1, len(lines)):
        bare = _RAIL.sub("", lines[number]).strip()
        frame = _FRAME.match(bare)
        if frame:
            frames.append((_relative(frame.group(1), root), frame.group(2), frame.group(3)))
        elif frames and _EXCEPTION.match(bare) and not lines[number].startswith("    "):
            own = [f for f in frames if not any(mark in f[0] for mark in _LIBRARY)]
            file, line, function = (own or frames)[-1]
            block = [_relative(text, root) for text in lines[start:number + 1]]
            if len(block) > TRACEBACK_LINES:  # the head line, then the frames nearest the error
                block = [block[0], "  ..."] + block[-TRACEBACK_LINES:]
            return AppTraceback("\n".join(block), bare[:300],
                                f"{file}:{line} in {function.strip()}"), number + 1
    return None


def _relative(text: str, root: str) -> str:
    return text.replace(root.rstrip("/") + "/", "") if root else text


class AppLog:
    """The app's log file, read from where a call began: the traceback a failing call left."""

    def __init__(self, path: Path, root: Path | None = None) -> None:
        self.path = path
        self.root = str(root) if root else ""

    def mark(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def tracebacks_between(self, start: int, end: int | None = None) -> list[AppTraceback]:
        try:
            with self.path.open("rb") as log:
                log.seek(start)
                size = LOG_WINDOW if end is None else max(min(end - start, LOG_WINDOW), 0)
                chunk = log.read(size)
        except OSError:
            return []
        return parse_tracebacks(chunk.decode("utf-8", "replace"), self.root)


def attach_tracebacks(calls: list[ToolCall], marks: dict[str, int], log: AppLog) -> None:
    """Give each 5xx call the traceback the app logged for it: the first one between where the
    call began and where the next 5xx call began (some servers log it before the answer, some,
    as uvicorn does, just after; the calls in between answered without one). 5xx calls that
    began at the same point of the log (made at once, or before the previous one's traceback
    was written) share that stretch: they get its traceback only when all it holds is one
    exception at one place, never another call's."""
    failing = [c for c in calls if c.status_code and c.status_code >= 500 and c.call_id in marks]
    starts = sorted({marks[c.call_id] for c in failing})
    for number, start in enumerate(starts):
        group = [c for c in failing if marks[c.call_id] == start]
        end = starts[number + 1] if number + 1 < len(starts) else None
        found = log.tracebacks_between(start, end)
        if len(group) > 1 and len({(t.exception, t.where) for t in found}) != 1:
            continue  # which traceback is whose cannot be told
        if found:
            for call in group:
                call.traceback = found[0].text


async def attach_logged_tracebacks(calls: list[ToolCall], marks: dict[str, int],
                                   log: AppLog | None, wait: float = LOG_WAIT) -> None:
    """`attach_tracebacks`, waiting up to `wait` seconds for the app to write what is missing
    (uvicorn logs a traceback just after the answer; later still on a loaded machine)."""
    failing = [c for c in calls if (c.status_code or 0) >= 500 and c.call_id in marks]
    if log is None or not failing:
        return
    deadline = time.monotonic() + wait
    while True:
        await asyncio.sleep(0.1)
        attach_tracebacks(calls, marks, log)
        if all(c.traceback for c in failing) or time.monotonic() >= deadline:
            return

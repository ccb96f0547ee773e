"""A scripted stand-in for Anthropic's Messages API, for the real `anthropic` client and Agno.

Serves POST /v1/messages on 127.0.0.1. Each request gets the next step of a script: a list of
content blocks (text or tool_use) or a function of the request body that returns one, so a step
can use what an earlier tool returned (a created id, a recorded call id). When the script is used
up it answers with a short final text. Every request body is recorded; `status` makes every
answer an error of that HTTP status instead (401 for a bad key, 429, 529). A request with
`"stream": true` gets the same answer as server-sent events (message_start, content blocks with
text_delta / input_json_delta, message_delta with the usage, message_stop).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Blocks = list[dict[str, Any]]
Step = Blocks | Callable[[dict[str, Any]], Blocks]
_ERROR_TYPES = {401: "authentication_error", 429: "rate_limit_error", 529: "overloaded_error"}


def tool_use(name: str, arguments: dict[str, Any], use_id: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": use_id, "name": name, "input": arguments}


def tool_results(body: dict[str, Any]) -> list[str]:
    """The text of every tool_result the client has sent so far, oldest first."""
    found = []
    for message in body.get("messages", []):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for block in content:
            if block.get("type") != "tool_result":
                continue
            inner = block.get("content")
            if isinstance(inner, list):
                found.append("".join(part.get("text", "") for part in inner))
            else:
                found.append(str(inner or ""))
    return found


def last_result_json(body: dict[str, Any]) -> dict[str, Any]:
    """The newest tool result parsed as the generated wrapper's JSON result."""
    return json.loads(tool_results(body)[-1])


@dataclass
class ScriptedClaude:
    script: list[Step] = field(default_factory=list)
    usage: list[tuple[int, int]] = field(default_factory=list)  # (input, output) per answer
    status: int | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""
    _step: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(body)
            if self.status is not None:
                kind = _ERROR_TYPES.get(self.status, "api_error")
                return self.status, {"type": "error",
                                     "error": {"type": kind, "message": f"scripted {kind}"}}
            index = self._step
            self._step += 1
        if index < len(self.script):
            step = self.script[index]
            blocks = step(body) if callable(step) else step
        else:
            blocks = [{"type": "text", "text": "Done: every tool I was given has been called."}]
        input_tokens, output_tokens = (self.usage[index] if index < len(self.usage)
                                       else (100, 10))
        uses_tool = any(b["type"] == "tool_use" for b in blocks)
        return 200, {
            "id": f"msg_{index:04d}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "claude-test"),
            "content": blocks,
            "stop_reason": "tool_use" if uses_tool else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        }

    @property
    def answered(self) -> int:
        """Successful answers given so far."""
        return self._step


def sse_events(message: dict[str, Any]) -> str:
    """A complete Messages API answer as the event stream the API sends for `"stream": true`:
    text in two text_delta chunks, tool input as JSON text in two input_json_delta chunks."""
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None,
             "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1}}
    events: list[tuple[str, dict[str, Any]]] = [("message_start", {"message": start})]
    for index, block in enumerate(message["content"]):
        if block["type"] == "tool_use":
            empty = {**block, "input": {}}
            text, kind, key = json.dumps(block["input"]), "input_json_delta", "partial_json"
        else:
            empty = {**block, "text": ""}
            text, kind, key = block["text"], "text_delta", "text"
        events.append(("content_block_start", {"index": index, "content_block": empty}))
        half = len(text) // 2
        for chunk in (text[:half], text[half:]):
            events.append(("content_block_delta",
                           {"index": index, "delta": {"type": kind, key: chunk}}))
        events.append(("content_block_stop", {"index": index}))
    events.append(("message_delta", {
        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
        "usage": {"output_tokens": usage["output_tokens"]}}))
    events.append(("message_stop", {}))
    return "".join(f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"
                   for name, data in events)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        fake = self.server.fake
        fake.headers.append({k.lower(): v for k, v in self.headers.items()})
        if not self.path.startswith("/v1/messages"):
            status, answer = 400, {"type": "error", "error": {
                "type": "invalid_request_error", "message": f"not scripted: {self.path}"}}
        else:
            status, answer = fake.next_answer(body)
        streamed = status == 200 and body.get("stream")
        data = (sse_events(answer) if streamed else json.dumps(answer)).encode()
        self.send_response(status)
        self.send_header("content-type", "text/event-stream" if streamed else "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: ScriptedClaude


def serve(fake: ScriptedClaude) -> tuple[_Server, threading.Thread]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = fake
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread

"""Spec fetches from the running app (runner/discovery/served.py) against real HTTP servers on
loopback: same origin only, redirects not followed, size and time capped."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

import pytest

from runner.discovery import served
from runner.errors import RunnerError
from tests.helpers import http_server

SPEC = json.dumps({"openapi": "3.0.0", "info": {"title": "t", "version": "1"},
                   "paths": {"/x": {"get": {"responses": {"200": {"description": "ok"}}}}}})

Handler = Callable[[BaseHTTPRequestHandler], None]


@contextmanager
def server(handle: Handler) -> Iterator[tuple[str, list[str]]]:
    """A loopback server answering every GET with `handle`; yields (base URL, paths asked)."""
    asked: list[str] = []

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            try:
                handle(self)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    with http_server(Answer) as url:
        yield url, asked


def send(request: BaseHTTPRequestHandler, body: bytes, status: int = 200,
         headers: dict[str, str] | None = None) -> None:
    request.send_response(status)
    for name, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(body)


def test_a_served_spec_is_read() -> None:
    with server(lambda r: send(r, SPEC.encode()) if r.path == "/apispec.json"
                else send(r, b"no", 404)) as (base, asked):
        document, path = served.served_spec(base)
    assert path == "/apispec.json" and document["paths"]
    assert asked == ["/openapi.json", "/apispec.json"]


def test_a_redirect_to_another_origin_is_not_followed() -> None:
    with server(lambda r: send(r, SPEC.encode())) as (other, other_asked), \
            server(lambda r: send(r, b"", 302, {"Location": f"{other}/openapi.json"})) as (base,
                                                                                          _):
        assert served.served_spec(base) is None
        with pytest.raises(RunnerError, match="redirects are not followed"):
            served.served_spec(base, "/openapi.json")
    assert other_asked == []


@pytest.mark.parametrize("path", ["//evil.example/openapi.json", "http://evil.example/x",
                                  "openapi.json", "/\\evil.example"])
def test_only_paths_on_the_app_are_fetched(path: str) -> None:
    with server(lambda r: send(r, SPEC.encode())) as (base, asked), \
            pytest.raises(RunnerError, match="is not a path on the app"):
        served.fetch_spec(base, path)
    assert asked == []


def test_the_size_is_capped() -> None:
    big = b"{" + b" " * (3 << 20)

    with server(lambda r: send(r, big)) as (base, _), \
            pytest.raises(RunnerError, match="larger than 2 MB"):
        served.fetch_spec(base, "/openapi.json", limit=2 << 20)


def test_a_trickling_server_cannot_hold_the_fetch() -> None:
    """One byte every 0.2 s forever: each read is quick, the fetch as a whole is not."""
    stop = threading.Event()

    def trickle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", str(10**9))
        request.end_headers()
        while not stop.is_set():
            request.wfile.write(b" ")
            request.wfile.flush()
            time.sleep(0.2)

    with server(trickle) as (base, _):
        began = time.monotonic()
        try:
            with pytest.raises(RunnerError, match="took longer than 1 s"):
                served.fetch_spec(base, "/openapi.json", timeout=1.0)
        finally:
            stop.set()
        assert time.monotonic() - began < 60  # liveness only: it ends, it does not hang

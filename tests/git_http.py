"""A git smart-HTTP server on 127.0.0.1 that wants a token: `git http-backend` behind a small
http.server CGI wrapper that checks the Authorization header (the way GitHub takes a token)."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.helpers import http_server


@contextmanager
def git_http_server(project_root: Path, token: str) -> Iterator[tuple[str, list[str]]]:
    """Serve the bare repositories under `project_root`; yields (base URL, seen Authorization
    headers). Requests without `Basic base64(x-access-token:<token>)` get 401."""
    expected = "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
    seen: list[str] = []
    backend = [
        subprocess.run(["git", "--exec-path"], capture_output=True, text=True,
                       check=True).stdout.strip() + "/git-http-backend"
    ]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _serve(self) -> None:
            auth = self.headers.get("Authorization")
            if auth:
                seen.append(auth)
            if auth != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="test"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            env = {
                "PATH": os.environ.get("PATH", ""),
                "GIT_PROJECT_ROOT": str(project_root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": "x-access-token",
                "REMOTE_ADDR": "127.0.0.1",
                "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            }
            out = subprocess.run(backend, input=body, env=env, capture_output=True, check=False,
                                 timeout=60).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            status = 200
            headers = []
            for line in head.decode().splitlines():
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                else:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    with http_server(Handler) as url:
        yield url, seen

"""A local stand-in for the part of GitHub's REST API the action uses, for the real PyGithub client.

Serves one repository's issue comments on 127.0.0.1, records every request, and can refuse writes
the way a fork PR's read-only token is refused. Tokens have identities like GitHub's: a token in
`users` is a user's token (GET /user answers its login); any other token is an installation token
(GITHUB_TOKEN): GET /user answers 403 and it writes comments as github-actions[bot].
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    authorization: str


@dataclass
class FakeGitHub:
    repository: str = "octo-org/todo-service"
    read_only: bool = False
    requests: list[Recorded] = field(default_factory=list)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> comment
    url: str = ""
    prefix: str = ""  # GitHub Enterprise Server serves the API under /api/v3
    users: dict[str, str] = field(default_factory=dict)  # a user's token -> its login
    _next_id: int = 1000

    def login_of(self, authorization: str) -> str:
        token = authorization.split(" ", 1)[-1]
        return self.users.get(token, "github-actions[bot]")

    @property
    def api_url(self) -> str:
        """What a client is given as GITHUB_API_URL."""
        return self.url + self.prefix

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method in ("POST", "PATCH")]

    # -- JSON shapes (trimmed to what clients read) ---------------------------------------------

    def repo_json(self) -> dict[str, Any]:
        owner, name = self.repository.split("/")
        return {"id": 1, "name": name, "full_name": self.repository, "owner": {"login": owner},
                "url": f"{self.api_url}/repos/{self.repository}",
                "html_url": f"https://github.example/{self.repository}", "private": False}

    def issue_json(self, number: int) -> dict[str, Any]:
        return {"id": 50 + number, "number": number, "title": "Add the summary endpoint",
                "state": "open", "url": f"{self.api_url}/repos/{self.repository}/issues/{number}",
                "comments_url": f"{self.api_url}/repos/{self.repository}/issues/{number}/comments",
                "html_url": f"https://github.example/{self.repository}/pull/{number}",
                "pull_request": {"url": f"{self.api_url}/repos/{self.repository}/pulls/{number}"},
                "user": {"login": "contributor", "type": "User"},
                "comments": sum(c["_issue"] == number for c in self.comments.values())}

    def add_comment(self, number: int, body: str, login: str = "github-actions[bot]") -> dict:
        self._next_id += 1
        cid = self._next_id
        self.comments[cid] = {
            "_issue": number, "id": cid, "body": body,
            "url": f"{self.api_url}/repos/{self.repository}/issues/comments/{cid}",
            "html_url": f"https://github.example/{self.repository}/pull/{number}#issuecomment-{cid}",
            "issue_url": f"{self.api_url}/repos/{self.repository}/issues/{number}",
            "user": {"login": login, "type": "Bot" if login.endswith("[bot]") else "User"},
            "created_at": "2026-11-27T10:00:00Z", "updated_at": "2026-11-27T10:00:00Z",
        }
        return self.comments[cid]

    @staticmethod
    def public(comment: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in comment.items() if not k.startswith("_")}

    # -- routing ----------------------------------------------------------------------------------

    def handle(self, method: str, path: str, body: Any, authorization: str = "") -> tuple[int, Any]:
        repo = re.escape(self.repository)
        path = path.split("?", 1)[0]
        if not path.startswith(self.prefix):
            return 404, {"message": "Not Found"}
        path = path[len(self.prefix):]
        if method == "GET" and path == "/user":
            token = authorization.split(" ", 1)[-1]
            if token not in self.users:
                return 403, _forbidden()
            return 200, {"login": self.users[token], "id": 7, "type": "User"}
        if method == "GET" and re.fullmatch(f"/repos/{repo}", path):
            return 200, self.repo_json()
        if m := re.fullmatch(f"/repos/{repo}/issues/(\\d+)", path):
            return (200, self.issue_json(int(m[1]))) if method == "GET" else (405, {})
        if m := re.fullmatch(f"/repos/{repo}/issues/(\\d+)/comments", path):
            number = int(m[1])
            if method == "GET":
                return 200, [self.public(c) for c in self.comments.values()
                             if c["_issue"] == number]
            if method == "POST":
                if self.read_only:
                    return 403, _forbidden()
                login = self.login_of(authorization)
                return 201, self.public(self.add_comment(number, body["body"], login=login))
        if m := re.fullmatch(f"/repos/{repo}/issues/comments/(\\d+)", path):
            comment = self.comments.get(int(m[1]))
            if comment is None:
                return 404, {"message": "Not Found"}
            if method == "PATCH":
                if self.read_only:
                    return 403, _forbidden()
                comment["body"] = body["body"]
                comment["updated_at"] = "2026-11-27T11:00:00Z"
            return 200, self.public(comment)
        return 404, {"message": "Not Found",
                     "documentation_url": "https://docs.github.com/rest"}


def _forbidden() -> dict[str, str]:
    return {"message": "Resource not accessible by integration",
            "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
            "status": "403"}


def serve(api: FakeGitHub) -> ThreadingHTTPServer:
    """Start the server on a free 127.0.0.1 port in a daemon thread; call `shutdown()` to stop."""

    class Handler(BaseHTTPRequestHandler):
        def _respond(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            api.requests.append(Recorded(self.command, self.path, body,
                                         self.headers.get("Authorization", "")))
            status, payload = api.handle(self.command, self.path, body,
                                         self.headers.get("Authorization", ""))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _respond

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextmanager
def served(api: FakeGitHub) -> Iterator[FakeGitHub]:
    """`api` served (see `serve`) until the block ends."""
    server = serve(api)
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()

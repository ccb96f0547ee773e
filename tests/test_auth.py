"""Logging in to the API under test the way real stacks want it (runner/auth/).

Fast tests of the building blocks (what the spec offers, what a login answer holds, CSRF, the
headers file's rights); slow end-to-end runs of the CLI, zero-config, on one small app per login
stack (tests/fixtures/auth_*), each asserting that protected operations were reached.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from runner import auth, checks, sandbox
from runner.auth import plan, tokens
from runner.auth.user import credential_kind, login_name
from runner.errors import RunnerError
from runner.models import ApiSpec, AuthConfig, AuthStep, Endpoint, ToolCall
from runner.openapi import endpoints_from_openapi
from tests.helpers import FIXTURES, REPO, http_server, processes_mentioning, run_cli


def spec_of(paths: dict[str, Any], schemes: dict[str, Any] | None = None,
            security: list[Any] | None = None) -> ApiSpec:
    doc: dict[str, Any] = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
                           "paths": paths, "components": {"securitySchemes": schemes or {}}}
    if security is not None:
        doc["security"] = security
    return ApiSpec("fastapi", "app:app", doc, endpoints_from_openapi(doc))


def body(*fields: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"requestBody": {"content": {"application/json": {"schema": {
        "type": "object", "properties": {f: {"type": "string"} for f in fields},
        "required": list(required)}}}}, "responses": {"200": {"description": "ok"}}}


def guarded(*names: str) -> dict[str, Any]:
    return {"security": [{n: []} for n in names], "responses": {"200": {"description": "ok"}}}


def jwt(**claims: Any) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{part({'alg': 'HS256'})}.{part(claims)}.c2lnbmF0dXJl"


# -- what the spec offers -----------------------------------------------------------------------


def test_flask_basic_token_endpoint_and_users_collection_sign_up():
    spec = spec_of({
        "/api/users": {"post": body("username", "email", "password"),
                       "get": guarded("tokenAuth")},
        "/api/tokens": {"post": guarded("basicAuth")},
        "/api/posts": {"get": guarded("tokenAuth"), "post": guarded("tokenAuth")},
    }, {"basicAuth": {"type": "http", "scheme": "basic"},
        "tokenAuth": {"type": "http", "scheme": "bearer"}})
    found, reason = plan.automatic_plan(spec)
    assert reason == "" and found is not None
    assert (found.register.path, found.login.path) == ("/api/users", "/api/tokens")
    login = plan.endpoint_of(spec, "POST", "/api/tokens")
    assert plan.wants_basic(spec, login)
    assert not plan.wants_basic(spec, plan.endpoint_of(spec, "GET", "/api/posts"))
    # The token goes as the other operations want it, not as the login is guarded (basic).
    assert plan.token_scheme(spec) == ("Authorization", "Bearer")


def test_a_users_collection_needing_credentials_is_not_an_open_sign_up():
    spec = spec_of({"/users": {"post": {**body("username", "password"),
                                        **guarded("bearer")}},
                    "/token": {"post": body("username", "password")}},
                   {"bearer": {"type": "http", "scheme": "bearer"}})
    assert plan.automatic_plan(spec)[0] is None


def test_jwt_pair_login_and_refresh_operations():
    spec = spec_of({"/api/auth/register": {"post": body("email", "password")},
                    "/api/token/pair": {"post": body("username", "password")},
                    "/api/token/refresh": {"post": body("refresh")},
                    "/api/token/verify": {"post": body("token")}})
    found, _ = plan.automatic_plan(spec)
    assert found is not None and found.login.path == "/api/token/pair"
    refresh = plan.refresh_operation(spec)
    assert refresh is not None and (refresh[0].path, refresh[1]) == ("/api/token/refresh",
                                                                     "refresh")


def test_token_scheme_from_drf_spectacular_token_auth_and_custom_headers():
    drf = spec_of({"/api/notes/": {"get": guarded("tokenAuth")}}, {"tokenAuth": {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"'}})
    assert plan.token_scheme(drf) == ("Authorization", "Token")
    key = spec_of({"/x": {"get": guarded("key")}},
                  {"key": {"type": "apiKey", "in": "header", "name": "X-API-Key"}})
    assert plan.token_scheme(key) == ("X-API-Key", "")
    # The scheme the operations actually name wins over one listed first but unused.
    both = spec_of({"/a": {"get": guarded("jwt")}, "/b": {"get": guarded("jwt")}},
                   {"session": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
                    "jwt": {"type": "http", "scheme": "bearer"}})
    assert plan.token_scheme(both) == ("Authorization", "Bearer")


def test_probe_prefers_the_users_own_resource():
    spec = spec_of({"/api/notes": {"get": guarded("b")}, "/api/users/me": {"get": guarded("b")},
                    "/api/health": {"get": {"responses": {"200": {"description": "ok"}}}},
                    "/api/notes/{id}": {"get": guarded("b")}},
                   {"b": {"type": "http", "scheme": "bearer"}})
    probe = plan.probe_operation(spec, set())
    assert probe is not None and probe.path == "/api/users/me"
    # A synthesized spec declares no security: the user's own resource is still worth a try.
    plain = spec_of({"/api/notes": {"get": {"responses": {"200": {"description": "ok"}}}},
                     "/api/me/": {"get": {"responses": {"200": {"description": "ok"}}}}})
    found = plan.probe_operation(plain, set())
    assert found is not None and found.path == "/api/me/"
    assert plan.probe_operation(spec_of({"/api/notes": {"get": guarded("b")}},
                                        {"b": {"type": "http", "scheme": "bearer"}}),
                                {"GET /api/notes"}) is None


# -- the generated user in request bodies -------------------------------------------------------


def test_a_login_that_wants_an_email_gets_the_registered_email():
    spec = spec_of({"/auth/signup": {"post": body("email", "password", "full_name")},
                    "/auth/login": {"post": body("username", "password")},
                    "/auth/login2": {"post": body("email", "password")}})
    user = auth.ThrowawayUser.generate()
    register = AuthStep("POST", "/auth/signup")
    assert login_name(spec, register) == "email"
    login = plan.endpoint_of(spec, "POST", "/auth/login")
    assert auth.credentials_body(login, spec, user, full=False, login_name="email") == {
        "username": user.email, "password": user.password}
    login2 = plan.endpoint_of(spec, "POST", "/auth/login2")
    assert auth.credentials_body(login2, spec, user, full=False) == {
        "email": user.email, "password": user.password}
    assert login_name(spec, AuthStep("POST", "/x", body={"username": "u", "email": "e"})) == \
        "username"


def test_sign_up_fields_dj_rest_auth_style():
    spec = spec_of({"/auth/registration/": {"post": body(
        "username", "email", "password1", "password2", required=("username", "password1",
                                                                 "password2"))}})
    user = auth.ThrowawayUser.generate()
    endpoint = spec.endpoints[0]
    assert auth.credentials_body(endpoint, spec, user, full=True) == {
        "username": user.username, "email": user.email, "password1": user.password,
        "password2": user.password}
    assert [credential_kind(n) for n in ("confirm_password", "passwordConfirmation", "e-mail",
                                         "title")] == ["password", "password", "email", None]


# -- what a login answer holds ------------------------------------------------------------------


def test_token_and_refresh_token_in_answers_of_real_stacks():
    assert tokens.token_in({"key": "abc"}) == ("key", "abc")  # dj-rest-auth, token mode
    pair = {"refresh": "r1", "access": "a1"}  # simplejwt
    assert tokens.token_in(pair) == ("access", "a1") and tokens.refresh_token_in(pair) == "r1"
    ninja = {"username": "u", "refresh": "r2", "access": "a2"}
    assert tokens.token_in(ninja) == ("access", "a2")
    nested = {"data": {"tokens": {"access_token": "a3", "refresh_token": "r3"}}}
    assert tokens.token_in({"data": nested["data"]["tokens"]}) == ("access_token", "a3")
    assert tokens.token_in({"detail": "ok"}) is None
    assert tokens.token_in({"data": {"tokens": [{"access": "x"}]}}, "$.data.tokens[0].access") \
        == ("$.data.tokens[0].access", "x")


def test_scheme_order_from_config_answer_and_spec():
    assert tokens.answer_scheme({"token_type": "bearer"}, "access_token") == "Bearer"
    assert tokens.answer_scheme({"key": "k"}, "key") == "Token"
    assert tokens.answer_scheme({"token": "t"}, "token") is None
    assert tokens.answer_scheme({"token": "t"}, "token", "django") == "Token"  # authtoken
    assert tokens.schemes_to_try("Token", "Bearer", None) == ["Token"]
    assert tokens.schemes_to_try(None, None, "Token") == ["Token", "Bearer"]
    assert tokens.schemes_to_try(None, "Bearer", "") == ["Bearer", "", "Token"]


def test_jwt_expiry_without_verifying():
    token = jwt(exp=2_000_000_300, iat=2_000_000_000, sub="1")
    assert tokens.expiry(token) == (2_000_000_000.0, 2_000_000_300.0)
    assert tokens.expiry(jwt(sub="1")) is None
    assert tokens.expiry("opaque-token") is None and tokens.expiry("a.b.c") is None


def test_csrf_failure_cookie_and_headers():
    request = httpx.Request("POST", "http://127.0.0.1:8000/api/auth/login/")
    failed = httpx.Response(403, json={"detail": "CSRF Failed: CSRF token missing."},
                            request=request)
    assert tokens.csrf_failure(failed)
    assert not tokens.csrf_failure(httpx.Response(403, json={"detail": "Forbidden"},
                                                  request=request))
    jar = httpx.Cookies()
    jar.set("sessionid", "s3ss10n")
    assert tokens.csrf_cookie(jar) is None
    jar.set("csrftoken", "c5rf")
    assert tokens.csrf_cookie(jar) == ("csrftoken", "X-CSRFToken", "c5rf")
    assert tokens.cookie_headers(jar, "http://127.0.0.1:8000") == {
        "Cookie": "sessionid=s3ss10n; csrftoken=c5rf", "X-CSRFToken": "c5rf",
        "Referer": "http://127.0.0.1:8000/"}
    jwt_cookies = httpx.Cookies()  # flask-jwt-extended: the JWT and its CSRF double submit
    jwt_cookies.set("access_token_cookie", "eyJ.x.y")
    jwt_cookies.set("csrf_access_token", "d0ubl3")
    jwt_cookies.set("csrf_refresh_token", "r3fr3sh")
    assert tokens.cookie_headers(jwt_cookies, "http://h")["X-CSRF-TOKEN"] == "d0ubl3"
    minted = tokens.minted_csrf()
    assert len(minted) == 32 and minted.isalnum() and minted != tokens.minted_csrf()


# -- the runner's own calls are judged leniently ------------------------------------------------


def test_a_refused_auth_call_is_not_an_api_failure():
    endpoint = Endpoint("POST", "/auth/login/", "login", responses={"200": {
        "description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}})
    refused = ToolCall("auth-2", "", "POST", "/auth/login/", {"username": "u"},
                       status_code=400, body={"non_field_errors": ["Unable to log in"]},
                       body_is_json=True, intent=auth.INTENT)
    results = checks.run_checks(refused, endpoint, checks.select())
    assert {r.check for r in results} == {"response_received", "not_a_server_error"}
    assert all(r.passed for r in results)
    crashed = ToolCall("auth-3", "", "POST", "/auth/login/", {}, status_code=500,
                       intent=auth.INTENT)
    assert not all(r.passed for r in checks.run_checks(crashed, endpoint, checks.select()))
    accepted = ToolCall("auth-4", "", "POST", "/auth/login/", {}, status_code=200, body={},
                        body_is_json=True, headers={"content-type": "application/json"},
                        intent=auth.INTENT)
    judged = {r.check: r.passed for r in checks.run_checks(accepted, endpoint, checks.select())}
    assert judged["positive_data_acceptance"] and judged["response_schema_conformance"]


# -- the headers file ---------------------------------------------------------------------------


def test_headers_file_is_owner_only_without_a_sandbox(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(sandbox.SANDBOX_USER_VARIABLE, raising=False)
    spec = spec_of({"/x": {"get": {"responses": {"200": {"description": "ok"}}}}})
    credentials = auth.Credentials(tmp_path / "credentials" / "headers.json", None, spec,
                                   "http://127.0.0.1:9")
    assert json.loads(credentials.path.read_text()) == {}
    assert stat.S_IMODE(credentials.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(credentials.path.parent.stat().st_mode) == 0o700
    credentials.discard()
    assert not credentials.path.exists()


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the privilege drop needs root")


@pytest.fixture
def open_to_all() -> Iterator[Path]:
    """A temporary folder every user can enter (pytest's own are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="api-mcp-test-auth-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@needs_root
def test_headers_file_is_readable_by_the_sandbox_user_only(open_to_all: Path,
                                                           monkeypatch: pytest.MonkeyPatch):
    from tests.test_privsep import nobody

    box = nobody()
    monkeypatch.setenv(sandbox.SANDBOX_USER_VARIABLE, box.name)
    spec = spec_of({"/x": {"get": {"responses": {"200": {"description": "ok"}}}}})
    credentials = auth.Credentials(open_to_all / "credentials" / "headers.json", None, spec,
                                   "http://127.0.0.1:9")
    info = credentials.path.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, box.gid, 0o640)
    folder = credentials.path.parent.stat()
    assert (folder.st_uid, folder.st_gid, stat.S_IMODE(folder.st_mode)) == (0, box.gid, 0o710)
    assert box.can_reach(credentials.path) is None
    # The sandbox user really reads it (and nobody else could: not world-readable).
    read = subprocess.run(box.command(["cat", str(credentials.path)]),
                                        capture_output=True, text=True, check=False)
    assert read.returncode == 0 and read.stdout == "{}", read.stderr


@needs_root
def test_an_unreachable_headers_file_is_a_loud_failure(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch):
    from tests.test_privsep import nobody

    monkeypatch.setenv(sandbox.SANDBOX_USER_VARIABLE, nobody().name)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    spec = spec_of({"/x": {"get": {"responses": {"200": {"description": "ok"}}}}})
    with pytest.raises(RunnerError) as caught:
        auth.Credentials(private / "credentials" / "headers.json", None, spec,
                         "http://127.0.0.1:9")
    assert caught.value.stage == "auth"
    assert "cannot read the credentials file" in caught.value.message
    assert "every call would go without credentials" in caught.value.message


def test_renewal_is_scheduled_before_a_jwt_expires():
    now = time.time()
    token = jwt(iat=int(now), exp=int(now) + 300)
    issued, expires = tokens.expiry(token) or (0.0, 0.0)
    due = issued + auth.credentials.RENEW_AT * (expires - issued)
    assert now + 200 < due < expires - 60


# -- end to end, zero configuration: one small app per login stack ------------------------------


def run_fixture(name: str, tmp_path: Path, fixture_python: Path) -> dict[str, Any]:
    app = tmp_path / name
    shutil.copytree(FIXTURES / name, app, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "out"
    done = run_cli("test", str(app), "--python", str(fixture_python), "--agent",
                   "deterministic", "--output-dir", str(out), timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert processes_mentioning(str(tmp_path)) == []
    report = json.loads((out / "report.json").read_text())
    assert report["auth"]["ok"] and report["auth"]["source"] == "automatic", report["auth"]
    return report


def statuses(report: dict[str, Any]) -> dict[str, list[int]]:
    """The statuses of each operation's calls made with credentials, runner's own and the
    agent's (the ignored_auth probe's calls without credentials must get 401)."""
    return {f"{r['method']} {r['endpoint']}": [c["status_code"] for c in r["calls"]
                                               if c["intent"] != "no_auth"]
            for r in report["test_results"]}


def steps(report: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(c["step"], c["path"], c["status_code"]) for c in report["auth"]["calls"]
            if c["step"] != "refresh"]


@pytest.mark.slow
def test_django_session_login_with_csrf(tmp_path: Path, fixture_python: Path):
    """DRF SessionAuthentication: the sign-up signs the user in, the login wants the email, and
    every unsafe call of the session needs X-CSRFToken."""
    report = run_fixture("auth_drf_session", tmp_path, fixture_python)
    record = report["auth"]
    assert (record["mode"], record["header"], record["csrf"]) == ("cookie", "Cookie",
                                                                  "X-CSRFToken")
    # The sign-up's session cookie was not sent to the login: no "CSRF Failed", no retry.
    assert steps(report) == [("register", "/api/auth/registration/", 201),
                             ("login", "/api/auth/login/", 200)]
    calls = {f"{r['method']} {r['endpoint']}": r["calls"] for r in report["test_results"]}
    login = calls["POST /api/auth/login/"][0]
    assert login["intent"] == "auth" and set(login["arguments"]) == {"email", "password"}
    assert login["arguments"]["email"] == f"{record['user']}@example.com"
    assert calls["GET /api/auth/user/"][0]["body"]["username"] == record["user"]
    assert 201 in [c["status_code"] for c in calls["POST /api/notes/"]]  # past CSRF
    assert report["summary"]["failed"] == 0 and report["summary"]["skipped"] == 0


@pytest.mark.slow
def test_jwt_access_refresh_pair_renewed_before_it_expires(tmp_path: Path,
                                                          fixture_python: Path):
    """simplejwt-style pair: email login, Bearer access token living 1 s (plus a leeway),
    refreshed once at login (so the refresh operation is tested with a real token) and renewed
    with the refresh token while the run goes on."""
    report = run_fixture("auth_fastapi_jwt_pair", tmp_path, fixture_python)
    record = report["auth"]
    assert (record["header"], record["scheme"], record["token_field"]) == (
        "Authorization", "Bearer", "access")
    assert steps(report) == [("register", "/api/auth/signup", 201),
                             ("login", "/api/token/", 200), ("check", "/api/me", 200)]
    calls = {f"{r['method']} {r['endpoint']}": r["calls"] for r in report["test_results"]}
    assert calls["POST /api/token/"][0]["arguments"]["email"].endswith("@example.com")
    (refresh,) = calls["POST /api/token/refresh/"]  # the runner's, with the real token
    assert (refresh["intent"], refresh["status_code"]) == ("auth", 200)
    assert refresh["arguments"] == {"refresh": "***"} and refresh["body"] == {"access": "***"}
    renewals = [c for c in record["calls"] if c["step"] == "refresh"]
    assert record.get("renewed", 0) >= 1 and len(renewals) >= 2, record
    assert all(c["status_code"] == 200 for c in renewals)
    seen = statuses(report)
    for operation in ("GET /api/me", "GET /api/tasks", "POST /api/tasks"):
        assert seen[operation] and 401 not in seen[operation], (operation, seen)
    assert report["summary"]["skipped"] == 0


@pytest.mark.slow
def test_token_from_an_http_basic_token_endpoint(tmp_path: Path, fixture_python: Path):
    """Flask-HTTPAuth style: sign-up is POST /api/users, POST /api/tokens takes basic auth and
    answers a token for `Authorization: Bearer`."""
    report = run_fixture("auth_flask_basic_token", tmp_path, fixture_python)
    record = report["auth"]
    assert (record["header"], record["scheme"]) == ("Authorization", "Bearer")
    assert steps(report) == [("register", "/api/users", 201), ("login", "/api/tokens", 200),
                             ("check", "/api/me", 200)]
    seen = statuses(report)
    assert 201 in seen["POST /api/posts"] and 200 in seen["GET /api/posts"]
    assert report["summary"]["failed"] == 0 and report["summary"]["skipped"] == 0


@pytest.mark.slow
def test_jwt_in_an_http_only_cookie(tmp_path: Path, fixture_python: Path):
    report = run_fixture("auth_fastapi_cookie_jwt", tmp_path, fixture_python)
    record = report["auth"]
    assert (record["mode"], record["header"]) == ("cookie", "Cookie") and "csrf" not in record
    seen = statuses(report)
    assert 201 in seen["POST /items"] and set(seen["GET /users/me"]) == {200}
    assert report["summary"]["failed"] == 0 and report["summary"]["skipped"] == 0


@needs_root
@pytest.mark.slow
def test_credentials_reach_the_mcp_server_under_the_privilege_drop(open_to_all: Path,
                                                                    fixture_python: Path):
    """As root with API_MCP_TEST_SANDBOX_USER, the MCP server runs as that user and must read
    the credentials the runner (root) obtained: protected operations are reached, not skipped."""
    from tests.test_privsep import root_run

    run = root_run(fixture_python, open_to_all)
    checkout = open_to_all / "checkout"
    shutil.copytree(FIXTURES / "auth_flask_basic_token", checkout)
    out = open_to_all / "out"
    done = subprocess.run(  # the install command lets the new venv see the fixture's Flask
        [run.python, "-m", "runner.cli", "test", str(checkout), "--agent", "deterministic",
         "--install-command", f"python {run.link}", "--output-dir", str(out),
         "--workspace-root", str(open_to_all / "ws")],
        cwd=REPO, env=run.env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["auth"]["ok"] and report["auth"]["scheme"] == "Bearer"
    seen = statuses(report)
    assert 201 in seen["POST /api/posts"] and set(seen["GET /api/me"]) == {200}, seen
    assert report["summary"]["skipped"] == 0 and report["summary"]["failed"] == 0


@pytest.mark.slow
def test_the_mcp_server_refuses_to_start_without_its_credentials(tmp_path: Path):
    from runner.mcpgen import generate_mcp_wrapper, save_wrapper

    spec = spec_of({"/x": {"get": {"operationId": "get_x",
                                   "responses": {"200": {"description": "ok"}}}}})
    wrapper = save_wrapper(generate_mcp_wrapper(spec, "http://127.0.0.1:9"), tmp_path)
    missing = tmp_path / "credentials" / "headers.json"
    done = subprocess.run([sys.executable, str(wrapper)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "API_MCP_TEST_HEADERS_FILE": str(missing)})
    assert done.returncode != 0
    assert f"cannot read {missing}" in done.stderr


# -- the flow against a small real server on loopback ---------------------------------------------


class _Api(http.server.BaseHTTPRequestHandler):
    """Sign-up, a CSRF-checked session login (Django's double submit: the csrftoken cookie and
    X-CSRFToken agree) and a token endpoint behind HTTP basic."""

    users: ClassVar[dict[str, str]] = {}
    seen: ClassVar[list[tuple[str, str, dict[str, str]]]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, data: Any, cookies: dict[str, str] | None = None) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (cookies or {}).items():
            self.send_header("Set-Cookie", f"{name}={value}; Path=/")
        self.end_headers()
        self.wfile.write(raw)

    def _cookies(self) -> dict[str, str]:
        pairs = (c.strip().partition("=") for c in self.headers.get("Cookie", "").split(";"))
        return {k: v for k, _, v in pairs if k}

    def do_GET(self) -> None:
        self.seen.append(("GET", self.path, {k.lower(): v for k, v in self.headers.items()}))
        self._answer(200, {"detail": "form"}, {"csrftoken": "a" * 32})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = json.loads(self.rfile.read(length) or b"{}")
        self.seen.append(("POST", self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.path == "/register":
            self.users[data["username"]] = data["password"]
            return self._answer(201, {"detail": "ok"}, {"sessionid": "signup-session"})
        if self.path == "/session-login":
            token = self._cookies().get("csrftoken")
            if not token or token != self.headers.get("X-CSRFToken"):
                return self._answer(403, {"detail": "CSRF Failed: CSRF token missing."})
            if self.users.get(data.get("username")) != data.get("password"):
                return self._answer(400, {"detail": "bad login"})
            return self._answer(200, {"detail": "signed in"},
                                {"sessionid": "user-session", "csrftoken": "b" * 32})
        if self.path == "/api/tokens":
            scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
            name, _, password = base64.b64decode(encoded or "").decode().partition(":")
            if scheme != "Basic" or self.users.get(name) != password:
                return self._answer(401, {"error": "basic auth required"})
            return self._answer(200, {"token": "t0ken-" + name})
        return self._answer(404, {})


@pytest.fixture
def api() -> Iterator[str]:
    _Api.users, _Api.seen = {}, []
    with http_server(_Api) as url:
        yield url


LOOSE = spec_of({"/register": {"post": body("username", "password")},
                 "/session-login": {"post": body("username", "password")},
                 "/api/tokens": {"post": {"responses": {"200": {"description": "ok"}}}}})


def test_a_csrf_refused_login_is_retried_with_the_apis_csrf_cookie(api: str):
    config = AuthConfig(mode="login", register=AuthStep("POST", "/register"),
                        login=AuthStep("POST", "/session-login"))
    result = auth.authenticate(config, LOOSE, api)
    assert [(c["step"], c["status_code"]) for c in result.record["calls"]] == [
        ("register", 201), ("login", 403), ("csrf", 200), ("login", 200)]
    # The sign-up's session never reached the login; the retry carried the CSRF pair.
    logins = [h for m, p, h in _Api.seen if (m, p) == ("POST", "/session-login")]
    assert all("signup-session" not in h.get("cookie", "") for h in logins)
    assert logins[1]["x-csrftoken"] == "a" * 32 and logins[1]["referer"] == api + "/"
    # The session's cookies are the credentials, with the rotated CSRF token in its header.
    assert result.record["mode"] == "cookie" and result.headers["X-CSRFToken"] == "b" * 32
    assert "sessionid=user-session" in result.headers["Cookie"]
    assert all(c.intent == "auth" for c in result.calls)
    assert "a" * 32 not in json.dumps([c.arguments for c in result.calls])


def test_a_configured_basic_login_sends_no_body(api: str):
    _Api.users["tester"] = "s3cret-pass"
    config = AuthConfig(mode="login", login=AuthStep(
        "POST", "/api/tokens", body={"username": "tester", "password": "${API_PASSWORD}"},
        content="basic"), scheme="Bearer", env={"API_PASSWORD": "s3cret-pass"})
    result = auth.authenticate(config, LOOSE, api)
    assert result.headers == {"Authorization": "Bearer t0ken-tester"}
    ((method, path, headers),) = _Api.seen
    assert (method, path) == ("POST", "/api/tokens")
    assert headers.get("content-length", "0") == "0" and "content-type" not in headers
    assert "s3cret-pass" not in json.dumps([c.arguments for c in result.calls])


def test_config_accepts_a_basic_login_step(tmp_path: Path):
    from runner.config import apply_project_config
    from runner.models import RunConfig

    (tmp_path / ".api-mcp-test.yml").write_text(
        "auth:\n  login: {operation: POST /api/tokens, basic: {username: u, password: p}}\n")
    config = apply_project_config(RunConfig(repo_path=tmp_path))
    assert config.auth is not None and config.auth.login == AuthStep(
        "POST", "/api/tokens", body={"username": "u", "password": "p"}, content="basic")


@pytest.mark.slow
def test_drf_token_auth_without_an_auth_section(tmp_path: Path, fixture_python: Path):
    """DRF's obtain_auth_token answers `{"token": ...}` for `Authorization: Token`: found from
    drf-spectacular's tokenAuth scheme, with only the settings gates configured."""
    app = tmp_path / "django_token_auth"
    shutil.copytree(FIXTURES / "django_token_auth", app,
                    ignore=shutil.ignore_patterns("__pycache__"))
    config = (app / ".api-mcp-test.yml").read_text()
    (app / ".api-mcp-test.yml").write_text(config[:config.index("auth:")])
    out = tmp_path / "out"
    done = run_cli("test", str(app), "--python", str(fixture_python), "--agent",
                   "deterministic", "--output-dir", str(out), timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "report.json").read_text())
    record = report["auth"]
    assert (record["source"], record["scheme"], record["token_field"]) == (
        "automatic", "Token", "token")
    assert steps(report) == [("register", "/api/register/", 201), ("login", "/api/token/", 200),
                             ("check", "/api/me/", 200)]
    assert 201 in statuses(report)["POST /api/entries/"]
    assert report["summary"]["failed"] == 0 and report["summary"]["skipped"] == 0

"""The project's config file, Python selection, spec location and authentication.

Fast tests for validation and the building blocks; slow end-to-end tests run the CLI on fixture
projects (form login + .env, open sign-up + JSON login, automatic auth, a monorepo needing
Python 3.12 and a setup step, a spec at a non-standard path with a custom start command).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner import auth, pythons
from runner.config import apply_project_config, build_config, read_env_file, select_operations
from runner.errors import RunnerError, UsageError
from runner.models import ApiSpec, AuthConfig, RunConfig, Timeouts
from runner.openapi import endpoints_from_openapi, swagger2_to_openapi3
from tests.helpers import FIXTURES, processes_mentioning, results_by_key, run_cli


def project(tmp_path: Path, config: str, **files: str) -> Path:
    root = tmp_path / "proj"
    root.mkdir(exist_ok=True)
    (root / ".api-mcp-test.yml").write_text(config)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def configured(root: Path, **explicit: object) -> RunConfig:
    """The project's config under `explicit` inputs (as a face gives them)."""
    return apply_project_config(build_config({"repo_path": root, **explicit}))


# -- the config file ------------------------------------------------------------------------------


def test_every_key_lands_in_the_run_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("API_TOKEN", "t0k3n")
    root = project(tmp_path, """
working-directory: services/api
app: main:app
python: "3.12"
install: pip install -e .
env: {DEBUG: "true", WORKERS: 2}
env-files: [.env.test]
setup: [python manage.py migrate --noinput]
start: gunicorn main:app -b 127.0.0.1:{port}
ready: {path: /health, timeout: 45}
spec: docs/openapi.yaml
include: ["/api/*"]
exclude: ["GET /api/admin/*", "tag:internal"]
auth: {header: Authorization, value: "Bearer ${API_TOKEN}"}
scenarios: scenarios.yml
budget: {calls: 50, minutes: 5}
django: {debug: true}
""", **{"services/api/.env": "DEBUG=false\nFROM_DOTENV=1\n",
        "services/api/.env.test": "FROM_ENV_FILE='yes'  # comment\n",
        "services/api/docs/openapi.yaml": "openapi: 3.0.0\n",
        "services/api/scenarios.yml": "[]\n"})
    api = (root / "services" / "api").resolve()
    config = configured(root, allow_env=("API_TOKEN",))
    assert config.repo_path == api
    assert (config.app, config.python_version, config.python) == ("main:app", "3.12", None)
    assert (config.install, config.install_command) == (True, "pip install -e .")
    # .env < env-files < env
    assert config.app_env == {"DEBUG": "true", "FROM_DOTENV": "1", "FROM_ENV_FILE": "yes",
                              "WORKERS": "2"}
    assert config.setup == ("python manage.py migrate --noinput",)
    assert config.start_command == "gunicorn main:app -b 127.0.0.1:{port}"
    assert config.ready_path == "/health" and config.timeouts.start == 45
    assert config.spec_location == str(api / "docs" / "openapi.yaml")
    assert config.include == ("/api/*",)
    assert config.exclude == ("GET /api/admin/*", "tag:internal")
    assert config.auth == AuthConfig(mode="static", header="Authorization",
                                     value="Bearer ${API_TOKEN}")  # expanded only at login
    assert config.scenarios_path == api / "scenarios.yml"
    assert config.max_tool_calls == 50 and config.timeouts.run == 300
    assert config.django_debug is True


def test_flags_override_the_file(tmp_path: Path):
    root = project(tmp_path, 'app: main:app\npython: "3.12"\ninstall: false\n'
                             "env: {A: file, B: file}\nready: {timeout: 9}\nbudget: 7\n")
    config = configured(root, app="other:app", python=sys.executable, install=True,
                        app_env={"A": "flag"}, timeouts={"start": 99})
    assert (config.app, config.python, config.python_version) == ("other:app", sys.executable,
                                                                  None)
    assert config.install is True
    assert config.app_env == {"A": "flag", "B": "file"}
    assert config.timeouts.start == 99 and config.max_tool_calls == 7


def test_the_builder_layers_defaults_under_the_file_under_explicit_inputs(tmp_path: Path):
    from runner.runconfig import DEFAULT_MAX_TOOL_CALLS

    project = {"app": "file:app", "max_tool_calls": 7, "suite": "custom",
               "timeouts": {"run": 60.0, "start": 9.0}, "app_env": {"A": "file", "B": "file"}}
    defaults = build_config({"repo_path": tmp_path})
    assert (defaults.app, defaults.max_tool_calls, defaults.timeouts) == (None, None, Timeouts())
    from_file = build_config({"repo_path": tmp_path}, project)
    assert (from_file.app, from_file.max_tool_calls, from_file.timeouts.run) == ("file:app", 7, 60)
    # The file's suite comes only with its scenarios.
    assert from_file.suite == "smoke"
    # An explicit value wins, even one equal to the default; None and an absent key are not given.
    explicit = build_config({"repo_path": tmp_path, "app": None, "max_tool_calls":
                             DEFAULT_MAX_TOOL_CALLS, "timeouts": {"start": Timeouts.start},
                             "app_env": {"A": "flag"}}, project)
    assert (explicit.app, explicit.max_tool_calls) == ("file:app", DEFAULT_MAX_TOOL_CALLS)
    assert (explicit.timeouts.start, explicit.timeouts.run) == (Timeouts.start, 60)
    assert explicit.app_env == {"A": "flag", "B": "file"}
    # A config built before keeps its explicit inputs above the file (the repo stage's way).
    later = build_config({}, project, base=build_config({"repo_path": tmp_path,
                                                         "timeouts": {"run": 5.0}}))
    assert (later.timeouts.run, later.timeouts.start, later.app) == (5.0, 9.0, "file:app")


def test_an_explicit_setting_drops_the_files_settings_that_go_with_it(tmp_path: Path):
    project = {"python_version": "3.12", "install": False, "install_extra": ("x",),
               "scenarios_path": tmp_path / "s.md", "scenarios_root": tmp_path,
               "suite": "custom"}
    config = build_config({"repo_path": tmp_path, "python": sys.executable,
                           "install_command": "make deps", "scenarios_path": Path("mine.md")},
                          project)
    assert (config.python, config.python_version) == (sys.executable, None)
    assert (config.install, config.install_command, config.install_extra) == (
        True, "make deps", ())
    assert (config.scenarios_path, config.scenarios_root, config.suite) == (
        Path("mine.md"), None, "smoke")
    assert build_config({"repo_path": tmp_path}, project).suite == "custom"


def test_every_face_builds_its_config_with_the_file_under_what_it_was_given(tmp_path: Path):
    """The command line (an option left at its default is absent, one set to the default's
    value is not), the action's inputs (empty: absent) and the Python API's keywords."""
    import asyncio

    import click
    from click.testing import CliRunner

    from runner.context import from_env
    from runner.inputs import explicit_inputs, set_on_command_line, target_options
    from runner.orchestrator import DynamicBackendOrchestrator

    root = project(tmp_path, "app: file:app\nbudget: {calls: 7, minutes: 1}\n"
                             "ready: {timeout: 9}\n")

    @click.command()
    @target_options
    @click.option("--timeout", "run_timeout", type=float, default=Timeouts.run)
    def face(**options: object) -> RunConfig:
        options.pop("path")
        return apply_project_config(build_config(
            {**explicit_inputs(set_on_command_line(options)), "repo_path": root}))

    def cli(*args: str) -> RunConfig:
        return CliRunner().invoke(face, list(args), standalone_mode=False).return_value

    assert (cli().app, cli().timeouts.run) == ("file:app", 60)
    assert cli("--app", "flag:app", "--timeout", str(Timeouts.run)).timeouts.run == Timeouts.run
    assert cli("--app", "flag:app").app == "flag:app"

    def action(**inputs: str) -> RunConfig:
        environ = {"GITHUB_WORKSPACE": str(root)}
        environ.update({f"INPUT_{name.upper()}": value for name, value in inputs.items()})
        return apply_project_config(from_env(environ).run)

    assert (action().app, action(timeout_minutes="").timeouts.run) == ("file:app", 60)
    given = action(app="input:app", timeout_minutes=str(Timeouts.run / 60))
    assert (given.app, given.timeouts.run, given.max_tool_calls) == ("input:app", Timeouts.run, 7)

    class Built(Exception):
        pass

    class Captured(DynamicBackendOrchestrator):
        def run(self, config: RunConfig):  # type: ignore[override]
            self.config = apply_project_config(config)
            raise Built

    api = Captured(RunConfig(repo_path=tmp_path, max_tool_calls=3))
    with pytest.raises(Built):
        asyncio.run(api.test_local(root, app_module="api:app", timeouts={"start": 2.0}))
    assert api.config is not None
    assert (api.config.app, api.config.timeouts.start, api.config.suite) == ("api:app", 2, "smoke")
    # The constructor's config is a base: the file still goes over its values.
    assert api.config.max_tool_calls == 7


def test_the_action_run_with_its_defaults_leaves_the_files_settings_in_force(tmp_path: Path):
    """GitHub fills in every input that has a default in action.yml: an input the project file
    can also set (the suite, through its scenarios; the run's minutes) must have none, or the
    file's value could never apply in the action."""
    import yaml

    from runner.context import from_env

    action = yaml.safe_load((Path(__file__).parents[1] / "action.yml").read_text())
    root = project(tmp_path, "budget: {minutes: 1}\nscenarios: scenarios.yml\n",
                   **{"scenarios.yml": "[]\n"})
    environ = {"GITHUB_WORKSPACE": str(root)}
    environ.update({f"INPUT_{name.upper()}": str(spec.get("default", ""))
                    for name, spec in action["inputs"].items() if name != "github-token"})
    environ["INPUT_ANTHROPIC-API-KEY"] = "sk-ant-test"  # the LLM agent runs the scenarios
    config = apply_project_config(from_env(environ).run)
    assert (config.timeouts.run, config.suite, config.agent) == (60, "custom", "auto")
    environ.update({"INPUT_SUITE": "comprehensive", "INPUT_TIMEOUT-MINUTES": "2"})
    config = apply_project_config(from_env(environ).run)
    assert (config.timeouts.run, config.suite) == (120, "comprehensive")


def test_pyproject_table_and_spec_url_path(tmp_path: Path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.api-mcp-test]\n'
                                         'spec = "/apispec.json"\nauth = "off"\n')
    config = configured(root)
    assert config.spec_location == "/apispec.json"
    assert config.auth == AuthConfig(mode="off")
    (root / ".api-mcp-test.yml").write_text("app: a:b\n")
    with pytest.raises(UsageError, match="Both .api-mcp-test.yml and"):
        configured(root)


@pytest.mark.parametrize(("text", "expected"), [
    ("colour: red\n", "Unknown key `colour`; allowed keys: working-directory, app, python"),
    ("python: 3.10\n", ("`python` must be a quoted version (python: \"3.12\"; YAML reads 3.10 "
                       "unquoted as the number 3.1) or the path of an interpreter, not 3.1.")),
    ("install: [pip]\n", "`install` must be a command"),
    ("ready: health\n", "`ready` must be a path or {path, timeout}"),
    ("ready: {path: health}\n", "`ready.path` must start with /, not 'health'."),
    ("spec: https://example.com/openapi.json\n", "rather than a URL, not 'https://example.com/openapi.json'"),
    ("exclude: ['GIT /x']\n", "is not METHOD /path-glob, /path-glob, METHOD or tag:NAME"),
    ("budget: {calls: 0}\n", "`budget.calls` must be a whole number >= 1"),
    ("working-directory: nowhere\n", "`working-directory` names nowhere, which is not a folder"),
    ("auth: {value: x, basic: {username: a, password: b}}\n", "exactly one of value"),
    ("auth: {login: {operation: GET}}\n", "`auth.login.operation` must be METHOD /path"),
    ("auth: {value: 'Bearer ${AMT_UNSET_VARIABLE}'}\n", "which the workflow did not grant"),
    ("django: {debug: yes please}\n", "`django.debug` must be true or false, not 'yes please'"),
    ("django: {debug: true, hosts: [x]}\n", "`django` must be a mapping with `debug`"),
])
def test_validation_names_the_key_and_what_it_accepts(tmp_path: Path, text: str, expected: str):
    with pytest.raises(UsageError) as caught:
        configured(project(tmp_path, text))
    assert expected in caught.value.message
    assert caught.value.exit_code == 2


def test_every_problem_is_reported_at_once(tmp_path: Path):
    root = project(tmp_path, "app: [x]\nbudget: -1\nflavour: x\n")
    with pytest.raises(UsageError) as caught:
        configured(root)
    for key in ("`app`", "`budget`", "`flavour`"):
        assert key in caught.value.message


def test_env_file_syntax(tmp_path: Path):
    path = tmp_path / ".env"
    path.write_text('# settings\nexport A=1\nB="two words"\nC=three # note\nD=\'#kept\'\n\n')
    assert read_env_file(path) == {"A": "1", "B": "two words", "C": "three", "D": "#kept"}
    path.write_text("not a setting\n")
    with pytest.raises(UsageError, match="line 1 is not NAME=VALUE"):
        read_env_file(path)


def test_a_bad_config_file_exits_2_before_anything_starts(tmp_path: Path):
    root = project(tmp_path, "python: 3.10\n")
    proc = run_cli("test", str(root), "--output-dir", str(tmp_path / "out"), timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert ".api-mcp-test.yml" in proc.stderr and "python" in proc.stderr


def test_operations_selected_by_path_glob_method_and_tag():
    doc = {"openapi": "3.0.0", "info": {}, "paths": {
        "/users": {"get": {"responses": {}}, "post": {"responses": {}}},
        "/admin/stats": {"get": {"responses": {}}, "delete": {"responses": {}}},
        "/internal": {"get": {"tags": ["internal"], "responses": {}}},
    }}
    spec = ApiSpec("x", "x:app", doc, endpoints_from_openapi(doc))

    def keys(include: tuple[str, ...], exclude: tuple[str, ...]) -> list[str]:
        return sorted(e.key for e in select_operations(spec, include, exclude).endpoints)

    assert keys((), ("GET /admin/*", "tag:internal")) == [
        "DELETE /admin/stats", "GET /users", "POST /users"]
    assert keys(("/admin/*",), ()) == ["DELETE /admin/stats", "GET /admin/stats"]
    assert keys(("POST",), ()) == ["POST /users"]


# -- Python version -------------------------------------------------------------------------------


def test_python_request_sources_in_order(tmp_path: Path):
    (tmp_path / "Pipfile").write_text('[requires]\npython_version = "3.10"\n')
    assert pythons.requested_python(tmp_path) == pythons.PythonRequest(
        "3.10", "python_version in the Pipfile")
    (tmp_path / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.11,<3.13"\n')
    assert pythons.requested_python(tmp_path).request == ">=3.11,<3.13"
    (tmp_path / ".python-version").write_text("3.12\n")
    assert pythons.requested_python(tmp_path).request == "3.12"
    assert pythons.requested_python(tmp_path, "3.13").source == "`python` in the config file"
    assert pythons.satisfies("3.12.1", "3.12") and not pythons.satisfies("3.11.7", "3.12")
    assert pythons.satisfies("3.12.1", "==3.12.*") and not pythons.satisfies("3.12.1", ">=3.99")
    assert all("shims" not in p for p in pythons.search_path().split(":"))


@pytest.mark.slow
def test_a_python_version_that_does_not_exist_exits_3_naming_it(tmp_path: Path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\n'
                                         'requires-python = ">=3.99"\n')
    (root / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    proc = run_cli("test", str(root), "--output-dir", str(tmp_path / "out"), timeout=120,
                   env={"API_MCP_TEST_CACHE": str(tmp_path / "cache")})
    assert proc.returncode == 3, proc.stderr
    assert "needs Python >=3.99 (requires-python in pyproject.toml)" in proc.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["failed_stage"] == "install"


# -- authentication building blocks ----------------------------------------------------------


def flask_auth_spec() -> ApiSpec:
    doc = swagger2_to_openapi3(json.loads((FIXTURES / "flask_token_auth" /
                                           "swagger.json").read_text()))
    return ApiSpec("flask", "app:app", doc, endpoints_from_openapi(doc))


def test_automatic_plan_finds_sign_up_and_login():
    plan, reason = auth.automatic_plan(flask_auth_spec())
    assert reason == "" and plan is not None
    assert (plan.register.method, plan.register.path) == ("POST", "/auth/register")
    assert (plan.login.method, plan.login.path, plan.login.content) == (
        "POST", "/auth/login", "json")


def test_credentials_body_uses_the_generated_user():
    spec = flask_auth_spec()
    user = auth.ThrowawayUser.generate()
    login = next(e for e in spec.endpoints if e.path == "/auth/login")
    assert auth.credentials_body(login, spec, user, full=False) == {
        "username": user.username, "password": user.password}
    assert len(user.password) >= 8 and user.username != auth.ThrowawayUser.generate().username


def test_json_path_and_expansion(monkeypatch: pytest.MonkeyPatch):
    data = {"data": {"tokens": [{"access": "abc"}]}, "key": "k"}
    assert auth.json_path(data, "$.data.tokens[0].access") == "abc"
    assert auth.json_path(data, "$['key']") == "k"
    assert auth.json_path(data, "$.missing.x") is None
    user = auth.ThrowawayUser("u", "u@example.com", "p")
    assert auth.expand("${user.username}:${AMT_PASS}", user, {"AMT_PASS": "pw"}) == "u:pw"
    monkeypatch.setenv("AMT_OTHER", "leak")
    with pytest.raises(RunnerError, match="not a variable the workflow granted"):
        auth.expand("${AMT_OTHER}", user, {"AMT_PASS": "pw"})


def test_secured_spec_without_sign_up_says_so():
    spec = flask_auth_spec()
    spec.endpoints = [e for e in spec.endpoints if e.path != "/auth/register"]
    plan, reason = auth.automatic_plan(spec)
    assert plan is None
    assert reason.endswith("the spec has no open sign-up operation to get credentials for a "
                           "throwaway user")


# -- end to end ---------------------------------------------------------------------------------


def copy_fixture(name: str, tmp_path: Path) -> Path:
    dest = tmp_path / name
    shutil.copytree(FIXTURES / name, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def run_and_read(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
                 expect: int = 0) -> dict:
    out = tmp_path / "out"
    proc = run_cli("test", *args, "--output-dir", str(out), timeout=300, env=env)
    assert proc.returncode == expect, proc.stdout + proc.stderr
    assert processes_mentioning(str(tmp_path)) == []
    return json.loads((out / "report.json").read_text())


def run_fixture(name: str, tmp_path: Path, python: Path, *args: str,
                env: dict[str, str] | None = None) -> tuple[Path, dict]:
    """Copy the fixture `name` and test it with `python` (the fixture environment's): the copy
    and its report."""
    app = copy_fixture(name, tmp_path)
    return app, run_and_read(tmp_path, str(app), "--python", str(python), *args, env=env)


def authorized_share(report: dict) -> float:
    """Share of operations whose calls made with credentials got an answer other than 401/403
    (the ignored_auth probe's calls without them must get 401/403)."""
    results = report["test_results"]
    ok = [r for r in results if r["calls"] and all(c["status_code"] not in (None, 401, 403)
                                                   for c in r["calls"]
                                                   if c["intent"] != "no_auth")]
    return len(ok) / len(results)


@pytest.mark.slow
def test_fastapi_form_login_with_settings_from_dotenv(tmp_path: Path, fixture_python: Path):
    _, report = run_fixture("fastapi_env_login", tmp_path, fixture_python,
                            "--allow-env", "NOTES_PASSWORD",
                            env={"NOTES_PASSWORD": "correct horse battery"})
    assert report["endpoints_tested"] == 6 and authorized_share(report) >= 0.9
    assert report["summary"]["passed"] == 6
    me = next(r for r in report["test_results"] if r["endpoint"] == "/me")
    assert me["calls"][0]["body"] == {"username": "admin", "title": "Team notes"}  # from .env
    assert report["auth"]["ok"] and report["auth"]["source"] == "config"
    assert [c["status_code"] for c in report["auth"]["calls"]] == [200]
    text = (tmp_path / "out" / "report.json").read_text()
    assert "correct horse battery" not in text
    assert "correct horse battery" not in (tmp_path / "out" / "calls.jsonl").read_text()


@pytest.mark.slow
def test_fastapi_without_credentials_reports_needs_auth(tmp_path: Path, fixture_python: Path):
    app = copy_fixture("fastapi_env_login", tmp_path)
    (app / ".api-mcp-test.yml").write_text("app: main:app\n")
    # The login answers made-up credentials with its documented 400: a fine answer, not a
    # failure; the rest is not tested (needs auth), not failed.
    report = run_and_read(tmp_path, str(app), "--python", str(fixture_python), expect=0)
    skipped = [r for r in report["test_results"] if r["outcome"] == "skipped"]
    (login,) = [r for r in report["test_results"] if r["endpoint"] == "/token"]
    assert len(skipped) == 5 and login["outcome"] == "passed"
    assert all("not tested: needs auth" in r["error"] for r in skipped)
    assert any("Configure credentials in .api-mcp-test.yml" in n for n in report["notes"])
    # The spec declares OAuth2 but offers no sign-up: automatic login says why it did not try.
    assert any("has no open sign-up operation" in n for n in report["notes"])


@pytest.mark.slow
@pytest.mark.parametrize("configured_auth", [True, False], ids=["configured", "automatic"])
def test_flask_sign_up_then_json_login(tmp_path: Path, fixture_python: Path,
                                       configured_auth: bool):
    app = copy_fixture("flask_token_auth", tmp_path)
    if not configured_auth:
        (app / ".api-mcp-test.yml").unlink()
    report = run_and_read(tmp_path, str(app), "--python", str(fixture_python))
    assert report["api_info"]["spec_source"] == "native"  # served at /apispec.json (Swagger 2)
    assert report["api_info"]["title"] == "Bookmarks"
    assert report["endpoints_tested"] == 7 and authorized_share(report) >= 0.9
    assert report["summary"]["passed"] == 7
    assert report["auth"]["source"] == ("config" if configured_auth else "automatic")
    # Automatic: the token is tried on a protected operation (the scheme is the spec's guess).
    tried = [] if configured_auth else [("check", 200)]
    assert [(c["step"], c["status_code"]) for c in report["auth"]["calls"]] == [
        ("register", 201), ("login", 200), *tried]
    login = next(r for r in report["test_results"] if r["endpoint"] == "/auth/login")
    assert login["calls"][0]["body"]["token"] == "***"
    assert login["calls"][0]["arguments"]["password"] == "***"


@pytest.mark.slow
def test_django_with_settings_from_env_migrations_and_token_auth(tmp_path: Path,
                                                                fixture_python: Path):
    app, report = run_fixture("django_token_auth", tmp_path, fixture_python)
    assert report["api_info"]["framework"] == "django"
    by_key = results_by_key(report)
    assert set(by_key) == {
        "GET /api/health/", "POST /api/register/", "POST /api/token/", "GET /api/me/",
        "GET /api/entries/", "POST /api/entries/", "GET /api/entries/{id}/",
        "PUT /api/entries/{id}/", "PATCH /api/entries/{id}/", "DELETE /api/entries/{id}/"}
    assert authorized_share(report) >= 0.9 and report["summary"]["passed"] == 10
    assert [(c["step"], c["status_code"]) for c in report["auth"]["calls"]] == [
        ("register", 201), ("login", 200)]
    assert report["auth"]["scheme"] == "Token"
    # DEBUG is "false" in `env`; `django: {debug: true}` turns it on for this run only.
    assert by_key["GET /api/health/"]["calls"][0]["body"] == {"status": "ok", "debug": True}
    # The token belongs to the user the run registered.
    assert by_key["GET /api/me/"]["calls"][0]["body"]["username"] == report["auth"]["user"]
    assert "Applying authtoken" in (tmp_path / "out" / "app.log").read_text()
    assert not (app / "journal.sqlite3").exists()  # migrated a throwaway database


@pytest.mark.slow
def test_monorepo_subfolder_on_python_312_with_a_setup_step(tmp_path: Path):
    repo = copy_fixture("monorepo", tmp_path)
    report = run_and_read(tmp_path, str(repo),
                          env={"API_MCP_TEST_CACHE": str(tmp_path / "cache")})
    assert report["endpoints_tested"] == 5 and authorized_share(report) >= 0.9
    assert report["summary"]["passed"] == 5
    version = next(r for r in report["test_results"] if r["endpoint"] == "/version")
    body = version["calls"][0]["body"]
    assert body["python"].startswith("3.12.")  # requires-python = "==3.12.*"; the runner is not
    assert body["greeting"] == "hello from the config file"
    assert body["seeded_by"].startswith(str(tmp_path / "cache"))  # setup ran in the target venv
    assert [s["stage"] for s in report["stages"]][:4] == ["repo", "install", "setup", "discovery"]


@pytest.mark.slow
def test_spec_at_a_non_standard_path_with_a_custom_start_command(tmp_path: Path,
                                                                 fixture_python: Path):
    _, report = run_fixture("flask_spec_path", tmp_path, fixture_python)
    assert report["api_info"]["spec_source"] == "native"
    assert report["api_info"]["title"] == "Weather"
    assert sorted(results_by_key(report)) == ["GET /stations", "GET /stations/{station_id}",
                                              "POST /stations"]
    assert authorized_share(report) >= 0.9 and report["summary"]["passed"] == 3
    assert "Running on http://127.0.0.1" in (tmp_path / "out" / "app.log").read_text()  # flask run


@pytest.mark.parametrize("debug", [False, True])
def test_django_debug_only_in_the_loopback_settings(tmp_path: Path, debug: bool):
    from runner.servers import django_settings_override

    (tmp_path / "mysettings.py").write_text(
        "DEBUG = False\nALLOWED_HOSTS = ['api.example.com']\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': 'own.db'}}\n")
    folder = tmp_path / "override"
    module = django_settings_override("mysettings", ("default",), folder, debug=debug)
    code = (f"import {module} as s; print(s.DEBUG, s.ALLOWED_HOSTS, "
            "s.DATABASES['default']['NAME'])")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONPATH": f"{folder}:{tmp_path}"}).stdout
    assert shown.split(" [")[0] == str(debug)
    assert "['api.example.com', '127.0.0.1', 'localhost']" in shown
    assert shown.strip().endswith(str(folder / "db-default.sqlite3"))
    assert "DEBUG = False" in (tmp_path / "mysettings.py").read_text()  # the project's file

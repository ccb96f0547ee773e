"""Fast tests of `api-mcp-test init`'s config text and of --config FILE."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runner.config import apply_project_config
from runner.discovery.guide import Learned, config_text, placeholder
from runner.discovery.probe.result import ProbeError
from runner.errors import UsageError
from runner.models import ApiSpec, Endpoint, RunConfig


def spec(framework: str, *keys: str) -> ApiSpec:
    endpoints = [Endpoint(k.split()[0], k.split()[1], k) for k in keys]
    return ApiSpec(framework=framework, app_locator="project.wsgi:application", openapi={},
                   endpoints=endpoints)


def test_config_for_a_django_app_with_login_operations() -> None:
    text = config_text(Learned(shown="~/journal", spec=spec(
        "django", "GET /api/entries/", "POST /api/register/", "POST /api/token/",
        "POST /api/token/refresh/")))
    data = yaml.safe_load(text)
    assert data == {"app": "project.wsgi:application", "django": {"debug": True}}
    assert "#   register: {operation: POST /api/register/" in text
    assert "#   login: {operation: POST /api/token/, json:" in text
    assert "refresh" not in text.split("#   login:")[1]


def test_config_for_a_failed_discovery_says_why_and_what_it_learned() -> None:
    learned = Learned(shown="~/mono", working_directory="services/api",
                      env={"DATABASE_URL": placeholder("DATABASE_URL"),
                           "SECRET_KEY": placeholder("SECRET_KEY"), "DEBUG": placeholder("DEBUG")},
                      extra=["python-jose"], python="3.8",
                      python_source="the Dockerfile's base image",
                      problem="[discovery] No usable web application in ~/mono: ...",
                      tried=["app.api:app"])
    text = config_text(learned)
    assert "#   [discovery] No usable web application in ~/mono" in text
    assert "# app: app.api:app" in text
    assert yaml.safe_load(text) == {
        "working-directory": "services/api", "python": "3.8",
        "install": {"extra": ["python-jose"]},
        "env": {"DATABASE_URL": "sqlite:///api-mcp-test.sqlite3",
                "SECRET_KEY": "not-a-production-secret", "DEBUG": "1"}}


def test_config_file_option_replaces_the_projects_file(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / ".api-mcp-test.yml").write_text("app: wrong:app\n")
    mine = tmp_path / "mine.yml"
    mine.write_text("app: right:app\ninstall: {extra: [\"bcrypt<4\"]}\n")
    config = apply_project_config(RunConfig(repo_path=app, config_file=mine))
    assert (config.app, config.install_extra) == ("right:app", ("bcrypt<4",))
    with pytest.raises(UsageError, match="--config .*missing.yml"):
        apply_project_config(RunConfig(repo_path=app, config_file=tmp_path / "missing.yml"))


def test_example_settings_file_supplies_the_gates(tmp_path: Path) -> None:
    from runner.discovery.guide import example_settings

    (tmp_path / ".env.dev_example").write_text("# copy to .env\nSQLALCHEMY_URL=sqlite:///x.db\n"
                                               "export APP_NAME='demo'\n")
    assert example_settings(tmp_path, ["SQLALCHEMY_URL"]) == (
        ".env.dev_example", {"SQLALCHEMY_URL": "sqlite:///x.db", "APP_NAME": "demo"})
    assert example_settings(tmp_path, ["SECRET_KEY"]) is None
    text = config_text(Learned(shown=".", env_file=".env.dev_example"))
    assert yaml.safe_load(text) == {"env-files": [".env.dev_example"]}


def test_a_module_kept_out_of_git_gets_a_setup_step() -> None:
    from runner.discovery.messages import missing_modules, next_step

    errors = [ProbeError(module="wapp.settings", error="ModuleNotFoundError: No module named "
               "'wapp.secrets'", where="wapp/settings.py:16", origin="manage.py")]
    assert missing_modules(errors, local=True) == ["wapp.secrets"]
    assert missing_modules(errors) == []  # not a package to install
    assert "create wapp/secrets.py with a `setup:` step" in next_step("~/w", errors, [], [])
    text = config_text(Learned(shown="~/w", own_missing=["wapp.secrets"]))
    assert yaml.safe_load(text)["setup"] == [
        ("test -f wapp/secrets.py || printf 'SECRET_KEY = \"not-a-production-secret\"\\n' "
        "> wapp/secrets.py")]


def test_learn_retries_with_what_each_failure_teaches(tmp_path: Path) -> None:
    """init's loop: settings the app needs are retried with placeholders; a monorepo's bare
    root moves to the API folder; a source build failure suggests an older Python."""
    from runner.discovery.entrypoints import EntryPoint
    from runner.discovery.guide import learn
    from runner.discovery.messages import DiscoveryFailure
    from runner.errors import RunnerError

    calls: list[tuple[tuple[str, ...], str | None]] = []
    found = spec("flask", "GET /items")

    def discover(workdir: Path, app_env: tuple[str, ...], path: str,
                 working_directory: str | None = None) -> ApiSpec:
        calls.append((app_env, working_directory))
        if working_directory is None:
            raise DiscoveryFailure("m", "h", "", [], [EntryPoint("api.app:app", "x", "api")],
                                   ["api"])
        if not app_env:
            raise DiscoveryFailure("m", "h", "", [ProbeError(module="m", error="KeyError: 'SECRET_KEY'")], [], [])
        return found

    learned, text = learn(discover, {"path": str(tmp_path)})
    assert learned.spec is found and learned.problem is None
    assert calls == [((), None), ((), "api"), (("SECRET_KEY=not-a-production-secret",), "api")]
    assert yaml.safe_load(text)["working-directory"] == "api"

    def broken_install(**_: object) -> ApiSpec:
        raise RunnerError("install", "Dependency installation failed: psycopg2",
                          'A pinned package ... Set `python: "3.8"` ...')

    learned, text = learn(broken_install, {"path": str(tmp_path)})
    assert learned.spec is None and yaml.safe_load(text) == {"python": "3.8"}
    assert "a guess" in text

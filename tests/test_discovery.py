"""Discovery: the probe finds each kind of app and the service turns failures into clear errors."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from runner.discovery import APIDiscoveryService, load_spec_file
from runner.errors import RunnerError
from runner.models import RequestBody, SourceLocation, TargetEnv
from runner.openapi import endpoints_from_openapi, swagger2_to_openapi3
from tests.helpers import FIXTURE_APIS, FIXTURES, REPO


def discover(python: Path, root: Path, app: str | None = None, timeout: float = 60.0):
    env = TargetEnv(python=python, root=root, created=False)
    return APIDiscoveryService(timeout=timeout).discover(env, app=app)


def operations(spec) -> set[str]:
    return {e.key for e in spec.endpoints}


def discover_fixture(python: Path, name: str):
    """Discover the fixture API `name`: its framework, spec source and operations are the
    catalog's (tests/fixtures/apis.toml)."""
    spec = discover(python, FIXTURES / name)
    facts = FIXTURE_APIS[name]
    assert (spec.framework, spec.spec_source) == (facts.framework, facts.spec_source)
    assert operations(spec) == facts.operations
    return spec


def discovery_error(python: Path, root: Path, app: str | None = None) -> RunnerError:
    """The error discovering `root` fails with, a discovery stage's."""
    with pytest.raises(RunnerError) as caught:
        discover(python, root, app)
    assert caught.value.stage == "discovery"
    return caught.value


@pytest.mark.slow
def test_todo_example(fixture_python: Path) -> None:
    spec = discover(fixture_python, REPO / "examples" / "todo-api")
    assert spec.framework == "fastapi"
    assert spec.app_locator == "main:app"
    assert spec.interface == "asgi" and not spec.factory
    assert spec.spec_source == "native"
    assert spec.title == "Todo API" and spec.version == "1.2.0"
    assert len(spec.endpoints) == 11
    for endpoint in spec.endpoints:
        assert endpoint.source is not None
        assert endpoint.source.file == "main.py"
        assert endpoint.source.line is not None and endpoint.source.line > 1


@pytest.mark.slow
def test_fastapi_factory(fixture_python: Path) -> None:
    spec = discover_fixture(fixture_python, "fastapi_factory")
    assert spec.app_locator == "app:create_app" and spec.factory
    assert spec.endpoints[0].source == SourceLocation("app/__init__.py", 19)


@pytest.mark.slow
def test_fastapi_src_layout(fixture_python: Path) -> None:
    spec = discover_fixture(fixture_python, "fastapi_src_layout")
    assert spec.app_locator == "inventory.main:api"
    assert spec.endpoints[0].source == SourceLocation("src/inventory/main.py", 21)
    # The server needs src/ on its path, as the probe did.
    assert spec.server_env == {"PYTHONPATH": str(FIXTURES / "fastapi_src_layout" / "src")}


@pytest.mark.slow
@pytest.mark.parametrize(
    "app, locator, factory",
    [
        ("app", "app:create_app", True),
        ("app:create_app", "app:create_app", True),
        ("app:create_app()", "app:create_app", True),
    ],
)
def test_app_override(fixture_python: Path, app: str, locator: str, factory: bool) -> None:
    spec = discover(fixture_python, FIXTURES / "fastapi_factory", app=app)
    assert (spec.app_locator, spec.factory) == (locator, factory)
    assert len(spec.endpoints) == 4


@pytest.mark.slow
def test_app_override_of_a_module_outside_the_candidates(fixture_python: Path) -> None:
    spec = discover(fixture_python, REPO / "examples", app="todo-api.main:app")
    assert spec.framework == "fastapi" and len(spec.endpoints) == 11


@pytest.mark.slow
def test_flask_synthesized(fixture_python: Path) -> None:
    spec = discover_fixture(fixture_python, "flask_basic")
    assert spec.interface == "wsgi"
    by_key = {e.key: e for e in spec.endpoints}
    # Operation ids are the view names, with the method when a view serves several.
    assert by_key["GET /books"].operation_id == "list_books"
    assert by_key["PUT /books/{book_id}"].operation_id == "book_put"
    (param,) = by_key["GET /books/{book_id}"].parameters
    assert (param.name, param.location, param.schema) == ("book_id", "path", {"type": "integer"})
    listing = by_key["GET /books"]
    assert listing.summary == "List every book."
    assert listing.description == "Returns a JSON array."
    assert listing.source == SourceLocation("app.py", 13)
    # Body fields the view reads from the request, found in its source (types unknown).
    body = by_key["POST /books"].request_body
    assert body == RequestBody("application/json", {"type": "object", "properties": {"title": {}}})


@pytest.mark.slow
def test_no_app(fixture_python: Path) -> None:
    error = discovery_error(fixture_python, FIXTURES / "no_app")
    assert str(FIXTURES / "no_app") in error.message
    assert "main, app, app.main" in error.message
    assert "--app" in error.hint


@pytest.mark.slow
def test_broken_import(fixture_python: Path) -> None:
    error = discovery_error(fixture_python, FIXTURES / "broken_import")
    assert "definitely_not_installed_module" in error.message
    assert "main" in error.message
    assert "Traceback" not in error.message


@pytest.mark.slow
def test_broken_import_explicit(fixture_python: Path) -> None:
    message = discovery_error(fixture_python, FIXTURES / "broken_import", "main:app").message
    assert "main:app" in message
    assert "ModuleNotFoundError: No module named 'definitely_not_installed_module'" in message
    assert "main.py:5" in message


@pytest.mark.slow
def test_explicit_attribute_that_is_not_an_app(fixture_python: Path) -> None:
    with pytest.raises(RunnerError, match="not a known web app|no attribute"):
        discover(fixture_python, FIXTURES / "flask_basic", app="app:_books")


@pytest.mark.slow
def test_probe_timeout(fixture_python: Path) -> None:
    started = time.monotonic()
    with pytest.raises(RunnerError) as caught:
        discover(fixture_python, FIXTURES / "slow_import", timeout=2.0)
    assert caught.value.stage == "discovery"
    assert time.monotonic() - started < 10


def test_swagger2_conversion() -> None:
    doc = {
        "swagger": "2.0",
        "info": {"title": "Pets", "version": "1"},
        "basePath": "/api",
        "paths": {
            "/pets/{pet_id}": {
                "parameters": [
                    {"name": "pet_id", "in": "path", "required": True, "type": "integer"}
                ],
                "put": {
                    "operationId": "put_pet",
                    "parameters": [
                        {
                            "name": "payload",
                            "in": "body",
                            "required": True,
                            "schema": {"$ref": "#/definitions/Pet"},
                        },
                        {"name": "X-Fields", "in": "header", "type": "string", "format": "mask"},
                    ],
                    "responses": {
                        "200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}
                    },
                },
            }
        },
        "definitions": {"Pet": {"type": "object", "properties": {"name": {"type": "string"}}}},
    }
    converted = swagger2_to_openapi3(doc)
    assert converted["openapi"].startswith("3.")
    assert "servers" not in converted  # the basePath is part of each path now
    (endpoint,) = endpoints_from_openapi(converted)
    assert endpoint.key == "PUT /api/pets/{pet_id}"
    assert [(p.name, p.location, p.schema.get("type")) for p in endpoint.parameters] == [
        ("pet_id", "path", "integer"),
        ("X-Fields", "header", "string"),
    ]
    assert endpoint.request_body is not None
    assert endpoint.request_body.required is True
    assert endpoint.request_body.schema["properties"] == {"name": {"type": "string"}}
    assert endpoint.responses["200"]["content"]["application/json"]["schema"]["type"] == "object"


def test_load_spec_file(tmp_path: Path) -> None:
    yaml_path = tmp_path / "openapi.yaml"
    yaml_path.write_text(
        "openapi: 3.0.3\ninfo: {title: T, version: '1'}\npaths:\n  /ping:\n    get:\n      responses: {'200': {description: ok}}\n"
    )
    assert (
        load_spec_file(yaml_path)["paths"]["/ping"]["get"]["responses"]["200"]["description"]
        == "ok"
    )
    json_path = tmp_path / "openapi.json"
    json_path.write_text(json.dumps({"swagger": "2.0", "info": {}, "paths": {}}))
    assert load_spec_file(json_path)["openapi"].startswith("3.")
    (tmp_path / "bad.yaml").write_text("[1, 2")
    with pytest.raises(RunnerError) as caught:
        load_spec_file(tmp_path / "bad.yaml")
    assert caught.value.stage == "discovery"


@pytest.mark.slow
def test_django_drf_spectacular(fixture_python: Path) -> None:
    spec = discover_fixture(fixture_python, "django_drf")
    assert spec.app_locator == "project.wsgi:application"
    assert spec.interface == "wsgi"
    assert spec.server_env == {"DJANGO_SETTINGS_MODULE": "project.settings"}
    assert spec.sqlite_databases == ("default",)
    assert spec.title == "Library"
    sources = {e.key: e.source for e in spec.endpoints}
    assert sources["GET /health/"] == SourceLocation("books/views.py", 23)
    # Discovery does not open the database.
    assert not (FIXTURES / "django_drf" / "db.sqlite3").exists()


@pytest.mark.slow
def test_django_synthesized_with_settings_from_app_env(fixture_python: Path) -> None:
    env = TargetEnv(python=fixture_python, root=FIXTURES / "django_drf", created=False)
    spec = APIDiscoveryService(timeout=60).discover(
        env, app_env={"DJANGO_SETTINGS_MODULE": "project.settings_plain"}
    )
    assert spec.spec_source == "synthesized"
    assert spec.server_env["DJANGO_SETTINGS_MODULE"] == "project.settings_plain"
    by_key = {e.key: e for e in spec.endpoints}
    assert set(by_key) == {
        "GET /health/",
        "GET /api/books/",
        "POST /api/books/",
        "GET /api/books/{pk}/",
        "PUT /api/books/{pk}/",
        "PATCH /api/books/{pk}/",
        "DELETE /api/books/{pk}/",
    }
    assert by_key["GET /health/"].summary == "Liveness probe."
    assert by_key["GET /health/"].source == SourceLocation("books/views.py", 23)
    assert [p.name for p in by_key["PUT /api/books/{pk}/"].parameters] == ["pk"]


@pytest.mark.slow
def test_django_app_override(fixture_python: Path) -> None:
    spec = discover(fixture_python, FIXTURES / "django_drf", app="project.asgi:application")
    assert (spec.app_locator, spec.interface) == ("project.asgi:application", "asgi")


@pytest.mark.slow
def test_django_ninja(fixture_python: Path) -> None:
    spec = discover_fixture(fixture_python, "django_ninja")
    assert spec.title == "Events" and spec.version == "3.1.0"
    assert spec.sqlite_databases == ()


@pytest.mark.slow
def test_plain_django_function_views(fixture_python: Path) -> None:
    # Methods from @require_http_methods / @require_GET, else from `request.method` checks.
    spec = discover_fixture(fixture_python, "django_plain")
    assert spec.sqlite_databases == ("default",)
    by_key = {e.key: e for e in spec.endpoints}
    assert by_key["GET /notes/{note_id}/"].parameters[0].schema == {"type": "integer"}
    body = by_key["POST /notes/"].request_body
    assert body is not None and body.schema["properties"] == {"text": {}}


@pytest.mark.slow
def test_flask_restx_swagger2_converted(fixture_python: Path) -> None:
    spec = discover_fixture(fixture_python, "flask_restx")
    assert spec.openapi["openapi"].startswith("3.")
    by_key = {e.key: e for e in spec.endpoints}
    assert by_key["POST /tasks/"].request_body is not None
    assert by_key["POST /tasks/"].request_body.schema["properties"]["title"]["type"] == "string"
    assert by_key["GET /tasks/"].source == SourceLocation("app.py", 17)


@pytest.mark.slow
def test_starlette_synthesized(fixture_python: Path) -> None:
    spec = discover_fixture(fixture_python, "starlette_basic")
    assert spec.app_locator == "server:app"
    by_key = {e.key: e for e in spec.endpoints}
    assert by_key["GET /v1/items/{item_id}"].parameters[0].schema == {"type": "integer"}
    assert by_key["GET /v1/items/{item_id}"].summary == "One item."


@pytest.mark.slow
def test_litestar(fixture_python: Path) -> None:
    spec = discover_fixture(fixture_python, "litestar_basic")
    assert spec.app_locator == "app:app"
    by_key = {e.key: e for e in spec.endpoints}
    assert by_key["GET /items/{item_id}"].source == SourceLocation("app.py", 34)


def test_probe_that_leaves_no_result(tmp_path: Path) -> None:
    env = TargetEnv(python=Path("/bin/false"), root=tmp_path, created=False)
    with pytest.raises(RunnerError, match="exited with code 1 without a result") as caught:
        APIDiscoveryService(timeout=10).discover(env)
    assert caught.value.stage == "discovery"


def test_missing_interpreter(tmp_path: Path) -> None:
    env = TargetEnv(python=tmp_path / "no-python", root=tmp_path, created=False)
    with pytest.raises(RunnerError, match="Could not start the target interpreter"):
        APIDiscoveryService(timeout=10).discover(env)


@pytest.mark.slow
def test_discover_api_is_async(fixture_python: Path) -> None:
    env = TargetEnv(python=fixture_python, root=FIXTURES / "fastapi_src_layout", created=False)
    spec = asyncio.run(APIDiscoveryService(timeout=60).discover_api(env))
    assert spec.app_locator == "inventory.main:api"


def test_body_fields_read_from_the_view_source() -> None:
    from runner.discovery.probe.synthesis import body_fields

    request: Any = None

    def json_view():
        data = request.get_json(silent=True) or {}
        return data["title"], data.get("author"), request.args.get("page")

    def form_view():
        return request.form["name"], request.form.get("email")

    def no_body():
        return request.args.get("q")

    assert body_fields(json_view) == ("application/json", ["title", "author"])
    assert body_fields(form_view) == ("application/x-www-form-urlencoded", ["name", "email"])
    assert body_fields(no_body) == ("application/json", [])


def _repo(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


FASTAPI_APP = ("from fastapi import FastAPI\n\napp = FastAPI(title='layout')\n\n\n"
               "@app.get('/ping')\ndef ping() -> dict:\n    return {'ok': True}\n")


LAYOUTS = {
    # app/api.py, started by `uvicorn.run("app.api:app")` in main.py (no `app` in main).
    "uvicorn_run_in_main": ({
        "main.py": "import uvicorn\n\nif __name__ == '__main__':\n"
                   "    uvicorn.run('app.api:app', port=8000)\n",
        "app/__init__.py": "", "app/api.py": FASTAPI_APP,
    }, ("fastapi", "app.api:app"), ["GET /ping"]),
    # A Flask-Script style manage.py names no Django settings: the Flask app is found.
    "flask_with_a_manage_py": ({
        "manage.py": "from service.application import create_app\napp = create_app()\n",
        "Dockerfile": "FROM python:3.12\nCMD gunicorn service.wsgi:app -b 0.0.0.0:5000\n",
        "service/__init__.py": "",
        "service/application.py": "from flask import Flask\n\n\ndef create_app():\n"
                                  "    app = Flask('svc')\n    app.add_url_rule('/items', "
                                  "'items', lambda: {'items': []})\n    return app\n",
        "service/wsgi.py": "from service.application import create_app\napp = create_app()\n",
    }, ("flask", "service.wsgi:app"), ["GET /items"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("layout", LAYOUTS)
def test_app_found_in_a_layout(layout: str, fixture_python: Path, tmp_path: Path) -> None:
    files, (framework, locator), keys = LAYOUTS[layout]
    spec = discover(fixture_python, _repo(tmp_path, files))
    assert (spec.framework, spec.app_locator) == (framework, locator)
    assert [e.key for e in spec.endpoints] == keys


@pytest.mark.slow
def test_failed_candidate_is_named_with_its_origin(fixture_python: Path, tmp_path: Path) -> None:
    root = _repo(tmp_path, {
        "run.sh": "#!/bin/sh\nAPP_MODULE=app.api:app\nexec uvicorn \"$APP_MODULE\"\n",
        "app/__init__.py": "",
        "app/api.py": "import not_installed_anywhere\n" + FASTAPI_APP,
    })
    with pytest.raises(RunnerError) as caught:
        APIDiscoveryService(timeout=60).discover(
            TargetEnv(python=fixture_python, root=root, created=False), shown_root="~/my-api")
    message = caught.value.message
    assert message.startswith("No usable web application in ~/my-api: found app.api:app "
                              "(named by run.sh) but importing it failed: ModuleNotFoundError")
    assert str(tmp_path) not in message
    assert "install: {extra: [not_installed_anywhere]}" in caught.value.hint


@pytest.mark.slow
def test_probe_package_runs_on_python_37(tmp_path: Path) -> None:
    """The probe runs in the app's interpreter, Python 3.7 included (no newer syntax)."""
    import glob
    import shutil

    found = sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.7*/bin/python3.7")))
    python = found[0] if found else shutil.which("python3.7")
    if python is None:
        pytest.skip("no Python 3.7 on this machine")
    (tmp_path / "main.py").write_text("x = 1\n")
    with pytest.raises(RunnerError, match="No web application .* found in"):
        APIDiscoveryService(timeout=60).discover(
            TargetEnv(python=Path(python), root=tmp_path, created=False))


def test_the_probe_result_is_read_into_its_records_and_any_other_shape_is_refused() -> None:
    """One declaration on both sides: the probe writes `to_json`, the runner reads `from_json`,
    which refuses what it does not know instead of dropping it."""
    from runner.discovery.probe.result import Found, NotFound, ProbeError, from_json, to_json

    error = ProbeError("app", "KeyError: 'A'", "app.py:1", "Procfile")
    found = Found("fastapi", "main:app", False, "asgi", {"PYTHONPATH": "src"}, "native",
                  {"openapi": "3.1.0", "paths": {}}, ["main"], [error], notes=["n"],
                  sqlite_files={"default": "/db.sqlite3"})
    assert from_json(json.loads(json.dumps(to_json(found)))) == found
    failed = NotFound("no app", ["app"], ["app"], [error], "Traceback ...")
    assert from_json(json.loads(json.dumps(to_json(failed)))) == failed
    refused = [({**to_json(found), "extra": 1}, "does not know: extra"),
               ({**to_json(found), "factory": "no"}, "factory is str"),
               ({**to_json(found), "env": {"A": 1}}, "env holds something other than strings"),
               ({**to_json(failed), "errors": [{"module": "m"}]}, "lacks one of"),
               ({**to_json(failed), "errors": [{"module": "m", "error": "e", "line": 3}]},
                "does not know: line"),
               ({"ok": "yes"}, "ok: true or false"), ([], "ok: true or false")]
    for bad, says in refused:
        with pytest.raises(ValueError, match=says):
            from_json(bad)

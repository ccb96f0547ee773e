"""Fast unit tests of the entry-point readers: where a repository says its app is."""

from __future__ import annotations

from pathlib import Path

from runner.discovery.entrypoints import (
    EntryPoint,
    api_folders,
    commands_in,
    read_entry_points,
)
from runner.discovery.messages import env_gates, missing_modules, next_step, tried
from runner.discovery.probe.result import ProbeError


def make(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def locators(root: Path) -> list[str]:
    return [("/".join(filter(None, (e.folder, e.locator)))) for e in read_entry_points(root)]


APP = "from fastapi import FastAPI\n\napp = FastAPI()\n"


def test_uvicorn_run_with_a_string_names_the_app_module(tmp_path: Path) -> None:
    root = make(tmp_path, {
        "main.py": 'import uvicorn\n\nif __name__ == "__main__":\n'
                   '    uvicorn.run("app.api:app", port=8000)\n',
        "app/__init__.py": "", "app/api.py": APP,
    })
    entries = read_entry_points(root)
    assert entries[0] == EntryPoint("app.api:app", "main.py: uvicorn.run(...)")
    assert "app.api:app" in locators(root)


def test_server_folder_and_app_run(tmp_path: Path) -> None:
    root = make(tmp_path, {"server/app.py": "from flask import Flask\napp = Flask(__name__)\n"
                                            "if __name__ == '__main__':\n    app.run()\n"})
    # No __init__.py: `python server/app.py` runs it with server/ on the path, and so do we.
    assert locators(root)[0] == "server/app:app"
    assert read_entry_points(root)[0].origin == "server/app.py: app.run()"


def test_run_script_app_module_variable(tmp_path: Path) -> None:
    root = make(tmp_path, {
        "run.sh": "#!/bin/sh\nAPP_MODULE=${APP_MODULE:-service.web:api}\n"
                  'APP_MODULE="service.web:api"\nexec gunicorn -k uvicorn.workers.UvicornWorker '
                  '"$APP_MODULE"\n',
        "service/__init__.py": "", "service/web.py": "from fastapi import FastAPI\napi = FastAPI()\n",
    })
    first = read_entry_points(root)[0]
    assert (first.locator, first.origin) == ("service.web:api", "run.sh")


def test_dockerfile_exec_form_and_stale_script(tmp_path: Path) -> None:
    """A script naming a module that is not there is no candidate; the Dockerfile's is."""
    root = make(tmp_path, {
        "runserver.sh": "uvicorn main:app --reload\n",
        "Dockerfile": 'FROM python:3.12\nCMD ["uvicorn", "api.main:app", "--host", "0.0.0.0"]\n',
        "api/__init__.py": "", "api/main.py": APP,
    })
    entries = read_entry_points(root)
    assert entries[0] == EntryPoint("api.main:app", "Dockerfile CMD")
    assert all(e.locator != "main:app" for e in entries)


def test_procfile_gunicorn_chdir_and_compose_command(tmp_path: Path) -> None:
    root = make(tmp_path, {
        "Procfile": "release: python manage.py migrate\nweb: gunicorn --chdir backend "
                    "wsgi:application --bind 0.0.0.0:$PORT\n",
        "backend/wsgi.py": "from flask import Flask\napplication = Flask(__name__)\n",
        "docker-compose.yml": "services:\n  api:\n    command: [\"uvicorn\", \"--factory\", "
                              "\"svc.factory:build\"]\n",
        "svc/__init__.py": "", "svc/factory.py": "from starlette.applications import Starlette\n",
    })
    entries = read_entry_points(root)
    assert entries[0] == EntryPoint("wsgi:application", "Procfile (web)", "backend")
    assert EntryPoint("svc.factory:build()", "docker-compose.yml command (service api)") in entries


def test_flask_cli_forms(tmp_path: Path) -> None:
    make(tmp_path, {"blog/__init__.py": "from flask import Flask\n"
                                        "def create_app():\n    return Flask(__name__)\n"})
    found = list(commands_in("cd . && flask --app blog run --debug", "Makefile", tmp_path))
    assert found == [EntryPoint("blog", "Makefile")]
    found = list(commands_in("FLASK_APP=blog:create_app() flask run", "run.sh", tmp_path))
    assert found == [EntryPoint("blog:create_app()", "run.sh")]


def test_python_manage_py_runserver_in_a_subfolder(tmp_path: Path) -> None:
    make(tmp_path, {"web/manage.py": "import os\n"})
    found = list(commands_in("poetry run python web/manage.py runserver 0:8000", "start.sh",
                             tmp_path))
    assert found == [EntryPoint("manage.py", "start.sh", "web")]


def test_pyproject_task_tables_and_scripts(tmp_path: Path) -> None:
    root = make(tmp_path, {
        "pyproject.toml": '[project]\nname = "x"\n[project.scripts]\nserve = "shop.cli:main"\n'
                          '[tool.poe.tasks]\ndev = "uvicorn shop.http:app --reload"\n',
        "shop/__init__.py": "", "shop/http.py": APP, "shop/cli.py": "import uvicorn\n",
    })
    entries = read_entry_points(root)
    assert entries[0] == EntryPoint("shop.http:app", "pyproject.toml [tool.poe]")
    assert EntryPoint("shop.cli", "pyproject.toml script serve") in entries


def test_fastapi_cli_and_src_layout(tmp_path: Path) -> None:
    make(tmp_path, {"src/inv/__init__.py": "", "src/inv/main.py": APP})
    found = list(commands_in("fastapi run src/inv/main.py", "Dockerfile CMD", tmp_path))
    assert found == [EntryPoint("inv.main", "Dockerfile CMD", "src")]


def test_factories_and_assignments_come_after_run_calls(tmp_path: Path) -> None:
    root = make(tmp_path, {
        "app/__init__.py": "from flask import Flask\ndef create_app():\n    return Flask('x')\n",
        "wsgi.py": "from app import create_app\napp = create_app()\n",
        "tests/test_app.py": APP,  # tests are never candidates
    })
    found = locators(root)
    assert "app:create_app()" in found
    assert all(not f.startswith("tests") for f in found)


def test_monorepo_api_folders(tmp_path: Path) -> None:
    root = make(tmp_path, {
        "README.md": "monorepo\n",
        "frontend/package.json": "{}",
        "services/orders/requirements.txt": "fastapi\n",
        "services/orders/main.py": APP,
        "my-api/pyproject.toml": "[tool.poetry]\n",
        "my-api/my_api/__init__.py": "from flask import Flask\n",
        "my-api/my_api/sub/requirements.txt": "flask\n",
    })
    assert api_folders(root) == ["my-api", "services/orders"]


def test_messages_name_missing_modules_env_gates_and_folders() -> None:
    errors = [
        ProbeError("app.api:app", "ModuleNotFoundError: No module named 'jose.jwt'",
                   "app/core/security.py:3", "main.py: uvicorn.run(...)"),
        ProbeError("mysite.settings",
                   "ImproperlyConfigured: Set the DATABASE_URL environment variable",
                   "mysite/settings.py:12", "manage.py"),
    ]
    assert tried(errors[0]) == (
        "found app.api:app (named by main.py: uvicorn.run(...)) but importing it failed: "
        "ModuleNotFoundError: No module named 'jose.jwt' (at app/core/security.py:3)")
    assert missing_modules(errors) == ["jose"]
    assert env_gates(errors) == ["DATABASE_URL"]
    assert env_gates([ProbeError(module="m", error="KeyError: 'SECRET_KEY'")]) == ["SECRET_KEY"]
    pydantic = ("ValidationError: 2 validation errors for Settings | db_url | field required "
                "(type=value_error.missing) | API_KEY | Field required [type=missing]")
    assert env_gates([ProbeError(module="m", error=pydantic)]) == ["DB_URL", "API_KEY"]
    step = next_step("~/code/shop", errors[:1], [], [])
    assert "install: {extra: [jose]}" in step
    assert "DATABASE_URL: ..." in next_step("~/code/shop", errors, [], [])
    step = next_step("~/code/mono", [], ["my-api", "svc"], [])
    assert "--working-directory my-api" in step and "api-mcp-test init ~/code/mono" in step


def test_a_package_that_imports_itself_by_an_inner_name_is_imported_from_above_it(
        tmp_path: Path) -> None:
    """todos/app/main.py says `from app.api import router` (the Dockerfile sets
    PYTHONPATH=todos): the app is app.main:app from the folder todos, not todos.app.main."""
    root = make(tmp_path, {
        "todos/__init__.py": "", "todos/app/__init__.py": "", "todos/app/api.py": "",
        "todos/app/main.py": "import uvicorn\nfrom fastapi import FastAPI\n\n"
                             "from app.api import router\n\napp = FastAPI()\n\n"
                             "if __name__ == '__main__':\n    uvicorn.run(app)\n",
        "shop/__init__.py": "",
        "shop/web.py": "from fastapi import FastAPI\nfrom shop import models\n\napp = FastAPI()\n",
    })
    entries = {e.locator: e.folder for e in read_entry_points(root)}
    assert entries["app.main:app"] == "todos"
    assert entries["shop.web:app"] == ""  # a package that imports itself by its full name

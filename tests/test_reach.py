"""Real repositories as they are: a corpus of small repositories, each with one layout, lock
or trap that stopped zero-config runs (issue 14), run end to end through the CLI.

Each is written here (not copied from a real project). Where installs are not the point, the
shared fixture environment is passed with --python.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import run_cli

FLASK_ITEMS = '''from flask import Flask, jsonify

app = Flask(__name__)
ITEMS = [{"id": 1, "name": "first"}]


@app.get("/items")
def list_items():
    return jsonify(ITEMS)
'''
FASTAPI_PING = '''from fastapi import FastAPI

app = FastAPI(title="layout")


@app.get("/ping")
def ping() -> dict:
    return {"ok": True}
'''

# Layouts discovery must read zero-config: {name: (files, expected app locator)}.
LAYOUTS = {
    "uvicorn-run-in-main": ({
        "main.py": "import uvicorn\n\nif __name__ == '__main__':\n"
                   "    uvicorn.run('app.api:app', host='0.0.0.0', port=8000)\n",
        "app/__init__.py": "", "app/api.py": FASTAPI_PING,
    }, "app.api:app"),
    "server-folder": ({"server/app.py": FLASK_ITEMS + "\nif __name__ == '__main__':\n"
                                                      "    app.run()\n"}, "app:app"),
    "run-sh-app-module": ({
        "run.sh": "#!/bin/sh\nAPP_MODULE=${APP_MODULE:-service.http:api}\n"
                  "exec gunicorn -k uvicorn.workers.UvicornWorker \"$APP_MODULE\"\n",
        "service/__init__.py": "",
        "service/http.py": FASTAPI_PING.replace("app = ", "api = ").replace("@app.", "@api."),
    }, "service.http:api"),
    "procfile": ({"Procfile": "web: gunicorn backend.wsgi:application\n",
                  "backend/__init__.py": "",
                  "backend/wsgi.py": FLASK_ITEMS.replace("app = Flask", "application = Flask")
                  .replace("@app.", "@application.")}, "backend.wsgi:application"),
    "dockerfile-cmd": ({"runserver.sh": "uvicorn main:app --reload\n",  # stale: no main.py
                        "Dockerfile": 'FROM python:3.12\nCMD ["uvicorn", "api.main:app"]\n',
                        "api/__init__.py": "", "api/main.py": FASTAPI_PING}, "api.main:app"),
    "compose-command": ({"docker-compose.yml": "services:\n  web:\n    command: flask --app "
                                               "webapp run --host 0.0.0.0\n",
                         "webapp/__init__.py": "from flask import Flask\n\n\ndef create_app():\n"
                                               "    app = Flask('w')\n    app.add_url_rule("
                                               "'/items', 'items', lambda: {'items': []})\n"
                                               "    return app\n"}, "webapp:create_app"),
    "flask-with-manage-py": ({"manage.py": "from blog import create_app\napp = create_app()\n",
                              "blog/__init__.py": "from flask import Flask\n\n\n"
                                                  "def create_app():\n    app = Flask('b')\n"
                                                  "    app.add_url_rule('/posts', 'posts', "
                                                  "lambda: {'posts': []})\n    return app\n"},
                             "blog:create_app"),
}


@pytest.mark.slow
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layout_is_zero_config_report(layout: str, fixture_python: Path, tmp_path: Path) -> None:
    files, locator = LAYOUTS[layout]
    repo = make_repo(tmp_path / layout, files)
    out = tmp_path / "out"
    done = run_cli("test", str(repo), "--python", str(fixture_python), "--output-dir", str(out),
                   "-q", timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["api_info"]["app"] == locator
    assert report["summary"]["passed"] >= 1


@pytest.mark.slow
def test_monorepo(fixture_python: Path, tmp_path: Path) -> None:
    """One API in a subfolder is found zero-config; with two that fail to import, the message
    names the user's folder and the API folders, and suggests working-directory."""
    api = {"orders-api/requirements.txt": "fastapi\n", "orders-api/orders/__init__.py": "",
           "orders-api/orders/main.py": FASTAPI_PING}
    one = make_repo(tmp_path / "one", {"README.md": "A monorepo.\n", "web/package.json": "{}",
                                       **api})
    out = tmp_path / "out"
    done = run_cli("test", str(one), "--python", str(fixture_python), "--output-dir", str(out),
                   "-q", timeout=400)
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "report.json").read_text())["api_info"]["app"] == "orders.main:app"
    broken = {name: text.replace("from fastapi", "import not_installed_here\nfrom fastapi")
              for name, text in api.items()}
    two = make_repo(tmp_path / "two", {**broken, **{k.replace("orders-api", "billing-api"): v
                                                    for k, v in broken.items()}})
    done = run_cli("test", str(two), "--python", str(fixture_python), "--output-dir",
                   str(tmp_path / "out2"), "-q", timeout=400)
    assert done.returncode == 3
    assert f"No usable web application in {two}: found orders.main" in done.stderr
    assert "API folders (billing-api, orders-api)" in done.stderr
    assert "--working-directory billing-api" in done.stderr


@pytest.mark.slow
def test_install_without_dependency_file_extra_pin_and_setup_tools(tmp_path: Path) -> None:
    """No dependency file: requirements come from the imports; `install.extra` pins on top;
    `setup` commands see the target's pip and python first on PATH and the app folder on
    PYTHONPATH (`import webapp` works from another folder)."""
    seen = tmp_path / "seen"
    seen.mkdir()
    repo = make_repo(tmp_path / "tutorial", {
        "webapp.py": FLASK_ITEMS,
        ".api-mcp-test.yml": "install:\n  extra: [\"itsdangerous==2.1.2\"]\nsetup:\n"
                             f"  - pip --version > {seen}/pip.txt\n"
                             "  - cd / && python -c 'import webapp, itsdangerous, sys; "
                             f"print(sys.prefix, itsdangerous.__version__)' > {seen}/setup.txt\n",
    })
    report = zero_config_report(repo, tmp_path)
    cache = tmp_path / "cache"
    assert "the imports (no dependency file)" in install_note(report)
    assert "extra itsdangerous==2.1.2" in install_note(report)
    venv = next(cache.rglob("pyvenv.cfg")).parent
    assert str(venv) in (seen / "pip.txt").read_text()  # the target's pip, not the runner's
    prefix, version = (seen / "setup.txt").read_text().split()
    assert (Path(prefix), version) == (venv, "2.1.2")


def install_note(report: dict) -> str:
    """What the report says about the install (where its requirements came from, how)."""
    return next(s for s in report["stages"] if s["stage"] == "install")["note"]


def make_repo(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if name.endswith(".sh"):
            os.chmod(path, 0o755)
    return root


@pytest.mark.slow
def test_django_user_made_by_setup_logs_in(fixture_python: Path, tmp_path: Path) -> None:
    """The README's fixed test user made by a setup step: setup writes it into the project's
    sqlite file, and the app is served from a throwaway copy of that file (not an empty one)."""
    app = tmp_path / "journal"
    shutil.copytree(Path(__file__).parent / "fixtures" / "django_token_auth", app,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (app / ".api-mcp-test.yml").write_text(
        "env: {DJANGO_SECRET_KEY: not-a-production-secret, DEBUG: 'false'}\n"
        "setup:\n  - python manage.py migrate --noinput\n"
        "  - python manage.py shell -c \"from django.contrib.auth.models import User; "
        "User.objects.create_user('tester', password='tester-pass-123')\"\n"
        "auth:\n  login: {operation: POST /api/token/, json: {username: tester, "
        "password: tester-pass-123}}\n  token: $.token\n  scheme: Token\n")
    out = tmp_path / "out"
    done = run_cli("test", str(app), "--python", str(fixture_python), "--output-dir", str(out),
                   "-q", timeout=600)
    report = json.loads((out / "report.json").read_text())
    assert [(c["step"], c["status_code"]) for c in report["auth"]["calls"]] == [("login", 200)]
    me = next(r for r in report["test_results"] if r["endpoint"] == "/api/me/")
    assert me["calls"][0]["body"]["username"] == "tester", done.stderr
    assert not (app / "journal.sqlite3").exists()  # the user's folder is untouched


SPEC = {"openapi": "3.0.3", "info": {"title": "from the file", "version": "1"},
        "paths": {"/ping": {"get": {"operationId": "ping", "responses": {
            "200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "object"}}}}}}}}}


@pytest.mark.slow
def test_spec_file_written_by_setup_wins_over_a_broken_native_spec(fixture_python: Path,
                                                                   tmp_path: Path) -> None:
    """`spec:` names a file a setup step writes (refused before setup until now), and the
    app's own document, which raises, is never read."""
    repo = make_repo(tmp_path / "api", {
        "main.py": FASTAPI_PING + "\n\ndef broken():\n    raise RuntimeError('no spec')\n\n\n"
                                  "app.openapi = broken\n",
        "docs/spec.template.json": json.dumps(SPEC),
        ".api-mcp-test.yml": "setup:\n  - cp docs/spec.template.json generated-openapi.json\n"
                             "spec: generated-openapi.json\n",
    })
    out = tmp_path / "out"
    done = run_cli("test", str(repo), "--python", str(fixture_python), "--output-dir", str(out),
                   "-q", timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["api_info"]["title"] == "from the file"
    assert report["api_info"]["spec_source"] == "file"
    assert report["summary"]["passed"] == 1


GATED_DJANGO = {
    "manage.py": "import os\nimport sys\n\nif __name__ == '__main__':\n"
                 "    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')\n"
                 "    from django.core.management import execute_from_command_line\n"
                 "    execute_from_command_line(sys.argv)\n",
    "shop/__init__.py": "",
    # Settings kept out of git (`secrets.py` is in .gitignore) and read from the environment.
    "shop/settings.py": "import os\n\nfrom .secrets import *  # noqa\n\n"
                        "SECRET_KEY = os.environ['SECRET_KEY']\n"
                        "DEBUG = bool(int(os.environ['DEBUG']))\n"
                        "ALLOWED_HOSTS = os.environ['ALLOWED_HOSTS'].split(' ')\n"
                        "INSTALLED_APPS = ['django.contrib.contenttypes', 'django.contrib.auth']\n"
                        "ROOT_URLCONF = 'shop.urls'\n"
                        # The docker-compose service `db`, which does not run here.
                        "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', "
                        "'NAME': 'shop', 'HOST': 'db', 'PORT': 5432, 'PASSWORD': DB_PASSWORD, "
                        "'OPTIONS': {'sslmode': 'disable'}}}\n",
    "shop/urls.py": "from django.contrib.auth.models import User\nfrom django.http import "
                    "JsonResponse\nfrom django.urls import path\n\n\n"
                    "def users(request):\n    return JsonResponse({'count': User.objects.count()})"
                    "\n\n\nurlpatterns = [path('users/', users)]\n",
    "shop/wsgi.py": "import os\n\nfrom django.core.wsgi import get_wsgi_application\n\n"
                    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')\n"
                    "application = get_wsgi_application()\n",
    ".gitignore": "shop/secrets.py\n",
}


@pytest.mark.slow
def test_settings_gates_are_opened_with_placeholders(fixture_python: Path, tmp_path: Path) -> None:
    """Settings that refuse to import without SECRET_KEY / DEBUG (read as an int) /
    ALLOWED_HOSTS (split on spaces) and a secrets module kept out of git (one of whose names
    the settings use), and a PostgreSQL database on a docker-compose host: zero-config, the
    app is imported with placeholders, served on a migrated throwaway sqlite database and
    tested; the report says so, and the user's folder is untouched."""
    repo = make_repo(tmp_path / "shop", GATED_DJANGO)
    out = tmp_path / "out"
    done = run_cli("test", str(repo), "--python", str(fixture_python), "--output-dir", str(out),
                   "-q", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["passed"] >= 1
    note = next(n for n in report["notes"] if "placeholder values" in n)
    assert "SECRET_KEY, DEBUG, ALLOWED_HOSTS" in note and "shop/secrets.py" in note
    assert not (repo / "shop" / "secrets.py").exists()
    assert any("database 'default' (postgresql at db:5432) does not answer" in n
               for n in report["notes"])
    users = next(r for r in report["test_results"] if r["endpoint"] == "/users/")
    # The auth tables were migrated, and the run created its user in them (a synthesized
    # Django spec cannot tell which views want a login), saying so.
    assert users["calls"][0]["body"] == {"count": 1}
    assert any("your own database is never written" in n for n in report["notes"])
    # `init` writes the variables (the module stays a setup step: its folder is the user's).
    done = run_cli("init", str(repo), "--python", str(fixture_python), "-o", "-",
                   timeout=600)
    assert "SECRET_KEY" in done.stdout and "shop/secrets.py" in done.stdout, done.stderr


def committed_and_tested(repo: Path, day: str, tmp_path: Path) -> dict:
    """Commit `repo` as of `day` (YYYY-MM-DD), test it zero-config (it must pass) and return
    its report."""
    dated = {"GIT_AUTHOR_DATE": f"{day}T12:00:00Z", "GIT_COMMITTER_DATE": f"{day}T12:00:00Z",
             "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
             "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "old"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True,
                       env={**os.environ, **dated})
    return zero_config_report(repo, tmp_path)


def zero_config_report(repo: Path, tmp_path: Path) -> dict:
    """Test `repo` zero-config, with an environment cache of its own in `tmp_path` (it must
    pass), and return its report."""
    out = tmp_path / "out"
    done = run_cli("test", str(repo), "--output-dir", str(out), "-q", timeout=900,
                   env={"API_MCP_TEST_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((out / "report.json").read_text())


@pytest.mark.slow
def test_old_unpinned_code_installs_as_of_its_commit_and_gets_undeclared_imports(
        tmp_path: Path) -> None:
    """Code of mid-2021 that says only `flask` (and imports a module nothing declares): today's
    Flask has no `Markup`, so the install resolves as of the commit's date; the undeclared
    import is installed during discovery. Both are said in the report."""
    repo = make_repo(tmp_path / "old", {
        "requirements.txt": "flask\n",
        "app.py": FLASK_ITEMS.replace("from flask import Flask, jsonify",
                                      "import humanize\nfrom flask import Flask, Markup, jsonify"),
    })
    report = committed_and_tested(repo, "2021-06-01", tmp_path)
    assert "resolved as of the commit's date 2021-06-01 (flask unbounded)" in install_note(report)
    assert any("humanize (imported, declared in no dependency file) were installed" in note
               for note in report["notes"])
    assert report["summary"]["passed"] >= 1


@pytest.mark.slow
def test_sqlalchemy_tables_from_migrations_exist_on_the_placeholder_database(
        tmp_path: Path) -> None:
    """The engine reads DATABASE_URL (a KeyError without it) and the tables come from
    migrations that nothing runs: zero-config, the placeholder sqlite database gets the
    models' tables, so the list answers 200 instead of 500 "no such table"."""
    repo = make_repo(tmp_path / "inventory", {
        "requirements.txt": "fastapi\nsqlalchemy\n",
        "db.py": "import os\n\nfrom sqlalchemy import Column, Integer, String, create_engine\n"
                 "from sqlalchemy.orm import declarative_base, sessionmaker\n\n"
                 "engine = create_engine(os.environ['DATABASE_URL'])\n"
                 "Session = sessionmaker(bind=engine)\nBase = declarative_base()\n\n\n"
                 "class Item(Base):\n    __tablename__ = 'items'\n"
                 "    id = Column(Integer, primary_key=True)\n    name = Column(String)\n",
        "main.py": "from fastapi import FastAPI\n\nfrom db import Item, Session\n\n"
                   "app = FastAPI()\n\n\n@app.get('/items')\ndef list_items() -> list:\n"
                   "    with Session() as session:\n"
                   "        return [{'id': i.id, 'name': i.name} for i in session.query(Item)]\n",
    })
    report = zero_config_report(repo, tmp_path)
    assert any("the 1 table(s) of the app's SQLAlchemy models were created" in note
               for note in report["notes"])
    items = next(r for r in report["test_results"] if r["endpoint"] == "/items")
    assert items["outcome"] == "passed" and items["calls"][0]["body"] == []
    assert not (repo / "api-mcp-test.sqlite3").exists()


@pytest.mark.slow
def test_an_old_pin_is_built_with_the_build_tools_of_its_commit(tmp_path: Path) -> None:
    """A pinned package whose setup.py imports what today's setuptools dropped
    (`convert_path`): the install retries with the build tools as of the commit's date."""
    repo = make_repo(tmp_path / "legacy", {
        "requirements.txt": "fastapi==0.109.0\n./vendor/oldpkg\n",
        "vendor/oldpkg/setup.py": "from setuptools import convert_path, setup\n\n"
                                  "setup(name='oldpkg', version='1.0', py_modules=['oldpkg'])\n",
        "vendor/oldpkg/oldpkg.py": "GREETING = 'hello'\n",
        "main.py": FASTAPI_PING.replace("from fastapi import FastAPI",
                                        "from fastapi import FastAPI\nimport oldpkg"),
    })
    report = committed_and_tested(repo, "2024-01-15", tmp_path)
    assert "built with the build tools of the commit's date 2024-01-15" in install_note(report)


@pytest.mark.slow
def test_an_import_error_names_the_users_folder_not_the_runs_copy(fixture_python: Path,
                                                                  tmp_path: Path) -> None:
    """A credentials file kept out of git, opened at import: the error names the file in the
    user's folder (the run works on a copy in a temporary workspace)."""
    repo = make_repo(tmp_path / "drive", {
        "app.py": "import json\nimport os\n\nCREDENTIALS = json.load(open(os.path.join("
                  "os.path.dirname(os.path.abspath(__file__)), 'drive.json')))\n" + FLASK_ITEMS,
    })
    done = run_cli("test", str(repo), "--python", str(fixture_python), "--output-dir",
                   str(tmp_path / "out"), "-q", timeout=400)
    assert done.returncode == 3
    assert f"'{repo}/drive.json'" in done.stderr, done.stderr
    assert "api-mcp-test-" not in done.stderr.split("Reports:")[0]


NOTES_MAIN_BLOCK = '''import sqlite3

from flask import Flask, jsonify

DB = "notes.db"
app = Flask(__name__)


def init_db():
    with sqlite3.connect(DB) as db:
        db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT)")


@app.get("/notes")
def notes():
    with sqlite3.connect(DB) as db:
        return jsonify([{"id": i, "text": t} for i, t in db.execute("SELECT id, text FROM notes")])


if __name__ == "__main__":
    init_db()
    app.run(debug=True)
'''


@pytest.mark.slow
def test_main_block_start_up_steps_run_before_serving(fixture_python: Path,
                                                      tmp_path: Path) -> None:
    """The database is made in `if __name__ == "__main__":` before `app.run()`: served by
    import, that block never runs, and "no such table" would be the run's mistake reported as
    the API's. Its start-up steps run once in the run's copy; the report says so."""
    repo = make_repo(tmp_path / "notes", {"notes.py": NOTES_MAIN_BLOCK})
    out = tmp_path / "out"
    done = run_cli("test", str(repo), "--python", str(fixture_python), "--output-dir", str(out),
                   "-q", timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "report.json").read_text())
    assert any("its start-up steps (init_db()) were run in the run's copy" in note
               for note in report["notes"])
    assert report["test_results"][0]["calls"][0]["body"] == []
    assert not (repo / "notes.db").exists()


def test_only_the_calls_before_the_server_starts_are_start_up_steps() -> None:
    from runner.discovery.probe import startup

    def steps(block: str) -> list[str]:
        tree = ast.parse(block)
        guard = next(n for n in tree.body if startup._is_main_guard(n))
        return [startup._text(s) for s in startup._steps(guard.body)]

    assert steps("if __name__ == '__main__':\n    seed()\n    with app.app_context():\n"
                 "        db.create_all()\n    port = 5000\n    app.run(port=port)\n") == [
        "seed()", "create_all()"]
    assert steps("if '__main__' == __name__:\n    uvicorn.run('main:app')\n    init_db()\n") == []
    # A command-line script starts no server: nothing of it runs.
    assert steps("if __name__ == '__main__':\n    delete_everything()\n") == []


@pytest.mark.slow
def test_an_empty_database_url_default_gets_an_async_sqlite_database(tmp_path: Path) -> None:
    """A settings field defaulting to "" handed to an async engine kept in a dict: SQLAlchemy's
    error names no setting, the failing line does. The setting gets an aiosqlite URL (the
    driver, declared nowhere, is installed) and the models' tables are made there."""
    repo = make_repo(tmp_path / "tasks", {
        "requirements.txt": "fastapi\nsqlalchemy[asyncio]\n",
        "settings.py": "import os\n\n\nclass Settings:\n"
                       "    database_url = os.environ.get('DATABASE_URL', '')\n\n\n"
                       "settings = Settings()\n",
        "db.py": "from sqlalchemy import Column, Integer, String, select\n"
                 "from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine\n"
                 "from sqlalchemy.orm import declarative_base\n\nfrom settings import settings\n"
                 "\nengines = {\n    'writer': create_async_engine(\n"
                 "        settings.database_url, pool_recycle=3600\n    ),\n}\n"
                 "Base = declarative_base()\n\n\nclass Task(Base):\n    __tablename__ = 'tasks'\n"
                 "    id = Column(Integer, primary_key=True)\n    title = Column(String)\n\n\n"
                 "async def titles() -> list:\n"
                 "    async with AsyncSession(engines['writer']) as session:\n"
                 "        return [t.title for t in (await session.execute(select(Task))).scalars()]\n",
        "main.py": "from fastapi import FastAPI\n\nfrom db import titles\n\napp = FastAPI()\n\n\n"
                   "@app.get('/tasks')\nasync def list_tasks() -> list:\n    return await titles()\n",
    })
    report = zero_config_report(repo, tmp_path)
    note = next(n for n in report["notes"] if "did not import as the repository is" in n)
    assert "aiosqlite" in note and "DATABASE_URL" in note
    tasks = next(r for r in report["test_results"] if r["endpoint"] == "/tasks")
    assert tasks["outcome"] == "passed" and tasks["calls"][0]["body"] == []

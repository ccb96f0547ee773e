"""Logins without open sign-up (issue 14): the API wants a logged-in user but offers no sign-up
(users are made in the admin or a shell). Zero-config, the run creates a user in its own
throwaway database, the way the app makes users, and logs in with it: through the login
operation, or (Django without a usable one) with credentials made for that user.

Each project is written here (not copied from a real one), end to end through the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.auth import plan
from runner.auth.seed import seeded_from
from runner.auth.user import ThrowawayUser, credentials_body
from runner.models import ApiSpec, Endpoint
from tests.helpers import run_cli
from tests.test_reach import make_repo

MANAGE = ("import os\nimport sys\n\nif __name__ == '__main__':\n"
          "    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'notes.settings')\n"
          "    from django.core.management import execute_from_command_line\n"
          "    execute_from_command_line(sys.argv)\n")
WSGI = ("import os\n\nfrom django.core.wsgi import get_wsgi_application\n\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'notes.settings')\n"
        "application = get_wsgi_application()\n")
SETTINGS = '''from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "not-a-production-secret"
DEBUG = False
ALLOWED_HOSTS = ["notes.example.com"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions",
                  "rest_framework", "rest_framework.authtoken"{extra_apps}]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware",
              "django.middleware.csrf.CsrfViewMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware"]
ROOT_URLCONF = "notes.urls"
WSGI_APPLICATION = "notes.wsgi.application"
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3",
                         "NAME": BASE_DIR / "notes.sqlite3"}}}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
REST_FRAMEWORK = {{
    "DEFAULT_AUTHENTICATION_CLASSES": ["{authentication}"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],{schema}
}}
'''
# Who is logged in, and notes kept in memory: a list and a create that changes state (POST).
VIEWS = '''from django.urls import path
from rest_framework.decorators import api_view
from rest_framework.response import Response
{imports}

NOTES = []


@api_view(["GET"])
def me(request):
    return Response({{"username": request.user.get_username(), "staff": request.user.is_staff}})


@api_view(["GET", "POST"])
def notes(request):
    if request.method == "POST":
        NOTES.append(str(request.data.get("text", "")))
        return Response({{"id": len(NOTES)}})
    return Response([{{"id": i + 1, "text": t}} for i, t in enumerate(NOTES)])


urlpatterns = [path("api/me/", me), path("api/notes/", notes){routes}]
'''


def django_notes(root: Path, authentication: str, imports: str = "", routes: str = "",
                 spectacular: bool = False) -> Path:
    schema = ('\n    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",'
              if spectacular else "")
    return make_repo(root, {
        "manage.py": MANAGE, "notes/__init__.py": "", "notes/wsgi.py": WSGI,
        "notes/settings.py": SETTINGS.format(
            authentication=authentication, schema=schema,
            extra_apps=', "drf_spectacular"' if spectacular else ""),
        "notes/urls.py": VIEWS.format(imports=imports, routes=routes),
    })


def results_of(out: Path) -> tuple[dict, dict[str, dict]]:
    report = json.loads((out / "report.json").read_text())
    return report, {f"{r['method']} {r['endpoint']}": r for r in report["test_results"]}


@pytest.mark.slow
def test_django_token_login_without_sign_up_logs_in_a_created_user(
        fixture_python: Path, tmp_path: Path) -> None:
    """DRF's token login (`POST /api/token-auth/`, found by its words) and no sign-up: a
    superuser is created in the throwaway database through the user model's manager, logs in
    there, and every protected operation is tested with its token."""
    repo = django_notes(
        tmp_path / "notes", "rest_framework.authentication.TokenAuthentication",
        imports="from rest_framework.authtoken.views import obtain_auth_token",
        routes=', path("api/token-auth/", obtain_auth_token)', spectacular=True)
    out = tmp_path / "out"
    done = run_cli("test", str(repo), "--python", str(fixture_python), "--output-dir", str(out),
                   "-q", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    report, results = results_of(out)
    auth = report["auth"]
    assert auth["ok"] and auth["scheme"] == "Token", auth
    assert auth["user_created"].startswith("create_superuser on the user model auth.User")
    assert (auth["calls"][0]["step"], auth["calls"][0]["status_code"]) == ("login", 200)
    me = results["GET /api/me/"]
    assert me["outcome"] == "passed"
    assert me["calls"][0]["body"] == {"username": auth["user"], "staff": True}
    assert results["POST /api/notes/"]["calls"][0]["status_code"] == 200
    assert any("a user was created in the run's throwaway database" in n
               for n in report["notes"])
    assert "a user was created in the run's throwaway database" in (
        out / "report.md").read_text()
    assert not (repo / "notes.sqlite3").exists()  # the user's folder is untouched


@pytest.mark.slow
def test_django_session_only_api_gets_a_session_made_for_a_created_user(
        fixture_python: Path, tmp_path: Path) -> None:
    """Session authentication and no login operation at all (users log in through the admin):
    a session is made for a created user, with a CSRF pair, so that a POST is judged too."""
    repo = django_notes(tmp_path / "notes",
                        "rest_framework.authentication.SessionAuthentication")
    out = tmp_path / "out"
    done = run_cli("test", str(repo), "--python", str(fixture_python), "--output-dir", str(out),
                   "-q", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    report, results = results_of(out)
    assert report["auth"]["mode"] == "minted" and report["auth"]["minted"] == "a Django session"
    assert results["GET /api/me/"]["calls"][0]["body"]["username"] == report["auth"]["user"]
    created = results["POST /api/notes/"]["calls"][0]
    assert created["status_code"] == 200, created  # the CSRF check passed
    assert report["summary"]["skipped"] == 0


# -- the plan and the bodies, without a server --------------------------------------------------

def _spec(endpoints: list[Endpoint], framework: str = "fastapi",
          source: str = "native", secured: bool = True) -> ApiSpec:
    components = {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}} \
        if secured else {}
    return ApiSpec(framework=framework, app_locator="app:app", endpoints=endpoints,
                   openapi={"openapi": "3.0.3", "paths": {}, "components": components},
                   spec_source=source)  # type: ignore[arg-type]


def _post(path: str) -> Endpoint:
    return Endpoint(method="POST", path=path, operation_id=path.strip("/").replace("/", "_"))


def test_a_login_without_sign_up_is_planned_only_when_a_user_can_be_created() -> None:
    spec = _spec([_post("/token-auth/"), _post("/notes")])
    assert plan.automatic_plan(spec)[0] is None  # no sign-up, nothing to create one with
    seeded, _ = plan.automatic_plan(spec, seed=True)
    assert seeded is not None and seeded.register is None
    assert seeded.login is not None and seeded.login.path == "/token-auth/"
    # Words name the login, but not a refresh or a password reset.
    assert plan.login_operation(_spec([_post("/token_obtain_pair/")])) is not None
    assert plan.login_operation(_spec([_post("/token-refresh/")])) is None
    # Django without a login operation: credentials made for the user (a synthesized spec
    # shows no security, so it is tried there too); other frameworks: nothing to do.
    django = _spec([_post("/notes")], framework="django", source="synthesized", secured=False)
    assert plan.automatic_plan(django, seed=True)[0] is not None
    assert plan.automatic_plan(_spec([_post("/notes")], secured=False), seed=True)[0] is None


def test_a_user_named_by_email_logs_in_with_the_email_in_an_untyped_body() -> None:
    """A synthesized login knows no fields: the name it guesses carries the email when the
    user model is named by it (Django's USERNAME_FIELD = "email")."""
    user = ThrowawayUser.generate()
    body = credentials_body(None, _spec([]), user, full=False, login_name="email")
    assert body["username"] == user.email and body["password"] == user.password
    seeded = seeded_from({"ok": True, "login_name": "email", "how": "create_user",
                          "minted": [{"how": "a DRF token",
                                      "headers": {"Authorization": "Token k"}}]}, user)
    assert seeded.login_name == "email" and seeded.minted[0].headers == {
        "Authorization": "Token k"}


@pytest.mark.parametrize("minted", [{"headers": ["Authorization"]}, {"cookies": "sid=1"}, 5])
def test_a_seed_result_of_another_shape_is_a_failed_seed_not_a_crash(minted: object) -> None:
    """The app's interpreter writes the seed's result: whatever its shape, the run gets a
    RunnerError it reports (the login then goes on without a created user)."""
    from runner.errors import RunnerError

    result = {"ok": True, "minted": minted if minted == 5 else [minted]}
    with pytest.raises(RunnerError, match="a result of another shape"):
        seeded_from(result, ThrowawayUser.generate())


def test_a_django_user_is_made_only_when_every_database_is_a_throwaway_one() -> None:
    """A database router may send users to any alias: one the run does not replace (a server
    that answers) rules out creating a user, even when "default" is the run's own."""
    from types import SimpleNamespace

    from runner.discovery.probe.adapters.django import users_can_be_made

    auth = ["django.contrib.contenttypes", "django.contrib.auth"]
    two = {"default": {}, "users": {}}
    assert users_can_be_made(SimpleNamespace(DATABASES=two, INSTALLED_APPS=auth),
                             ["default", "users"])
    assert not users_can_be_made(SimpleNamespace(DATABASES=two, INSTALLED_APPS=auth),
                                 ["default"])
    assert not users_can_be_made(SimpleNamespace(DATABASES={"default": {}},
                                                 INSTALLED_APPS=auth[:1]), ["default"])
    assert not users_can_be_made(SimpleNamespace(DATABASES={}, INSTALLED_APPS=auth), [])


# A FastAPI app on SQLAlchemy: users made by an admin script (no sign-up), created inactive,
# logging in by email through OAuth2's `username` form field; passwords salted and hashed by
# the app's own function. The engine's sqlite file is in the repository's folder.
ACCOUNTS_DB = '''import hashlib
import os

from sqlalchemy import Boolean, Column, Integer, String, create_engine
from sqlalchemy.orm import declarative_base, sessionmaker

engine = create_engine("sqlite:///./accounts.db", connect_args={"check_same_thread": False})
Session = sessionmaker(bind=engine)
Base = declarative_base()


class Account(Base):
    __tablename__ = "accounts"
    id = Column(Integer, primary_key=True)
    email = Column(String(120), unique=True, nullable=False)
    full_name = Column(String(80))
    hashed_password = Column(String, nullable=False)
    is_active = Column(Boolean, default=False)


def hash_password(password: str, salt: str = "") -> str:
    salt = salt or os.urandom(8).hex()
    return salt + "$" + hashlib.sha256((salt + password).encode()).hexdigest()


def verify(password: str, hashed: str) -> bool:
    return hash_password(password, hashed.split("$")[0]) == hashed
'''
ACCOUNTS_MAIN = '''import secrets

from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm

from db import Account, Session, verify

app = FastAPI(title="accounts")
scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")
TOKENS = {}


def current(token: str = Depends(scheme)) -> dict:
    if token not in TOKENS:
        raise HTTPException(401, "not logged in")
    return TOKENS[token]


@app.post("/auth/token")
def token(form: OAuth2PasswordRequestForm = Depends()) -> dict:
    with Session() as session:
        found = session.query(Account).filter_by(email=form.username).first()
        if found is None or not verify(form.password, found.hashed_password):
            raise HTTPException(400, "wrong email or password")
        if not found.is_active:
            raise HTTPException(400, "inactive account")
        key = secrets.token_hex(16)
        TOKENS[key] = {"email": found.email, "full_name": found.full_name}
    return {"access_token": key, "token_type": "bearer"}


@app.get("/accounts/me")
def me(user: dict = Depends(current)) -> dict:
    return user
'''


@pytest.mark.slow
def test_sqlalchemy_user_is_created_with_the_apps_own_password_hash(tmp_path: Path) -> None:
    """No sign-up, an inactive default, a login by email: the account is a row of the app's
    sqlite file in the run's copy, hashed by the app's `hash_password`, made active."""
    repo = make_repo(tmp_path / "accounts", {
        "requirements.txt": "fastapi\nsqlalchemy\npython-multipart\n",
        "db.py": ACCOUNTS_DB, "main.py": ACCOUNTS_MAIN,
    })
    out = tmp_path / "out"
    done = run_cli("test", str(repo), "--output-dir", str(out), "-q", timeout=900,
                   env={"API_MCP_TEST_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stdout + done.stderr
    report, results = results_of(out)
    auth = report["auth"]
    assert auth["ok"] and auth["scheme"] == "Bearer", auth
    assert auth["user_created"] == ("a row in the table accounts of the sqlite database "
                                    "accounts.db, password hashed with hash_password() of db")
    me = results["GET /accounts/me"]
    assert me["outcome"] == "passed"
    assert me["calls"][0]["body"]["email"].startswith("amt_")
    assert me["calls"][0]["body"]["full_name"]  # every column of the row is filled
    assert not (repo / "accounts.db").exists()  # the user's folder is untouched


def test_a_user_is_created_only_in_a_database_of_the_runs_own(tmp_path: Path) -> None:
    """Never with configured credentials, never for an app started by its own command (its
    database is not known to be a throwaway), never when discovery saw no database of the
    run's own (a Django database server that answers: `seed` is "")."""
    from runner.auth.seed import Served
    from runner.pipeline.credentials import seeder_for
    from runner.runconfig import AuthConfig, ServeSettings

    def settings(auth: AuthConfig | None = None, start: str | None = None) -> ServeSettings:
        return ServeSettings(app_env={}, start_command=start, ready_path=None,
                             django_debug=False, auth=auth, call_timeout=5.0,
                             max_result_chars=None)

    served = Served(Path("python"), tmp_path, {}, "notes.wsgi:application", "django")
    spec = _spec([_post("/token-auth/")], framework="django")
    own = ApiSpec(**{**vars(spec), "seed": "django"})
    assert seeder_for(own, settings(), served, tmp_path / "seed", 5.0) is not None
    assert seeder_for(own, settings(AuthConfig(mode="auto")), served, tmp_path / "s", 5.0)
    configured = AuthConfig(mode="static", value="Token x")
    assert seeder_for(own, settings(configured), served, tmp_path / "s", 5.0) is None
    assert seeder_for(own, settings(start="gunicorn notes.wsgi"), served, tmp_path / "s",
                      5.0) is None
    assert seeder_for(spec, settings(), served, tmp_path / "s", 5.0) is None  # seed ""
    assert seeder_for(own, settings(), None, tmp_path / "s", 5.0) is None  # not served by us

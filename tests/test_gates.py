"""Fast unit tests of the settings gates discovery opens with placeholders (gates.py)."""

from __future__ import annotations

from pathlib import Path

from runner.discovery.gates import Filled, placeholder
from runner.discovery.probe.result import ProbeError


def test_placeholders_read_as_their_kind() -> None:
    assert placeholder("DEBUG") == "1"  # int("1"), "1" in ("1", "true")
    assert placeholder("SQLALCHEMY_DATABASE_URI").startswith("sqlite:///")
    assert placeholder("DB_URL").startswith("sqlite:///")
    assert placeholder("ALLOWED_HOSTS") == "*"
    assert placeholder("CORS_ORIGINS") == "http://localhost"  # a URL to pydantic and corsheaders
    assert placeholder("REDIS_URL") == "http://127.0.0.1:9"
    assert placeholder("JWT_SECRET") == "not-a-production-secret"


def test_a_keyerror_fills_every_variable_its_file_requires(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "base.py").write_text(
        "from os import environ\nSECRET_KEY = environ['SECRET_KEY']\n"
        "EMAIL_PORT = int(environ[\"EMAIL_PORT\"])\nNAME = environ.get('OPTIONAL', 'x')\n")
    filled = Filled()
    errors = [ProbeError(module="m", error="KeyError: 'SECRET_KEY'", where="conf/base.py:2")]
    assert filled.learn(errors, tmp_path, given=["EMAIL_PORT"], writable=False)
    assert filled.env == {"SECRET_KEY": "not-a-production-secret"}  # the user's value stays
    assert not filled.learn(errors, tmp_path, given=["EMAIL_PORT"], writable=False)


def test_an_example_database_server_url_is_replaced_by_sqlite(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text("SQLALCHEMY_URL=mysql+pymysql://root@127.0.0.1/db\n"
                                           "API_TITLE=Shop\n")
    filled = Filled()
    errors = [ProbeError(module="m", error="ValidationError: 2 validation errors for Settings | sqlalchemy_url | "
                        "field required | api_title | field required")]
    assert filled.learn(errors, tmp_path, given=[], writable=False)
    assert filled.env == {"API_TITLE": "Shop", "SQLALCHEMY_URL": "sqlite:///api-mcp-test.sqlite3"}
    assert filled.env_file == ".env.example"


def test_missing_modules_are_made_only_in_the_runs_copy(tmp_path: Path) -> None:
    (tmp_path / "wapp").mkdir()
    errors = [ProbeError(module="m", error="ModuleNotFoundError: No module named 'wapp.secrets'",
               where="wapp/settings.py:16")]
    assert not Filled().learn(errors, tmp_path, given=[], writable=False)
    filled = Filled()
    assert filled.learn(errors, tmp_path, given=[], writable=True)
    assert filled.learn([ProbeError(module="m", error="NameError: name 'DB_PASSWORD' is not defined")], tmp_path,
                        given=[], writable=True)
    namespace: dict[str, object] = {}
    exec((tmp_path / "wapp" / "secrets.py").read_text(), namespace)  # noqa: S102 - our own text
    assert namespace["SECRET_KEY"] == namespace["DB_PASSWORD"] == "not-a-production-secret"
    assert "wapp/secrets.py" in filled.note()


def test_third_party_modules_are_packages_and_own_folders_are_not(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("")
    errors = [ProbeError(module="m", error="ModuleNotFoundError: No module named 'app'"),
              ProbeError(module="m", error="ModuleNotFoundError: No module named 'jose'"),
              ProbeError(module="m", error="ModuleNotFoundError: No module named 'aiosqlite'"),
              ProbeError(module="m", error="ImportError: ... ModuleNotFoundError: No module named 'pkg_resources'.")]
    assert Filled().missing_packages(errors, tmp_path) == ["python-jose", "aiosqlite",
                                                           "setuptools<81"]


def test_a_variable_read_as_a_number_gets_one(tmp_path: Path) -> None:
    (tmp_path / "email.py").write_text(
        "from os import environ\nEMAIL_HOST = environ['EMAIL_HOST']\n"
        "EMAIL_USE_TLS = bool(int(environ['EMAIL_USE_TLS']))\n")
    filled = Filled()
    assert filled.learn([ProbeError(module="m", error="KeyError: 'EMAIL_HOST'", where="email.py:2")], tmp_path,
                        given=[], writable=False)
    assert filled.env == {"EMAIL_HOST": "change-me", "EMAIL_USE_TLS": "1"}
    filled.env["EMAIL_USE_TLS"] = "change-me"  # filled by an earlier round
    assert filled.learn([ProbeError(module="m", error="ValueError: invalid literal for int() with base 10: "
                                   "'change-me'", where="email.py:3")], tmp_path, given=[],
                        writable=False)
    assert filled.env["EMAIL_USE_TLS"] == "1"


def test_a_variable_read_as_none_on_the_failing_line_is_filled(tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text(
        "import os\nDEBUG = os.environ.get('DEBUG', '')\n"
        "DATABASES = {'default': parse(os.environ.get(\"DATABASE_URL\"))}\n")
    filled = Filled()
    assert filled.learn([ProbeError(module="m", error="TypeError: a bytes-like object is required, not 'str'",
                          where="settings.py:3")], tmp_path, given=[], writable=False)
    assert filled.env == {"DATABASE_URL": "sqlite:///api-mcp-test.sqlite3"}


def test_an_empty_engine_url_fills_the_setting_named_on_the_failing_line(tmp_path: Path) -> None:
    """SQLAlchemy names no setting; the call (over several lines) does: `settings.db_url`."""
    (tmp_path / "session.py").write_text(
        "from sqlalchemy.ext.asyncio import create_async_engine\n\nengines = {\n"
        "    'rw': create_async_engine(\n        settings.db_url, pool_recycle=3600\n    ),\n}\n")
    error = ProbeError(module="m", error="ArgumentError: Could not parse SQLAlchemy URL from "
                       "string ''", where="session.py:4")
    filled = Filled()
    assert filled.learn([error], tmp_path, given=[], writable=False)
    assert filled.env == {"DB_URL": "sqlite+aiosqlite:///api-mcp-test.sqlite3"}
    assert not Filled().learn([error], tmp_path, given=["DB_URL"], writable=False)  # the user's

"""SQLAlchemy: a user row in the app's sqlite database inside the run's copy of the repository.

The user model is the mapped class with a password column and a name or email column (a table
named like users first). The password is set the way the app sets one: the model's own
`password` setter or `set_password()`, else the app's hashing function (`get_password_hash`,
`hash_password`, werkzeug's `generate_password_hash`, ...), a passlib `CryptContext`, a
Flask-Bcrypt instance or `bcrypt`, else (a column named `password` and no hashing anywhere) as
given. Flags such as `is_active` / `is_superuser` / `is_verified` are set; other required
columns get values of their type. Only a sqlite file inside the run's copy is written.

Runs in the target interpreter: standard library only (plus the app's SQLAlchemy), Python 3.7+.
"""

from __future__ import annotations

import datetime
import importlib
import inspect
import os
import sys

from . import tables

PASSWORDS = ("hashed_password", "password_hash", "passwordhash", "pwd_hash", "pass_hash",
             "hash_password", "encrypted_password", "password", "passwd", "pwd")
NAMES = ("username", "user_name", "login", "name", "handle", "nickname")
EMAILS = ("email", "email_address", "mail", "user_email")
# Columns set True for the created user: it may log in and reach every operation.
FLAGS = ("is_active", "active", "is_superuser", "superuser", "is_admin", "admin", "is_staff",
         "is_verified", "verified", "email_verified", "is_email_verified", "confirmed",
         "is_confirmed", "activated", "is_activated", "enabled", "is_enabled")
HASHERS = ("get_password_hash", "hash_password", "generate_password_hash",
           "get_hashed_password", "make_password", "hash_pass", "encrypt_password",
           "create_password_hash", "get_hash_password", "password_hash", "hash_pwd")


def seedable(app, root):
    """Whether a user can be made: a user model and a sqlite database in the run's copy."""
    try:
        return _user_model(root) is not None and bool(_databases(app, root))
    except Exception:  # noqa: BLE001 - then no user is made; the run goes on
        return False


def sqlalchemy_user(user, root, locator):
    from .finder import resolve_app

    if root not in sys.path:
        sys.path.insert(0, root)
    module_name, _, attr = locator.partition(":")
    app = resolve_app(importlib.import_module(module_name), module_name, attr)[0]
    tables.create_sqlite_tables(app)
    model = _user_model(root)
    if model is None:
        raise ValueError("no user model (a mapped class with a password column) was found")
    columns = {c.name: c for c in model.__table__.columns}
    row = model()
    how = _set_password(row, model, columns, user["password"], root)
    named = next((c for c in NAMES if c in columns), None)
    for name, column in columns.items():
        if name in FLAGS and _is_bool(column):
            setattr(row, name, True)
        elif name == named:
            setattr(row, name, user["username"])
        elif name in EMAILS:
            setattr(row, name, user["email"])
        elif getattr(row, name, None) is None and _unset(column):
            # Nullable ones too: a user made by the app's sign-up has them (a response schema
            # that says `full_name: string` must not fail on the run's own row).
            setattr(row, name, _value(column, user))
    database = _save(app, root, row, model.__table__.name)
    return {"ok": True, "login_name": "username" if named else "email",
            "how": "a row in the table " + model.__table__.name + " of the sqlite database "
                   + os.path.relpath(database, root) + ", password " + how}


# -- the model -----------------------------------------------------------------------------------

def _app_modules(root):
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None) or ""
        if path and os.path.abspath(path).startswith(root + os.sep) and \
                not module.__name__.startswith("api_mcp_test_probe"):
            yield module


def _user_model(root):
    found = []
    for module in _app_modules(root):
        for value in list(vars(module).values()):
            table = getattr(value, "__table__", None) if inspect.isclass(value) else None
            names = {c.name for c in getattr(table, "columns", ())}
            if not names or not any(p in names for p in PASSWORDS):
                continue
            if not any(n in names for n in (*NAMES, *EMAILS)):
                continue
            rank = 0 if "user" in table.name.lower() or "account" in table.name.lower() else 1
            if all(value is not f for _, f in found):
                found.append((rank, value))
    return min(found, key=lambda pair: pair[0])[1] if found else None


def _set_password(row, model, columns, password, root):
    """How the password was set (for the report)."""
    setter = inspect.getattr_static(model, "password", None)
    if "password" not in columns and getattr(setter, "fset", None) is not None:
        row.password = password
        return "set through the model's password setter"
    if callable(getattr(row, "set_password", None)):
        row.set_password(password)
        return "set with the model's set_password()"
    column = next(c for c in PASSWORDS if c in columns)
    hashed, how = _hashed(password, root)
    if hashed is None:
        if column != "password":
            raise ValueError("no way to hash the password for " + column + " was found")
        hashed, how = password, "stored as given (the app hashes none)"
    setattr(row, column, hashed)
    return how


def _hashed(password, root):
    modules = list(_app_modules(root))
    for module in modules:  # the app's own function, or one it imported
        for name in HASHERS:
            func = vars(module).get(name)
            if inspect.isfunction(func) or inspect.isbuiltin(func):
                try:
                    value = func(password)
                except TypeError:
                    continue
                return _text(value), "hashed with " + name + "() of " + module.__name__
    for module in modules:
        for value in list(vars(module).values()):
            kind = type(value).__name__
            if kind == "CryptContext":
                return value.hash(password), "hashed with the app's passlib CryptContext"
            if kind == "Bcrypt" and hasattr(value, "generate_password_hash"):
                return _text(value.generate_password_hash(password)), "hashed with Flask-Bcrypt"
    for module in modules:
        if getattr(vars(module).get("bcrypt"), "hashpw", None) is not None:
            bcrypt = vars(module)["bcrypt"]
            return _text(bcrypt.hashpw(password.encode(), bcrypt.gensalt())), \
                "hashed with bcrypt"
    return None, ""


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def _is_bool(column):
    return _python_type(column) is bool


def _python_type(column):
    try:
        return column.type.python_type
    except (NotImplementedError, AttributeError):
        return None


def _unset(column):
    """A column nothing fills: no default, not the key, not an optional link."""
    if column.default is not None or column.server_default is not None or column.primary_key:
        return False
    if column.foreign_keys and not column.nullable:
        raise ValueError("the user table requires " + column.name + ", a link to another table")
    return not column.foreign_keys


def _value(column, user):
    enums = getattr(column.type, "enums", None)
    if enums:
        enum_class = getattr(column.type, "enum_class", None)
        return next(iter(enum_class)) if enum_class is not None else enums[0]
    kind = _python_type(column)
    if kind in (int, float):
        return kind(1)
    if kind is datetime.datetime:
        return datetime.datetime.now()
    if kind is datetime.date:
        return datetime.date(1990, 1, 1)
    if kind in (dict, list):
        return kind()
    length = getattr(column.type, "length", None) or 64
    return (user["username"] + "-" + column.name)[:length]


# -- the database --------------------------------------------------------------------------------

def _databases(app, root):
    """The sqlite files (inside `root`) the app's engines use."""
    found = []
    for engine in _engines(app):
        url = engine.url
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            continue
        path = os.path.abspath(url.database)
        if path.startswith(root + os.sep) and path not in found:
            found.append(path)
    return found


def _engines(app):
    from sqlalchemy.engine import Engine

    engines = []
    extension = getattr(app, "extensions", {}).get("sqlalchemy") if hasattr(
        app, "extensions") else None
    if extension is not None and hasattr(app, "app_context"):
        db = getattr(extension, "db", extension)
        with app.app_context():
            engines.append(db.engine)
    for value in tables.module_values():
        try:
            engine = getattr(value, "sync_engine", value)
        except Exception:  # noqa: BLE001, S112 - a lazy proxy may raise
            continue
        if isinstance(engine, Engine) and all(engine is not e for e in engines):
            engines.append(engine)
    return engines


def _save(app, root, row, table):
    from sqlalchemy import create_engine
    from sqlalchemy import inspect as inspect_db
    from sqlalchemy.orm import Session

    for path in _databases(app, root):
        engine = create_engine("sqlite:///" + path)
        try:
            if table not in inspect_db(engine).get_table_names():
                continue
            session = Session(bind=engine)
            try:
                session.add(row)
                session.commit()
            finally:
                session.close()
        finally:
            engine.dispose()
        return path
    raise ValueError("no sqlite database inside the run's copy holds the table " + table)

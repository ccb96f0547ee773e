"""SQLAlchemy tables on an empty sqlite database: an app whose tables come from migrations
(alembic, Flask-Migrate) answers 500 "no such table" on every call when it is served on a
fresh sqlite file (the placeholder DATABASE_URL, a test database). After the app is imported,
each sqlite engine its modules hold gets the tables of the models they declare
(`create_all`: only the missing ones). Database servers are never touched.

Runs in the target interpreter: standard library only (plus the app's SQLAlchemy), Python 3.7+.
"""

from __future__ import annotations

import sys


def create_sqlite_tables(app):
    """Create the missing tables on the app's sqlite databases; returns notes for the report
    (nothing when the app uses no SQLAlchemy, no sqlite, or already has its tables)."""
    if "sqlalchemy" not in sys.modules:
        return []
    try:
        return _flask_sqlalchemy(app) or _plain()
    except Exception as exc:  # noqa: BLE001 - the run goes on; the calls will show it
        return ["creating the SQLAlchemy tables on sqlite failed: "
                + type(exc).__name__ + ": " + str(exc)[:200]]


def _modules():
    return [m for m in list(sys.modules.values())
            if m is not None and not getattr(m, "__name__", "").startswith(
                ("sqlalchemy", "flask_sqlalchemy", "api_mcp_test_probe"))]


def module_values():
    """The values the app's modules hold, and those of their dicts (`engines = {READER:
    create_async_engine(...)}`)."""
    for module in _modules():
        values = list(getattr(module, "__dict__", {}).values())
        for value in values:
            yield value
            if type(value) is dict:
                yield from list(value.values())


def _plain():
    from sqlalchemy import MetaData, create_engine, inspect
    from sqlalchemy.engine import Engine

    metadatas, urls = [], []
    for value in module_values():
        try:  # any object: a lazy proxy may raise on getattr
            metadata = value if isinstance(value, MetaData) else getattr(value, "metadata",
                                                                         None)
            engine = getattr(value, "sync_engine", value)  # an AsyncEngine's sync side
        except Exception:  # noqa: BLE001, S112
            continue
        if isinstance(metadata, MetaData) and metadata.tables and all(
                metadata is not m for m in metadatas):
            metadatas.append(metadata)
        if isinstance(engine, Engine) and engine.url.get_backend_name() == "sqlite":
            url = engine.url.set(drivername="sqlite")  # aiosqlite -> the stdlib driver
            if url.database and url.database != ":memory:" and url not in urls:
                urls.append(url)
    notes = []
    for url in urls:
        engine = create_engine(url)
        try:
            before = set(inspect(engine).get_table_names())
            for metadata in metadatas:
                metadata.create_all(engine)
            made = sorted(set(inspect(engine).get_table_names()) - before)
        finally:
            engine.dispose()
        if made:
            notes.append(_note(len(made), url.database))
    return notes


def _flask_sqlalchemy(app):
    """Flask-SQLAlchemy's `db` needs the app's context; its engines are made there."""
    extension = getattr(app, "extensions", {}).get("sqlalchemy") if hasattr(app, "extensions") \
        else None
    if extension is None or not hasattr(app, "app_context"):
        return []
    db = getattr(extension, "db", extension)  # Flask-SQLAlchemy 2 kept a state object
    with app.app_context():
        engine = db.engine
        if engine.url.get_backend_name() != "sqlite" or engine.url.database in (None, "",
                                                                                ":memory:"):
            return []
        from sqlalchemy import inspect

        before = set(inspect(engine).get_table_names())
        db.create_all()
        made = sorted(set(inspect(engine).get_table_names()) - before)
    return [_note(len(made), engine.url.database)] if made else []


def _note(count, database):
    return ("the sqlite database " + str(database) + " had no tables (they come from "
            "migrations): the " + str(count) + " table(s) of the app's SQLAlchemy models were "
            "created in the run's copy")

"""Django: drf-spectacular's, drf-yasg's or django-ninja's document, else one synthesized from
the URL patterns."""

# Runs in the target interpreter: standard library only (plus the framework), Python 3.7+.

from __future__ import annotations

import inspect
import json
import os
import re
import socket
import sys

from ..common import HTTP_METHODS, copy_sources, module_level_instances
from ..synthesis import (
    converter_schema,
    function_view_methods,
    operation_id,
    placeholders,
    synthesized_doc,
    synthesized_operation,
)

INTERFACE = "wsgi"  # an ASGI locator (project.asgi:application) is served as ASGI
SETTINGS_IN_MANAGE = re.compile(r"DJANGO_SETTINGS_MODULE['\"]\s*,\s*['\"]([\w.]+)['\"]")


def settings_named_in(path):
    """The settings module a manage.py (or wsgi.py) sets, or None (a Flask-Script manage.py)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            match = SETTINGS_IN_MANAGE.search(handle.read())
    except OSError:
        return None
    return match.group(1) if match else None


def setup():
    """Set Django up with DJANGO_SETTINGS_MODULE and import the URLconf (and its views);
    returns the settings and the databases that do not answer here (see
    `unreachable_databases`), which are put on sqlite before any app loads their driver
    (the served settings do the same)."""
    import django
    from django.conf import settings

    unreachable = unreachable_databases(settings)  # reading DATABASES loads the settings
    for alias in unreachable:
        settings.DATABASES[alias] = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    django.setup()
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URLconf (and its views)
    return settings, unreachable


def wsgi_locator(settings, settings_module):
    """WSGI_APPLICATION as module:attr (default: the settings package's wsgi.application)."""
    wsgi = (
        getattr(settings, "WSGI_APPLICATION", None)
        or settings_module.rsplit(".", 1)[0] + ".wsgi.application"
    )
    module_name, _, attr = wsgi.rpartition(".")
    return module_name + ":" + attr


def openapi(settings, root):
    """(spec_source, doc): drf-spectacular's, drf-yasg's (Swagger 2.0) or django-ninja's
    document, else the URL patterns'."""
    synthesized = django_synthesized(root)
    installed = list(getattr(settings, "INSTALLED_APPS", ()))
    if "drf_spectacular" in installed:
        from drf_spectacular.generators import SchemaGenerator

        schema = SchemaGenerator().get_schema(request=None, public=True)
        return "native", copy_sources(json.loads(json.dumps(schema, default=str)), synthesized)
    if "drf_yasg" in installed:
        return "native", copy_sources(drf_yasg_schema(), synthesized)
    ninja = sys.modules.get("ninja")
    apis = module_level_instances(ninja.NinjaAPI) if ninja is not None else []
    if apis:
        doc = json.loads(json.dumps(apis[0].get_openapi_schema(), default=str))
        for api in apis[1:]:
            schema = json.loads(json.dumps(api.get_openapi_schema(), default=str))
            doc.setdefault("paths", {}).update(schema.get("paths", {}))
            components = doc.setdefault("components", {}).setdefault("schemas", {})
            components.update(schema.get("components", {}).get("schemas", {}))
        return "native", doc
    return "synthesized", synthesized


def drf_yasg_schema():
    """The Swagger 2.0 document drf-yasg's schema view would serve (its `basePath` is the paths'
    common prefix; the conversion to OpenAPI 3 puts it back in front of them)."""
    from django.urls import URLResolver, get_resolver
    from drf_yasg import openapi
    from drf_yasg.app_settings import swagger_settings

    def schema_views(patterns):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from schema_views(entry.url_patterns)
                continue
            view_class = getattr(entry.callback, "cls", None)
            if view_class is not None and view_class.__module__ == "drf_yasg.views":
                yield view_class

    # The view get_schema_view() made keeps its arguments in its closure.
    options = {"info": None, "url": None, "patterns": None, "urlconf": None}
    view = next(schema_views(get_resolver().url_patterns), None)
    generator_class = swagger_settings.DEFAULT_GENERATOR_CLASS
    if view is not None:
        generator_class = view.generator_class
        closure = inspect.getclosurevars(view.get).nonlocals
        options.update({k: closure[k] for k in options if k in closure})
    info = options.pop("info") or swagger_settings.DEFAULT_INFO
    if info is None:
        info = openapi.Info(title="Django API", default_version="")
    generator = generator_class(info, "", options["url"], options["patterns"], options["urlconf"])
    return json.loads(json.dumps(generator.get_schema(request=None, public=True), default=str))


def sqlite_aliases(settings):
    """Aliases of the Django databases that use sqlite (those get a throwaway copy to serve)."""
    databases = getattr(settings, "DATABASES", None) or {}
    return sorted(
        alias
        for alias, config in databases.items()
        if "sqlite" in str((config or {}).get("ENGINE", ""))
    )


def users_can_be_made(settings, throwaway):
    """Whether a login user may be created: the auth app is installed and every database the
    project names is one of the run's throwaway ones (a router may send users to any alias, so
    "default" alone is not enough)."""
    databases = getattr(settings, "DATABASES", None) or {}
    return ("django.contrib.auth" in getattr(settings, "INSTALLED_APPS", ())
            and bool(databases) and set(databases) <= set(throwaway))


# Database servers a project names but this machine may not run (a docker-compose service):
# engine marker -> default port. PostGIS / spatial engines are left alone (sqlite cannot stand in).
NETWORK_ENGINES = (("postgresql", 5432), ("mysql", 3306), ("oracle", 1521))


def unreachable_databases(settings):
    """{alias: "postgresql at db:5432"} for the databases whose server does not answer here
    (the docker-compose `db` service, a local PostgreSQL that is not running): those are
    served on a throwaway sqlite database instead, and the report says so."""
    found = {}
    for alias, config in (getattr(settings, "DATABASES", None) or {}).items():
        engine = str((config or {}).get("ENGINE", ""))
        kind = next(((name, port) for name, port in NETWORK_ENGINES if name in engine), None)
        if kind is None or "gis" in engine:
            continue
        host = str(config.get("HOST") or "")
        port = int(config.get("PORT") or kind[1])
        if host.startswith("/") or (not host and kind[0] == "postgresql"):  # a unix socket
            folder = host or "/var/run/postgresql"
            if os.path.exists(os.path.join(folder, ".s.PGSQL." + str(port))):
                continue
        elif _answers(host or "localhost", port):
            continue
        found[alias] = kind[0] + " at " + (host or "localhost") + ":" + str(port)
    return found


def _answers(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except (OSError, ValueError):
        return False


def sqlite_files(settings):
    """{alias: the sqlite file's path} for the sqlite databases: a setup step (a test user, a
    fixture) writes there, and the throwaway copy the app is served with starts from it."""
    databases = getattr(settings, "DATABASES", None) or {}
    return {
        alias: os.path.abspath(str(config.get("NAME")))
        for alias, config in databases.items()
        if "sqlite" in str((config or {}).get("ENGINE", "")) and config.get("NAME")
        and str(config.get("NAME")) != ":memory:"
    }


DJANGO_REGEX_INT = ("[0-9]+", r"\d+")


def django_synthesized(root):
    from django.urls import URLPattern, URLResolver, get_resolver

    paths = {}

    def convert(pattern_text):
        """A `path()` route or a `re_path()` regex as a template; regex groups go first."""
        text = pattern_text.lstrip("^").rstrip("$")
        text, grouped = placeholders(
            text,
            r"\(\?P<(\w+)>([^)]*)\)",
            lambda m: (
                m.group(1),
                {"type": "integer" if m.group(2) in DJANGO_REGEX_INT else "string"},
            ),
        )
        text, typed = placeholders(
            text, r"<(?:(\w+):)?(\w+)>", lambda m: (m.group(2), converter_schema(m.group(1)))
        )
        return text, grouped + typed

    def walk(patterns, prefix, params):
        for entry in patterns:
            text, own = convert(str(entry.pattern))
            text, own = prefix + text, params + own
            if isinstance(entry, URLResolver):
                if entry.namespace == "admin" or entry.app_name == "admin":
                    continue
                walk(entry.url_patterns, text, own)
            elif isinstance(entry, URLPattern):
                add(entry.callback, "/" + text.lstrip("/"), own, entry.name)

    def add(callback, path, params, name):
        if re.search(r"[()\[\]*+?\\|^$]", path):  # a regex we cannot express (format suffixes)
            return
        actions = getattr(callback, "actions", None)  # DRF viewsets: {"get": "list", ...}
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if actions:
            methods = {m: getattr(view_class, a, None) for m, a in actions.items()}
        elif view_class is not None:
            allowed = getattr(view_class, "http_method_names", HTTP_METHODS)
            methods = {
                m: getattr(view_class, m)
                for m in HTTP_METHODS
                if m in allowed and hasattr(view_class, m)
            }
        else:
            methods = {m: callback for m in function_view_methods(callback)}
        for method, func in methods.items():
            if method not in HTTP_METHODS:
                continue
            # `@api_view` copies the function's docstring to the class, not to the handler.
            documented = func if getattr(func, "__doc__", None) else view_class
            base = (
                name
                or path.strip("/").replace("/", "_").replace("{", "").replace("}", "")
                or "root"
            )
            paths.setdefault(path, {})[method] = synthesized_operation(
                method,
                operation_id(base, method, methods),
                params,
                func or callback,
                root,
                doc=documented,
            )

    walk(get_resolver().url_patterns, "", [])
    return synthesized_doc("Django app", paths)

"""Which app to test: --app, else the entry points the runner read from the repository (run
scripts, Dockerfile, Procfile, ...), else a Django manage.py, else the usual module names.

The framework is decided by what imports: a manage.py that names no DJANGO_SETTINGS_MODULE
(Flask-Script) is not Django, and a Django project whose setup fails does not stop the search.
Every candidate that fails leaves an error naming what pointed at it.
"""

# Runs in the target interpreter: standard library only, Python 3.7+ (no walrus, no `match`,
# no subscripted builtins at runtime). Relative imports only.
from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
import traceback

from . import adapters, seed_sqlalchemy, startup, tables
from .adapters import django as django_adapter
from .common import error_line, relative
from .result import Found, NotFound, ProbeError, ProbeFailure

# Module names tried, in order, after the entry points. "{pkg}" expands to each package in the
# root (and in src/).
CANDIDATES = (
    "main",
    "app",
    "app.main",
    "app.api",
    "application",
    "server",
    "server.app",
    "server.main",
    "api",
    "api.main",
    "api.app",
    "{pkg}.main",
    "{pkg}.app",
    "{pkg}.api",
    "{pkg}",
    "asgi",
    "wsgi",
    "run",
    "manage",
)
APP_ATTRS = ("app", "application", "api", "server")
FACTORIES = ("create_app", "make_app", "get_app", "app_factory")
# A candidate file is imported only if it mentions one of these (importing is the slow part).
MARKERS = re.compile(
    r"fastapi|flask|starlette|litestar|connexion|django"
    r"|def (?:create_app|make_app|get_app|app_factory)\b",
    re.IGNORECASE,
)
SKIP_DIRS = {
    "tests",
    "test",
    "docs",
    "node_modules",
    "site-packages",
    "build",
    "dist",
    "migrations",
}


class Prober:
    def __init__(self, root, hints=(), with_spec=True):
        self.root = root
        self.hints = list(hints)  # [{"locator", "origin", "folder"}], best first
        self.with_spec = with_spec
        self.searched = []  # candidate modules tried
        self.errors = []  # ProbeError
        self.extra_env = {}
        sys.path[:0] = [p for p in (root, os.path.join(root, "src")) if os.path.isdir(p)]
        os.chdir(root)
        sys.argv = [sys.argv[0]]  # apps that parse flags at import time see none

    def failure(self, message):
        return NotFound(message, self.candidate_modules(), self.searched, self.errors)

    # -- finding the app ------------------------------------------------------------------------

    def probe(self, app_arg):
        if app_arg:
            return self.probe_explicit(app_arg)
        for hint in self.hints:
            found = self.try_hint(hint)
            if found is not None:
                return found
        manage, settings_module = find_django_project(self.root)
        if manage:
            try:
                return self.probe_django(os.path.dirname(manage), settings_module, origin="manage.py")
            except ProbeFailure:
                pass  # recorded; a Flask app beside a Django one may still be found
        for module_name in self.candidate_modules():
            module = self.try_import(module_name)
            if module is None:
                continue
            found = find_app_in_module(module)
            if found:
                attr, app, factory = found
                return self.describe(app, module_name + ":" + attr, factory)
        raise ProbeFailure("no web application found")

    def try_hint(self, hint):
        """The result for one entry point the runner read, or None (the miss is recorded)."""
        locator, origin = hint["locator"], hint.get("origin")
        folder = os.path.join(self.root, hint.get("folder") or "")
        if locator == "manage.py":
            manage = os.path.join(folder, "manage.py")
            settings_module = django_adapter.settings_named_in(manage)
            if not settings_module:
                return None
            try:
                return self.probe_django(folder, settings_module, origin=origin)
            except ProbeFailure:
                return None
        if folder != self.root and folder not in sys.path:
            sys.path.insert(0, folder)
        module_name, _, attr = locator.partition(":")
        if module_name in self.searched or self.module_file(module_name, folder) is None:
            return None
        self.searched.append(module_name)
        try:
            module = importlib.import_module(module_name)
            if attr:
                app, factory = resolve_app(module, module_name, attr)
                return self.describe(app, module_name + ":" + attr.rstrip("()"), factory)
            found = find_app_in_module(module)
        except ProbeFailure as exc:
            self.errors.append(ProbeError(locator, str(exc), None, origin))
            return None
        except BaseException as exc:  # noqa: BLE001 - SystemExit at import is also a failure
            self.record_error(locator, exc, origin)
            return None
        if not found:
            self.errors.append(ProbeError(module_name, "no web application in it", None, origin))
            return None
        attr, app, factory = found
        return self.describe(app, module_name + ":" + attr, factory)

    def probe_explicit(self, app_arg):
        manage, _ = find_django_project(self.root)
        if manage and os.path.dirname(manage) not in sys.path:  # project.wsgi beside manage.py
            sys.path.insert(0, os.path.dirname(manage))
        module_name, _, attr = app_arg.partition(":")
        self.searched.append(module_name)
        try:
            module = importlib.import_module(module_name)
        except BaseException as exc:  # noqa: BLE001 - SystemExit at import is also a failure
            self.record_error(module_name, exc, "--app")
            raise ProbeFailure("could not import " + module_name) from None
        if not attr:
            found = find_app_in_module(module)
            if not found:
                raise ProbeFailure("no web application in module " + module_name)
            attr, app, factory = found
            return self.describe(app, module_name + ":" + attr, factory)
        app, factory = resolve_app(module, module_name, attr.strip(), self.record_error)
        return self.describe(app, module_name + ":" + attr.strip().rstrip("()"), factory)

    def candidate_modules(self):
        packages = []
        for base in (self.root, os.path.join(self.root, "src")):
            if not os.path.isdir(base):
                continue
            for name in sorted(os.listdir(base)):
                path = os.path.join(base, name)
                if (
                    name.isidentifier()
                    and name not in SKIP_DIRS
                    and os.path.isfile(os.path.join(path, "__init__.py"))
                ):
                    packages.append(name)
        names = []
        for pattern in CANDIDATES:
            for name in (
                [pattern.replace("{pkg}", p) for p in packages] if "{pkg}" in pattern else [pattern]
            ):
                if name not in names:
                    names.append(name)
        return names

    def module_file(self, module_name, *bases):
        rel = module_name.replace(".", os.sep)
        for base in bases or (self.root, os.path.join(self.root, "src")):
            for path in (os.path.join(base, rel + ".py"), os.path.join(base, rel, "__init__.py")):
                if os.path.isfile(path):
                    return path
        return None

    def try_import(self, module_name):
        if module_name in self.searched:
            return None
        path = self.module_file(module_name)
        if path is None:
            return None
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                if not MARKERS.search(handle.read()):
                    return None
        except OSError:
            return None
        self.searched.append(module_name)
        try:
            return importlib.import_module(module_name)
        except BaseException as exc:  # noqa: BLE001 - SystemExit at import is also a failure
            self.record_error(module_name, exc)
            return None

    def record_error(self, module_name, exc, origin=None):
        where = None
        frames = [(f.filename, f.lineno) for f in traceback.extract_tb(exc.__traceback__)]
        if isinstance(exc, SyntaxError) and exc.filename:
            frames.append((exc.filename, exc.lineno))  # the broken file is not a frame
        for filename, lineno in reversed(frames):
            # "<frozen importlib._bootstrap>" is no file, though abspath would put it in root.
            if not filename.startswith("<") and relative(self.root, filename):
                where = relative(self.root, filename) + ":" + str(lineno)
                break
        self.errors.append(ProbeError(module_name, error_line(exc), where, origin))

    # -- describing the app ---------------------------------------------------------------------

    def describe(self, app, locator, factory):
        framework = framework_of(app)
        folder = import_folder(locator.partition(":")[0])
        if folder and folder != self.root:  # a src/ layout: the server needs it on its path
            self.extra_env["PYTHONPATH"] = folder
        if framework == "django":  # a WSGI/ASGI handler named by an entry point
            settings_module = os.environ.get("DJANGO_SETTINGS_MODULE")
            if not settings_module:
                raise ProbeFailure(locator + " is a Django handler but no settings are set")
            return self.probe_django(folder or self.root, settings_module, locator, "entry point")
        adapter = adapters.BY_FRAMEWORK.get(framework)
        if adapter is None:
            raise ProbeFailure("unsupported framework for " + locator)
        source, doc = adapter.openapi(app, self.root) if self.with_spec else ("none", None)
        notes = [*startup.run_main_block(sys.modules.get(locator.partition(":")[0])),
                 *tables.create_sqlite_tables(app)]
        # A user table on a sqlite file in the run's copy: a login user can be made there.
        seeded = "sqlalchemy" in sys.modules and seed_sqlalchemy.seedable(app, self.root)
        return Found(framework, locator, factory, adapter.INTERFACE, self.extra_env, source, doc,
                     self.searched, self.errors, notes=notes, seed="sqlalchemy" if seeded else "")

    def probe_django(self, project_dir, settings_module, locator=None, origin=None):
        if project_dir not in sys.path:
            sys.path.insert(0, project_dir)
        if project_dir != self.root:
            self.extra_env["PYTHONPATH"] = project_dir
        settings_module = os.environ.get("DJANGO_SETTINGS_MODULE") or settings_module
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
        self.extra_env["DJANGO_SETTINGS_MODULE"] = settings_module
        self.searched.append(settings_module)
        try:
            settings, unreachable = django_adapter.setup()
        except BaseException as exc:  # noqa: BLE001
            self.record_error(settings_module, exc, origin)
            raise ProbeFailure("could not set up Django with " + settings_module) from None
        locator = locator or django_adapter.wsgi_locator(settings, settings_module)
        interface = "asgi" if "asgi" in locator.partition(":")[0].split(".")[-1] else "wsgi"
        source, doc = django_adapter.openapi(settings, self.root) if self.with_spec else (
            "none", None)
        notes = [
            "database '" + alias + "' (" + where + ") does not answer from here: the app is "
            "served on a throwaway sqlite database instead (migrated first). To test against "
            "the real one, start it (a service of the job) and point the settings at it."
            for alias, where in sorted(unreachable.items())]
        databases = sorted({*django_adapter.sqlite_aliases(settings), *unreachable})
        # Its users live in the run's throwaway database: a login user can be made there.
        seed = "django" if django_adapter.users_can_be_made(settings, databases) else ""
        return Found("django", locator, False, interface, self.extra_env, source, doc,
                     self.searched, self.errors, sqlite_databases=databases,
                     sqlite_files=django_adapter.sqlite_files(settings), notes=notes, seed=seed)


def resolve_app(module, module_name, attr, record_error=None):
    """(app, is_factory) for `attr` of an imported module; `create_app()` calls a factory."""
    call = attr.endswith("()")
    attr = attr[:-2] if call else attr
    obj = module
    try:
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise ProbeFailure("module " + module_name + " has no attribute " + attr) from None
    factory = call or (callable(obj) and framework_of(obj) is None and not inspect.ismodule(obj))
    if factory:
        try:
            obj = obj()
        except BaseException as exc:  # noqa: BLE001
            if record_error is not None:
                record_error(module_name + ":" + attr + "()", exc, "--app")
            raise ProbeFailure("the app factory " + attr + "() failed: " + error_line(exc)) from None
    if framework_of(obj) is None:
        raise ProbeFailure(
            module_name + ":" + attr + " is a " + type(obj).__name__ + ", not a known web app"
        )
    return obj, factory


def import_folder(module_name):
    """The sys.path entry `module_name` was imported from, or None."""
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if not path:
        return None
    levels = module_name.count(".") + (os.path.basename(path) == "__init__.py")
    folder = os.path.dirname(os.path.abspath(path))
    for _ in range(levels):
        folder = os.path.dirname(folder)
    return folder


def find_app_in_module(module):
    """(attribute, app, is_factory) for the app a module defines, else None."""
    for attr in APP_ATTRS:
        if framework_of(getattr(module, attr, None)):
            return attr, getattr(module, attr), False
    for attr, value in vars(module).items():
        if not attr.startswith("_") and framework_of(value):
            return attr, value, False
    for attr in FACTORIES:
        func = getattr(module, attr, None)
        if callable(func) and takes_no_arguments(func):
            app = func()
            if framework_of(app):
                return attr, app, True
    return None


def takes_no_arguments(func):
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params
    )


# (top-level module, class name) -> framework; Starlette last, as FastAPI and others derive it.
APP_CLASSES = (
    ("fastapi", "FastAPI", "fastapi"),
    ("litestar", "Litestar", "litestar"),
    ("flask", "Flask", "flask"),
    ("connexion", "AbstractApp", "connexion"),
    ("django", "WSGIHandler", "django"),
    ("django", "ASGIHandler", "django"),
)


def framework_of(obj):
    """The framework whose app class `obj` is an instance of, by class name and module."""
    if obj is None or inspect.isclass(obj) or inspect.ismodule(obj):
        return None
    found = None
    for cls in type(obj).__mro__:
        module = cls.__module__.split(".")[0]
        for package, name, framework in APP_CLASSES:
            if module == package and cls.__name__ == name:
                return framework
        if module == "starlette" and cls.__name__ == "Starlette":
            found = "starlette"
    return found


def find_django_project(root, depth=2):
    """(manage.py, its settings module) of the first Django manage.py within `depth` folders,
    else (None, None). A manage.py that names no settings (Flask-Script) is not Django's."""
    for current, dirs, files in os.walk(root):
        if "manage.py" in files:
            manage = os.path.join(current, "manage.py")
            settings_module = django_adapter.settings_named_in(manage)
            if settings_module:
                return manage, settings_module
        level = os.path.relpath(current, root).count(os.sep) + (current != root)
        dirs[:] = [
            d
            for d in sorted(dirs)
            if not d.startswith(".") and d not in SKIP_DIRS and level < depth
        ]
    return None, None

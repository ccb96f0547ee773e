"""Find the web app in a repository and write its OpenAPI document as JSON.

Runs inside the *target* app's interpreter (any Python from 3.7 on), never the runner's:

    <target python> probe.py --root DIR [--app module:attr] --out result.json

Standard library only, plus the frameworks it finds. The app may print whatever it likes on
stdout; the result goes to --out only. Keep this file importable on Python 3.7: no walrus,
no `match`, no subscripted builtins at runtime.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import re
import sys
import traceback

# Module names tried, in order, when --app is not given. "{pkg}" expands to each package in
# the root (and in src/).
CANDIDATES = (
    "main",
    "app",
    "app.main",
    "application",
    "server",
    "api",
    "api.main",
    "api.app",
    "{pkg}.main",
    "{pkg}.app",
    "{pkg}",
    "asgi",
    "wsgi",
)
APP_ATTRS = ("app", "application", "api", "server")
FACTORIES = ("create_app", "make_app", "get_app", "app_factory")
# A candidate file is imported only if it mentions one of these (importing is the slow part).
MARKERS = re.compile(
    r"fastapi|flask|starlette|litestar|connexion|django|def (?:create_app|make_app|get_app|app_factory)\b",
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
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
BODY_METHODS = ("post", "put", "patch")
UNDOCUMENTED = {"default": {"description": "not documented"}}


class ProbeFailure(Exception):
    """A failure to report in the result (not a crash of the probe)."""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--app", default=None)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    root = os.path.abspath(args.root)
    out_path = os.path.abspath(args.out)
    prober = Prober(root)
    try:
        result = prober.probe(args.app)
    except ProbeFailure as exc:
        result = prober.failure(str(exc))
    except Exception as exc:  # noqa: BLE001 - anything else is reported, not raised
        result = prober.failure("the probe failed: " + error_line(exc))
        result["traceback"] = traceback.format_exc()[-4000:]
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle, default=str, indent=1)
    return 0


def error_line(exc):
    """`ExcType: last line of the message`."""
    lines = str(exc).strip().splitlines()
    return type(exc).__name__ + (": " + lines[-1].strip() if lines else "")


class Prober:
    def __init__(self, root):
        self.root = root
        self.searched = []  # candidate modules tried
        self.errors = []  # {"module": ..., "error": ..., "where": ...}
        self.extra_env = {}
        sys.path[:0] = [p for p in (root, os.path.join(root, "src")) if os.path.isdir(p)]
        os.chdir(root)
        sys.argv = [sys.argv[0]]  # apps that parse flags at import time see none

    # -- result ---------------------------------------------------------------------------------

    def failure(self, message):
        return {
            "ok": False,
            "message": message,
            "candidates": self.candidate_modules(),
            "searched": self.searched,
            "errors": self.errors,
        }

    def success(self, framework, locator, factory, interface, spec_source, openapi):
        return {
            "ok": True,
            "framework": framework,
            "app": locator,
            "factory": factory,
            "interface": interface,
            "env": self.extra_env,
            "spec_source": spec_source,
            "openapi": openapi,
            "searched": self.searched,
            "errors": self.errors,
        }

    # -- finding the app ------------------------------------------------------------------------

    def probe(self, app_arg):
        if app_arg:
            return self.probe_explicit(app_arg)
        manage = find_manage_py(self.root)
        if manage:
            return self.probe_django(manage)
        for module_name in self.candidate_modules():
            module = self.try_import(module_name)
            if module is None:
                continue
            found = find_app_in_module(module)
            if found:
                attr, app, factory = found
                return self.describe(app, module_name + ":" + attr, factory)
        raise ProbeFailure("no web application found")

    def probe_explicit(self, app_arg):
        manage = find_manage_py(self.root)
        if manage:  # a Django project: --app names the WSGI/ASGI application to serve
            return self.probe_django(manage, app_arg if ":" in app_arg else None)
        module_name, _, attr = app_arg.partition(":")
        self.searched.append(module_name)
        try:
            module = importlib.import_module(module_name)
        except BaseException as exc:  # noqa: BLE001 - SystemExit at import is also a failure
            self.record_error(module_name, exc)
            raise ProbeFailure("could not import " + module_name) from None
        if not attr:
            found = find_app_in_module(module)
            if not found:
                raise ProbeFailure("no web application in module " + module_name)
            attr, app, factory = found
            return self.describe(app, module_name + ":" + attr, factory)
        attr = attr.strip()
        call = attr.endswith("()")
        attr = attr[:-2] if call else attr
        obj = module
        try:
            for part in attr.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            raise ProbeFailure("module " + module_name + " has no attribute " + attr) from None
        factory = call or (
            callable(obj) and framework_of(obj) is None and not inspect.ismodule(obj)
        )
        if factory:
            try:
                obj = obj()
            except BaseException as exc:  # noqa: BLE001
                self.record_error(module_name + ":" + attr + "()", exc)
                raise ProbeFailure("the app factory " + attr + "() failed") from None
        if framework_of(obj) is None:
            raise ProbeFailure(
                module_name + ":" + attr + " is a " + type(obj).__name__ + ", not a known web app"
            )
        return self.describe(obj, module_name + ":" + attr, factory)

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

    def module_file(self, module_name):
        rel = module_name.replace(".", os.sep)
        for base in (self.root, os.path.join(self.root, "src")):
            for path in (os.path.join(base, rel + ".py"), os.path.join(base, rel, "__init__.py")):
                if os.path.isfile(path):
                    return path
        return None

    def try_import(self, module_name):
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

    def record_error(self, module_name, exc):
        where = None
        frames = [(f.filename, f.lineno) for f in traceback.extract_tb(exc.__traceback__)]
        if isinstance(exc, SyntaxError) and exc.filename:
            frames.append((exc.filename, exc.lineno))  # the broken file is not a frame
        for filename, lineno in reversed(frames):
            # "<frozen importlib._bootstrap>" is no file, though abspath would put it in root.
            if not filename.startswith("<") and relative(self.root, filename):
                where = relative(self.root, filename) + ":" + str(lineno)
                break
        self.errors.append({"module": module_name, "error": error_line(exc), "where": where})

    # -- describing the app ---------------------------------------------------------------------

    def describe(self, app, locator, factory):
        framework = framework_of(app)
        folder = import_folder(locator.partition(":")[0])
        if folder and folder != self.root:  # a src/ layout: the server needs it on its path
            self.extra_env["PYTHONPATH"] = folder
        if framework == "fastapi":
            return self.success(
                framework, locator, factory, "asgi", "native", fastapi_openapi(app, self.root)
            )
        if framework == "flask":
            source, doc = flask_openapi(app, self.root)
            return self.success(framework, locator, factory, "wsgi", source, doc)
        if framework == "starlette":
            doc = starlette_openapi(app, self.root)
            return self.success(framework, locator, factory, "asgi", "synthesized", doc)
        if framework == "litestar":
            doc = litestar_openapi(app, self.root)
            return self.success(framework, locator, factory, "asgi", "native", doc)
        if framework == "connexion":
            doc = connexion_openapi(app, self.root)
            return self.success(framework, locator, factory, "asgi", "file", doc)
        raise ProbeFailure("unsupported framework for " + locator)

    def probe_django(self, manage, locator=None):
        project_dir = os.path.dirname(manage)
        if project_dir not in sys.path:
            sys.path.insert(0, project_dir)
        if project_dir != self.root:
            self.extra_env["PYTHONPATH"] = project_dir
        with open(manage, encoding="utf-8", errors="replace") as handle:
            match = re.search(
                r"DJANGO_SETTINGS_MODULE['\"]\s*,\s*['\"]([\w.]+)['\"]", handle.read()
            )
        settings_module = os.environ.get("DJANGO_SETTINGS_MODULE") or (
            match.group(1) if match else None
        )
        if not settings_module:
            raise ProbeFailure(
                relative(self.root, manage) + " does not name DJANGO_SETTINGS_MODULE"
            )
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
        self.extra_env["DJANGO_SETTINGS_MODULE"] = settings_module
        self.searched.append(settings_module)
        try:
            import django

            django.setup()
            from django.conf import settings
            from django.urls import get_resolver

            get_resolver().url_patterns  # noqa: B018 - imports the URLconf (and its views)
        except BaseException as exc:  # noqa: BLE001
            self.record_error(settings_module, exc)
            raise ProbeFailure("could not set up Django with " + settings_module) from None
        if locator is None:
            wsgi = (
                getattr(settings, "WSGI_APPLICATION", None)
                or settings_module.rsplit(".", 1)[0] + ".wsgi.application"
            )
            module_name, _, attr = wsgi.rpartition(".")
            locator = module_name + ":" + attr
        interface = "asgi" if "asgi" in locator.partition(":")[0].split(".")[-1] else "wsgi"
        source, doc = django_openapi(settings, self.root)
        result = self.success("django", locator, False, interface, source, doc)
        result["sqlite_databases"] = sqlite_aliases(settings)
        return result


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


def sqlite_aliases(settings):
    """Aliases of the Django databases that use sqlite (those get a throwaway copy to serve)."""
    databases = getattr(settings, "DATABASES", None) or {}
    return sorted(
        alias
        for alias, config in databases.items()
        if "sqlite" in str((config or {}).get("ENGINE", ""))
    )


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


def framework_of(obj):
    """The framework whose app class `obj` is an instance of, by class name and module."""
    if obj is None or inspect.isclass(obj) or inspect.ismodule(obj):
        return None
    found = None
    for cls in type(obj).__mro__:
        module = cls.__module__.split(".")[0]
        if module == "fastapi" and cls.__name__ == "FastAPI":
            return "fastapi"
        if module == "litestar" and cls.__name__ == "Litestar":
            return "litestar"
        if module == "flask" and cls.__name__ == "Flask":
            return "flask"
        if module == "connexion" and cls.__name__ == "AbstractApp":
            return "connexion"
        if module == "starlette" and cls.__name__ == "Starlette":
            found = "starlette"
    return found


def relative(root, path):
    path = os.path.abspath(path)
    if path.startswith(root + os.sep):
        return os.path.relpath(path, root).replace(os.sep, "/")
    return None


def source_of(func, root, _depth=0):
    """{"file": path relative to root, "line": first line} for code inside root, else None.

    A wrapper defined in a library (DRF's `@api_view` handler, a decorator without `wraps`) is
    looked through: the first function it closes over that lives inside root is used instead.
    """
    try:
        func = inspect.unwrap(func)
        path = inspect.getsourcefile(func)
        line = inspect.getsourcelines(func)[1]
    except (TypeError, OSError, ValueError):
        return None
    rel = relative(root, path) if path else None
    if rel:
        return {"file": rel, "line": line}
    if _depth < 2:
        for cell in getattr(func, "__closure__", None) or ():
            try:
                inner = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if inspect.isfunction(inner):
                found = source_of(inner, root, _depth + 1)
                if found:
                    return found
    return None


def copy_sources(doc, synthesized):
    """Put the synthesized operations' x-source on the matching operations of a native doc, and
    the URL converters' types on its path parameters that it only calls strings.

    Paths match when they differ only in parameter names (`{pk}` and `{id}`). A generator that
    cannot see a converter (drf-yasg on a function view) says `string` for `<int:part_id>`,
    and a made-up string there never reaches the view.
    """

    def shape(path):
        return re.sub(r"\{[^}]*\}", "{}", path).rstrip("/")

    sources = {}
    typed = {}  # path shape -> {parameter name: schema} for non-string converters
    for path, item in synthesized["paths"].items():
        for method, op in item.items():
            if op.get("x-source"):
                sources[(shape(path), method)] = op["x-source"]
            for param in op.get("parameters") or ():
                if param["schema"].get("type") not in (None, "string"):
                    typed.setdefault(shape(path), {})[param["name"]] = param["schema"]
    base = "/" + str(doc.get("basePath") or "").strip("/")  # Swagger 2.0 paths are relative
    base = "" if base == "/" else base
    for path, item in (doc.get("paths") or {}).items():
        converters = typed.get(shape(base + path), {})
        for method, op in (item or {}).items():
            if method == "parameters" and isinstance(op, list):
                retype_path_params(op, converters)
            if not isinstance(op, dict):
                continue
            retype_path_params(op.get("parameters") or [], converters)
            source = sources.get((shape(base + path), method))
            if source and "x-source" not in op:
                op["x-source"] = source
    return doc


def retype_path_params(params, converters):
    """Give path parameters typed only as strings (OpenAPI 3 `schema` or Swagger 2 `type`) the
    converter's type from `converters` (name -> schema)."""
    for param in params:
        if not isinstance(param, dict) or param.get("in") != "path":
            continue
        schema = converters.get(param.get("name"))
        if schema is None:
            continue
        if param.get("schema") == {"type": "string"}:
            param["schema"] = dict(schema)
        elif "schema" not in param and param.get("type") == "string" and len(param) == 4:
            param.update(schema)  # Swagger 2: name, in, required, type


def doc_fields(obj):
    """summary/description from the object's own docstring (not one inherited from a base)."""
    doc = inspect.cleandoc(getattr(obj, "__doc__", None) or "")
    if not doc:
        return {}
    first, _, rest = doc.partition("\n")
    fields = {"summary": first.strip()}
    if rest.strip():
        fields["description"] = rest.strip()
    return fields


def find_manage_py(root, depth=2):
    for current, dirs, files in os.walk(root):
        if "manage.py" in files:
            return os.path.join(current, "manage.py")
        level = os.path.relpath(current, root).count(os.sep) + (current != root)
        dirs[:] = [
            d
            for d in sorted(dirs)
            if not d.startswith(".") and d not in SKIP_DIRS and level < depth
        ]
    return None


# -- OpenAPI per framework ----------------------------------------------------------------------


def fastapi_openapi(app, root):
    doc = json.loads(json.dumps(app.openapi(), default=str))  # a copy: FastAPI caches its own
    for route in app.routes:
        path = getattr(route, "path_format", None)
        endpoint = getattr(route, "endpoint", None)
        if path is None or endpoint is None or path not in doc.get("paths", {}):
            continue
        source = source_of(endpoint, root)
        if not source:
            continue
        for method in getattr(route, "methods", None) or ():
            op = doc["paths"][path].get(method.lower())
            if isinstance(op, dict):
                op["x-source"] = source
    return doc


def placeholders(text, pattern, to_param):
    """(text with each match of `pattern` as `{name}`, [(name, schema)]) via `to_param(match)`."""
    params = []

    def replace(match):
        name, schema = to_param(match)
        params.append((name, schema))
        return "{" + name + "}"

    return re.sub(pattern, replace, text), params


def synthesized_doc(title, paths):
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "0.0.0"},
        "paths": paths,
    }


def synthesized_operation(method, operation_id, params, func, root, tags=(), doc=None):
    """An OpenAPI operation for a view function; `doc` is where its docstring is, if not on it."""
    op = {"operationId": operation_id}
    op.update(doc_fields(doc or func))
    if tags:
        op["tags"] = list(tags)
    if params:
        op["parameters"] = [
            {"name": name, "in": "path", "required": True, "schema": schema}
            for name, schema in params
        ]
    if method in BODY_METHODS:
        media, fields = body_fields(func)
        schema = {"type": "object"}
        if fields:  # names only: their types and which are required are unknown
            schema["properties"] = {name: {} for name in fields}
        op["requestBody"] = {"required": False, "content": {media: {"schema": schema}}}
    op["responses"] = dict(UNDOCUMENTED)
    source = source_of(func, root)
    if source:
        op["x-source"] = source
    return op


def operation_id(name, method, methods):
    """The view's name, with the method appended when the view serves several."""
    return name if len(methods) == 1 else name + "_" + method.lower()


# Where a view reads its request body from (Flask, Django, Starlette), and the form variants.
BODY_READ = r"request\.(?:get_json|json|form|data|POST|body)\b"
FORM_READ = re.compile(r"request\.(?:form|POST)\b")
JSON_READ = re.compile(r"request\.(?:get_json|json|data|body)\b")


def body_fields(func):
    """(media type, field names) a view reads from its request body, found in its source.

    A synthesized spec knows nothing of the body; the names the view looks up
    (`data["title"]`, `request.form.get("title")`, after `data = request.get_json()`) make a
    request the view can accept. Types stay unknown.
    """
    try:
        source = inspect.getsource(inspect.unwrap(func))
    except (TypeError, OSError, ValueError):
        return "application/json", []
    media = (
        "application/x-www-form-urlencoded"
        if FORM_READ.search(source) and not JSON_READ.search(source)
        else "application/json"
    )
    assigned = re.findall(r"(\w+)\s*(?::[^=\n]*)?=[^=\n]*?" + BODY_READ, source)
    receivers = [r"request\.(?:get_json|json|form|data|POST)(?:\([^)]*\))?"]
    receivers += [re.escape(name) for name in assigned]
    lookup = r"\s*(?:\[\s*|\.get\(\s*)['\"]([A-Za-z_]\w*)['\"]"
    fields = []
    for name in re.findall(r"\b(?:" + "|".join(receivers) + ")" + lookup, source):
        if name not in fields:
            fields.append(name)
    return media, fields


CONVERTER_SCHEMAS = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
    "path": {"type": "string"},
    "string": {"type": "string"},
    "str": {"type": "string"},
    "slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
}


def converter_schema(converter, arguments=""):
    if converter == "any" and arguments:
        return {"type": "string", "enum": re.findall(r"[\w.-]+", arguments)}
    return dict(CONVERTER_SCHEMAS.get(converter or "string", {"type": "string"}))


def flask_openapi(app, root):
    """(spec_source, doc): the spec an extension documents, else one built from the URL map."""
    synthesized = flask_synthesized(app, root)
    native = flask_native_spec(app)
    if native:
        return "native", copy_sources(native, synthesized)
    return "synthesized", synthesized


def flask_synthesized(app, root):
    paths = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        path, params = placeholders(
            rule.rule,
            r"<(?:(\w+)(?:\((.*?)\))?:)?(\w+)>",
            lambda m: (m.group(3), converter_schema(m.group(1), m.group(2) or "")),
        )
        view = app.view_functions.get(rule.endpoint)
        view_class = getattr(view, "view_class", None)
        methods = sorted(set(rule.methods or ()) - {"HEAD", "OPTIONS"})
        for method in methods:
            func = getattr(view_class, method.lower(), None) or view
            paths.setdefault(path, {})[method.lower()] = synthesized_operation(
                method.lower(),
                operation_id(rule.endpoint.replace(".", "_"), method, methods),
                params,
                func,
                root,
                tags=[rule.endpoint.split(".")[0]] if "." in rule.endpoint else (),
            )
    return synthesized_doc(app.name, paths)


def flask_native_spec(app):
    """The document flask-smorest, APIFlask or flask-restx would serve, if one is installed."""
    if type(app).__name__ == "APIFlask":
        return json.loads(json.dumps(app.spec, default=str))
    smorest = app.extensions.get("flask-smorest") if hasattr(app, "extensions") else None
    if smorest:
        for entry in smorest.get("apis", {}).values():
            api = entry.get("ext_obj")
            if api is not None and getattr(api, "spec", None) is not None:
                return json.loads(json.dumps(api.spec.to_dict(), default=str))
    restx = sys.modules.get("flask_restx")
    for api in module_level_instances(restx.Api) if restx is not None else ():
        if getattr(api, "app", None) is app:
            with app.test_request_context():
                return json.loads(json.dumps(api.__schema__, default=str))
    return None


def connexion_openapi(app, root):
    """The spec file(s) a Connexion 3 app was given (`add_api("openapi.yaml")`), with each API's
    base path (`servers` / `basePath`, or add_api's `base_path=`) put in front of its paths, and
    the source of each operationId's handler."""
    apis = getattr(getattr(app, "middleware", None), "apis", None)
    if apis is None:
        raise ProbeFailure(
            "this Connexion app has no ASGI middleware (Connexion 2?): only Connexion 3 is "
            "supported; name the spec file with `spec:` in .api-mcp-test.yml and start the app "
            "with `start:`"
        )
    if not apis:
        raise ProbeFailure("the Connexion app has no API: call app.add_api(\"openapi.yaml\")")
    doc = None
    for api in apis:
        raw = json.loads(json.dumps(api.specification.raw, default=str))
        base = (api.base_path if api.base_path is not None else api.specification.base_path)
        base = "/" + base.strip("/") if base and base.strip("/") else ""
        raw["paths"] = {base + path: item for path, item in (raw.get("paths") or {}).items()}
        raw.pop("servers", None)
        if "basePath" in raw:
            raw["basePath"] = "/"
        for item in raw["paths"].values():
            for op in (item or {}).values():
                if isinstance(op, dict) and isinstance(op.get("operationId"), str):
                    source = source_of(resolve_dotted(op["operationId"]), root)
                    if source:
                        op["x-source"] = source
        if doc is None:
            doc = raw
            continue
        doc["paths"].update(raw["paths"])
        for key in ("definitions",):
            doc.setdefault(key, {}).update(raw.get(key) or {})
        components = doc.setdefault("components", {})
        for kind, entries in (raw.get("components") or {}).items():
            components.setdefault(kind, {}).update(entries or {})
    return doc


def resolve_dotted(name):
    """The object `package.module.attr` names, or None."""
    module_name, _, attr = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except Exception:  # noqa: BLE001 - an unresolvable operationId only loses its x-source
        return None


def starlette_openapi(app, root):
    paths = {}

    def walk(routes, prefix):
        for route in routes:
            sub_routes = getattr(route, "routes", None)
            if sub_routes is not None and not hasattr(route, "endpoint"):
                walk(sub_routes, prefix + getattr(route, "path", ""))
                continue
            endpoint = getattr(route, "endpoint", None)
            if endpoint is None or not hasattr(route, "path"):
                continue
            path, params = placeholders(
                prefix + route.path,
                r"\{(\w+)(?::(\w+))?\}",
                lambda m: (m.group(1), converter_schema(m.group(2))),
            )
            methods = getattr(route, "methods", None)
            if methods is None:  # a WebSocket route or an endpoint class without methods
                if not inspect.isclass(endpoint):
                    continue
                methods = [m.upper() for m in HTTP_METHODS if hasattr(endpoint, m)]
            methods = sorted(set(methods) - {"HEAD", "OPTIONS"})
            for method in methods:
                func = (
                    getattr(endpoint, method.lower(), None)
                    if inspect.isclass(endpoint)
                    else endpoint
                )
                name = getattr(route, "name", None) or path.strip("/").replace("/", "_")
                paths.setdefault(path, {})[method.lower()] = synthesized_operation(
                    method.lower(),
                    operation_id(name, method, methods),
                    params,
                    func or endpoint,
                    root,
                )

    walk(app.routes, "")
    return synthesized_doc("Starlette app", paths)


def django_openapi(settings, root):
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


def module_level_instances(cls):
    """Distinct instances of `cls` bound to a name at the top level of any loaded module."""
    found = []
    for module in list(sys.modules.values()):
        for value in list(getattr(module, "__dict__", {}).values()):
            if isinstance(value, cls) and not any(value is f for f in found):
                found.append(value)
    return found


def litestar_openapi(app, root):
    doc = json.loads(json.dumps(app.openapi_schema.to_schema(), default=str))
    paths = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            fn = getattr(handler, "fn", None)
            fn = getattr(fn, "value", fn)  # Litestar 2.0-2.3 wrapped it in a Ref
            source = source_of(fn, root) if fn is not None else None
            for method in getattr(handler, "http_methods", ()) if source else ():
                paths.setdefault(route.path, {})[str(method).lower()] = {"x-source": source}
    return copy_sources(doc, {"paths": paths})


DJANGO_REGEX_INT = ("[0-9]+", r"\d+")


def function_view_methods(view):
    """The methods a plain Django function view serves: those `@require_http_methods` (and
    `require_GET`, ...) allow, else GET plus those its source compares `request.method` with."""
    func = view
    while func is not None:
        try:
            allowed = inspect.getclosurevars(func).nonlocals.get("request_method_list")
        except (TypeError, ValueError):
            allowed = None
        if allowed:
            return [m.lower() for m in allowed if m.lower() in HTTP_METHODS]
        func = getattr(func, "__wrapped__", None)
    try:
        source = inspect.getsource(inspect.unwrap(view))
    except (TypeError, OSError, ValueError):
        return ["get"]
    compared = re.findall(r"request\.method\s*(?:==|!=|in|not in)\s*([^:\n]+)", source)
    named = re.findall(r"['\"](GET|POST|PUT|PATCH|DELETE)['\"]", " ".join(compared))
    return ["get"] + [m.lower() for m in HTTP_METHODS[1:] if m.upper() in named]


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


if __name__ == "__main__":
    sys.exit(main())

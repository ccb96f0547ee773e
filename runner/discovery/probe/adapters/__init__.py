"""One module per framework: `openapi(app, root) -> (spec_source, document)` and the
`INTERFACE` (asgi or wsgi) its apps are served with. Django's adapter works from settings, not
an app object (see `finder.Prober.probe_django`)."""

from . import connexion, fastapi, flask, litestar, starlette

BY_FRAMEWORK = {
    "fastapi": fastapi,
    "flask": flask,
    "starlette": starlette,
    "litestar": litestar,
    "connexion": connexion,
}

"""The discovery probe: finds the web app in a repository and writes its OpenAPI document.

It runs inside the *target* app's interpreter (any Python from 3.7 on), never the runner's:
the runner copies this package into the run's workspace and starts

    <target python> -m api_mcp_test_probe --root DIR [--app module:attr]
        [--hints hints.json] [--locate-only] --out result.json

Modules: `main` (arguments, writing the result), `finder` (which app: --app, the entry points
the runner read from the repository, manage.py, the usual module names), `adapters` (one per
framework: its OpenAPI document), `synthesis` (heuristics for apps without one), `result`
(the result's shape), `common` (source locations shared by the adapters).

Standard library only, plus the frameworks it finds. The app may print whatever it likes on
stdout; the result goes to --out only.
"""

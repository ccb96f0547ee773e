"""The start-up steps of the app's `if __name__ == "__main__":` block.

An app run as `python app.py` often prepares its database there before serving:

    if __name__ == "__main__":
        init_db()                      # or db.create_all(), seed(), ...
        app.run(debug=True)

Served by import (as api-mcp-test and any WSGI/ASGI server do), those steps never run, and every
call answers 500 "no such table": the run's own mistake, not the API's. So the calls before the
server starts (plain calls, or `with` blocks of calls, such as `with app.app_context():
db.create_all()`) run once in the app's module, in the run's copy, before it is served. A block
that starts no server (a command-line script) runs nothing.

Runs in the target interpreter: standard library only, Python 3.7+.
"""

from __future__ import annotations

import ast

from .common import error_line

# Calls that start a server (or the program): the steps are the calls before the first one.
SERVER_CALLS = ("run", "serve", "run_server", "run_simple", "run_app", "main", "cli",
                "start", "serve_forever", "execute_from_command_line")


def run_main_block(module):
    """Run the start-up steps of `module`'s main block; notes for the report."""
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py"):
        return []
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            tree = ast.parse(handle.read(), path)
    except (OSError, SyntaxError, ValueError):
        return []
    steps = _steps(next((n.body for n in tree.body if _is_main_guard(n)), []))
    if not steps:
        return []
    names = ", ".join(_text(step) for step in steps)
    code = ast.Module(body=steps)
    code.type_ignores = []  # Python 3.8+ wants it, 3.7 knows no such field
    try:
        exec(compile(code, path, "exec"), vars(module))  # noqa: S102 - the app's own code
    except Exception as exc:  # noqa: BLE001 - the run goes on; the calls will show it
        return ["the start-up steps of the main block of " + module.__name__ + " (" + names
                + ") failed: " + error_line(exc)]
    return ["the app's module " + module.__name__ + " prepares the app in its `if __name__ == "
            "\"__main__\":` block, which serving by import skips: its start-up steps ("
            + names + ") were run in the run's copy before serving"]


def _is_main_guard(node):
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    sides = [node.test.left, *node.test.comparators]
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
        getattr(s, "value", getattr(s, "s", None)) == "__main__" for s in sides)  # 3.7: ast.Str


def _steps(block):
    """The calls before the server starts; none when nothing in the block starts one."""
    steps = []
    for statement in block:
        if any(_starts_server(node) for node in ast.walk(statement)):
            return steps
        if _is_call(statement) or (isinstance(statement, ast.With)
                                   and all(_is_call(s) for s in statement.body)):
            steps.append(statement)
    return []


def _is_call(statement):
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) and \
        _name(statement.value.func) not in ("print", "input", "exit")


def _starts_server(node):
    return isinstance(node, ast.Call) and _name(node.func) in SERVER_CALLS


def _name(func):
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _text(statement):
    call = statement.value if isinstance(statement, ast.Expr) else statement.body[0].value
    return _name(call.func) + "()"

"""ApiSpec -> the source of `mcp_server.py`, built as a Python AST (never by pasting spec text
into code) and printed with `ast.unparse`, then `ruff format` when ruff is installed.

The module is a fixed frame (`FRAME`, our own code) plus one typed function per operation; spec
text only ever enters as `ast.Constant` values, which `ast.unparse` escapes.
"""

from __future__ import annotations

import ast
import json
import subprocess
from dataclasses import dataclass
from typing import Any

from runner.errors import RunnerError
from runner.mcpgen import schemas
from runner.mcpgen.names import argument_name, free_name, one_line, pascal_case
from runner.mcpgen.schemas import ArgType, literal, name, or_none, subscript
from runner.models import ApiSpec, Endpoint, RequestBody
from runner.openapi import to_json_schema

READ_ONLY_METHODS = ("GET", "HEAD", "OPTIONS")
IDEMPOTENT_METHODS = ("PUT", "DELETE")
# A generated server over this many characters is refused: it would not load in useful time.
MAX_SOURCE_CHARS = 20_000_000
FORMAT_TIMEOUT = 120

IMPORTS = '''
from typing import Annotated, Any, Literal

from fastmcp import FastMCP
from mcp_harness import Harness
from mcp_runtime import Api, Credential, Operation, ToolIndex, run
from pydantic import Field, WithJsonSchema
'''
# The harness build answers every call with a record of it; the shipped one with the API's
# answer, and a tool error for a 4xx/5xx answer or a transport error. The harness' tools declare
# no output schema: the runner reads the call log, and a client would check each record.
HARNESS_FRAME = '''
_harness = Harness()
_api = Api(DEFAULT_BASE_URL, CREDENTIALS, errors_as_results=True, hooks=_harness)
tools = ToolIndex(output_schemas=False)
mcp = FastMCP(SERVER_NAME, lifespan=_api.lifespan, providers=[tools])
'''
SHIP_FRAME = '''
_api = Api(DEFAULT_BASE_URL, CREDENTIALS)
tools = ToolIndex()
mcp = FastMCP(SERVER_NAME, lifespan=_api.lifespan, providers=[tools])
'''
MAIN = '''
if __name__ == "__main__":
    run(mcp, _api)
'''


def _bound_names(source: str) -> frozenset[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.alias):
            names.add(node.asname or node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return frozenset(names)


# Every name the frame binds: tools and schema aliases must never shadow one.
FRAME_NAMES = _bound_names(IMPORTS + HARNESS_FRAME + SHIP_FRAME + MAIN) | {"mcp_harness", "mcp_runtime", "typing", "fastmcp",
                                            "pydantic", "__name__"}


@dataclass(frozen=True)
class Argument:
    name: str  # Python name in the tool signature
    wire: str  # name in the request (parameter or body property)
    location: str  # path | query | header | cookie | field | body
    required: bool
    annotation: ast.expr


class ModuleBuilder:
    """Builds the module for one spec; schema aliases are shared by equal schemas."""

    def __init__(self, spec: ApiSpec, tool_names: dict[str, str], harness: bool) -> None:
        self.spec = spec
        self.harness = harness
        self.tool_names = tool_names
        self.aliases: dict[str, tuple[str, ast.stmt]] = {}

    # ---- arguments

    def arguments(self, endpoint: Endpoint) -> list[Argument]:
        tool = self.tool_names[endpoint.key]
        args: list[Argument] = []
        used: set[str] = set()
        for param in endpoint.parameters:
            arg_name = free_name(argument_name(param.name), used, "_" + param.location)
            schema = to_json_schema(param.schema, "write")  # resolved in discovery
            args.append(self.argument(arg_name, param.name, param.location, param.required,
                                      schema, param.description, tool))
        body = endpoint.request_body
        if body is not None:
            schema = to_json_schema(body.schema, "write")
            properties = (schema.get("properties")
                          if schema.get("type", "object") == "object" else None)
            if (isinstance(properties, dict) and properties
                    and not any(k in schema for k in ("anyOf", "oneOf", "allOf"))):
                required = set(schema.get("required") or ())
                for prop, prop_schema in properties.items():
                    arg_name = free_name(argument_name(prop), used, "_body")
                    args.append(self.argument(arg_name, prop, "field", prop in required,
                                              prop_schema or {}, "", tool))
            else:
                arg_name = free_name("body", used, "_body")
                args.append(self.argument(arg_name, "body", "body", body.required,
                                          schema, "", tool))
        return [a for a in args if a.required] + [a for a in args if not a.required]

    def argument(self, arg_name: str, wire: str, location: str, required: bool,
                 schema: dict[str, Any], description: str, tool: str) -> Argument:
        kind: ArgType = schemas.python_type(schema)
        node: ast.expr
        field_args: list[ast.keyword] = []
        if kind.simple:
            node = kind.node
            text = schemas.describe(description, kind.schema)
            if text:
                field_args.append(ast.keyword("description", ast.Constant(text)))
            extra = schemas.constraints(kind.schema)
            if extra:
                field_args.append(ast.keyword("json_schema_extra", literal(extra)))
        else:
            if description and not schema.get("description"):
                schema = {"description": one_line(description), **schema}
            node = name(self.alias(kind.node, schema, f"{tool}_{arg_name}"))
        # Null only where the API accepts it; an omitted argument is absent from the request.
        if kind.nullable and not (isinstance(node, ast.Name) and node.id == "Any"):
            node = or_none(node)
        if field_args:
            field = ast.Call(func=name("Field"), args=[], keywords=field_args)
            node = subscript("Annotated", node, field)
        return Argument(arg_name, wire, location, required, node)

    def alias(self, type_node: ast.expr, schema: dict[str, Any], fallback: str) -> str:
        """A module-level `Name = Annotated[type, WithJsonSchema({...})]`."""
        key = ast.dump(type_node) + json.dumps(schema, sort_keys=True)
        if key in self.aliases:
            return self.aliases[key][0]
        base = pascal_case(fallback) or "Payload"
        if base[0].isdigit():
            base = "Schema" + base
        taken = {n for n, _ in self.aliases.values()}
        alias_name = base + "Schema" if base in FRAME_NAMES else base
        number = 2
        while alias_name in taken:
            alias_name = f"{base}{number}"
            number += 1
        value = subscript("Annotated", type_node, ast.Call(
            func=name("WithJsonSchema"), args=[literal(schema)], keywords=[]))
        statement = ast.Assign(targets=[ast.Name(alias_name, ast.Store())], value=value,
                               lineno=0)
        self.aliases[key] = (alias_name, statement)
        return alias_name

    # ---- tools

    def tool(self, endpoint: Endpoint) -> ast.AsyncFunctionDef:
        tool = self.tool_names[endpoint.key]
        arguments = self.arguments(endpoint)
        hint = ("readOnlyHint" if endpoint.method in READ_ONLY_METHODS
                else "idempotentHint" if endpoint.method in IDEMPOTENT_METHODS else None)
        # Registered in the runtime's ToolIndex: FastMCP's own store costs each call a scan
        # of every tool.
        decorator: ast.expr = ast.Attribute(name("tools"), "tool", ast.Load())
        if hint:
            decorator = ast.Call(func=decorator, args=[], keywords=[ast.keyword(
                "annotations", literal({hint: True}))])
        doc = [p.strip() for p in (endpoint.summary, endpoint.description) if p.strip()]
        if len(doc) == 2 and one_line(doc[0]) in one_line(doc[1]):
            doc = doc[1:]
        if doc and not doc[0].endswith((".", "!", "?", ":")):
            doc[0] += "."
        doc.append(f"{endpoint.method} {endpoint.path}")
        params = {a.name: [a.location, a.wire] for a in arguments}
        operation_args: list[ast.expr] = [ast.Constant(tool), ast.Constant(endpoint.method),
                                          ast.Constant(endpoint.path)]
        keywords = []
        if params:
            keywords.append(ast.keyword("params", ast.Dict(
                keys=[ast.Constant(k) for k in params],
                values=[ast.Tuple([ast.Constant(v) for v in loc], ast.Load())
                        for loc in params.values()])))
        body = endpoint.request_body
        content_type = (body or RequestBody()).content_type
        if content_type != "application/json":
            keywords.append(ast.keyword("content_type", ast.Constant(content_type)))
        operation = ast.Call(func=name("Operation"), args=operation_args, keywords=keywords)
        values = ast.Dict(keys=[ast.Constant(a.name) for a in arguments],
                          values=[name(a.name) for a in arguments])
        call = ast.Await(ast.Call(func=ast.Attribute(name("_api"), "call", ast.Load()),
                                  args=[operation, values], keywords=[]))
        optional = [a for a in arguments if not a.required]
        signature = ast.arguments(
            posonlyargs=[], args=[ast.arg(a.name, a.annotation) for a in arguments],
            kwonlyargs=[], kw_defaults=[], defaults=[ast.Constant(None) for _ in optional])
        return ast.AsyncFunctionDef(
            name=tool, args=signature,
            body=[ast.Expr(ast.Constant(_docstring("\n\n".join(doc)))), ast.Return(call)],
            decorator_list=[decorator], returns=self.returns(), type_params=[], lineno=0)

    def returns(self) -> ast.expr:
        """The harness answers with a record of the call; a shipped tool with the API's body."""
        return subscript("dict", name("str"), name("Any")) if self.harness else name("Any")


def _docstring(text: str) -> str:
    """Docstring text: no control characters but newlines, lines stripped, indented as a
    function body (ast.unparse writes it verbatim inside triple quotes)."""
    text = "".join(c if c == "\n" or c.isprintable() else " " for c in text.expandtabs(4))
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return "\n".join([lines[0], *("    " + line if line else "" for line in lines[1:])]
                     + (["    "] if len(lines) > 1 else []))


class _Fill(ast.NodeTransformer):
    """Puts values into the frame's placeholders (names in capitals) as literals."""

    def __init__(self, values: dict[str, ast.expr]) -> None:
        self.values = values

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return self.values.get(node.id, node)


def build_module(spec: ApiSpec, tool_names: dict[str, str], base_url: str | None,
                 harness: bool, credentials: ast.expr) -> str:
    builder = ModuleBuilder(spec, tool_names, harness)
    tools = [builder.tool(e) for e in spec.endpoints]
    title = one_line(spec.title or str((spec.openapi.get("info") or {}).get("title") or ""))
    title = title or "API"
    version = one_line(spec.version or str((spec.openapi.get("info") or {}).get("version") or ""))
    server_name = title if title.lower().endswith("api") else f"{title} API"
    frame = ast.parse(IMPORTS + (HARNESS_FRAME if harness else SHIP_FRAME))
    frame = _Fill({
        "DEFAULT_BASE_URL": ast.Constant(one_line(base_url or "")),
        "CREDENTIALS": credentials,
        "SERVER_NAME": ast.Constant(server_name),
    }).visit(frame)
    statements: list[ast.stmt] = list(frame.body)
    statements += [s for _, s in builder.aliases.values()]
    statements += tools
    if harness:
        operations = literal([[e.method, e.path] for e in spec.endpoints])
        statements.append(ast.Expr(ast.Call(
            func=ast.Attribute(name("_harness"), "add_raw_request_tool", ast.Load()),
            args=[name("tools"), name("_api"), operations], keywords=[])))
    statements += ast.parse(MAIN).body
    module = ast.Module(body=[ast.Expr(ast.Constant(_module_doc(title, version, len(tools),
                                                                base_url)))] + statements,
                        type_ignores=[])
    _drop_unused_imports(module)
    # Blank lines between import groups (ast.unparse writes none).
    text = ast.unparse(module).replace("\nfrom fastmcp import", "\n\nfrom fastmcp import", 1)
    source = HEADER + text + "\n"
    if len(source) > MAX_SOURCE_CHARS:
        raise RunnerError(
            "mcpgen",
            f"The generated MCP server would be {len(source):,} characters, over the limit of "
            f"{MAX_SOURCE_CHARS:,}: the OpenAPI document has too many or too large schemas.",
            "Select fewer operations (include/exclude in .api-mcp-test.yml) or simplify the "
            "request schemas.")
    return format_source(source)


HEADER = """\
# Generated by api-mcp-test from an OpenAPI document. Regenerate rather than edit.
# An optional argument defaults to None, meaning "omitted": it is left out of the request. The
# client may send null only where the type says `| None` (where the API accepts null).
# ruff: noqa: RUF013
# mypy: implicit-optional
"""


def _module_doc(title: str, version: str, count: int, base_url: str | None) -> str:
    plural = "" if count == 1 else "s"
    default = f" (default {one_line(base_url)})" if base_url else ""
    text = (f"MCP tools for {title}{' ' + version if version else ''}: {count} operation{plural},"
            f" one tool each.\n\nRun it with the mcp_runtime package beside it:\n"
            f"    API_BASE_URL=http://127.0.0.1:8000 python mcp_server.py [--transport http]\n\n"
            f"API_BASE_URL is the API's base URL{default};\n"
            "mcp_runtime/__init__.py describes the other settings.\n")
    return "".join(c if c == "\n" or c.isprintable() else " " for c in text)


def _drop_unused_imports(module: ast.Module) -> None:
    # One walk: the base of an attribute (`tools` in `tools.tool`) is a Name node too.
    used = {n.id for n in ast.walk(module) if isinstance(n, ast.Name)}
    body = []
    for statement in module.body:
        if isinstance(statement, ast.ImportFrom):
            statement.names = [a for a in statement.names if (a.asname or a.name) in used]
            if not statement.names:
                continue
        body.append(statement)
    module.body = body


def format_source(source: str) -> str:
    """`ruff format` the source when ruff is installed (the golden file is written that way);
    ast.unparse's text as it is otherwise."""
    try:
        from ruff.__main__ import find_ruff_bin
    except ImportError:
        return source
    try:
        done = subprocess.run(
            [find_ruff_bin(), "format", "--isolated", "--line-length", "88", "-"],
            input=source, capture_output=True, text=True, timeout=FORMAT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return source
    return done.stdout if done.returncode == 0 else source

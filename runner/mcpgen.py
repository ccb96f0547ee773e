"""ApiSpec -> the source of a standalone FastMCP server with one typed tool per operation.

The generated file imports only the standard library, httpx, fastmcp and pydantic. It reads its
settings from the environment when it starts (never from generation time, so no secret is baked
in), sends every call through one `_request` helper that cannot leave the base URL, and appends a
`ToolCall` record per call to a JSONL log the harness reads while the server runs.

The harness build (`harness=True`, what a test run starts) also has one tool for negative tests,
`api_mcp_test_raw_request`, which sends a request the typed tools cannot express:

    operation     str        "METHOD /path/template" of the operation under test (must exist)
    method        str        HTTP method sent, as given (any method token: a 405 test may differ)
    path          str        concrete path below the base URL ("/todos/abc"); absolute URLs, "//",
                             "\\", "?", "#", control characters and "." / ".." segments (also
                             percent-encoded) are refused
    query         dict|null  query parameters (lists repeat the parameter; null values dropped)
    headers       dict|null  headers over the run's credentials; a header set to null is not
                             sent (even Authorization); Host, hop-by-hop and Content-Length refused
    json_body     any|null   body sent as JSON (Content-Type application/json unless given)
    body_text     str|null   body sent as text, as given (not with json_body)
    content_type  str|null   Content-Type of the body (also without one)
    intent        str        what the call means for the checks, e.g. "invalid" (the default)

A refused argument is a tool error and sends nothing. A sent request is recorded like every other
call (`tool` api_mcp_test_raw_request, `method`/`path` the operation's template, `url` the URL
sent, `intent` as given, `request_method` the method sent) and returns the same compact result.

Layout follows ruff's formatter (88 columns, magic trailing commas): a bracket either fits on one
line or holds one element per line, so `ruff format --check` accepts the output as it is.
"""

from __future__ import annotations

import builtins
import json
import keyword
import math
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from runner.discovery.spec import resolve
from runner.errors import RunnerError
from runner.models import ApiSpec, Endpoint

MAX_TOOL_NAME = 56
RAW_REQUEST_TOOL = "api_mcp_test_raw_request"
LINE_LENGTH = 88
READ_ONLY_METHODS = ("GET", "HEAD", "OPTIONS")
IDEMPOTENT_METHODS = ("PUT", "DELETE")
# Names the generated module defines or imports; tools and type aliases must not shadow them.
MODULE_NAMES = frozenset(
    [
        "asyncio",
        "gc",
        "json",
        "re",
        "unquote",
        "OPERATIONS",
        "RAW_REQUEST_TOOL",
        "REFUSED_HEADERS",
        "os",
        "sys",
        "time",
        "uuid",
        "quote",
        "httpx",
        "FastMCP",
        "Annotated",
        "Any",
        "Literal",
        "Field",
        "WithJsonSchema",
        "mcp",
        "BASE_URL",
        "TIMEOUT",
        "MAX_BODY",
        "RESULT_LIMIT",
        "CALL_LOG",
        "EXTRA_HEADERS",
        "HEADERS_FILE",
        "CredentialsUnreadable",
        "RESULT_HEADERS",
        "main",
        "FORM",
        "DEFAULT_BASE_URL",
    ]
)
RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
# Schema keys that only describe a value; a scalar with nothing else is fully typed by Python.
DESCRIPTIVE_KEYS = frozenset(
    [
        "type",
        "description",
        "title",
        "default",
        "format",
        "example",
        "examples",
        "enum",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "multipleOf",
        "deprecated",
        "readOnly",
        "writeOnly",
        "nullable",
        "const",
    ]
)
# Keys whose values map names to schemas (so a property called "title" is not a keyword).
NAME_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions"})
SCALAR_TYPES = {"integer": "int", "number": "float", "string": "str", "boolean": "bool"}
CONSTRAINT_WORDS = {
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusiveMinimum": "greater than",
    "exclusiveMaximum": "less than",
    "minLength": "min length",
    "maxLength": "max length",
    "pattern": "pattern",
    "format": "format",
    "default": "server default",
}


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Group:
    """`head` + `open` + items + `close` + `tail`: one line if it fits, else one item a line."""

    head: str
    open: str
    items: tuple[Node, ...]
    close: str
    tail: str = ""


Node = str | Group


def _prefixed(prefix: str, node: Node) -> Node:
    return prefix + node if isinstance(node, str) else replace(node, head=prefix + node.head)


def _suffixed(node: Node, suffix: str) -> Node:
    return node + suffix if isinstance(node, str) else replace(node, tail=node.tail + suffix)


def _flat(node: Node) -> str:
    if isinstance(node, str):
        return node
    return node.head + node.open + ", ".join(_flat(i) for i in node.items) + node.close + node.tail


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def render(node: Node, indent: int = 0, suffix: str = "") -> list[str]:
    """Lines for `node` at `indent` spaces, `suffix` (such as a comma) after its last line."""
    pad = " " * indent
    flat = _flat(node) + suffix
    if isinstance(node, str) or not node.items or indent + _width(flat) <= LINE_LENGTH:
        return [pad + flat]
    lines = [pad + node.head + node.open]
    for item in node.items:
        lines.extend(render(item, indent + 4, ","))
    lines.append(pad + node.close + node.tail + suffix)
    return lines


def py_str(text: str) -> str:
    """A string literal the way ruff writes it: double quotes unless that needs more escapes."""
    quote_char = "'" if text.count('"') > text.count("'") else '"'
    out = []
    for char in text:
        if char == "\\" or char == quote_char:
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"):
            code = ord(char)
            out.append(
                f"\\x{code:02x}"
                if code < 0x100
                else f"\\u{code:04x}"
                if code < 0x10000
                else f"\\U{code:08x}"
            )
        else:
            out.append(char)
    return quote_char + "".join(out) + quote_char


def py_value(value: Any) -> Node:
    """A JSON value as a Python literal node."""
    if isinstance(value, dict):
        items = tuple(_prefixed(py_str(str(k)) + ": ", py_value(v)) for k, v in value.items())
        return Group("", "{", items, "}")
    if isinstance(value, list | tuple):
        return Group("", "[", tuple(py_value(v) for v in value), "]")
    if isinstance(value, str):
        return py_str(value)
    if isinstance(value, float) and not math.isfinite(value):  # NaN and infinity: no literal
        return f'float("{value}")'
    return repr(value)


def docstring(text: str, indent: int) -> list[str]:
    """A triple-quoted docstring block, escaped and shaped as ruff formats it."""
    pad = " " * indent
    text = "".join(c if c in "\n\t" or unicodedata.category(c) != "Cc" else " " for c in text)
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = [line.rstrip() for line in text.expandtabs(4).strip().splitlines()]
    if len(lines) == 1:
        closing = " " if lines[0].endswith('"') else ""
        return [f'{pad}"""{lines[0]}{closing}"""']
    out = [f'{pad}"""{lines[0]}']
    out.extend(pad + line if line else "" for line in lines[1:])
    out.append(f'{pad}"""')
    return out


def one_line(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- names


def snake_case(text: str) -> str:
    """ASCII snake_case words of any string (`getPetById` -> `get_pet_by_id`)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()


def pascal_case(text: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in snake_case(text).split("_") if w)


def fastapi_suffix(endpoint: Endpoint) -> str:
    """What FastAPI appends to a function name to make its default operationId."""
    return re.sub(r"\W", "_", endpoint.path) + "_" + endpoint.method.lower()


def fallback_name(endpoint: Endpoint) -> str:
    return snake_case(f"{endpoint.method} {endpoint.path}") or endpoint.method.lower()


def base_tool_name(endpoint: Endpoint) -> str:
    """A snake_case name from the operationId (FastAPI's suffix cut), else method and path."""
    op_id = endpoint.operation_id.strip()
    suffix = fastapi_suffix(endpoint)
    if op_id.endswith(suffix) and len(op_id) > len(suffix):
        op_id = op_id[: -len(suffix)]
    name = snake_case(op_id) or fallback_name(endpoint)
    if name[0].isdigit():
        name = f"{endpoint.method.lower()}_{name}"
    return name


def _fit(name: str, limit: int) -> str:
    return name[:limit].rstrip("_") or name[:limit]


def unique_name(base: str, taken: set[str], limit: int = MAX_TOOL_NAME) -> str:
    """`base` cut to `limit`, never a keyword, builtin or module name, `_2`, `_3`... if taken."""
    name = _fit(base, limit)
    if name in RESERVED or name in MODULE_NAMES:
        name = _fit(name, limit - 1) + "_"
    number = 2
    candidate = name
    while candidate in taken:
        candidate = f"{_fit(name, limit - len(str(number)) - 1)}_{number}"
        number += 1
    taken.add(candidate)
    return candidate


def argument_name(wire_name: str) -> str:
    """A parameter's Python name: snake_case, never empty, digit-first, private or reserved."""
    name = snake_case(wire_name) or "value"
    if name[0].isdigit():
        name = "p_" + name
    if name in RESERVED:
        name += "_"
    return name


# --------------------------------------------------------------------------- schemas


def clean_schema(node: Any, in_name_map: bool = False) -> Any:
    """Resolved OpenAPI schema -> JSON Schema for a tool: `nullable` as a null type, `example`
    as `examples`, titles, XML hints and `x-` extensions dropped (names of properties kept)."""
    if isinstance(node, list):
        return [clean_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    if in_name_map:
        return {k: clean_schema(v) for k, v in node.items()}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("title", "xml", "nullable", "externalDocs") or key.startswith("x-"):
            continue
        if key == "example":
            out.setdefault("examples", [value])
            continue
        out[key] = clean_schema(value, key in NAME_MAPS)
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "type" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _split_null(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(the schema without its null alternative, whether null was allowed)."""
    kind = schema.get("type")
    if isinstance(kind, list) and "null" in kind:
        rest = [t for t in kind if t != "null"]
        if len(rest) == 1:
            return {**schema, "type": rest[0]}, True
    for combinator in ("anyOf", "oneOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            if len(rest) == 1 and isinstance(rest[0], dict):
                outer = {k: v for k, v in schema.items() if k != combinator}
                return {**rest[0], **outer}, True
    return schema, False


def _scalar_type(schema: dict[str, Any]) -> str | None:
    """The Python type that says everything `schema` requires, or None when it is complex."""
    if not set(schema) <= DESCRIPTIVE_KEYS:
        return None
    enum = schema.get("enum")
    if "const" in schema:
        enum = [schema["const"]]
    if isinstance(enum, list) and enum:
        values = [v for v in enum if v is not None]
        if values and all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
            return "Literal[" + ", ".join(py_value(v) for v in values) + "]"  # type: ignore[misc]
        return None
    kind = schema.get("type")
    if kind is None and len(schema) == (("description" in schema) + ("default" in schema)):
        return "Any"
    return SCALAR_TYPES.get(kind) if isinstance(kind, str) else None


def python_type(schema: dict[str, Any]) -> tuple[str, bool, bool, dict[str, Any]]:
    """(Python type, whether it is complex, whether null is allowed, schema without null)."""
    inner, nullable = _split_null(schema)
    scalar = _scalar_type(inner)
    if scalar is not None:
        return scalar, False, nullable, inner
    if inner.get("type") == "array" and set(inner) <= DESCRIPTIVE_KEYS | {"items", "uniqueItems"}:
        items = inner.get("items")
        item_type = _scalar_type(items) if isinstance(items, dict) else None
        if item_type is not None and not items.get("enum") and set(items) <= {"type"}:
            return f"list[{item_type}]", False, nullable, inner
        return "list[Any]", True, nullable, inner
    if inner.get("type") == "object":
        return "dict[str, Any]", True, nullable, inner
    return "Any", True, nullable, inner


def describe(description: str, schema: dict[str, Any]) -> str:
    """The description plus the constraints a Python type cannot show."""
    notes = []
    for key, words in CONSTRAINT_WORDS.items():
        if key in schema and not isinstance(schema[key], dict | list):
            notes.append(f"{words} {json.dumps(schema[key], ensure_ascii=False)}")
    text = one_line(description or schema.get("description") or "")
    if notes:
        notes_text = ", ".join(notes)
        text = (
            (text.rstrip(".") + ". " if text else "") + notes_text[0].upper() + notes_text[1:] + "."
        )
    return text


# --------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class Argument:
    name: str  # Python name in the tool signature
    wire: str  # name in the request (parameter or body property)
    location: str  # path | query | header | cookie | field | body
    required: bool
    annotation: Node


@dataclass(frozen=True)
class Operation:
    tool: str
    endpoint: Endpoint
    arguments: tuple[Argument, ...]
    content_type: str | None


class MCPGenerator:
    """Turns an ApiSpec into FastMCP server source. Fast, deterministic, no I/O but `save`."""

    def tool_names(self, spec: ApiSpec) -> dict[str, str]:
        """Endpoint key (`GET /todos/{todo_id}`) -> tool name, unique and stable."""
        taken: set[str] = {RAW_REQUEST_TOOL}  # reserved in every build, so names never move
        return {e.key: unique_name(base_tool_name(e), taken) for e in spec.endpoints}

    def generate_mcp_wrapper(
        self, spec: ApiSpec, base_url: str | None = None, *, harness: bool = True
    ) -> str:
        """The source of `mcp_server.py`; `base_url` only becomes the default of API_BASE_URL.
        `harness` adds the raw-request tool for negative tests (see the module docstring)."""
        if not spec.endpoints:
            raise RunnerError(
                "mcpgen",
                "The API has no operations, so there are no tools to generate.",
                "Check that the app registers its routes before the OpenAPI document is built.",
            )
        self._aliases: dict[str, tuple[str, Node]] = {}  # canonical schema -> (name, definition)
        self._spec = spec
        names = self.tool_names(spec)
        operations = [self._operation(names[e.key], e) for e in spec.endpoints]
        tools = [self._tool_source(op) for op in operations]
        return self._module_source(spec, base_url, operations, tools, harness)

    def save_wrapper(self, code: str, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "mcp_server.py"
        path.write_text(code, encoding="utf-8")
        return path

    # ---- arguments

    def _operation(self, tool: str, endpoint: Endpoint) -> Operation:
        args: list[Argument] = []
        used: set[str] = set()
        for param in endpoint.parameters:
            name = self._free_name(argument_name(param.name), used, "_" + param.location)
            schema = clean_schema(resolve(param.schema, self._spec.openapi))
            args.append(
                self._argument(
                    name,
                    param.name,
                    param.location,
                    param.required,
                    schema,
                    param.description,
                    tool,
                )
            )
        content_type = None
        body = endpoint.request_body
        if body is not None:
            content_type = str(body.get("content_type") or "application/json")
            schema = clean_schema(resolve(body.get("schema") or {}, self._spec.openapi))
            properties = (
                schema.get("properties") if schema.get("type", "object") == "object" else None
            )
            flatten = (
                isinstance(properties, dict)
                and properties
                and not any(k in schema for k in ("anyOf", "oneOf", "allOf"))
            )
            if flatten:
                required = set(schema.get("required") or ())
                for prop, prop_schema in properties.items():
                    name = self._free_name(argument_name(prop), used, "_body")
                    args.append(
                        self._argument(
                            name, prop, "field", prop in required, prop_schema or {}, "", tool
                        )
                    )
            else:
                name = self._free_name("body", used, "_body")
                args.append(
                    self._argument(
                        name, "body", "body", bool(body.get("required")), schema, "", tool
                    )
                )
        ordered = [a for a in args if a.required] + [a for a in args if not a.required]
        return Operation(tool, endpoint, tuple(ordered), content_type)

    @staticmethod
    def _free_name(name: str, used: set[str], suffix: str) -> str:
        if name in used:
            name = name.rstrip("_") + suffix
        number = 2
        candidate = name
        while candidate in used:
            candidate = f"{name}_{number}"
            number += 1
        used.add(candidate)
        return candidate

    def _argument(
        self,
        name: str,
        wire: str,
        location: str,
        required: bool,
        schema: dict[str, Any],
        description: str,
        tool: str,
    ) -> Argument:
        type_text, complex_, nullable, inner = python_type(schema)
        if complex_:
            if description and not schema.get("description"):
                schema = {"description": one_line(description), **schema}
            type_node: Node = self._alias(type_text, schema, f"{tool}_{name}")
            text = ""
        else:
            type_node = type_text
            text = describe(description, inner)
        if (nullable or not required) and type_node != "Any":
            type_node = _suffixed(type_node, " | None")
        if text:
            field = Group("Field", "(", ("description=" + py_str(text),), ")")
            type_node = Group("Annotated", "[", (type_node, field), "]")
        param = _prefixed(f"{name}: ", type_node)
        if not required:
            param = _suffixed(param, " = None")
        return Argument(name, wire, location, required, param)

    def _alias(self, type_text: str, schema: dict[str, Any], fallback: str) -> str:
        """A module-level `Name = Annotated[type, WithJsonSchema({...})]`, shared by equal schemas."""
        key = type_text + json.dumps(schema, sort_keys=True)
        if key in self._aliases:
            return self._aliases[key][0]
        title = schema.get("title")
        items = schema.get("items")
        if not title and isinstance(items, dict) and items.get("title"):
            title = f"{items['title']} list"
        base = pascal_case(str(title or fallback)) or "Payload"
        if base[0].isdigit():
            base = "Schema" + base
        taken = {name for name, _ in self._aliases.values()}
        name = base + "Schema" if base in MODULE_NAMES or base in RESERVED else base
        number = 2
        while name in taken:
            name = f"{base}{number}"
            number += 1
        definition = Group(
            f"{name} = Annotated",
            "[",
            (type_text, Group("WithJsonSchema", "(", (py_value(schema),), ")")),
            "]",
        )
        self._aliases[key] = (name, definition)
        return name

    # ---- source

    def _tool_source(self, op: Operation) -> list[str]:
        endpoint = op.endpoint
        if endpoint.method in READ_ONLY_METHODS:
            decorator = '@mcp.tool(annotations={"readOnlyHint": True})'
        elif endpoint.method in IDEMPOTENT_METHODS:
            decorator = '@mcp.tool(annotations={"idempotentHint": True})'
        else:
            decorator = "@mcp.tool"
        signature = Group(
            f"async def {op.tool}",
            "(",
            tuple(a.annotation for a in op.arguments),
            ")",
            " -> dict[str, Any]:",
        )
        doc_parts = [p for p in (endpoint.summary.strip(), endpoint.description.strip()) if p]
        if len(doc_parts) == 2 and one_line(doc_parts[0]) in one_line(doc_parts[1]):
            doc_parts = doc_parts[1:]
        if doc_parts and not doc_parts[0].rstrip().endswith((".", "!", "?", ":")):
            doc_parts[0] = doc_parts[0].rstrip() + "."
        doc_parts.append(f"{endpoint.method} {endpoint.path}")

        call_items: list[Node] = [
            py_str(op.tool),
            py_str(endpoint.method),
            py_str(endpoint.path),
            "locals()",
        ]
        groups = {
            "path": "path_params",
            "query": "query",
            "header": "headers",
            "cookie": "cookies",
            "field": "fields",
        }
        for location, keyword_name in groups.items():
            pairs = [a for a in op.arguments if a.location == location]
            if pairs:
                mapping = tuple(f"{py_str(a.wire)}: {a.name}" for a in pairs)
                call_items.append(Group(f"{keyword_name}=", "{", mapping, "}"))
        body = [a for a in op.arguments if a.location == "body"]
        if body:
            call_items.append(f"body={body[0].name}")
        if op.content_type and op.content_type != "application/json":
            call_items.append(f"content_type={py_str(op.content_type)}")
        call = Group("return await _request", "(", tuple(call_items), ")")

        lines = [decorator, *render(signature)]
        lines += docstring("\n\n".join(doc_parts), 4)
        lines += render(call, 4)
        return lines

    def _module_source(
        self,
        spec: ApiSpec,
        base_url: str | None,
        operations: list[Operation],
        tools: list[list[str]],
        harness: bool,
    ) -> str:
        title = (
            one_line(spec.title or str(spec.openapi.get("info", {}).get("title") or "")) or "API"
        )
        version = one_line(spec.version or str(spec.openapi.get("info", {}).get("version") or ""))
        server_name = title if title.lower().endswith("api") else f"{title} API"
        body_text = "\n".join("\n".join(t) for t in tools)
        aliases_text = "\n".join("\n".join(render(d)) for _, d in self._aliases.values())
        typing_names = ["Annotated", "Any"] if "Annotated[" in body_text + aliases_text else ["Any"]
        if "Literal[" in body_text + aliases_text:
            typing_names.append("Literal")
        pydantic_names = [
            n for n in ("Field", "WithJsonSchema") if f"{n}(" in body_text + aliases_text
        ]
        imports = [
            "import asyncio",
            "import gc",
            "import json",
            "import os",
            *(["import re"] if harness else []),
            "import sys",
            "import time",
            "import uuid",
            f"from typing import {', '.join(typing_names)}",
            "from urllib.parse import quote" + (", unquote" if harness else ""),
            "",
            "import httpx",
            "from fastmcp import FastMCP",
        ]
        if pydantic_names:
            imports.append(f"from pydantic import {', '.join(pydantic_names)}")
        header = HEADER.format(
            title=title,
            version=f" {version}" if version else "",
            count=len(operations),
            plural="" if len(operations) == 1 else "s",
            default=f"; default {one_line(base_url)}" if base_url else "",
        )
        runtime = RUNTIME.replace("__BASE_URL_DEFAULT__", py_str(one_line(base_url or "")))
        runtime = runtime.replace("__SERVER_NAME__", py_str(server_name))
        parts = [
            header.rstrip("\n"),
            docstring(f"MCP tools for {title}: one tool per operation.", 0)[0],
            "",
            "\n".join(imports),
            "",
            "",
            runtime.strip("\n"),
        ]
        if aliases_text:
            parts += [
                "",
                "",
                "# Request schemas, shown to the client as they are in the API.",
                aliases_text,
            ]
        parts += ["", "", "\n\n\n".join("\n".join(t) for t in tools)]
        if harness:
            table = {e.key: [e.method, e.path] for e in spec.endpoints}
            parts += ["", "", "# Operations the raw-request tool may target: key -> (method, path)."]
            parts += render(_prefixed("OPERATIONS = ", py_value(table)))
            parts += ["", "", HARNESS_TOOL.strip("\n")]
        parts += ["", "", MAIN]
        return "\n".join(parts)


HEADER = """\
# Generated by api-mcp-test from the OpenAPI document of "{title}"{version}
# ({count} operation{plural}, one MCP tool each). Regenerate rather than edit.
#
# Run it as a stdio MCP server:
#     API_BASE_URL=http://127.0.0.1:8000 python mcp_server.py
#
# Settings come from the environment only:
#     API_BASE_URL               base URL of the API (required{default})
#     API_MCP_TEST_CALL_LOG      JSONL file that gets one line per call (optional)
#     API_MCP_TEST_TIMEOUT       seconds per call, whole response included (default 30)
#     API_MCP_TEST_MAX_BODY      bytes of a response body read and recorded (default 1048576)
#     API_MCP_TEST_RESULT_LIMIT  characters of body text returned to the client (default 8000)
#     API_MCP_TEST_HEADERS       JSON object of extra headers for every request, e.g. auth
#     API_MCP_TEST_HEADERS_FILE  file holding such a JSON object, reread whenever it changes
#                                (checked before every call), so credentials can change while
#                                the server runs; its headers win over API_MCP_TEST_HEADERS
"""

MAIN = """\
if __name__ == "__main__":
    # What is loaded now lives until exit: spare the garbage collector from scanning it on
    # every full collection, and once more at exit (about a second after stdin closes).
    gc.freeze()
    mcp.run(show_banner=False)
"""

RUNTIME = r'''
def _setting(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        sys.exit(f"{name} must be a positive number, got {raw!r}")
    if value <= 0:
        sys.exit(f"{name} must be a positive number, got {raw!r}")
    return value


def _parse_headers(raw: str, source: str) -> dict[str, str]:
    """A JSON object of header names to values; ValueError or TypeError saying what is wrong."""
    if not raw.strip():
        return {}
    try:
        headers = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(headers, dict):
        raise TypeError(f"{source} must be a JSON object of header names to values")
    return {str(name): str(value) for name, value in headers.items()}


def _extra_headers() -> dict[str, str]:
    try:
        return _parse_headers(
            os.environ.get("API_MCP_TEST_HEADERS", ""), "API_MCP_TEST_HEADERS"
        )
    except (ValueError, TypeError) as exc:
        sys.exit(str(exc))


class CredentialsUnreadable(Exception):
    """The headers file (the run's credentials) cannot be read: the call is not sent, since a
    call without the credentials would be judged as if it carried them."""


def _current_headers() -> dict[str, str]:
    """EXTRA_HEADERS under the headers file's, rereading the file only when a stat says it was
    replaced or changed. A missing, unreadable or broken file leaves the headers unknown:
    `_headers_seen` holds the problem and the call fails with it."""
    global _headers_seen
    if not HEADERS_FILE:
        return EXTRA_HEADERS
    try:
        stat = os.stat(HEADERS_FILE)
        version: tuple[int, ...] | None = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    except OSError as exc:
        _headers_seen = (None, {}, f"cannot read {HEADERS_FILE}: {exc}")
        return EXTRA_HEADERS
    if version != _headers_seen[0]:
        try:
            with open(HEADERS_FILE, encoding="utf-8") as file:
                _headers_seen = (version, _parse_headers(file.read(), HEADERS_FILE), "")
        except (OSError, ValueError, TypeError) as exc:
            _headers_seen = (None, {}, f"cannot read {HEADERS_FILE}: {exc}")
    return {**EXTRA_HEADERS, **_headers_seen[1]}


DEFAULT_BASE_URL = __BASE_URL_DEFAULT__
BASE_URL = os.environ.get("API_BASE_URL", DEFAULT_BASE_URL).strip().rstrip("/")
if not BASE_URL.startswith(("http://", "https://")):
    sys.exit("Set API_BASE_URL to the API's base URL, e.g. http://127.0.0.1:8000")
TIMEOUT = _setting("API_MCP_TEST_TIMEOUT", 30.0)
MAX_BODY = int(_setting("API_MCP_TEST_MAX_BODY", 1048576))
RESULT_LIMIT = int(_setting("API_MCP_TEST_RESULT_LIMIT", 8000))
CALL_LOG = os.environ.get("API_MCP_TEST_CALL_LOG", "").strip()
EXTRA_HEADERS = _extra_headers()
HEADERS_FILE = os.environ.get("API_MCP_TEST_HEADERS_FILE", "").strip()
_headers_seen: tuple[tuple[int, ...] | None, dict[str, str], str] = (None, {}, "")
_current_headers()
if _headers_seen[2]:  # fail loudly rather than send every call without credentials
    sys.exit(f"the headers file (the run's credentials): {_headers_seen[2]}")
FORM = "application/x-www-form-urlencoded"
RESULT_HEADERS = (
    "content-type",
    "location",
    "content-length",
    "allow",
    "www-authenticate",
    "retry-after",
)

_base = httpx.URL(BASE_URL)
_client = httpx.AsyncClient(base_url=BASE_URL, follow_redirects=False, timeout=TIMEOUT)
_log = open(CALL_LOG, "a", encoding="utf-8") if CALL_LOG else None  # noqa: SIM115

mcp = FastMCP(__SERVER_NAME__)


def _text(value: Any) -> str:
    """A parameter value as it goes into a URL or header."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _segment(value: Any) -> str:
    """One path segment, fully percent-encoded; `.` and `..` cannot climb the path."""
    text = quote(_text(value), safe="")
    return text.replace(".", "%2E") if text in (".", "..") else text


def _query_value(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, list | tuple):
        return [_text(v) for v in value]
    return value


async def _fetch(request: httpx.Request) -> tuple[httpx.Response, bytes, int, bool]:
    """Send `request`; return the response, at most MAX_BODY bytes of its body, the bytes
    received, and whether the body was cut."""
    response = await _client.send(request, stream=True)
    chunks = []
    received = 0
    try:
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            received += len(chunk)
            if received > MAX_BODY:
                return response, b"".join(chunks)[:MAX_BODY], received, True
    finally:
        await response.aclose()
    return response, b"".join(chunks), received, False


def _decode(data: bytes, charset: str | None) -> str:
    """Body text; undecodable bytes and unknown charsets never fail."""
    try:
        return data.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


async def _request(
    tool: str,
    method: str,
    path: str,
    arguments: dict[str, Any],
    *,
    path_params: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    headers: dict[str, Any] | None = None,
    cookies: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
    body: Any = None,
    content_type: str = "application/json",
) -> dict[str, Any]:
    """Send one request to the API, record it, return a compact result. Never raises."""
    template = path
    for name, value in (path_params or {}).items():
        path = path.replace("{" + name + "}", _segment(value))
    params = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
    sent_headers = dict(_current_headers())
    for name, value in (headers or {}).items():
        if value is not None:
            sent_headers[name] = _text(value)
    cookie = "; ".join(
        f"{k}={_text(v)}" for k, v in (cookies or {}).items() if v is not None
    )
    if cookie:
        sent_headers["Cookie"] = cookie
    if fields is not None:
        body = {k: v for k, v in fields.items() if v is not None}
    content: bytes | None = None
    form: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    if body is not None:
        if content_type == FORM and isinstance(body, dict):
            form = {k: _query_value(v) for k, v in body.items()}
        elif content_type.startswith("multipart/") and isinstance(body, dict):
            files = {k: (None, _text(v)) for k, v in body.items()}
        elif "json" in content_type:
            content = json.dumps(body, ensure_ascii=False).encode()
            sent_headers["Content-Type"] = content_type
        else:
            content = body.encode() if isinstance(body, str) else _text(body).encode()
            sent_headers["Content-Type"] = content_type

    return await _exchange(
        _new_call(tool, method, template, arguments, BASE_URL + path),
        method,
        params=params,
        headers=sent_headers,
        content=content,
        form=form,
        files=files,
    )


def _new_call(
    tool: str, method: str, template: str, arguments: dict[str, Any], url: str
) -> dict[str, Any]:
    return {
        "call_id": "c-" + uuid.uuid4().hex[:10],
        "tool": tool,
        "method": method,
        "path": template,
        "arguments": {k: v for k, v in arguments.items() if v is not None},
        "url": url,
        "status_code": None,
        "headers": {},
        "body": None,
        "body_is_json": False,
        "body_truncated": False,
        "body_bytes": 0,
        "elapsed_ms": 0.0,
        "error": None,
    }


async def _exchange(
    call: dict[str, Any],
    method: str,
    *,
    params: dict[str, Any],
    headers: dict[str, str],
    content: bytes | None = None,
    form: dict[str, Any] | None = None,
    files: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Send the request `call` describes, record it, return a compact result. Never raises."""
    start = time.perf_counter()
    try:
        if _headers_seen[2]:
            raise CredentialsUnreadable(_headers_seen[2])
        request = _client.build_request(
            method,
            call["url"],
            params=params,
            headers=headers,
            content=content,
            data=form,
            files=files,
        )
        call["url"] = str(request.url)
        if request.url.netloc != _base.netloc or request.url.scheme != _base.scheme:
            raise httpx.InvalidURL(f"refusing to leave the base URL: {request.url}")
        # httpx's timeouts bound each network read, so a body that trickles in would never
        # time out: TIMEOUT bounds the whole exchange.
        exchange = _fetch(request)
        response, data, received, truncated = await asyncio.wait_for(exchange, TIMEOUT)
    except (
        httpx.HTTPError,
        httpx.InvalidURL,
        UnicodeEncodeError,
        TimeoutError,
        CredentialsUnreadable,
    ) as exc:
        # UnicodeEncodeError: a header or cookie value that is not ASCII.
        call["elapsed_ms"] = round((time.perf_counter() - start) * 1000, 3)
        if isinstance(exc, TimeoutError):
            call["error"] = f"Timeout: no complete response within {TIMEOUT:g} s"
        else:
            call["error"] = f"{type(exc).__name__}: {exc}".rstrip(": ")
        _record(call)
        return {
            "call_id": call["call_id"],
            "status_code": None,
            "headers": {},
            "body": None,
            "body_truncated": False,
            "elapsed_ms": call["elapsed_ms"],
            "error": call["error"],
        }
    call["elapsed_ms"] = round((time.perf_counter() - start) * 1000, 3)
    text = _decode(data, response.charset_encoding)
    parsed: Any = text
    is_json = False
    if not truncated and "json" in response.headers.get("content-type", "") and text:
        try:
            parsed = json.loads(text)
            is_json = True
        except (ValueError, RecursionError):  # not JSON, or nested too deep to parse
            pass
    call.update(
        status_code=response.status_code,
        headers=dict(response.headers.items()),
        body=parsed if data else None,
        body_is_json=is_json,
        body_truncated=truncated,
        body_bytes=received,
    )
    _record(call)
    shown = parsed if data else None
    if len(text) > RESULT_LIMIT:
        shown = text[:RESULT_LIMIT]
        truncated = True
    return {
        "call_id": call["call_id"],
        "status_code": response.status_code,
        "headers": {k: v for k, v in call["headers"].items() if k in RESULT_HEADERS},
        "body": shown,
        "body_truncated": truncated,
        "elapsed_ms": call["elapsed_ms"],
        "error": None,
    }


def _record(call: dict[str, Any]) -> None:
    """Append one call to the JSONL log, flushed so a reader sees it at once."""
    if _log is not None:
        _log.write(json.dumps(call, ensure_ascii=False, default=str) + "\n")
        _log.flush()
'''


HARNESS_TOOL = r'''
RAW_REQUEST_TOOL = "api_mcp_test_raw_request"
# Hop-by-hop and framing headers belong to the HTTP client, not to a test.
REFUSED_HEADERS = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _raw_url(path: str) -> str:
    # A concrete path below the base URL: nothing that could name another host, scheme or
    # directory (also percent-encoded), no query or fragment (those have their own arguments).
    if "://" in path or path.startswith("//") or any(c in path for c in "\\?#"):
        raise ValueError(f"path must be a path below the base URL, got {path!r}")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        raise ValueError(f"path must not contain control characters, got {path!r}")
    if any(unquote(part) in (".", "..") for part in path.split("/")):
        raise ValueError(f"path must not contain '.' or '..' segments, got {path!r}")
    return BASE_URL + "/" + path.lstrip("/")


@mcp.tool(name=RAW_REQUEST_TOOL)
async def _raw_request(
    operation: str,
    method: str,
    path: str,
    query: dict[str, Any] | None = None,
    headers: dict[str, str | None] | None = None,
    json_body: Any = None,
    body_text: str | None = None,
    content_type: str | None = None,
    intent: str = "invalid",
) -> dict[str, Any]:
    """Send a request the typed tools cannot express (test harness only).

    operation is the "METHOD /path/template" of the operation under test; method and path
    (relative to the base URL) are sent as given. A header set to null is not sent, even
    the credentials. json_body or body_text is the body; content_type its Content-Type.
    The call is recorded for `operation` with `intent`.
    """
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}: give 'METHOD /path'")
    if not _TOKEN.fullmatch(method):
        raise ValueError(f"method must be an HTTP method token, got {method!r}")
    if json_body is not None and body_text is not None:
        raise ValueError("give json_body or body_text, not both")
    url = _raw_url(path)
    sent_headers = dict(_current_headers())
    for name, value in (headers or {}).items():
        if not _TOKEN.fullmatch(name) or name.lower() in REFUSED_HEADERS:
            raise ValueError(f"header {name!r} cannot be set by a test")
        for existing in [k for k in sent_headers if k.lower() == name.lower()]:
            del sent_headers[existing]
        if value is not None:
            sent_headers[name] = value
    content: bytes | None = None
    if json_body is not None:
        text = json.dumps(json_body, ensure_ascii=False)
        content = text.encode("utf-8", "surrogatepass")
        content_type = content_type or "application/json"
    elif body_text is not None:
        content = body_text.encode("utf-8", "surrogatepass")
    if content_type is not None:
        sent_headers["Content-Type"] = content_type
    arguments = {
        "operation": operation,
        "method": method,
        "path": path,
        "query": query,
        "headers": headers,
        "json_body": json_body,
        "body_text": body_text,
        "content_type": content_type,
    }
    op_method, op_path = OPERATIONS[operation]
    call = _new_call(RAW_REQUEST_TOOL, op_method, op_path, arguments, url)
    call["intent"] = intent
    call["request_method"] = method.upper()
    params = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
    return await _exchange(
        call, method.upper(), params=params, headers=sent_headers, content=content
    )
'''


def generate_mcp_wrapper(
    spec: ApiSpec, base_url: str | None = None, *, harness: bool = True
) -> str:
    """The source of a FastMCP server for `spec` (see MCPGenerator.generate_mcp_wrapper)."""
    return MCPGenerator().generate_mcp_wrapper(spec, base_url, harness=harness)


def save_wrapper(code: str, directory: Path) -> Path:
    """Write `code` to `directory/mcp_server.py` and return the path."""
    return MCPGenerator().save_wrapper(code, directory)

"""Names in a generated server: tools from operationIds, arguments from wire names.

Tool names are snake_case identifiers of at most 56 characters (FastMCP's cut; clients reject
names over 64), unique, stable for a given spec, and never a keyword, a builtin or a name the
generated module binds itself (`mcp`, its imports, ...: see `source.FRAME_NAMES`). Argument names
never start with an underscore, so they cannot shadow the module's private names (`_api`).
"""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata
from collections.abc import Iterable

from runner.models import Endpoint

MAX_TOOL_NAME = 56
RAW_REQUEST_TOOL = "api_mcp_test_raw_request"
RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))


def snake_case(text: str) -> str:
    """ASCII snake_case words of any string (`getPetById` -> `get_pet_by_id`)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()


def pascal_case(text: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in snake_case(text).split("_") if w)


def one_line(text: str) -> str:
    return " ".join(text.split())


def fastapi_suffix(endpoint: Endpoint) -> str:
    """What FastAPI appends to a function name to make its default operationId."""
    return re.sub(r"\W", "_", endpoint.path) + "_" + endpoint.method.lower()


def base_tool_name(endpoint: Endpoint) -> str:
    """A snake_case name from the operationId (FastAPI's suffix cut), else method and path."""
    op_id = endpoint.operation_id.strip()
    suffix = fastapi_suffix(endpoint)
    if op_id.endswith(suffix) and len(op_id) > len(suffix):
        op_id = op_id[: -len(suffix)]
    name = (snake_case(op_id) or snake_case(f"{endpoint.method} {endpoint.path}")
            or endpoint.method.lower())
    if name[0].isdigit():
        name = f"{endpoint.method.lower()}_{name}"
    return name


def _fit(name: str, limit: int) -> str:
    return name[:limit].rstrip("_") or name[:limit]


def unique_name(base: str, taken: set[str], avoid: Iterable[str] = (),
                limit: int = MAX_TOOL_NAME) -> str:
    """`base` cut to `limit`, never a keyword, builtin or a name in `avoid` (`name_`), then
    `_2`, `_3`... while taken."""
    name = _fit(base, limit)
    if name in RESERVED or name in set(avoid):
        name = _fit(name, limit - 1) + "_"
    return _numbered(name, taken, limit)


def _numbered(name: str, taken: set[str], limit: int | None = None) -> str:
    """The first of `name`, `name_2`, `name_3`... (cut to `limit`) not in `taken`, now taken."""
    number, candidate = 2, name
    while candidate in taken:
        suffix = f"_{number}"
        candidate = (_fit(name, limit - len(suffix)) if limit else name) + suffix
        number += 1
    taken.add(candidate)
    return candidate


def tool_names(endpoints: Iterable[Endpoint], avoid: Iterable[str]) -> dict[str, str]:
    """Endpoint key (`GET /todos/{todo_id}`) -> tool name. The raw-request tool's name is
    taken in every build, so no name moves between the harness and the shipped server."""
    taken = {RAW_REQUEST_TOOL}
    avoid = frozenset(avoid)
    return {e.key: unique_name(base_tool_name(e), taken, avoid) for e in endpoints}


def argument_name(wire_name: str) -> str:
    """A parameter's Python name: snake_case (so never private), never empty, digit-first or
    reserved."""
    name = snake_case(wire_name) or "value"
    if name[0].isdigit():
        name = "p_" + name
    if name in RESERVED:
        name += "_"
    return name


def free_name(name: str, used: set[str], suffix: str) -> str:
    """`name`, or `name` + `suffix` (`id_body`), or numbered, whichever is not in `used`."""
    if name in used:
        name = name.rstrip("_") + suffix
    return _numbered(name, used)

"""What the deterministic agent calls, in which order, with which arguments.

Order matters for a meaningful run: safe reads of collections first (the empty state), then
creates (so later calls have real ids), reads, updates, and deletes last, deepest first; the
operations that end or change the run's own credentials (logout, password change, delete-me)
come after everything else. Ids for path parameters come from earlier responses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from runner.agent.generate import conforms, explore
from runner.agent.values import value_for
from runner.models import ApiSpec, Endpoint, ToolCall

_METHOD_ORDER = {"POST": 0, "GET": 1, "HEAD": 1, "OPTIONS": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}
_ID_CONTAINERS = ("items", "data", "results", "records", "objects", "content")
# Words of an operation that ends or changes the caller's own session or credentials.
_SESSION_WORDS = re.compile(
    r"log-?out|sign-?out|revoke|password|passwd|deactivate|refresh|delete-?account|"
    r"close-?account|unregister|invalidate|destroy-?token")
_SELF_WORDS = ("me", "self", "account", "profile", "myself", "current")
# Values a client can only know from elsewhere (an email, an earlier secret): a guess here is
# the tool's, not the API's, mistake when rejected.
_UNKNOWABLE = re.compile(
    r"^(uid|uidb64|token|key|code|otp|nonce|signature|secret|old-?password|"
    r"current-?password|refresh(-?token)?|activation-?key|verification-?(key|code|token)|"
    r"reset-?(token|code)|confirm(ation)?-?(token|code|key))$")
_FLOW_WORDS = re.compile(r"reset|verify|verification|confirm|activate|activation|resend")


@dataclass
class PlannedCall:
    endpoint: Endpoint
    tool: str
    arguments: dict[str, Any]
    intent: str = "valid"
    expect: dict[str, Any] = field(default_factory=dict)  # what the checks compare against


def norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _words(endpoint: Endpoint) -> str:
    return re.sub(r"[_\s]+", "-", f"{endpoint.path} {endpoint.operation_id}".lower())


def ends_session(endpoint: Endpoint) -> bool:
    """Whether calling the operation may end or change the run's own credentials."""
    if endpoint.method in ("GET", "HEAD", "OPTIONS"):
        return False
    if _SESSION_WORDS.search(_words(endpoint)):
        return True
    last = endpoint.path.rstrip("/").rsplit("/", 1)[-1].lower()
    return endpoint.method == "DELETE" and last in _SELF_WORDS


def needs_unknowable(endpoint: Endpoint, arguments: dict[str, Any]) -> bool:
    """Whether a valid call needs a value the agent cannot know (a reset uid, a verification
    key, the old password): its arguments are guesses."""
    if _FLOW_WORDS.search(_words(endpoint)) and endpoint.method != "GET":
        return True
    return any(_UNKNOWABLE.match(re.sub(r"[_\s]+", "-", a.lower())) for a in arguments)


def is_empty_state_read(endpoint: Endpoint) -> bool:
    """A safe read without path parameters: a collection, a report, a stats page."""
    return endpoint.method == "GET" and "{" not in endpoint.path


def call_order(endpoints: list[Endpoint]) -> list[Endpoint]:
    def key(endpoint: Endpoint) -> tuple[int, int, int, str]:
        depth = endpoint.path.count("/")
        rank = _METHOD_ORDER.get(endpoint.method, 1)
        return (int(ends_session(endpoint)), rank, -depth if endpoint.method == "DELETE" else depth,
                endpoint.path)

    return sorted(endpoints, key=key)


class IdPool:
    """Values seen in earlier responses, to fill path parameters with ids that exist."""

    def __init__(self) -> None:
        self._by_collection: dict[str, list[Any]] = {}
        self._by_name: dict[str, Any] = {}
        # The parent a sub-resource was written under (`/todos` -> 2 after POST
        # /todos/2/comments): later calls under that parent use it too, so a summary of the
        # comments reads the todo that has them, not the newest one.
        self._parents: dict[str, Any] = {}

    def learn_from(self, endpoint: Endpoint, call: ToolCall) -> None:
        """Learn from a call that succeeded: ids from its JSON body, and the parent it wrote
        under."""
        if not (call.status_code and 200 <= call.status_code < 300):
            return
        if call.body_is_json:
            self.learn(endpoint, call.body)
        if endpoint.method in ("POST", "PUT", "PATCH"):
            self._remember_parents(endpoint, call.arguments)

    def _remember_parents(self, endpoint: Endpoint, arguments: dict[str, Any]) -> None:
        """Path parameters that are not the last segment name the parent a write went under."""
        template = endpoint.path.rstrip("/")
        given = {norm(k): v for k, v in arguments.items()}
        for param in endpoint.parameters:
            marker = "{" + param.name + "}"
            if param.location != "path" or marker not in template \
                    or template.endswith(marker) or norm(param.name) not in given:
                continue
            self._parents[template[: template.index(marker)].rstrip("/")] = given[norm(param.name)]

    def learn(self, endpoint: Endpoint, body: Any) -> None:
        objects = objects_in(body)
        if not objects:
            return
        collection = endpoint.path.rstrip("/")
        if endpoint.method in ("GET", "PUT", "PATCH") and collection.endswith("}"):
            collection = collection.rsplit("/", 1)[0]
        for obj in objects:
            self._by_collection.setdefault(collection, []).append(obj)
            for name, value in obj.items():
                if isinstance(value, (int, str)) and not isinstance(value, bool):
                    self._by_name.setdefault(norm(name), value)

    def forget(self, collection: str, value: Any) -> None:
        """A deleted resource's id is not offered for later calls."""
        kept = [o for o in self._by_collection.get(collection, [])
                if str(o.get(id_field(o) or "", object())) != str(value)]
        self._by_collection[collection] = kept
        self._by_name = {k: v for k, v in self._by_name.items() if str(v) != str(value)}
        if str(self._parents.get(collection, object())) == str(value):
            del self._parents[collection]

    def objects(self, collection: str) -> list[dict[str, Any]]:
        return list(self._by_collection.get(collection.rstrip("/"), []))

    def value_for_reference(self, name: str) -> Any | None:
        """The id of a known resource that a body or query field such as `review_id` or
        `bookId` refers to: the newest object of the collection named after it."""
        key = norm(name)
        if len(key) < 4 or not key.endswith("id"):
            return None
        base = key[:-2]
        for collection in reversed(list(self._by_collection)):
            last = norm(collection.rsplit("/", 1)[-1])
            if last in (base, base + "s", base + "es") or (base.endswith("y")
                                                             and last == base[:-1] + "ies"):
                for obj in reversed(self._by_collection[collection]):
                    found = id_field(obj)
                    if found is not None:
                        return obj[found]
        return None

    def value_for_path_param(self, endpoint: Endpoint, name: str) -> Any | None:
        template = endpoint.path
        marker = "{" + name + "}"
        if marker in template:
            collection = template[: template.index(marker)].rstrip("/")
            if collection in self._parents:
                return self._parents[collection]
            for obj in reversed(self._by_collection.get(collection, [])):
                found = id_field(obj, name)
                if found is not None:
                    return obj[found]
        return self._by_name.get(norm(name))


def id_field(obj: dict[str, Any], param: str = "id") -> str | None:
    """The field of `obj` that a path parameter named `param` refers to."""
    for candidate in (param, "id", param.removesuffix("_id"), "uuid", "slug", "key", "pk"):
        for name, value in obj.items():
            if norm(name) == norm(candidate) and isinstance(value, (int, str)) \
                    and not isinstance(value, bool):
                return name
    return None


def objects_in(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        for container in _ID_CONTAINERS:
            if isinstance(body.get(container), list):
                return [o for o in body[container] if isinstance(o, dict)]
        return [body]
    if isinstance(body, list):
        return [o for o in body if isinstance(o, dict)]
    return []


class ArgumentBuilder:
    """Tool arguments from the tool's input schema, with examples from the OpenAPI operation.
    Every value is checked against the operation's schema before it is called valid."""

    def __init__(self, spec: ApiSpec) -> None:
        self.spec = spec

    def api_schemas(self, endpoint: Endpoint) -> dict[str, tuple[str, dict[str, Any]]]:
        """normalised tool-argument name -> (where, OpenAPI schema) for the operation."""
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        for param in endpoint.parameters:
            schema = param.schema or {}  # resolved in discovery
            found[norm(param.name)] = (param.location, schema)
            found.setdefault(norm(param.name) + param.location, (param.location, schema))
        if endpoint.request_body:
            body = endpoint.request_body.schema
            for prop, sub in (body.get("properties") or {}).items():
                found.setdefault(norm(prop), ("body", sub))
                found.setdefault(norm(prop) + "body", ("body", sub))
            # The whole body is one argument only when it is not flattened into its fields;
            # a field named `body` (notes, posts, comments) is that field, not the body.
            found.setdefault("body", ("body", body))
        return found

    def build(self, endpoint: Endpoint, input_schema: dict[str, Any], ids: IdPool,
              api: dict[str, tuple[str, dict[str, Any]]]) -> tuple[dict[str, Any], list[str]]:
        """(arguments, problems): `api` is `api_schemas(endpoint)`, computed once per endpoint
        by the caller; problems name values that break the documented schema (then the call is
        a guess, never "valid input")."""
        properties = input_schema.get("properties") or {}
        required = set(input_schema.get("required") or [])
        path_names = {norm(p.name): p.name for p in endpoint.parameters if p.location == "path"}
        arguments: dict[str, Any] = {}
        problems: list[str] = []
        for arg, arg_schema in properties.items():
            where, schema = api.get(norm(arg), ("", arg_schema))
            if norm(arg) in path_names:
                known = ids.value_for_path_param(endpoint, path_names[norm(arg)])
                if known is not None:
                    arguments[arg] = coerce(known, arg_schema)
                    continue
            # Optional filters narrow results to nothing; a first call leaves them out unless
            # the schema documents an example.
            documented = any(k in schema for k in ("example", "examples"))
            if arg not in required and where in ("query", "header", "cookie") and not documented:
                continue
            # A readOnly field (an id) is the server's to set: strict schemas reject it.
            if arg not in required and where == "body" and schema.get("readOnly"):
                continue
            value = ids.value_for_reference(arg) if where in ("body", "query") else None
            if value is not None and not conforms(coerce(value, arg_schema), schema):
                value = None
            if value is None:
                value = value_for(schema or arg_schema, arg)
            if value is None and arg not in required:
                continue
            value = coerce(value, arg_schema)
            if schema and not conforms(value, schema):
                drawn = explore(schema, 1)
                if drawn:
                    value = drawn[0]
                else:
                    problems.append(f"{arg}: no value satisfies the documented schema")
            arguments[arg] = value
        return arguments, problems


def coerce(value: Any, schema: dict[str, Any]) -> Any:
    """Fit a value to the tool's declared type (examples are sometimes strings for ints; an id
    seen as an int may be a string path parameter)."""
    kind = schema.get("type")
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    try:
        if kind == "integer" and isinstance(value, str):
            return int(value)
        if kind == "number" and isinstance(value, str):
            return float(value)
    except ValueError:
        return value
    return value


def first_intent(spec: ApiSpec, endpoint: Endpoint, arguments: dict[str, Any],
                 problems: list[str]) -> str:
    """A synthesized spec does not document the valid input, a value the agent cannot know is
    made up, a value that breaks the schema is not valid: each makes the first call a guess."""
    if spec.spec_source == "synthesized" or problems or needs_unknowable(endpoint, arguments):
        return "guess"
    return "valid"

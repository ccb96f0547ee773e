"""runner/openapi: loading with bounded expansion, `$ref`s as real documents write them, Swagger 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from jsonschema.exceptions import SchemaError

from runner.config import select_operations
from runner.errors import RunnerError
from runner.models import ApiSpec, RequestBody, SourceLocation
from runner.openapi import (
    LimitExceeded,
    Limits,
    document_from_file,
    document_from_text,
    document_from_value,
    endpoints_from_openapi,
    limits_from_env,
    resolve,
    response_errors,
    to_json_schema,
)
from runner.openapi.limits import ENV_NAMES
from runner.openapi.validate import validate_document

SPECS = Path(__file__).resolve().parent / "fixtures" / "specs"

BILLION_LAUGHS = """\
openapi: 3.0.3
info: {title: lol, version: "1"}
x-a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
x-e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
x-f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
x-g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
x-h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
x-i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
paths:
  /lol:
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {example: *i}}}}
"""


def minimal(paths: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": paths if paths is not None else {}, **extra}


def get_returning(schema: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"responses": {"200": {"description": "ok", "content": {
        "application/json": {"schema": schema}}}}}}


def ref_explosion(levels: int) -> dict[str, Any]:
    """Each schema references the one below twice: 2**levels values once inlined."""
    schemas: dict[str, Any] = {"S0": {"type": "string"}}
    for i in range(1, levels + 1):
        below = {"$ref": f"#/components/schemas/S{i - 1}"}
        schemas[f"S{i}"] = {"type": "object", "properties": {"a": below, "b": below}}
    top = {"$ref": f"#/components/schemas/S{levels}"}
    return minimal({"/boom": get_returning(top)}, components={"schemas": schemas})


# ---------------------------------------------------------------- caps


def test_yaml_alias_bomb_fails_fast_with_the_cap_named() -> None:
    assert len(BILLION_LAUGHS) < 1500
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceeded) as caught:
            document_from_text(BILLION_LAUGHS, "spec.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    error = caught.value
    assert error.stage == "discovery" and error.exit_code == 3
    assert "YAML aliases" in error.message and "spec.yaml" in error.message
    assert ENV_NAMES["document_nodes"] in error.hint
    assert peak < 50 * 1024 * 1024  # counted, never expanded


def test_recursive_yaml_alias_is_refused() -> None:
    text = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\nx-loop: &loop [*loop]\n"
    with pytest.raises(RunnerError, match="contains itself"):
        document_from_text(text, "loop.yaml")


def test_ref_explosion_fails_within_the_resolved_budget() -> None:
    doc = document_from_value(ref_explosion(40), "of the app")
    assert len(json.dumps(doc)) < 6000
    with pytest.raises(LimitExceeded) as caught:
        endpoints_from_openapi(doc, source="of the app")
    assert "$refs are inlined" in caught.value.message and "/boom" in caught.value.message
    assert ENV_NAMES["resolved_nodes"] in caught.value.hint


def test_ref_budget_is_shared_by_all_operations() -> None:
    doc = ref_explosion(8)  # 2**9 values for one operation
    doc["paths"] = {f"/p{i}": doc["paths"]["/boom"] for i in range(30)}
    small = Limits(resolved_nodes=5_000)
    with pytest.raises(LimitExceeded):
        endpoints_from_openapi(doc, small)
    assert len(endpoints_from_openapi(doc)) == 30


def test_deep_inline_schema_hits_the_depth_cap() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(300):
        schema = {"type": "object", "properties": {"x": schema}}
    with pytest.raises(LimitExceeded) as caught:
        document_from_value(minimal({"/deep": get_returning(schema)}), "deep.json")
    assert "levels of nesting" in caught.value.message


def test_deep_json_text_is_a_depth_error_not_a_recursion_error() -> None:
    text = '{"openapi": "3.0.3", "paths": {}, "x": ' + "[" * 5000 + "]" * 5000 + "}"
    with pytest.raises(LimitExceeded, match="levels of nesting"):
        document_from_text(text, "deep.json")


def test_chain_of_refs_hits_the_depth_cap_once_inlined() -> None:
    schemas = {f"S{i}": {"type": "object", "properties": {"next": {
        "$ref": f"#/components/schemas/S{i + 1}"}}} for i in range(300)}
    schemas["S300"] = {"type": "string"}
    doc = minimal({"/chain": get_returning({"$ref": "#/components/schemas/S0"})},
                  components={"schemas": schemas})
    document_from_value(doc, "chain.json")  # shallow as written
    with pytest.raises(LimitExceeded, match="once \\$refs are inlined"):
        endpoints_from_openapi(doc)


def test_chain_of_bare_refs_is_a_depth_error_not_a_recursion_error() -> None:
    schemas = {f"S{i}": {"$ref": f"#/components/schemas/S{i + 1}"} for i in range(3000)}
    schemas["S3000"] = {"type": "string"}
    doc = minimal({"/chain": get_returning({"$ref": "#/components/schemas/S0"})},
                  components={"schemas": schemas})
    with pytest.raises(LimitExceeded, match="levels of nesting"):
        endpoints_from_openapi(doc)
    with pytest.raises(LimitExceeded, match="levels of nesting"):
        resolve({"$ref": "#/components/schemas/S0"}, doc)


def test_document_size_cap(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps(minimal(**{"x-pad": "x" * 5000})))
    with pytest.raises(LimitExceeded) as caught:
        document_from_file(path, limits=Limits(document_bytes=4096))
    assert "big.json" in caught.value.message and "4,096" in caught.value.message


def test_operation_cap_counts_after_include_exclude() -> None:
    doc = minimal({f"/items/{i}": get_returning({"type": "string"}) for i in range(1200)})
    spec = ApiSpec(framework="f", app_locator="a", openapi=doc,
                   endpoints=endpoints_from_openapi(doc))
    with pytest.raises(LimitExceeded) as caught:
        select_operations(spec, (), ())
    assert "1,200 operations" in caught.value.message and "include" in caught.value.hint
    kept = select_operations(spec, ("GET /items/1*",), ())
    assert len(kept.endpoints) == 1 + 10 + 100 + 200


def test_limits_from_env() -> None:
    assert limits_from_env({}) == Limits()
    raised = limits_from_env({ENV_NAMES["operations"]: "5_000"})
    assert raised.operations == 5000 and raised.depth == Limits().depth
    with pytest.raises(RunnerError) as caught:
        limits_from_env({ENV_NAMES["depth"]: "deep"})
    assert caught.value.stage == "config" and ENV_NAMES["depth"] in caught.value.message


# ---------------------------------------------------------------- $refs


def test_cycle_stays_usable() -> None:
    node = {"type": "object", "properties": {
        "name": {"type": "string"},
        "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}
    doc = minimal({"/tree": get_returning({"$ref": "#/components/schemas/Node"})},
                  components={"schemas": {"Node": node}})
    (endpoint,) = endpoints_from_openapi(doc)
    schema = endpoint.responses["200"]["content"]["application/json"]["schema"]
    assert schema["properties"]["name"] == {"type": "string"}
    assert schema["properties"]["children"]["items"] == {
        "description": "recursive reference to Node"}


def test_percent_encoded_and_escaped_pointers() -> None:
    doc = minimal(components={"schemas": {
        "My Model": {"type": "integer"},
        "a/b~c": {"type": "boolean"},
        "100%": {"type": "number"},
    }})
    assert resolve({"$ref": "#/components/schemas/My%20Model"}, doc) == {"type": "integer"}
    assert resolve({"$ref": "#/components/schemas/a~1b~0c"}, doc) == {"type": "boolean"}
    assert resolve({"$ref": "#/components/schemas/a%7E1b~0c"}, doc) == {"type": "boolean"}
    assert resolve({"$ref": "#/components/schemas/100%"}, doc) == {"type": "number"}
    with pytest.raises(RunnerError, match="cannot be resolved: #/components/schemas/Missing"):
        resolve({"$ref": "#/components/schemas/Missing"}, doc)


def test_flask_restx_style_swagger2_with_encoded_names() -> None:
    doc = {
        "swagger": "2.0", "info": {"title": "restx", "version": "1"}, "basePath": "/",
        "paths": {"/todos": {"post": {
            "parameters": [{"name": "payload", "in": "body", "required": True,
                            "schema": {"$ref": "#/definitions/Todo%20Item"}},
                           {"$ref": "#/parameters/Page%20Size"}],
            "responses": {"201": {"description": "ok",
                                  "schema": {"$ref": "#/definitions/Todo%20Item"}},
                          "404": {"$ref": "#/responses/Not%20Found"}}}}},
        "parameters": {"Page Size": {"name": "size", "in": "query", "type": "integer"}},
        "responses": {"Not Found": {"description": "missing",
                                    "schema": {"$ref": "#/definitions/Error"}}},
        "definitions": {"Todo Item": {"type": "object", "properties": {"task": {"type": "string"}}},
                        "Error": {"type": "object", "properties": {"message": {"type": "string"}}}},
    }
    (endpoint,) = endpoints_from_openapi(document_from_value(doc, "restx"))
    assert endpoint.key == "POST /todos"
    assert endpoint.request_body and endpoint.request_body.schema["properties"] == {
        "task": {"type": "string"}}
    assert [(p.name, p.location, p.schema) for p in endpoint.parameters] == [
        ("size", "query", {"type": "integer"})]
    missing = endpoint.responses["404"]
    assert missing["description"] == "missing"
    assert missing["content"]["application/json"]["schema"]["properties"]["message"]


def write(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value) if path.suffix == ".json" else _yaml(value))
    return path


def _yaml(value: Any) -> str:
    import yaml

    return yaml.safe_dump(value)


def test_external_file_refs_inside_the_repository(tmp_path: Path) -> None:
    write(tmp_path / "schemas" / "pet.yaml", {
        "Pet": {"type": "object", "properties": {
            "name": {"type": "string"}, "owner": {"$ref": "common.json#/Owner"},
            "tag": {"$ref": "#/Tag"}}},
        "Tag": {"type": "string", "enum": ["a", "b"]}})
    write(tmp_path / "schemas" / "common.json", {"Owner": {"type": "object", "properties": {
        "id": {"type": "integer"}, "pets": {"type": "array", "items": {
            "$ref": "pet.yaml#/Pet"}}}}})
    spec = write(tmp_path / "api" / "openapi.yaml",
                 minimal({"/pets": get_returning({"$ref": "../schemas/pet.yaml#/Pet"})}))
    doc = document_from_file(spec, root=tmp_path)
    json.dumps(doc)  # one self-contained document
    (endpoint,) = endpoints_from_openapi(doc)
    pet = endpoint.responses["200"]["content"]["application/json"]["schema"]
    assert pet["properties"]["tag"] == {"type": "string", "enum": ["a", "b"]}
    owner = pet["properties"]["owner"]
    assert owner["properties"]["id"] == {"type": "integer"}
    assert owner["properties"]["pets"]["items"]["description"].startswith("recursive reference")


@pytest.mark.parametrize("ref", ["../outside.yaml#/Pet", "/etc/passwd",
                                 "https://example.com/pet.yaml#/Pet", "missing.yaml#/Pet"])
def test_external_refs_never_leave_the_repository(tmp_path: Path, ref: str) -> None:
    repo = tmp_path / "repo"
    write(tmp_path / "outside.yaml", {"Pet": {"type": "string"}})
    spec = write(repo / "openapi.yaml", minimal({"/pets": get_returning({"$ref": ref})}))
    with pytest.raises(RunnerError) as caught:
        document_from_file(spec, root=repo)
    assert caught.value.stage == "discovery"
    assert ref.split("#")[0] in caught.value.message


def test_external_ref_through_a_symlink_out_of_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(tmp_path / "secret.yaml", {"Pet": {"type": "string"}})
    repo.mkdir()
    (repo / "link.yaml").symlink_to(tmp_path / "secret.yaml")
    spec = write(repo / "openapi.yaml", minimal({"/p": get_returning({"$ref": "link.yaml#/Pet"})}))
    with pytest.raises(RunnerError, match="outside the repository"):
        document_from_file(spec, root=repo)


def test_a_repository_spec_file_is_read_with_the_pull_requests_rights(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(tmp_path / "secret.yaml", minimal())
    repo.mkdir()
    (repo / "openapi.yaml").symlink_to(tmp_path / "secret.yaml")
    with pytest.raises(RunnerError) as caught:
        document_from_file(repo / "openapi.yaml", root=repo)
    assert "secret" not in caught.value.message and "openapi.yaml" in caught.value.message
    # the user's own file (no repository root) is theirs to point anywhere
    assert document_from_file(repo / "openapi.yaml")["openapi"] == "3.0.3"


def test_served_or_app_documents_do_not_follow_file_refs() -> None:
    doc = document_from_value(minimal({"/p": get_returning({"$ref": "pet.yaml#/Pet"})}), "app")
    with pytest.raises(RunnerError, match="reference to another document"):
        endpoints_from_openapi(doc)


# ---------------------------------------------------------------- documents


def test_petstore_loads() -> None:
    doc = document_from_file(SPECS / "petstore-v3.yaml")
    endpoints = endpoints_from_openapi(doc)
    assert len(endpoints) == 19
    assert {"GET /pet/{petId}", "POST /store/order"} <= {e.key for e in endpoints}


def test_yaml_reads_as_the_json_data_model() -> None:
    doc = document_from_text("openapi: 3.0.3\ninfo: {title: t, version: 2024-01-31}\n"
                             "paths:\n  /x:\n    get:\n      responses:\n"
                             "        200: {description: ok}\n", "dates.yaml")
    assert doc["info"]["version"] == "2024-01-31"  # not a date json.dumps cannot write
    (endpoint,) = endpoints_from_openapi(doc)
    assert list(endpoint.responses) == ["200"]
    assert validate_document(doc) == []


@pytest.mark.parametrize("text", ["- a list", "just text", '{"openapi": "2.1", "paths": {}}'])
def test_not_an_openapi_document(text: str) -> None:
    with pytest.raises(RunnerError) as caught:
        document_from_text(text, "x.yaml")
    assert not isinstance(caught.value, LimitExceeded)
    assert "x.yaml" in caught.value.message


# ---------------------------------------------------------------- validation


def test_valid_documents_have_no_warnings() -> None:
    assert validate_document(document_from_file(SPECS / "petstore-v3.yaml")) == []
    doc_31 = minimal({"/x": get_returning({"type": ["string", "null"]})})
    doc_31["openapi"] = "3.1.0"
    assert validate_document(doc_31) == []


def test_small_deviations_are_warnings_naming_where() -> None:
    doc = minimal({"/x": {"get": {
        "parameters": [{"name": "a", "in": "query", "schema": {"type": "strin"}}],
        "responses": {"200": {"content": {}}}}}})
    (warning,) = validate_document(doc, "of the app main:app")
    assert warning.startswith("The OpenAPI document of the app main:app is not valid OpenAPI 3.0.3")
    assert "paths > /x > get > parameters > 0" in warning and "the run goes on" in warning
    assert len(endpoints_from_openapi(doc)) == 1  # still usable


def test_duplicate_operation_ids_are_a_warning() -> None:
    doc = json.loads((SPECS / "odd-names.json").read_text())
    (warning,) = validate_document(doc, "odd-names.json")
    assert "is not unique" in warning


def test_a_document_validated_before_is_not_validated_again(tmp_path: Path) -> None:
    doc = minimal({"/x": {"get": {
        "parameters": [{"name": "a", "in": "query", "schema": {"type": "strin"}}],
        "responses": {"200": {"content": {}}}}}})
    first = validate_document(doc, "x.json", cache=tmp_path)
    assert first and "is not valid OpenAPI" in first[0]
    (stored,) = tmp_path.glob("*.json")
    stored.write_text(json.dumps(["the stored answer"]))  # proves the second call reads it
    assert validate_document(doc, "x.json", cache=tmp_path) == ["the stored answer"]
    stored.write_text("{broken")  # a damaged entry is validated again, not trusted
    assert validate_document(doc, "x.json", cache=tmp_path) == first
    doc["info"]["title"] = "Another"  # another document: validated itself
    assert validate_document(doc, "x.json", cache=tmp_path) == first
    assert len(list(tmp_path.glob("*.json"))) == 2


def test_large_documents_are_not_validated_and_say_so() -> None:
    doc = document_from_file(SPECS / "petstore-v3.yaml")
    (warning,) = validate_document(doc, limits=Limits(validated_nodes=100))
    assert "was not validated" in warning and ENV_NAMES["validated_nodes"] in warning


# ---------------------------------------------------------------- one converter, two directions

USER = {"type": "object", "required": ["id", "name", "password"], "properties": {
    "id": {"type": "integer", "readOnly": True},
    "name": {"type": "string", "title": "Name", "example": "ada", "x-order": 1},
    "password": {"type": "string", "writeOnly": True},
    "example": {"type": "integer", "nullable": True},
}}


def test_write_direction_never_requires_read_only() -> None:
    converted = to_json_schema(USER, "write")
    assert converted["required"] == ["name", "password"]
    assert converted["properties"]["name"] == {"type": "string", "examples": ["ada"]}
    assert converted["properties"]["example"] == {"type": ["integer", "null"]}


def test_read_direction_never_requires_write_only() -> None:
    assert to_json_schema(USER, "read")["required"] == ["id", "name"]


def test_oas30_keywords_become_json_schema() -> None:
    schema = {"allOf": [{"type": "object"}], "nullable": True}
    assert to_json_schema(schema, "read") == {"anyOf": [{"allOf": [{"type": "object"}]},
                                                         {"type": "null"}]}
    bounded = {"type": "integer", "minimum": 1, "exclusiveMinimum": True,
               "maximum": 9, "exclusiveMaximum": False}
    assert to_json_schema(bounded, "write") == {"type": "integer", "exclusiveMinimum": 1,
                                                "maximum": 9}


def test_oas31_schemas_pass_through() -> None:
    schema = {"type": ["string", "null"], "exclusiveMinimum": 3, "examples": ["a"],
              "properties": {"title": {"const": 1}}}
    assert to_json_schema(schema, "read") == schema
    assert to_json_schema(None, "read") == {}


# ---------------------------------------------------------------- response dialects


def messages(body: Any, schema: dict[str, Any], version: str, **kw: Any) -> list[str]:
    return [e.message for e in response_errors(body, schema, version, **kw)]


def test_oas30_dialect() -> None:
    assert messages(None, {"type": "string", "nullable": True}, "3.0.3") == []
    assert messages(None, {"type": "string"}, "3.0.3")
    # nullable beside allOf/$ref (as frameworks write it) admits null
    assert messages(None, {"allOf": [{"type": "object"}], "nullable": True}, "3.0.3") == []
    # boolean exclusiveMinimum is OAS 3.0 (draft 4), not a schema error
    assert messages(5, {"type": "integer", "minimum": 5, "exclusiveMinimum": True}, "3.0.3")
    assert messages(6, {"type": "integer", "minimum": 5, "exclusiveMinimum": True}, "3.0.3") == []
    user = {"type": "object", "required": ["name", "password"], "properties": {
        "name": {"type": "string"}, "password": {"type": "string", "writeOnly": True}}}
    assert messages({"name": "ada"}, user, "3.0.3") == []
    (leak,) = messages({"name": "ada", "password": "x"}, user, "3.0.3")
    assert "write-only" in leak


def test_oas30_discriminator_uses_the_components() -> None:
    cat = {"type": "object", "required": ["kind", "lives"],
           "properties": {"kind": {"type": "string"}, "lives": {"type": "integer"}}}
    dog = {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}}
    pet = {"oneOf": [cat, dog], "discriminator": {"propertyName": "kind"}}
    components = {"schemas": {"cat": cat, "dog": dog}}
    assert messages({"kind": "cat", "lives": 9}, pet, "3.0.3", components=components) == []
    assert messages({"kind": "cat"}, pet, "3.0.3", components=components)
    # without the components the discriminator is only a hint: plain oneOf
    assert messages({"kind": "dog"}, pet, "3.0.3") == []


def test_oas31_dialect() -> None:
    assert messages(None, {"type": ["string", "null"]}, "3.1.0") == []
    assert messages(3, {"type": "integer", "exclusiveMinimum": 3}, "3.1.0")
    user = {"type": "object", "required": ["password"],
            "properties": {"password": {"type": "string", "writeOnly": True}}}
    assert messages({}, user, "3.1.0") == []
    assert messages({}, {"type": "object", "required": ["id"]}, "") == ["'id' is a required property"]


def test_an_invalid_documented_schema_is_a_schema_error() -> None:
    with pytest.raises(SchemaError):
        response_errors("x", {"type": "strin"}, "3.0.3")


# ---------------------------------------------------------------- through the CLI


def generate(spec: Path, out: Path,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner.cli", "generate", "--spec", str(spec),
                           "-o", str(out)], check=False, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})},
                          cwd=Path(__file__).resolve().parents[1])


@pytest.mark.slow
def test_cli_refuses_a_yaml_bomb_and_a_ref_explosion_with_exit_3(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BILLION_LAUGHS)
    explosion = write(tmp_path / "explosion.json", ref_explosion(40))
    for spec, words in ((bomb, "YAML aliases"), (explosion, "$refs are inlined")):
        finished = generate(spec, tmp_path / "out")
        assert finished.returncode == 3, finished.stderr
        assert "[discovery]" in finished.stderr and words in finished.stderr
        assert "Traceback" not in finished.stderr
        assert not (tmp_path / "out" / "mcp_server.py").exists()


@pytest.mark.slow
def test_cli_generates_from_a_spec_split_across_files(tmp_path: Path) -> None:
    write(tmp_path / "models" / "todo.yaml", {"Todo Item": {"type": "object", "properties": {
        "title": {"type": "string"}, "sub": {"$ref": "#/Todo%20Item"}}}})
    spec = write(tmp_path / "openapi.yaml", minimal({"/todos": {"post": {
        "operationId": "create_todo",
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "models/todo.yaml#/Todo%20Item"}}}},
        "responses": {"201": {"description": "made"}}}}}))
    finished = generate(spec, tmp_path / "out")
    assert finished.returncode == 0, finished.stderr
    source = (tmp_path / "out" / "mcp_server.py").read_text()
    assert "async def create_todo(" in source
    assert "    title: str" in source  # from models/todo.yaml, "Todo%20Item"
    assert "recursive reference to Todo Item" in source  # its self-reference, kept finite


@pytest.mark.slow
def test_cli_warns_about_an_invalid_document_and_caps_operations(tmp_path: Path) -> None:
    doc = minimal({f"/items/{i}": {"get": {"responses": {"200": {"content": {}}}}}
                   for i in range(6)})
    spec = write(tmp_path / "openapi.json", doc)
    finished = generate(spec, tmp_path / "out")
    assert finished.returncode == 0, finished.stderr
    assert "warning: The OpenAPI document" in finished.stderr and "not valid" in finished.stderr
    capped = generate(spec, tmp_path / "out2", {ENV_NAMES["operations"]: "5"})
    assert capped.returncode == 3, capped.stderr
    assert "has 6 operations" in capped.stderr and ENV_NAMES["operations"] in capped.stderr


def test_with_a_shard_the_operation_cap_counts_the_shards_part(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    """The cap bounds the tools one server holds: 1,200 operations in 2 shards run, each shard
    over the cap is refused naming the shard, and the hint offers --shard."""
    from runner.pipeline.spec import select
    from runner.runconfig import SpecSettings
    from runner.shard import parse_shard

    monkeypatch.setenv("API_MCP_TEST_CACHE", str(tmp_path / "cache"))
    doc = minimal({f"/r{i}/items": get_returning({"type": "string"}) for i in range(1200)})
    spec = ApiSpec(framework="f", app_locator="a", openapi=doc,
                   endpoints=endpoints_from_openapi(doc), spec_source="synthesized")

    def settings(shard: str | None) -> SpecSettings:
        return SpecSettings(app=None, app_env={}, location=None, boundary=None, include=(),
                            exclude=(), shard=parse_shard(shard) if shard else None)

    with pytest.raises(LimitExceeded) as whole:
        select(spec, settings(None))
    assert "--shard" in whole.value.hint
    half = select(spec, settings("1/2"))
    assert 0 < len(half.spec.endpoints) <= 1000 and len(half.operations) == 1200
    with pytest.raises(LimitExceeded) as one_of_one:
        select(spec, settings("1/1"))
    assert "(shard 1/1)" in one_of_one.value.message


def test_request_bodies_and_source_locations_are_typed_records() -> None:
    """`x-source` may come from any document: a shape that is not {file, line} is no location."""
    doc = {"openapi": "3.1.0", "paths": {
        "/a": {"post": {"x-source": {"file": "app.py", "line": 7}, "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": True}}}}},
        "/b": {"get": {"x-source": "app.py:9"}},
        "/c": {"get": {"x-source": {"file": "c.py", "line": True}}},
        "/d": {"get": {"x-source": {"line": 3}}}}}
    a, b, c, d = endpoints_from_openapi(doc)
    assert a.request_body == RequestBody("application/x-www-form-urlencoded", {}, True)
    assert a.source == SourceLocation("app.py", 7) and str(a.source) == "app.py:7"
    assert SourceLocation.from_json(a.source.to_json()) == a.source
    assert (b.source, c.source, d.source) == (None, SourceLocation("c.py"), None)
    assert b.request_body is None

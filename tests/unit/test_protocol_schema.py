"""The protocol's published form: the checked-in JSON Schemas and docs/errors.md are what the code
generates, the schemas accept the examples and refuse broken ones, and the JSON examples of
docs/protocol.md are valid messages.
"""

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.unit.test_protocol_messages import CLIENT_EXAMPLES, SERVER_EXAMPLES, UNKNOWN_ACTION, server_actions
from vkyc.protocol import PROTOCOL_VERSION, schema, signing
from vkyc.protocol.errors import CATALOGUE, Area
from vkyc.protocol.messages import CLIENT_ACTIONS, CLIENT_MESSAGE, SERVER_MESSAGE, Role

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL_MD = ROOT / "docs" / "protocol.md"
DOCS_KEY = bytes(range(32))  # the example session key of docs/protocol.md


def _load(relative: Path) -> dict[str, Any]:
    return json.loads((ROOT / relative).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def client_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(_load(schema.CLIENT_SCHEMA))


@pytest.fixture(scope="module")
def server_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(_load(schema.SERVER_SCHEMA))


# -- the checked-in files are current ---------------------------------------------------------------


def test_generated_files_are_up_to_date():
    stale = schema.check()
    assert not stale, (
        f"stale: {', '.join(map(str, stale))}. A message or an error code changed without regenerating: "
        f"run `.venv/bin/python -m {schema.__name__}` and commit the result."
    )


def test_generation_is_deterministic():
    assert schema.generate() == schema.generate()
    for relative, content in schema.generate().items():
        assert content.endswith("\n") and not content.endswith("\n\n"), relative


def test_check_names_a_stale_or_missing_file(tmp_path):
    assert set(schema.check(tmp_path)) == set(schema.generate())
    assert schema.write(tmp_path) == list(schema.generate())
    assert schema.check(tmp_path) == []
    assert schema.write(tmp_path) == []
    (tmp_path / schema.ERRORS_MD).write_text("old\n", encoding="utf-8")
    assert schema.check(tmp_path) == [schema.ERRORS_MD]


def test_check_command_exits_1_when_stale(tmp_path, capsys):
    assert schema.main(["--check", "--root", str(tmp_path)]) == 1
    assert "python -m vkyc.protocol.schema" in capsys.readouterr().err
    assert schema.main(["--root", str(tmp_path)]) == 0
    assert schema.main(["--check", "--root", str(tmp_path)]) == 0


def test_json_files_are_sorted_with_two_space_indent():
    for relative in (schema.CLIENT_SCHEMA, schema.SERVER_SCHEMA):
        text = (ROOT / relative).read_text(encoding="utf-8")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# -- the schemas ------------------------------------------------------------------------------------


@pytest.mark.parametrize("relative", [schema.CLIENT_SCHEMA, schema.SERVER_SCHEMA])
def test_schema_header(relative):
    document = _load(relative)
    jsonschema.Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert (
        document["$id"]
        == f"urn:vkyc:protocol:{PROTOCOL_VERSION}:{relative.name.removesuffix('.schema.json')}"
    )
    assert document["x-protocol"] == PROTOCOL_VERSION
    assert f"protocol {PROTOCOL_VERSION}" in document["title"]


def _definitions(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        d["properties"]["action"]["const"]: d
        for d in document["$defs"].values()
        if "const" in d.get("properties", {}).get("action", {})
    }


def test_client_schema_names_roles_and_signing_per_action():
    definitions = _definitions(_load(schema.CLIENT_SCHEMA))
    assert set(definitions) == set(CLIENT_ACTIONS)
    for action, cls in CLIENT_ACTIONS.items():
        assert definitions[action]["x-roles"] == [r.value for r in Role if r in cls.ROLES], action
        assert definitions[action]["x-signed"] is cls.SIGNED, action
    assert definitions["agent.set_status"]["x-roles"] == ["agent"]
    assert definitions["session.hello"]["x-signed"] is False


def test_server_schema_covers_every_server_action_and_requires_action():
    definitions = _definitions(_load(schema.SERVER_SCHEMA))
    assert set(definitions) == server_actions()
    for action, definition in definitions.items():
        assert "action" in definition["required"], action


@pytest.mark.parametrize("action", sorted(CLIENT_ACTIONS))
def test_client_schema_accepts_the_example(client_validator, action):
    client_validator.validate(CLIENT_EXAMPLES[action])


@pytest.mark.parametrize("action", sorted(CLIENT_ACTIONS))
def test_client_schema_refuses_a_missing_required_field(client_validator, action):
    definition = _definitions(_load(schema.CLIENT_SCHEMA))[action]
    required = definition["required"]
    assert "request_id" in required and "action" in required
    for field in required:
        broken = {k: v for k, v in CLIENT_EXAMPLES[action].items() if k != field}
        assert not client_validator.is_valid(broken), f"{action} without {field} passed"


@pytest.mark.parametrize("action", sorted(CLIENT_ACTIONS))
def test_client_schema_refuses_an_extra_field(client_validator, action):
    assert not client_validator.is_valid({**CLIENT_EXAMPLES[action], "extra": 1})


@pytest.mark.parametrize(
    ("field", "value"),
    [("request_id", ""), ("request_id", "x" * 65), ("request_id", "a b"), ("seq", 0), ("mac", "A" * 42)],
)
def test_client_schema_has_the_model_limits(client_validator, field, value):
    assert not client_validator.is_valid({**CLIENT_EXAMPLES["ping"], field: value})


def test_client_schema_refuses_an_unknown_action(client_validator):
    assert not client_validator.is_valid({"action": UNKNOWN_ACTION, "request_id": "a"})


@pytest.mark.parametrize("action", sorted(SERVER_EXAMPLES))
def test_server_schema_accepts_the_example(server_validator, action):
    server_validator.validate(SERVER_EXAMPLES[action])


@pytest.mark.parametrize("action", sorted(SERVER_EXAMPLES))
def test_server_schema_accepts_what_the_server_serializes(server_validator, action):
    message = SERVER_MESSAGE.validate_python(SERVER_EXAMPLES[action])
    server_validator.validate(SERVER_MESSAGE.dump_python(message, mode="json"))
    server_validator.validate(SERVER_MESSAGE.dump_python(message, mode="json", exclude_none=True))


@pytest.mark.parametrize("action", sorted(SERVER_EXAMPLES))
def test_server_schema_refuses_a_message_without_action(server_validator, action):
    assert not server_validator.is_valid({k: v for k, v in SERVER_EXAMPLES[action].items() if k != "action"})


# -- docs/errors.md ---------------------------------------------------------------------------------


def test_every_catalogue_code_is_documented():
    text = (ROOT / schema.ERRORS_MD).read_text(encoding="utf-8")
    for code, info in CATALOGUE.items():
        assert f"### `{code}`" in text, code
        section = text.split(f"### `{code}`", 1)[1].split("\n### ", 1)[0]
        assert f"HTTP {info.http_status}" in section and info.message in section, code
        assert info.when in section and info.what_to_do in section, code


def test_every_area_has_its_own_title_and_section():
    titles = [schema.area_title(area) for area in Area]
    assert len(set(titles)) == len(titles)
    assert (
        schema.area_title(Area.CALL) == "Calls"
        and schema.area_title(Area.AUTH) == "Authentication and sessions"
    )
    text = (ROOT / schema.ERRORS_MD).read_text(encoding="utf-8")
    for area in {info.area for info in CATALOGUE.values()}:
        assert f"\n## {schema.area_title(area)}\n" in text, area


def test_errors_md_says_how_it_is_generated():
    assert "python -m vkyc.protocol.schema" in (ROOT / schema.ERRORS_MD).read_text(encoding="utf-8")


def test_seed_003_codes_are_kept_or_announced():
    text = (ROOT / schema.ERRORS_MD).read_text(encoding="utf-8")
    to_come = text.split("## Still to come", 1)[1] if "## Still to come" in text else ""
    for code in schema.SEED_003_CODES:
        if code in CATALOGUE:
            assert f"`{code}`" not in to_come, code
        else:
            assert f"### `{code}`" not in text, f"{code} is documented as if it existed"
            assert re.search(rf"\| `{code}` \| #[456] \|", to_come), code


# -- docs/protocol.md -------------------------------------------------------------------------------

_BLOCK = re.compile(
    r"<!--\s*(client-message|server-message|rest-error)\s*-->\s*\n```json\n(.*?)\n```", re.DOTALL
)


def _doc_examples(kind: str) -> list[dict[str, Any]]:
    """The ```json blocks of docs/protocol.md marked ``<!-- {kind}-message -->`` (or ``rest-error``)."""
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    marker = kind if kind == "rest-error" else f"{kind}-message"
    return [json.loads(body) for found, body in _BLOCK.findall(text) if found == marker]


def test_every_marked_block_is_json_and_every_json_block_is_marked():
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    assert len(_BLOCK.findall(text)) == text.count("```json\n")


@pytest.mark.parametrize("kind", ["client", "server"])
def test_docs_examples_cover_every_action(kind):
    actions = {example["action"] for example in _doc_examples(kind)}
    assert actions == (set(CLIENT_ACTIONS) if kind == "client" else server_actions())


def test_docs_client_examples_are_valid(client_validator):
    for example in _doc_examples("client"):
        client_validator.validate(example)
        CLIENT_MESSAGE.validate_python(example)


def test_docs_signed_examples_verify_under_the_docs_key():
    for example in _doc_examples("client"):
        if CLIENT_ACTIONS[example["action"]].SIGNED:
            assert signing.verify(DOCS_KEY, example), example["request_id"]


def test_docs_server_examples_are_valid(server_validator):
    for example in _doc_examples("server"):
        server_validator.validate(example)
        SERVER_MESSAGE.validate_python(example)


def test_docs_error_examples_use_catalogue_codes():
    for example in _doc_examples("server"):
        if example["action"] == "error":
            assert example["code"] in CATALOGUE
            assert example["message"].startswith(CATALOGUE[example["code"]].message)


def test_docs_rest_errors_are_catalogue_bodies():
    examples = _doc_examples("rest-error")
    assert examples
    for example in examples:
        assert set(example) == {"code", "message"} and example["code"] in CATALOGUE
        assert example["message"].startswith(CATALOGUE[example["code"]].message)


def test_docs_say_when_the_call_actions_arrive():
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    assert "#4" in text and "#5" in text


def test_docs_name_every_call_error():
    """The calls section says which errors each call message can get: every code of the area is there."""
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    calls = text.split("\n## 8. Calls\n", 1)[1].split("\n## 9. ", 1)[0]
    for code, info in CATALOGUE.items():
        if info.area is Area.CALL:
            assert f"`{code}`" in calls, code


def test_docs_call_examples_tell_one_story():
    """Every example of the guide that names a call names the same one, about the same dossier."""
    examples = _doc_examples("client") + _doc_examples("server")
    call_ids = {e["call_id"] for e in examples if e.get("call_id")}
    assert len(call_ids) == 1, call_ids
    dossiers = [e["dossier"] for e in examples if "dossier" in e]
    assert dossiers and {d["dossier_id"] for d in dossiers} == {"HS-KV1-0001"}

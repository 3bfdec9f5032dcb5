"""``docs/openapi.json`` stays true: it is generated from the declared endpoints and the pydantic models the
server validates with (a stale file fails here), the Chalice apps serve exactly the declared endpoints,
and it names only error codes of the catalogue under their own HTTP status."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vkyc.api import openapi
from vkyc.api.endpoints import ALL
from vkyc.protocol.errors import CATALOGUE
from vkyc.services.auth import MobileTokenRequest

ROOT = Path(__file__).resolve().parents[2]
SPEC = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))


def app_routes() -> dict[str, set[str]]:
    from functions.integrations.app import app as integrations
    from functions.reports.app import app as reports
    from functions.signaling.app import app as signaling

    routes: dict[str, set[str]] = {}
    for app in (signaling, reports, integrations):
        for path, methods in app.routes.items():
            routes.setdefault(path, set()).update(m.lower() for m in methods)
    return routes


def test_the_file_is_what_the_code_generates():
    assert openapi.check(ROOT), "docs/openapi.json is stale: run `python -m vkyc.api.openapi`"


def test_check_command_exits_1_when_stale(tmp_path, capsys):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "openapi.json").write_text("{}\n")
    assert openapi.main(["--check", "--root", str(tmp_path)]) == 1
    assert "python -m vkyc.api.openapi" in capsys.readouterr().err
    assert openapi.main(["--root", str(tmp_path)]) == 0
    assert openapi.main(["--check", "--root", str(tmp_path)]) == 0


def test_the_apps_serve_exactly_the_declared_endpoints_and_the_file_documents_them():
    declared: dict[str, set[str]] = {}
    for endpoint in ALL:
        declared.setdefault(endpoint.path, set()).add(endpoint.method.lower())
    assert app_routes() == declared
    assert {path: set(item) for path, item in SPEC["paths"].items()} == declared


def test_every_endpoint_is_bound_in_exactly_one_app():
    from functions.integrations.app import rest_api as integrations
    from functions.reports.app import rest_api as reports
    from functions.signaling.app import rest_api as signaling

    bound = list(reports().routes) + list(signaling().routes) + list(integrations().routes)
    assert sorted(bound) == sorted(e.name for e in ALL)


def test_every_path_parameter_is_declared():
    for path, item in SPEC["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path


@pytest.mark.parametrize("path", sorted(SPEC["paths"]))
def test_errors_are_catalogue_codes_under_their_own_status(path):
    for operation in SPEC["paths"][path].values():
        for status, response in operation["responses"].items():
            codes = re.findall(r"`([A-Z_]+)`", response["description"])
            if status.startswith("2"):
                assert not codes
                continue
            assert codes, f"{path} {status} names no code"
            for code in codes:
                assert code in CATALOGUE, code
                assert CATALOGUE[code].http_status == int(status), (path, code)


def test_request_bodies_are_the_models_the_server_validates_with():
    # Hand-written, the file once forbade dealer_channel, which the server accepts.
    schema = SPEC["components"]["schemas"]["MobileTokenRequest"]
    assert schema["properties"].keys() == MobileTokenRequest.model_fields.keys()
    assert "dealer_channel" in schema["properties"] and schema["additionalProperties"] is False


def test_every_body_endpoint_documents_the_body_errors_and_every_429_its_retry_after():
    for endpoint in ALL:
        responses = SPEC["paths"][endpoint.path][endpoint.method.lower()]["responses"]
        if endpoint.body is not None:
            for status in ("400", "413", "415"):
                assert status in responses, (endpoint.name, status)
        if "429" in responses:
            assert "Retry-After" in responses["429"]["headers"]
        assert "503" in responses, "every endpoint may meet an unavailable dependency"

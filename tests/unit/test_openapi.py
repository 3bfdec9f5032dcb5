"""``docs/openapi.json`` stays true: it names every REST route of the Chalice apps with its methods, no
route they lack, and only error codes of the catalogue with their own HTTP status."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vkyc.protocol.errors import CATALOGUE

ROOT = Path(__file__).resolve().parents[2]
SPEC = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))


def app_routes() -> dict[str, set[str]]:
    from functions.reports.app import app as reports
    from functions.signaling.app import app as signaling

    routes: dict[str, set[str]] = {}
    for app in (signaling, reports):
        for path, methods in app.routes.items():
            routes.setdefault(path, set()).update(m.lower() for m in methods)
    return routes


def test_every_route_is_documented_with_its_methods_and_nothing_else():
    documented = {path: set(item) for path, item in SPEC["paths"].items()}
    assert documented == app_routes()


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

"""A cold start pays for Chalice, boto3 and the function's settings, not for the service graph: importing
a function's module loads no pydantic model, no PynamoDB table and none of vkyc's services, and still
declares every route and event source Chalice needs (``docs/benchmarks.md`` has the times)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vkyc.api.endpoints import ALL
from vkyc.config import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
APPS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
# What the graph brings: none of it may load before the first event.
DEFERRED = ("pydantic", "pynamodb", "vkyc.services", "vkyc.repositories", "vkyc.protocol", "vkyc.wiring")
PROBE = (
    "import importlib, json, sys; module = importlib.import_module(sys.argv[1]); app = module.app; "
    "print(json.dumps({'modules': sorted(sys.modules), 'routes': "
    "{path: sorted(methods) for path, methods in app.routes.items()}}))"
)


def _imported(app: str) -> dict[str, object]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("VKYC_")}
    environ |= {v.name: "s" * 40 if v.secret else "placeholder" for v in FUNCTIONS[app].variables}
    environ |= {"PYTHONPATH": str(ROOT), "AWS_DEFAULT_REGION": "ap-southeast-1"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, f"functions.{app}.app"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def imported() -> dict[str, dict[str, object]]:
    return {app: _imported(app) for app in APPS}


@pytest.mark.parametrize("app", APPS)
def test_importing_a_function_loads_no_model_table_or_service(imported, app):
    modules = imported[app]["modules"]
    assert isinstance(modules, list)
    loaded = [m for m in modules if any(m == d or m.startswith(d + ".") for d in DEFERRED)]
    assert loaded == []


def test_the_routes_declared_at_import_are_every_endpoint_with_its_method(imported):
    declared: dict[str, set[str]] = {}
    for endpoint in ALL:
        declared.setdefault(endpoint.path, set()).add(endpoint.method)
    served: dict[str, set[str]] = {}
    for result in imported.values():
        routes = result["routes"]
        assert isinstance(routes, dict)
        for path, methods in routes.items():
            served.setdefault(path, set()).update(set(methods) - {"OPTIONS"})  # preflights: an origin is set
    assert served == declared

"""Each function refuses to start without a required setting or secret (``vkyc.config``), and secrets
come from the environment or, in a deployment, from Secrets Manager once per process
(``vkyc.secret_store``)."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vkyc import config, secret_store
from vkyc.config import FUNCTIONS, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s" * 40


def complete_environment(function: str) -> dict[str, str]:
    """Every variable of ``function`` set (secrets by value)."""
    return {v.name: SECRET if v.secret else f"value-of-{v.name}" for v in FUNCTIONS[function].variables}


REQUIRED = [
    (function, variable.name)
    for function, spec in FUNCTIONS.items()
    for variable in spec.variables
    if variable.default is None
]


@pytest.fixture(autouse=True)
def no_cached_secrets():
    secret_store.forget()
    yield
    secret_store.forget()


def test_every_app_under_functions_is_declared_and_nothing_else():
    apps = {p.parent.name for p in (ROOT / "functions").glob("*/app.py")}
    assert set(FUNCTIONS) == apps


@pytest.mark.parametrize(("function", "missing"), REQUIRED)
def test_a_missing_required_setting_or_secret_is_refused_naming_it(function, missing):
    environ = complete_environment(function)
    assert load_config(function, environ).function == function
    del environ[missing]
    with pytest.raises(ConfigError, match=missing):
        load_config(function, environ)


@pytest.mark.parametrize(("function", "missing"), REQUIRED)
def test_the_app_module_fails_at_import_naming_the_missing_setting(function, missing, monkeypatch):
    for name, value in complete_environment(function).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigError, match=missing):
        runpy.run_path(str(ROOT / "functions" / function / "app.py"), run_name=f"_config_test_{function}")


def test_routing_without_the_websocket_api_id_does_not_start_in_a_fresh_interpreter():
    # The case: pushes of the sweeper used to be dropped without a word.
    environ = {k: v for k, v in os.environ.items() if k != "VKYC_WS_API_ID"}
    environ["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", "import functions.routing.app"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "ConfigError" in done.stderr and "VKYC_WS_API_ID is not set" in done.stderr


def test_a_short_secret_is_refused():
    environ = complete_environment("reports") | {"VKYC_TOKEN_SECRET": "short"}
    with pytest.raises(ConfigError, match="VKYC_TOKEN_SECRET must be at least 32"):
        load_config("reports", environ)


def test_an_unknown_function_is_refused():
    with pytest.raises(ConfigError, match="unknown function 'billing'"):
        load_config("billing", {})


def test_defaults_apply_to_the_settings_that_have_one():
    environ = complete_environment("routing")
    del environ["VKYC_TABLE_PREFIX"], environ["VKYC_WS_STAGE"]
    loaded = load_config("routing", environ)
    assert loaded[config.TABLE_PREFIX] == "vkyc-" and loaded[config.WS_STAGE] == "api"


class FakeSecretsManager:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.requests: list[str] = []

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:
        self.requests.append(SecretId)
        if SecretId not in self.values:
            raise RuntimeError("ResourceNotFoundException")
        return {"SecretString": self.values[SecretId]}


def test_a_deployment_reads_each_secret_once_from_secrets_manager(monkeypatch):
    arn = "arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:vkyc-token-AbCdEf"
    fake = FakeSecretsManager({arn: SECRET})
    monkeypatch.setattr(secret_store, "_secrets_manager", lambda: fake)
    environ = complete_environment("reports")
    del environ["VKYC_TOKEN_SECRET"]
    environ["VKYC_TOKEN_SECRET_ARN"] = arn
    load_config("reports", environ)
    load_config("reports", environ)
    assert secret_store.get("VKYC_TOKEN_SECRET", environ) == SECRET
    assert fake.requests == [arn], "read once, at the first load (the cold start), then cached"


def test_a_secret_secrets_manager_refuses_stops_the_function_naming_it(monkeypatch):
    monkeypatch.setattr(secret_store, "_secrets_manager", lambda: FakeSecretsManager({}))
    environ = complete_environment("reports")
    del environ["VKYC_TOKEN_SECRET"]
    environ["VKYC_TOKEN_SECRET_ARN"] = "arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:gone"
    with pytest.raises(ConfigError, match="VKYC_TOKEN_SECRET: Secrets Manager did not answer"):
        load_config("reports", environ)


def test_the_environment_wins_over_secrets_manager_and_is_read_afresh(monkeypatch):
    monkeypatch.setattr(secret_store, "_secrets_manager", lambda: pytest.fail("no request"))
    environ = {"VKYC_TOKEN_SECRET": SECRET, "VKYC_TOKEN_SECRET_ARN": "arn:unused"}
    assert secret_store.load("VKYC_TOKEN_SECRET", environ) == SECRET
    environ["VKYC_TOKEN_SECRET"] = "t" * 40
    assert secret_store.get("VKYC_TOKEN_SECRET", environ) == "t" * 40

"""The static pages' security headers (``local/web_policy.py``) and ``web/config.json``: the policy names
only the origins given, the config is checked (a bad entry is an error at start, not a page that
silently ignores it), and ``python -m local csp`` prints what a deployment must serve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.__main__ import main
from local.web_policy import (
    WebConfig,
    WebConfigError,
    content_security_policy,
    load_web_config,
    origin,
    security_headers,
)

WEB = Path(__file__).resolve().parents[2] / "web"


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def test_the_policy_allows_own_files_and_the_named_origins_only():
    policy = directives(
        content_security_policy(
            connect=["https://api.example/prod", "wss://ws.example/prod", "https://api.example/other"],
            media=["https://s3.ap-southeast-1.amazonaws.com/vkyc-media/x.jpg?X-Amz-Signature=1"],
        )
    )
    assert policy == {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "https://s3.ap-southeast-1.amazonaws.com"],
        "media-src": ["'self'", "https://s3.ap-southeast-1.amazonaws.com"],
        "connect-src": ["'self'", "https://api.example", "wss://ws.example"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
    }


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "//evil.example", "/relative", "ftp://files.example", "https://u:p@a.example"],
)
def test_only_absolute_http_and_ws_urls_have_an_origin(url):
    with pytest.raises(ValueError):
        origin(url)


def test_the_tracked_config_is_the_pages_own_origin_so_make_up_works_as_is():
    config = load_web_config(WEB / "config.json")
    assert config == WebConfig() and config.connect_origins() == []


def test_a_missing_config_is_the_default(tmp_path):
    assert load_web_config(tmp_path / "config.json") == WebConfig()


def test_the_configured_api_and_allowed_origins_join_connect_src(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps({"api": "https://api.example/prod", "api_origins": ["https://staging-api.example"]})
    )
    headers = security_headers(load_web_config(path), ws_url="wss://ws.example/prod", media_url="http://s3")
    connect = directives(headers["Content-Security-Policy"])["connect-src"]
    assert connect == ["'self'", "https://api.example", "https://staging-api.example", "wss://ws.example"]
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("{", "not JSON"),
        ('["https://api.example"]', "an object"),
        ('{"api": "https://api.example", "apis": []}', "an object"),
        ('{"api_origins": "https://api.example"}', "list of strings"),
        ('{"api_origins": ["wss://ws.example"]}', r"not an http\(s\) origin"),
        ('{"api": "javascript:alert(1)"}', "not an absolute"),
    ],
)
def test_a_bad_config_is_refused_naming_what_is_wrong(tmp_path, text, named):
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(WebConfigError, match=named):
        load_web_config(path)


def test_the_csp_command_prints_the_headers_for_a_deployment(capsys, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"api": "https://abc.execute-api.ap-southeast-1.amazonaws.com/prod"}))
    ws = "wss://def.execute-api.ap-southeast-1.amazonaws.com/prod"
    media = "https://s3.ap-southeast-1.amazonaws.com"
    assert main(["csp", "--config", str(path), "--ws-url", ws, "--media-url", media]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Content-Security-Policy: default-src 'none'; script-src 'self';")
    assert (
        "connect-src 'self' https://abc.execute-api.ap-southeast-1.amazonaws.com "
        "wss://def.execute-api.ap-southeast-1.amazonaws.com;" in lines[0]
    )
    assert main(["csp", "--config", str(path), "--ws-url", "nope", "--media-url", media]) == 2
    assert "error:" in capsys.readouterr().err

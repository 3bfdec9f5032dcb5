"""The static pages' security headers (``local/web_policy.py``) and ``web/config.json``: the policy names
only the origins given, the config is checked (a bad entry is an error at start, not a page that
silently ignores it), and ``python -m local csp`` prints what a deployment must serve. The CRM origins
the answer-URL panel may frame (``VKYC_FRAME_ORIGINS``) are origins only, https (plus loopback http
locally), never a wildcard: anything else is refused with a stable code."""

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
from vkyc.domain.frame_origins import FrameOriginError, frame_origins

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
        "frame-src": ["'none'"],
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


# -- the CRM origins the answer-URL panel may frame ------------------------------------------------------


def test_frame_origins_are_read_from_a_comma_or_space_separated_list_normalised_once_each():
    text = " https://CRM.example.vn, https://crm.example.vn/  https://crm2.example.vn:8443 ,"
    assert frame_origins(text, local=False) == ("https://crm.example.vn", "https://crm2.example.vn:8443")
    assert frame_origins("", local=False) == frame_origins("  ", local=True) == ()


def test_a_local_stack_may_frame_a_crm_on_the_loopback_over_http():
    text = "http://127.0.0.1:8088 http://localhost:9000 http://[::1]:7000"
    assert frame_origins(text, local=True) == (
        "http://127.0.0.1:8088",
        "http://localhost:9000",
        "http://[::1]:7000",
    )
    with pytest.raises(FrameOriginError) as refused:
        frame_origins("http://127.0.0.1:8088", local=False)  # a deployment's pages are https
    assert refused.value.code == "FRAME_ORIGIN_NOT_HTTPS"


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        ("*", "FRAME_ORIGIN_WILDCARD"),
        ("https://*.example.vn", "FRAME_ORIGIN_WILDCARD"),
        ("https://crm.example.vn:*", "FRAME_ORIGIN_WILDCARD"),
        ("https:", "FRAME_ORIGIN_WILDCARD"),  # a scheme alone allows every https site
        ("data:", "FRAME_ORIGIN_WILDCARD"),
        ("http://crm.example.vn", "FRAME_ORIGIN_NOT_HTTPS"),
        ("http://10.0.0.5:8080", "FRAME_ORIGIN_NOT_HTTPS"),
        ("crm.example.vn", "FRAME_ORIGIN_INVALID"),
        ("'self'", "FRAME_ORIGIN_INVALID"),
        ("'unsafe-inline'", "FRAME_ORIGIN_INVALID"),
        ("https://crm.example.vn/answer", "FRAME_ORIGIN_INVALID"),
        ("https://crm.example.vn/?a=1", "FRAME_ORIGIN_INVALID"),
        ("https://user:pw@crm.example.vn", "FRAME_ORIGIN_INVALID"),
        ("https://crm.example.vn:99999", "FRAME_ORIGIN_INVALID"),
        ("ftp://files.example.vn", "FRAME_ORIGIN_INVALID"),
        ("javascript:alert(1)", "FRAME_ORIGIN_INVALID"),
        ("https://crm.example.vn;script-src", "FRAME_ORIGIN_INVALID"),  # no smuggled directive
    ],
)
def test_a_bad_frame_origin_is_refused_with_a_stable_code_naming_the_entry(entry, code):
    with pytest.raises(FrameOriginError) as refused:
        frame_origins(f"https://ok.example.vn {entry}", local=True)
    assert refused.value.code == code
    assert str(refused.value).startswith(f"{code}: VKYC_FRAME_ORIGINS")
    assert repr(entry) in str(refused.value)


def test_the_frame_origins_are_the_policys_frame_src_and_nothing_else_changes(tmp_path):
    base = security_headers(WebConfig(), ws_url="wss://ws.example/prod", media_url="https://s3.example")
    framed = security_headers(
        WebConfig(),
        ws_url="wss://ws.example/prod",
        media_url="https://s3.example",
        frame_origins=frame_origins("https://crm.example.vn https://crm2.example.vn", local=False),
    )
    before = directives(base["Content-Security-Policy"])
    after = directives(framed["Content-Security-Policy"])
    assert before["frame-src"] == ["'none'"]
    assert after["frame-src"] == ["https://crm.example.vn", "https://crm2.example.vn"]
    assert {k: v for k, v in after.items() if k != "frame-src"} == {
        k: v for k, v in before.items() if k != "frame-src"
    }


def test_the_csp_command_takes_the_frame_origins_of_a_deployment(capsys, tmp_path, monkeypatch):
    path = tmp_path / "config.json"
    path.write_text("{}")
    args = [
        "csp",
        "--config",
        str(path),
        "--ws-url",
        "wss://ws.example/prod",
        "--media-url",
        "https://s3.example",
    ]
    assert main([*args, "--frame-origins", "https://crm.example.vn"]) == 0
    assert "frame-src https://crm.example.vn;" in capsys.readouterr().out
    monkeypatch.setenv("VKYC_FRAME_ORIGINS", "https://env-crm.example.vn")
    assert main(args) == 0
    assert "frame-src https://env-crm.example.vn;" in capsys.readouterr().out
    assert main([*args, "--frame-origins", "http://127.0.0.1:8088"]) == 2  # not for a deployment
    assert "FRAME_ORIGIN_NOT_HTTPS" in capsys.readouterr().err

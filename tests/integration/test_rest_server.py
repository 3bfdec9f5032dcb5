"""The local REST server: Chalice routes through Chalice's local gateway, then ``web/`` files."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from chalice import Chalice, Response

from local.rest import RestServer

STATIC_HEADERS = {"Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff"}


def make_app() -> Chalice:
    app = Chalice(app_name="rest-test-app")

    @app.route("/things/{thing_id}", methods=["GET", "PUT"])
    def thing(thing_id: str):
        request = app.current_request
        if request.method == "PUT":
            return {"id": thing_id, "body": request.json_body}
        return {"id": thing_id}

    @app.route("/teapot")
    def teapot():
        return Response(body={"short": "stout"}, status_code=418, headers={"X-Kind": "teapot"})

    return app


@pytest.fixture()
def server(tmp_path: Path):
    web = tmp_path / "web"
    (web / "css").mkdir(parents=True)
    (web / "index.html").write_text("<h1>home</h1>")
    (web / "css" / "site.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("outside the web root")
    rest = RestServer([make_app()], web, port=0, static_headers=STATIC_HEADERS).start()
    yield rest
    rest.stop()


def request(url: str, method: str = "GET", body: bytes | None = None):
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_chalice_routes_with_params_body_status_and_headers(server):
    assert json.loads(request(f"{server.url}/things/42")[2]) == {"id": "42"}
    status, _, body = request(f"{server.url}/things/7", "PUT", b'{"a": 1}')
    assert status == 200 and json.loads(body) == {"id": "7", "body": {"a": 1}}
    status, headers, body = request(f"{server.url}/teapot")
    assert status == 418 and headers["X-Kind"] == "teapot" and json.loads(body) == {"short": "stout"}


def test_bad_json_body_gets_chalice_400_not_a_crash(server):
    status, _, body = request(f"{server.url}/things/7", "PUT", b"{not json")
    assert status == 400 and b"BadRequestError" in body


def test_static_files_index_and_content_types(server):
    status, headers, body = request(f"{server.url}/")
    assert status == 200 and body == b"<h1>home</h1>" and headers["Content-Type"] == "text/html"
    status, headers, _ = request(f"{server.url}/css/site.css")
    assert status == 200 and headers["Content-Type"] == "text/css"


def test_static_files_carry_the_pages_security_headers_and_api_answers_do_not(server):
    for path in ("/", "/index.html", "/css/site.css"):
        headers = request(f"{server.url}{path}")[1]
        assert {name: headers.get(name) for name in STATIC_HEADERS} == STATIC_HEADERS, path
    headers = request(f"{server.url}/things/1")[1]
    assert "Content-Security-Policy" not in headers


@pytest.mark.parametrize(
    "path", ["/nothing-here", "/../secret.txt", "/%2e%2e/secret.txt", "/css/../../secret.txt"]
)
def test_unknown_paths_and_escapes_from_web_root_are_404(server, path):
    status, _, body = request(f"{server.url}{path}")
    assert status == 404 and b"outside the web root" not in body

"""Issue #10 item 5 in Chromium: a link's ``?api=`` cannot send the login form to a foreign origin, and
every static page is served under the Content-Security-Policy (no inline script, connections only to
the page's own API, the WebSocket API and the media bucket)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import expect_console_errors
from tests.browser.helpers import PASSWORDS

pytestmark = pytest.mark.usefixtures("stack_tables")

FOREIGN = "http://vkyc-collector.example:8666"


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.mark.parametrize(
    ("page_path", "username", "ready"),
    [("/agent.html", "tdv1.kv1", "#work"), ("/supervisor.html", "gs.kv1", "#console")],
)
def test_a_link_with_a_foreign_api_cannot_capture_the_login(open_page, stack, page_path, username, ready):
    """The attack: a link ``agent.html?api=<attacker>`` made the login form post the credentials to the
    attacker. Every request to that origin is intercepted (and answered, as its server would): none
    may be made; the login goes to the page's own API and succeeds."""
    seen: list[dict[str, Any]] = []

    def collector(route: Any) -> None:
        # Answered as the collecting server would, so the page never waits on it.
        request = route.request
        seen.append({"url": request.url, "method": request.method, "body": request.post_data})
        route.fulfill(status=200, content_type="application/json", body="{}")

    page = open_page("about:blank", username)
    page.context.route(lambda url: origin(url) == FOREIGN, collector)
    logins: list[str] = []
    page.on("request", lambda r: logins.append(r.url) if r.url.endswith("/auth/login") else None)
    page.goto(f"{page_path}?api={FOREIGN}/")
    # The person is told the link asked for another server, and that it is not used.
    warning = page.wait_for_selector(".banner[data-key=api]")
    assert "?api=" in warning.inner_text() and FOREIGN in warning.inner_text()
    page.fill("#login-form [name=username]", username)
    page.fill("#login-form [name=password]", PASSWORDS[username])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector(f"{ready}:visible, .error-card")

    assert seen == [], f"requests reached {FOREIGN}: {seen}"
    assert page.is_visible(ready), page.inner_text("#errors")
    assert logins and all(origin(url) == stack.http_url for url in logins), logins


def test_the_api_choice_keeps_the_own_origin_and_the_allow_list_only(open_page):
    page = open_page("/agent.html")
    choices = page.evaluate(
        """async () => {
          const { chooseApi } = await import('/js/config.js');
          const own = 'http://127.0.0.1:8000';
          const config = { api: '', api_origins: ['https://api.staging.example'] };
          const pick = (search, cfg = config) => chooseApi(search, own, cfg);
          return {
            none: pick(''),
            own: pick('?api=http://127.0.0.1:8000/'),
            allowed: pick('?api=https://api.staging.example/prod/'),
            foreign: pick('?api=https://evil.example'),
            lookalike: pick('?api=https://api.staging.example.evil.example'),
            userinfo: pick('?api=https://api.staging.example@evil.example'),
            script: pick('?api=javascript:alert(1)'),
            relative: pick('?api=//evil.example'),
            configured: pick('', { api: 'https://api.example/prod/', api_origins: [] }),
            configured_foreign: pick('?api=http://127.0.0.1:8000', { api: 'https://api.example/prod' }),
          };
        }"""
    )
    assert choices["none"] == {"base": "http://127.0.0.1:8000", "ignored": None}
    assert choices["own"] == {"base": "http://127.0.0.1:8000", "ignored": None}
    assert choices["allowed"] == {"base": "https://api.staging.example/prod", "ignored": None}
    for name in ("foreign", "lookalike", "userinfo", "script", "relative"):
        assert choices[name]["base"] == "http://127.0.0.1:8000", name
        assert choices[name]["ignored"], name
    assert choices["configured"] == {"base": "https://api.example/prod", "ignored": None}
    # The page's own origin is always allowed: make up serves the pages and the API together.
    assert choices["configured_foreign"] == {"base": "http://127.0.0.1:8000", "ignored": None}


@pytest.mark.parametrize("page_path", ["/", "/agent.html", "/supervisor.html", "/index.html"])
def test_every_page_is_served_under_the_content_security_policy(open_page, stack, page_path):
    page = open_page("about:blank", page_path)
    response = page.goto(page_path)
    policy = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if " " in part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'none'"
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert directives["connect-src"].split() == ["'self'", origin(stack.ws_url)]
    assert directives["img-src"].split() == ["'self'", "data:", origin(stack.aws_endpoint)]
    assert directives["media-src"].split() == ["'self'", origin(stack.aws_endpoint)]
    assert directives["form-action"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"

    # An injected inline script does not run, and the browser says so in the console (where every
    # browser test looks for errors: a page that needs something the policy forbids fails its tests).
    expect_console_errors(page, r"Content Security Policy")
    with page.expect_console_message(
        lambda m: m.type == "error" and "Content Security Policy" in m.text
    ) as refused:
        outcome = page.evaluate(
            """() => new Promise((resolve) => {
              window.inlineRan = false;
              document.addEventListener('securitypolicyviolation',
                (e) => resolve({directive: e.effectiveDirective, ran: window.inlineRan}), {once: true});
              const script = document.createElement('script');
              script.textContent = 'window.inlineRan = true';
              document.head.append(script);
            })"""
        )
    assert outcome == {"directive": "script-src-elem", "ran": False}
    assert "inline script" in refused.value.text

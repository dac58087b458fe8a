"""Signing in and out through Flask's test client, with CSRF protection on: tokens come from
the forms, as a browser's do. Covers remember-me and its revocation, disabled agents,
the rate limit on failed sign-ins, cookie flags, and production's refusal of a weak key.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask_login import current_user

from app import create_app
from app.auth.views import LIMITED, WRONG
from app.extensions import db
from app.models import Agent
from config import DEFAULT_SECRET_KEY, ConfigError, ProductionConfig
from tests import factories
from tests import web as web_client
from tests.conftest import app_settings
from tests.web import form_token

EMAIL = "sam@desk.example"
PASSWORD = factories.AGENT_PASSWORD


@pytest.fixture
def sam(web):
    with web.app_context():
        return factories.agent(db.session, EMAIL).id


def sign_in(client, email: str = EMAIL, password: str = PASSWORD, **kwargs):
    return web_client.sign_in(client, email, password, **kwargs)


def sign_out(client):
    """Press the sign-out button in the page header."""
    home = client.get("/tickets").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)
    return client.post("/logout", data={"csrf_token": token})


def signed_in_agent(client):
    """Make a request and return who the application thinks is signed in, or None."""
    with client:
        client.get("/healthz")
        return current_user.email if current_user.is_authenticated else None


def test_an_agent_signs_in_with_the_right_password_and_lands_on_the_queue(web, sam):
    client = web.test_client()

    response = sign_in(client)

    assert response.status_code == 302 and response.location == "/tickets"
    assert signed_in_agent(client) == EMAIL
    assert "Signed in as Sam Agent (agent)" in client.get("/tickets").text


def test_a_wrong_password_shows_the_form_again_and_signs_nobody_in(web, sam):
    client = web.test_client()

    response = sign_in(client, password="not the password at all")

    assert response.status_code == 200 and str(WRONG) in response.text
    assert 'name="email"' in response.text and "not the password at all" not in response.text
    assert signed_in_agent(client) is None


def test_an_unknown_address_gets_the_same_answer_as_a_wrong_password(web, sam):
    response = sign_in(web.test_client(), email="nobody@desk.example")

    assert response.status_code == 200 and str(WRONG) in response.text


@pytest.mark.parametrize("token", [None, "", "forged-token"], ids=["missing", "empty", "forged"])
def test_a_sign_in_without_a_valid_csrf_token_is_refused(web, sam, token):
    client = web.test_client()
    client.get("/login")
    data = {"email": EMAIL, "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token

    response = client.post("/login", data=data)

    assert response.status_code == 400
    assert "security token is missing or has expired" in response.text
    assert signed_in_agent(client) is None


def test_a_csrf_token_from_another_browser_is_refused(web, sam):
    someone_elses = form_token(web.test_client())
    client = web.test_client()
    client.get("/login")

    response = client.post("/login", data={"csrf_token": someone_elses, "email": EMAIL,
                                           "password": PASSWORD})

    assert response.status_code == 400


def test_a_sign_out_without_a_csrf_token_is_refused_and_the_agent_stays_signed_in(web, sam):
    client = web.test_client()
    sign_in(client)

    response = client.post("/logout")

    assert response.status_code == 400
    assert signed_in_agent(client) == EMAIL


def test_signing_out_ends_the_session(web, sam):
    client = web.test_client()
    sign_in(client)

    response = sign_out(client)

    assert response.status_code == 302 and response.location == "/login"
    assert signed_in_agent(client) is None
    assert "You are signed out." in client.get("/login").text


def test_the_sign_out_button_in_the_page_header_works_without_javascript(web, sam):
    client = web.test_client()
    sign_in(client)
    home = client.get("/tickets").text

    form = re.search(r'<form class="signout" method="post" action="/logout">.*?</form>', home, re.S)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.group(0)).group(1)

    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert signed_in_agent(client) is None


def test_a_disabled_agents_open_session_ends_at_their_next_request(web, sam):
    client = web.test_client()
    sign_in(client, remember=True)
    assert signed_in_agent(client) == EMAIL

    result = web.test_cli_runner().invoke(args=["agents", "disable", EMAIL])

    assert result.exit_code == 0, result.output
    assert signed_in_agent(client) is None
    assert sign_in(client).status_code == 200  # and the form refuses them


def test_an_agent_marked_disabled_by_any_means_is_refused_at_their_next_request(web, sam):
    client = web.test_client()
    sign_in(client)
    with web.app_context():
        db.session.get(Agent, sam).disabled = True  # without touching the session version
        db.session.commit()

    assert signed_in_agent(client) is None


def test_remember_me_signs_the_agent_in_from_a_fresh_browser_session(web, sam):
    client = web.test_client()
    sign_in(client, remember=True)
    remember = client.get_cookie("remember_token").value

    fresh = web.test_client()
    fresh.set_cookie("remember_token", remember)

    assert signed_in_agent(fresh) == EMAIL


def test_signing_out_revokes_every_remember_cookie_of_the_agent(web, sam):
    client = web.test_client()
    sign_in(client, remember=True)
    remember = client.get_cookie("remember_token").value
    other_device = web.test_client()
    other_device.set_cookie("remember_token", remember)
    assert signed_in_agent(other_device) == EMAIL

    sign_out(client)
    stolen = web.test_client()
    stolen.set_cookie("remember_token", remember)

    assert client.get_cookie("remember_token") is None
    assert signed_in_agent(stolen) is None
    assert signed_in_agent(other_device) is None


def test_without_remember_me_no_remember_cookie_is_set(web, sam):
    client = web.test_client()

    sign_in(client)

    assert client.get_cookie("remember_token") is None


def test_a_disabled_agents_remember_cookie_stops_working_even_after_re_enabling(web, sam):
    client = web.test_client()
    sign_in(client, remember=True)
    remember = client.get_cookie("remember_token").value
    runner = web.test_cli_runner()
    runner.invoke(args=["agents", "disable", EMAIL])
    runner.invoke(args=["agents", "enable", EMAIL])

    fresh = web.test_client()
    fresh.set_cookie("remember_token", remember)

    assert signed_in_agent(fresh) is None


def test_only_paths_on_this_site_are_followed_after_signing_in(web, sam):
    for target, landing in [("/healthz", "/healthz"), ("https://evil.example/", "/tickets"),
                            ("//evil.example/", "/tickets"), ("/\\evil.example", "/tickets")]:
        client = web.test_client()
        assert sign_in(client, next_=target).location == landing, target


def test_repeated_failed_sign_ins_are_limited_and_the_page_says_so(web, sam):
    client = web.test_client()
    failures = [sign_in(client, password=f"wrong password {n}").status_code for n in range(5)]

    limited = sign_in(client)  # even the right password waits now

    assert failures == [200] * 5
    assert limited.status_code == 429
    assert str(LIMITED) in limited.text
    assert int(limited.headers["Retry-After"]) > 0
    assert signed_in_agent(client) is None


def test_the_limit_is_per_address_so_a_colleague_can_still_sign_in(web, sam):
    with web.app_context():
        factories.agent(db.session, "lee@desk.example")
    client = web.test_client()
    for n in range(6):
        sign_in(client, password=f"wrong password {n}")

    response = sign_in(web.test_client(), email="lee@desk.example")

    assert response.status_code == 302


def test_successful_sign_ins_do_not_count_towards_the_limit(web, sam):
    client = web.test_client()
    statuses = []
    for _ in range(7):
        statuses.append(sign_in(client).status_code)
        sign_out(client)

    assert statuses == [302] * 7


def test_too_many_failures_across_addresses_from_one_client_are_limited_too(web, sam):
    web.config["LOGIN_CLIENT_RATE_LIMIT"] = "3 per minute"
    client = web.test_client()
    for n in range(3):
        sign_in(client, email=f"guess{n}@desk.example")

    response = sign_in(client)

    assert response.status_code == 429


PROXY = "10.0.0.1"


def from_client(address: str, claimed: str = "") -> dict:
    """Request arguments of a client at ``address`` behind one proxy, which appends the address
    to whatever X-Forwarded-For the client sent (``claimed``)."""
    forwarded = f"{claimed}, {address}" if claimed else address
    return {"environ_base": {"REMOTE_ADDR": PROXY}, "headers": {"X-Forwarded-For": forwarded}}


def app_with(web, **settings):
    """Another application on the test's database, with settings given at its creation."""
    files = Path(web.config["INSTANCE_PATH"]).parent
    return create_app({**app_settings(web.config["SQLALCHEMY_DATABASE_URI"], files), **settings})


def test_behind_one_trusted_proxy_failed_sign_ins_are_counted_per_client_address(web, sam):
    proxied = app_with(web, TRUSTED_PROXIES=1, LOGIN_CLIENT_RATE_LIMIT="3 per minute")
    attacker, colleague = proxied.test_client(), proxied.test_client()
    for n in range(3):
        failed = sign_in(attacker, email=f"guess{n}@desk.example", **from_client("203.0.113.5"))
        assert failed.status_code == 200

    # Writing another address in front of its own does not get the attacker a fresh count.
    refused = sign_in(attacker, email="guess9@desk.example", **from_client("203.0.113.5", "192.0.2.77"))

    assert refused.status_code == 429
    assert sign_in(colleague, **from_client("198.51.100.7")).status_code == 302


def test_without_trusted_proxies_forwarded_headers_are_ignored(web, sam):
    direct = app_with(web, LOGIN_CLIENT_RATE_LIMIT="3 per minute")
    attacker = direct.test_client()
    answers = [sign_in(attacker, email=f"guess{n}@desk.example", **from_client(f"203.0.113.{n}")).status_code
               for n in range(4)]

    assert answers == [200, 200, 200, 429]
    assert sign_in(direct.test_client(), **from_client("198.51.100.7")).status_code == 429


def set_cookies(response) -> dict[str, str]:
    """Map each cookie set by the response to its Set-Cookie header."""
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def flags(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


def test_session_and_remember_cookies_are_httponly_and_samesite_lax(web, sam):
    response = sign_in(web.test_client(), remember=True)

    cookies = set_cookies(response)

    assert set(cookies) == {"session", "remember_token"}
    for header in cookies.values():
        assert {"httponly", "samesite=lax"} <= flags(header), header
        assert "secure" not in flags(header)  # development and tests run on plain http


def production_app(web, **overrides):
    """An application on the production configuration, on the test's database and folders."""
    files = Path(web.config["INSTANCE_PATH"]).parent
    settings = {**app_settings(web.config["SQLALCHEMY_DATABASE_URI"], files),
                "SECRET_KEY": "a-production-secret-" + "x" * 40, "AUDIT_KEY": "an-audit-key-" + "y" * 40,
                "ENCRYPTION_KEY": "an-encryption-key-" + "z" * 40, **overrides}
    return create_app(type("Production", (ProductionConfig,), settings))


def test_production_cookies_are_also_secure(web, sam):
    production = production_app(web)
    client = production.test_client()
    https = {"base_url": "https://desk.example", "headers": {"Referer": "https://desk.example/login"}}

    response = sign_in(client, remember=True, **https)

    cookies = set_cookies(response)
    assert response.status_code == 302
    assert set(cookies) == {"session", "remember_token"}
    for header in cookies.values():
        assert {"secure", "httponly", "samesite=lax"} <= flags(header), header


@pytest.mark.parametrize("secret", [DEFAULT_SECRET_KEY, ""], ids=["development key", "empty key"])
def test_production_refuses_to_start_with_the_development_secret_key(web, secret):
    with pytest.raises(ConfigError, match="SECRET_KEY is unset or the development default; set SECRET_KEY"):
        production_app(web, SECRET_KEY=secret)

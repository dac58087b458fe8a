"""The cookie list: ``/cookies`` names every cookie the product sets, with the names and
lifetimes the configuration gives them, without signing in; and no route, for any role,
sets a cookie the list does not name.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.cookies.registry import cookies, duration_words
from tests.app import console_world
from tests.app.test_console_access import WHO, client_for, routes, token_for, url_for_rule
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)
from tests.web import sign_in

ROW = re.compile(r'<tr><th scope="row"><code>([^<]+)</code></th><td>[^<]+</td><td>([^<]+)</td>')


def listed(client) -> dict[str, str]:
    """Return name -> lifetime as the cookie page lists them."""
    return dict(ROW.findall(client.get("/cookies").get_data(as_text=True)))


def cookie_names(response) -> set[str]:
    return {header.split("=", 1)[0] for header in response.headers.getlist("Set-Cookie")}


def test_the_cookie_page_lists_the_session_and_remember_me_cookies_without_signing_in(web):
    response = web.test_client().get("/cookies")

    assert response.status_code == 200
    assert listed(web.test_client()) == {"session": "Until you close the browser",
                                         "remember_token": "14 days"}
    assert cookie_names(response) == set(), "reading the list sets no cookie"


def test_the_list_follows_the_configured_names_and_lifetime_and_so_does_sign_in(web):
    console_world.build(web)
    web.config.update(SESSION_COOKIE_NAME="desk_session", REMEMBER_COOKIE_NAME="desk_keep",
                      REMEMBER_COOKIE_DURATION=timedelta(hours=36))
    client = web.test_client()

    response = sign_in(client, "agent@desk.example", remember=True)

    assert listed(client) == {"desk_session": "Until you close the browser", "desk_keep": "36 hours"}
    assert cookie_names(response) == {"desk_session", "desk_keep"}


def test_a_registry_entry_says_its_lifetime_in_words():
    assert [duration_words(d) for d in (timedelta(days=1), timedelta(days=14), timedelta(hours=1),
                                        timedelta(minutes=90), 45)] == [
        "1 day", "14 days", "1 hour", "90 minutes", "45 seconds"]
    assert [c.name for c in cookies({"SESSION_COOKIE_NAME": "session"})] == ["session", "remember_token"]


@pytest.mark.parametrize("who", WHO)
def test_no_route_sets_a_cookie_the_list_does_not_name(web, who):
    world = console_world.build(web)
    client = client_for(web, who)
    token = token_for(client, who)
    names = set(listed(client))
    seen = set()
    for _, method, rule in routes(web):  # sign-out last
        url = url_for_rule(rule, world)
        response = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": token})
        seen |= cookie_names(response)
    signing_in = sign_in(web.test_client(), f"{who}@desk.example", remember=True)
    seen |= cookie_names(signing_in)

    assert seen - names == set()
    assert "session" in seen

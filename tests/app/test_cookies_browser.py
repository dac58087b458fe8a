"""The cookie list against what headless Chromium holds: an agent signs in with remember-me,
walks the console, changes a setting, asks for access, and signs out; the approver opens
the emailed link and approves. Every cookie either browser held, and every Set-Cookie
header either received, is named on ``/cookies`` as the browser reads it, with the
lifetime the browser gave it; the sign-in page links there, and a screenshot of the list
is kept (in ``$DESK_SCREENSHOTS`` when set, else in the test's temporary folder).
"""

from __future__ import annotations

import time

from tests.app import console_world
from tests.app.test_access_browser import approver_browser, ask_for_access, customer_link
from tests.app.test_manage_browser import LAPTOP, screenshot_folder
from tests.browser import record_scripts, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)
from tests.factories import AGENT_PASSWORD

DAY = 24 * 60 * 60


class CookiesSeen:
    """The names of the cookies a browser context held and was sent in Set-Cookie headers."""

    def __init__(self, context) -> None:
        self.context = context
        self.set_cookie: set[str] = set()
        self.held: dict[str, dict] = {}
        context.on("response", self._response)

    def _response(self, response) -> None:
        for value in response.header_values("set-cookie"):
            for line in value.split("\n"):  # Chromium may fold several into one value
                self.set_cookie.add(line.split("=", 1)[0].strip())

    def look(self) -> None:
        """Note every cookie the context holds now."""
        self.held |= {cookie["name"]: cookie for cookie in self.context.cookies()}

    @property
    def names(self) -> set[str]:
        return self.set_cookie | set(self.held)


def listed(page) -> dict[str, str]:
    """Return name -> lifetime as the browser shows the cookie list."""
    rows = page.locator("table.cookies tbody tr")
    return {rows.nth(i).locator("th").inner_text(): rows.nth(i).locator("td").nth(1).inner_text()
            for i in range(rows.count())}


def test_every_cookie_the_browser_holds_or_is_sent_is_on_the_cookie_list(page, browser, live_server,
                                                                        smtp_server, tmp_path):
    app = live_server.app
    app.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=live_server.url)
    world = console_world.build(app)
    base = live_server.url
    page.set_viewport_size(LAPTOP)
    scripts = record_scripts(page)
    agent = CookiesSeen(page.context)

    page.goto(f"{base}/login")
    with page.expect_navigation():
        page.click("main >> text=the cookies this site sets")
    assert page.url == f"{base}/cookies"
    sign_in(page, live_server, "agent@desk.example", AGENT_PASSWORD, remember=True)
    for path in ("/tickets", f"/tickets/{world.ticket_id}", "/accounts", f"/accounts/{world.account_id}",
                 "/search?q=export", "/account/two-factor"):
        assert page.goto(f"{base}{path}").ok, path
        agent.look()
    page.goto(f"{base}/settings")
    page.fill("input[name=page_size]", "50")
    with page.expect_navigation():
        page.click("text=Save settings")
    assert page.input_value("input[name=page_size]") == "50"
    ask_for_access(page, f"{base}/accounts/{world.account_id}", "both")
    assert "Access requested" in page.inner_text("main")
    agent.look()
    kept = dict(agent.held)

    approver = approver_browser(browser)
    customer = CookiesSeen(approver)
    decide = approver.new_page()
    decide.goto(customer_link(smtp_server, 1, base, "decide"))
    customer.look()
    decide.click("text=Approve")
    assert "This request is active" in decide.inner_text("main")
    customer.look()

    with page.expect_navigation():
        page.click("text=Sign out")
    assert "You are signed out" in page.inner_text("main")
    agent.look()
    page.click("footer >> text=Cookies")
    page.wait_for_url(f"{base}/cookies")
    names = listed(page)

    assert agent.names | customer.names <= names.keys(), "every cookie is on the list"
    assert {"session", "remember_token"} <= agent.set_cookie & set(agent.held)
    assert "session" in customer.set_cookie & set(customer.held)
    # Lifetimes as the browser keeps them: the session until the browser closes, the
    # remember-me cookie for the days the list gives.
    assert kept["session"]["expires"] == -1 and names["session"] == "Until you close the browser"
    remember_days = (kept["remember_token"]["expires"] - time.time()) / DAY
    assert names["remember_token"] == "14 days" and 13.9 < remember_days <= 14
    assert scripts.errors == [] and scripts.notes == [] and live_server.errors == []
    shot = screenshot_folder(tmp_path) / "cookies.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    approver.close()

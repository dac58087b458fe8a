"""The whole permission flow in headless Chromium, with a real SMTP server on loopback: the
agent asks, the approver decides from the emailed link in a second browser context and
shortens the time, the agent opens one record of each kind, the approver's access log
lists those views, and once the (injected) clock passes the end every record route is
refused and the account page shows counts only.
"""

from __future__ import annotations

import re

from tests.app import console_world
from tests.app.test_access import Clock
from tests.browser import keep_on_loopback, record_scripts, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)
from tests.factories import AGENT_PASSWORD


def customer_link(smtp_server, count: int, base: str, purpose: str) -> str:
    body = smtp_server.wait_for(count)[count - 1].message().get_content()
    return re.search(re.escape(base) + rf"/customer/{purpose}/\S+", body).group(0)


def ask_for_access(page, account_page: str, scope: str, hours: str = "4") -> None:
    """As the signed-in agent, ask the customer for access from the account page."""
    page.goto(account_page)
    page.select_option("#access select[name=scope]", scope)
    page.fill("#access textarea[name=reason]", "The March export is missing jobs; I need to compare them.")
    page.select_option("#access select[name=hours]", hours)
    page.click("#access >> text=Ask the customer")


def approver_browser(browser):
    """A second browser, the approver's, that never leaves loopback."""
    approver = browser.new_context()
    keep_on_loopback(approver)
    return approver


def test_request_approve_shorter_open_four_records_see_the_log_then_expire(
        page, browser, live_server, smtp_server):
    app = live_server.app
    clock = app.extensions["clock"] = Clock()
    app.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=live_server.url)
    world = console_world.build(app)
    scripts = record_scripts(page)
    base = live_server.url
    account_page = f"{base}/accounts/{world.account_id}"

    sign_in(page, live_server, "agent@desk.example", AGENT_PASSWORD)
    ask_for_access(page, account_page, "both")
    assert "Access requested" in page.inner_text("main")

    approver = approver_browser(browser)
    decide = approver.new_page()
    decide.goto(customer_link(smtp_server, 1, base, "decide"))
    assert "The March export is missing jobs" in decide.inner_text("main")
    decide.select_option("select[name=hours]", "1")
    decide.click("text=Approve")
    assert "This request is active" in decide.inner_text("main")

    page.goto(account_page)
    assert "1 h left" in page.inner_text(".grant-banner")
    opened = []
    for kind in ("jobs", "tasks", "todos", "employees"):
        page.click(f"#access >> text=Open {kind}")
        page.click("table a")  # the first record of the list
        opened.append(page.url)
        assert page.locator("dl.record").count() == 1
        page.goto(account_page)

    log = approver.new_page()
    log.goto(customer_link(smtp_server, 2, base, "log"))
    rows = log.inner_text("table.access-log")
    for kind in ("job", "task", "todo", "employee"):
        assert re.search(rf"Agent Person\s+{kind} #\d+", rows), kind
    assert rows.count("the list of") == 4

    clock.advance(minutes=60)
    for url in opened + [f"{account_page}/records/{k}" for k in ("jobs", "tasks", "todos", "employees")]:
        response = page.goto(url)
        assert response.status == 403, url
        assert not any(s in page.content() for s in console_world.RECORD_STRINGS)
    page.goto(account_page)
    text = page.inner_text("main")
    assert "expired at" in text and "Jobs" in text
    assert not any(s in page.content() for s in console_world.RECORD_STRINGS)
    assert scripts.nothing_ran and live_server.errors == []
    approver.close()


def test_after_revocation_back_does_not_bring_a_record_page_back_from_the_cache(
        browser, live_server, smtp_server):
    # A context without request interception: Playwright turns the browser's cache off
    # while it intercepts, and this test is about what that cache keeps. The console's
    # pages load nothing from other hosts, so nothing leaves loopback all the same.
    agent_context = browser.new_context()
    page = agent_context.new_page()
    app = live_server.app
    app.extensions["clock"] = Clock()
    app.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=live_server.url)
    world = console_world.build(app)
    base = live_server.url
    account_page = f"{base}/accounts/{world.account_id}"
    sign_in(page, live_server, "agent@desk.example", AGENT_PASSWORD)
    ask_for_access(page, account_page, "business")
    approver = approver_browser(browser)
    decide = approver.new_page()
    decide.goto(customer_link(smtp_server, 1, base, "decide"))
    decide.click("text=Approve")

    page.goto(f"{account_page}/records/jobs")
    page.click("table a")
    # The click starts the navigation; the record's title on the page says it has loaded.
    page.wait_for_selector("text=Quetzal-Job-Title-4471")
    record_page = page.url
    assert "Quetzal-Job-Title-4471" in page.content()
    page.click("text=All jobs of")
    revoke = approver.new_page()
    revoke.goto(customer_link(smtp_server, 2, base, "revoke"))
    revoke.click("text=End this access now")
    assert "revoked" in revoke.inner_text("main")

    page.go_back()
    assert page.url == record_page
    assert not any(s in page.content() for s in console_world.RECORD_STRINGS)
    assert "need the customer's permission" in page.inner_text("main")
    approver.close()
    agent_context.close()

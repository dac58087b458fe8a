"""Consent to share, in headless Chromium with a real SMTP server on loopback: an agent's
forward to a carrier is refused, the agent asks, the approver consents from the emailed
link in a second browser, the forward goes, the approver sees it under the consent and
withdraws it; a manager's export for an outside auditor is asked about and refused. Every
page and every email of the journey is saved as a screenshot (``$DESK_SCREENSHOTS`` when
set, else the test's temporary folder), emails rendered as text into a page.
"""

from __future__ import annotations

import html
import re

from tests.app import console_world
from tests.app.test_access import Clock
from tests.app.test_access_browser import approver_browser
from tests.app.test_manage_browser import LAPTOP, screenshot_folder
from tests.browser import record_scripts, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)
from tests.factories import AGENT_PASSWORD

VENDOR = "repairs@carrier.example"


def shoot(page, tmp_path, name: str) -> None:
    shot = screenshot_folder(tmp_path) / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 5_000


def shoot_email(context, smtp_server, count: int, tmp_path, name: str) -> str:
    """Render the ``count``-th email as the text a mail client shows, screenshot it; return its text."""
    email = smtp_server.wait_for(count)[count - 1].message()
    text = email.get_body(("plain",)).get_content()
    page = context.new_page()
    page.set_content(f"<pre style='font: 15px/1.4 monospace; padding: 1rem; white-space: pre-wrap'>"
                     f"From: {html.escape(email['From'])}\nTo: {html.escape(email['To'])}\n"
                     f"Subject: {html.escape(email['Subject'])}\n\n{html.escape(text)}</pre>")
    shoot(page, tmp_path, name)
    page.close()
    return text


def link_in(text: str, base: str, purpose: str) -> str:
    return re.search(re.escape(base) + rf"/customer/{purpose}/\S+", text).group(0)


def test_forward_consent_withdraw_and_an_export_question_with_every_page_and_email(
        page, browser, live_server, smtp_server, tmp_path):
    app = live_server.app
    app.extensions["clock"] = Clock()
    app.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=live_server.url)
    world = console_world.build(app)
    base = live_server.url
    page.set_viewport_size(LAPTOP)
    scripts = record_scripts(page)
    ticket = f"{base}/tickets/{world.ticket_id}"

    sign_in(page, live_server, "agent@desk.example", AGENT_PASSWORD)
    page.goto(ticket + "#forward")
    page.fill("#forward input[name=recipient]", VENDOR)
    page.fill("#forward textarea[name=note]", "Please check the pump model in the attached message.")
    page.fill("#forward textarea[name=purpose]", "The carrier repairs the pump under warranty.")
    shoot(page, tmp_path, "forward-form")
    page.click("#forward input[name=send]")
    assert "no consent of Leaky Widgets" in page.inner_text("main")
    shoot(page, tmp_path, "forward-refused")
    assert smtp_server.received == []

    page.goto(ticket + "#forward")
    page.fill("#forward input[name=recipient]", VENDOR)
    page.fill("#forward textarea[name=purpose]", "The carrier repairs the pump under warranty.")
    page.click("#forward input[name=ask]")
    assert "Nothing is sent until one of them consents" in page.inner_text(".notice-info")
    shoot(page, tmp_path, "forward-consent-asked")

    approver = approver_browser(browser)
    request_text = shoot_email(approver, smtp_server, 1, tmp_path, "email-consent-request")
    assert VENDOR in request_text and "The carrier repairs the pump under warranty." in request_text
    decide = approver.new_page()
    decide.set_viewport_size(LAPTOP)
    decide.goto(link_in(request_text, base, "consent"))
    assert VENDOR in decide.inner_text("h1")
    shoot(decide, tmp_path, "customer-consent")
    decide.click("text=I consent")
    assert "given until" in decide.inner_text("main")
    shoot(decide, tmp_path, "customer-consent-given")
    given_text = shoot_email(approver, smtp_server, 2, tmp_path, "email-consent-given")

    page.goto(ticket + "#forward")
    page.fill("#forward input[name=recipient]", VENDOR)
    page.fill("#forward textarea[name=note]", "Please check the pump model in the attached message.")
    page.click("#forward input[name=send]")
    assert f"to {VENDOR}" in page.inner_text(".notice-info")
    assert smtp_server.wait_for(3)[2].recipients == (VENDOR,)
    shoot_email(approver, smtp_server, 3, tmp_path, "email-forward")
    page.goto(f"{base}/accounts/{world.account_id}#consents")
    assert VENDOR in page.inner_text("#consents")
    shoot(page, tmp_path, "account-consents")

    withdraw = approver.new_page()
    withdraw.set_viewport_size(LAPTOP)
    withdraw.goto(link_in(given_text, base, "withdraw"))
    assert "forwarded as message" in withdraw.inner_text("main")
    shoot(withdraw, tmp_path, "customer-withdraw")
    withdraw.click("text=Withdraw my consent now")
    assert "withdrawn at" in withdraw.inner_text("main")
    shoot(withdraw, tmp_path, "customer-withdrawn")
    shoot_email(approver, smtp_server, 4, tmp_path, "email-consent-withdrawn")

    page.goto(ticket + "#forward")
    page.fill("#forward input[name=recipient]", VENDOR)
    page.click("#forward input[name=send]")
    assert "no consent of Leaky Widgets" in page.inner_text("main")
    assert len(smtp_server.received) == 4

    page.click("form.signout button")
    sign_in(page, live_server, "manager@desk.example", AGENT_PASSWORD)
    page.goto(f"{base}/manage/audit?account={world.account_id}")
    page.click("text=Download these entries as CSV")
    assert page.inner_text("h1") == "Who is this export for?"
    shoot(page, tmp_path, "export-question")
    page.check("input[name=use][value=outside]")
    page.fill("#export-recipient", "auditor@outside.example")
    page.click("button:has-text('Download')")
    assert "no consent of Leaky Widgets" in page.inner_text("main")
    shoot(page, tmp_path, "export-refused")
    assert scripts.nothing_ran

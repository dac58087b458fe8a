"""The privacy policy in headless Chromium: an administrator publishes a version (an effective
date inside the notice period refused in one sentence beside its field); anyone, signed in or
not, reads the version in force, the one that replaces it and every version; a customer page
links there; a manager sees which notices were sent and which failed, with the error; and the
notice email, rendered into a page, links to the new text. Nothing is fetched from another
host, no script fails, and a screenshot of each page is kept (in ``$DESK_SCREENSHOTS`` when
set, else in the test's temporary folder).
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import pytest

from app.access import grants
from app.extensions import db
from app.models import PolicyNotice
from app.services import policy
from app.services.accounts import account_named
from app.services.policy_notices import notice_email, send_policy_notices
from tests import factories
from tests.app.test_admin_browser import refused_nothing, shoot
from tests.app.test_manage_browser import LAPTOP, screenshot_folder
from tests.browser import record_requests, record_scripts, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)

PUBLISHED = datetime(2026, 3, 2, 9, 30)
TEXT = ("1. What we keep\nEvery email you send us, as you sent it.\n\n"
        "2. Who sees it\nOur support team, and nobody else without your permission.")


@pytest.fixture
def desk(live_server, smtp_server):
    """Two accounts with contacts, an administrator and a manager; the clock at ``PUBLISHED``."""
    app = live_server.app
    moving = {"now": PUBLISHED}
    app.extensions["clock"] = lambda: moving["now"]
    app.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=live_server.url)
    with app.app_context():
        factories.agent(db.session, "admin@desk.example", name="Ada Admin", role="admin")
        factories.agent(db.session, "manager@desk.example", name="Mo Manager", role="manager")
        factories.account(db.session, "Acme Plumbing", domains=["acme.example"],
                          contacts=["office@acme.example"], approvers=["owner@acme.example"])
        factories.account(db.session, "Birch Bakery", domains=["birch.example"],
                          contacts=["hello@birch.example"])
    live_server.clock = moving
    return live_server


def two_versions(desk) -> None:
    """Version 1, in force since April 1; version 2, published April 15, in force from June 1."""
    with desk.app.app_context():
        policy.publish_version(db.session, TEXT, "The first published version.", "2026-04-01", by=None,
                               now=PUBLISHED, notice_days=30)
        desk.clock["now"] = datetime(2026, 4, 15, 10, 0)
        policy.publish_version(db.session, TEXT + "\n\n3. Calls\nWe record phone calls to support.",
                               "We now keep recordings of phone calls.", "2026-06-01", by=None,
                               now=desk.clock["now"], notice_days=30)
        db.session.commit()


def test_an_administrator_is_refused_a_date_inside_the_notice_period_then_publishes(page, desk, tmp_path):
    page.set_viewport_size(LAPTOP)
    scripts, requests = record_scripts(page), record_requests(page)
    sign_in(page, desk, "admin@desk.example", factories.AGENT_PASSWORD)
    with page.expect_navigation():
        page.click("nav >> text=Administration")
    with page.expect_navigation():
        page.click("nav.admin-nav >> text=Privacy policy")
    assert page.locator("h1").inner_text() == "Privacy policy"
    assert "2026-04-01 or later" in page.locator(".policy-form .hint").inner_text()

    page.fill("form.publish-policy textarea[name=text]", TEXT)
    page.fill("form.publish-policy textarea[name=summary]", "We now keep recordings of phone calls.")
    page.fill("form.publish-policy input[name=effective]", "2026-03-16")
    with page.expect_navigation():
        page.click("form.publish-policy [type=submit]")
    assert page.locator("#effective-error").inner_text() == (
        "The effective date 2026-03-16 is too soon: company contacts must be told 30 days ahead, so choose "
        "2026-04-01 or later.")
    assert page.locator("form.publish-policy textarea[name=summary]").input_value() == (
        "We now keep recordings of phone calls.")
    shoot(page, tmp_path, "admin-policy-refused")

    page.fill("form.publish-policy input[name=effective]", "2026-04-01")
    with page.expect_navigation():
        page.click("form.publish-policy [type=submit]")
    assert page.locator(".notice-info").inner_text() == (
        "Version 1 is published and takes effect on 2026-04-01; the worker emails its notice to 3 company "
        "contacts.")
    row = page.locator("table.policy-versions tbody tr")
    assert row.count() == 1
    assert "takes effect on 2026-04-01" in row.inner_text() and "0 of 3" in row.inner_text()
    shoot(page, tmp_path, "admin-policy")
    assert requests.leaving_loopback() == [] and scripts.errors == [] and refused_nothing(scripts.notes)
    assert desk.errors == []


def test_anyone_reads_the_policy_in_force_the_next_version_and_every_version_without_signing_in(
        page, desk, tmp_path):
    two_versions(desk)
    desk.clock["now"] = datetime(2026, 5, 2, 8, 0)
    page.set_viewport_size(LAPTOP)
    scripts, requests = record_scripts(page), record_requests(page)

    page.goto(f"{desk.url}/privacy")
    assert page.locator("h1").inner_text() == "Privacy policy"
    assert page.locator(".meta").first.inner_text().startswith("Version 1, in force since 2026-04-01.")
    assert page.locator(".policy-text p").all_inner_texts() == [
        "1. What we keep\nEvery email you send us, as you sent it.",
        "2. Who sees it\nOur support team, and nobody else without your permission."]
    upcoming = page.locator(".policy-upcoming")
    assert "A new version of this policy takes effect on 2026-06-01" in upcoming.inner_text()
    assert "We now keep recordings of phone calls." in upcoming.inner_text()
    assert page.locator("form.signout").count() == 0, "nobody is signed in"
    shoot(page, tmp_path, "privacy")

    with page.expect_navigation():
        page.click("text=Read the new version")
    assert page.url == f"{desk.url}/privacy/versions/2"
    assert page.locator("h1").inner_text() == "Privacy policy, version 2"
    assert "not in force yet: it takes effect on 2026-06-01" in page.locator(".notice-info").inner_text()
    assert page.locator(".policy-text p").last.inner_text() == "3. Calls\nWe record phone calls to support."
    shoot(page, tmp_path, "privacy-version-upcoming")

    with page.expect_navigation():
        page.click("article >> text=Every version")
    rows = page.locator("table.policy-versions tbody tr")
    assert [r.split("\t")[:4] for r in rows.all_inner_texts()] == [
        ["Version 2", "2026-04-15", "2026-06-01", "takes effect on 2026-06-01"],
        ["Version 1", "2026-03-02", "2026-04-01", "in force since 2026-04-01"]]
    shoot(page, tmp_path, "privacy-versions")

    desk.clock["now"] = datetime(2026, 6, 1, 0, 0)  # version 2 is in force: version 1 is an earlier one
    page.goto(f"{desk.url}/privacy/versions/1")
    assert "version 2 replaced it" in page.locator(".notice-info").inner_text()
    meta = page.locator(".meta").inner_text()
    assert "in force from 2026-04-01 until version 2 replaced it on 2026-06-01" in meta
    shoot(page, tmp_path, "privacy-version-earlier")
    page.goto(f"{desk.url}/privacy")
    assert page.locator(".meta").first.inner_text().startswith("Version 2, in force since 2026-06-01.")
    assert page.locator(".policy-upcoming").count() == 0
    assert requests.leaving_loopback() == [] and scripts.errors == [] and scripts.notes == []
    assert desk.errors == []


def test_a_customer_page_links_the_policy_which_opens_without_signing_in(page, desk, tmp_path):
    two_versions(desk)
    with desk.app.app_context():
        account = account_named(db.session, "Acme Plumbing")
        agent = factories.agent(db.session)
        _request, asked = grants.request_access(db.session, agent, account, "business", "Checking the export",
                                                4, desk.clock["now"], grants.AccessSettings())
        db.session.commit()
        decide = asked[0].links["decide"]
    page.set_viewport_size(LAPTOP)
    scripts = record_scripts(page)

    page.goto(f"{desk.url}/customer/decide/{decide}")
    assert page.locator("h1").inner_text() == "Access request for Acme Plumbing"
    footer = page.locator("footer.site-foot a", has_text="Privacy policy")
    assert footer.inner_text() == "Privacy policy"
    shoot(page, tmp_path, "customer-page-footer")
    with page.expect_navigation():
        footer.click()
    assert page.url == f"{desk.url}/privacy"
    assert page.locator(".meta").first.inner_text().startswith("Version 1, in force since 2026-04-01.")
    assert scripts.errors == [] and desk.errors == []


def test_a_manager_sees_failed_notices_with_their_error_and_the_notice_email_links_the_new_text(
        page, browser, desk, smtp_server, tmp_path):
    two_versions(desk)
    with desk.app.app_context():
        smtp_server.refuse_recipients()
        send_policy_notices(db.session, lambda: desk.clock["now"])  # version 1's three, then version 2's
        smtp_server.accept_recipients()
        report = send_policy_notices(db.session, lambda: desk.clock["now"] + timedelta(minutes=1))
        notice = db.session.query(PolicyNotice).filter_by(version_id=2, email="office@acme.example").one()
        email = notice_email(notice, desk.clock["now"].date())
    assert (report.sent, len(smtp_server.received)) == (6, 6)
    page.set_viewport_size(LAPTOP)
    scripts, requests = record_scripts(page), record_requests(page)
    sign_in(page, desk, "manager@desk.example", factories.AGENT_PASSWORD)

    with page.expect_navigation():
        page.click("nav >> text=Policy notices")
    rows = page.locator("table.policy-versions tbody tr")
    assert [r.split("\t") for r in rows.all_inner_texts()] == [
        ["Version 2", "2026-06-01", "takes effect on 2026-06-01", "3", "3", "0"],
        ["Version 1", "2026-04-01", "in force since 2026-04-01", "3", "3", "0"]]
    shoot(page, tmp_path, "manage-policy")

    # A contact added before version 2 takes effect is owed its notice; their server refuses it.
    with desk.app.app_context():
        factories.account(db.session, "Cedar Cafe", domains=["cedar.example"],
                          contacts=["full@cedar.example"])
        policy.owe_notices_to_new_contacts(db.session, desk.clock["now"])
        db.session.commit()
        smtp_server.refuse_recipients("550 5.2.2 Mailbox full")
        send_policy_notices(db.session, lambda: desk.clock["now"])
    page.goto(f"{desk.url}/manage/policy/2")
    assert page.locator(".notice-figures").inner_text().split() == [
        "contacts", "4", "sent", "3", "failed", "1", "waiting", "0", "no", "longer", "contacts", "0"]
    failing = page.locator("tr.notice-failed")
    assert failing.count() == 1
    assert "full@cedar.example" in failing.inner_text()
    assert "the mail server refused the recipient full@cedar.example" in failing.inner_text()
    assert "tries it again every 60 seconds" in page.locator(".notice-error").inner_text()
    assert page.locator("tr.notice-sent").count() == 3
    shoot(page, tmp_path, "manage-policy-notices")
    assert requests.leaving_loopback() == [] and scripts.errors == [] and scripts.notes == []

    # The notice as the contact receives it, its text rendered into a page of its own.
    message = factories.crlf(email).decode()
    body = message.split("\r\n\r\n", 1)[1].replace("\r\n", "\n")
    link = re.search(re.escape(desk.url) + r"/privacy/versions/\d+", body).group(0)
    reader = browser.new_context()
    mail_page = reader.new_page()
    mail_page.set_viewport_size(LAPTOP)
    headers = message.split("\r\n\r\n", 1)[0].replace("\r\n", "\n")
    linked = html.escape(body).replace(html.escape(link), f'<a href="{link}">{html.escape(link)}</a>')
    mail_page.set_content(f"<!doctype html><title>Notice email</title><pre>{html.escape(headers)}</pre>"
                          f"<hr><pre>{linked}</pre>")
    assert "What changes:\n\n    We now keep recordings of phone calls." in mail_page.inner_text("body")
    assert "write to us at\nsupport@desk.example." in mail_page.inner_text("body")
    mail_page.screenshot(path=str(screenshot_folder(tmp_path) / "policy-notice-email.png"), full_page=True)
    with mail_page.expect_navigation():
        mail_page.click(f"a[href='{link}']")
    assert mail_page.locator("h1").inner_text() == "Privacy policy, version 2"
    reader.close()
    assert desk.errors == []

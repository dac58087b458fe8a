"""Connecting an OAuth2 mailbox in headless Chromium, against real parts on loopback: the
console, an Authlib authorization server with its sign-in and consent page, a Dovecot that
checks every token there, and an SMTP server for the administrators' email.

The administrator presses Connect, signs in at the provider and allows; the provider
returns the browser to the mailbox's page. Then the provider revokes the consent: the next
poll stops that mailbox, the administrators get one email, a red banner shows on the
pages of administrators and managers (not agents), and reconnecting in the browser resumes
from the checkpoint. No token is ever on a page. Screenshots are kept (in
``$DESK_SCREENSHOTS`` when set, else in the test's temporary folder).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Mailbox, Message
from app.runtime import poll_settings
from app.services.mailboxes import mailbox_state, poll_mailboxes
from tests import factories
from tests.app.test_admin_browser import shoot
from tests.app.test_manage_browser import LAPTOP
from tests.browser import record_scripts, sign_in
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: these tests run once)

ADMIN, MANAGER, AGENT = "admin@desk.example", "manager@desk.example", "agent@desk.example"


@pytest.fixture
def desk(live_server, smtp_server, oauth_server, oauth_dovecot):
    live_server.app.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=live_server.url)
    with live_server.app.app_context():
        factories.agent(db.session, ADMIN, name="Ada Admin", role="admin")
        factories.agent(db.session, MANAGER, name="Max Manager", role="manager")
        factories.agent(db.session, AGENT, name="Sam Agent", role="agent")
        mailbox = factories.oauth_mailbox(db.session, oauth_dovecot, oauth_server)
        live_server.mailbox_id = mailbox.id
    return live_server


def poll(desk) -> dict:
    with desk.app.app_context():
        return {r.mailbox: r for r in poll_mailboxes(db.session, None, poll_settings())}


def consent(page, oauth_server) -> None:
    """Sign in and allow at the provider, by the labels a person reads."""
    page.get_by_label("Username").fill(oauth_server.username)
    page.get_by_label("Password").fill(oauth_server.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Allow").click()


def test_an_administrator_connects_an_oauth2_mailbox_and_reconnects_it_after_the_provider_revokes_it(
        page, browser, desk, oauth_server, oauth_dovecot, smtp_server, tmp_path):
    page.set_viewport_size(LAPTOP)
    scripts = record_scripts(page)
    seen: list[str] = []
    mailbox_page = f"{desk.url}/admin/mailboxes/{desk.mailbox_id}"
    oauth_dovecot.append([factories.message(n, subject=f"cloud {n}") for n in range(3)])
    sign_in(page, desk, ADMIN, factories.AGENT_PASSWORD)

    page.goto(mailbox_page)
    with page.expect_navigation():
        page.get_by_role("button", name="Connect", exact=True).click()
    assert page.url.startswith(oauth_server.authorize_url), "the browser is at the provider"
    shoot(page, tmp_path, "oauth-provider-consent")
    consent(page, oauth_server)

    assert page.url == mailbox_page
    assert "The mailbox cloud is connected" in page.locator(".notice-info").inner_text()
    seen.append(page.content())
    shoot(page, tmp_path, "admin-mailbox-connected")
    assert poll(desk)["cloud"].archived == 3

    oauth_server.revoke_user()
    oauth_dovecot.append([factories.message(n, subject=f"cloud {n}") for n in range(3, 5)])
    assert poll(desk)["cloud"].errors
    [told] = smtp_server.wait_for(1)
    assert sorted(told.recipients) == [ADMIN]

    page.goto(f"{desk.url}/tickets")
    banner = page.locator(".banner-reconnect")
    assert "The mailbox cloud has stopped" in banner.inner_text()
    seen.append(page.content())
    shoot(page, tmp_path, "banner-needs-reconnecting")
    as_manager = browser.new_page()
    sign_in(as_manager, desk, MANAGER, factories.AGENT_PASSWORD)
    as_manager.goto(f"{desk.url}/manage/dashboard")
    assert "an administrator reconnects it" in as_manager.locator(".banner-reconnect").inner_text()
    assert "needs reconnecting" in as_manager.locator("main").inner_text()
    as_manager.close()
    as_agent = browser.new_page()
    sign_in(as_agent, desk, AGENT, factories.AGENT_PASSWORD)
    as_agent.goto(f"{desk.url}/tickets")
    assert as_agent.locator(".banner-reconnect").count() == 0, "agents cannot act on it"
    as_agent.close()

    with page.expect_navigation():
        banner.get_by_role("link", name="reconnect it").click()
    assert page.url == mailbox_page
    with page.expect_navigation():
        page.get_by_role("button", name="Reconnect", exact=True).click()
    consent(page, oauth_server)
    assert "The mailbox cloud is connected" in page.locator(".notice-info").inner_text()
    assert page.locator(".banner-reconnect").count() == 0
    seen.append(page.content())

    assert poll(desk)["cloud"].archived == 2
    with desk.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Message)) == 5, "nothing lost or doubled"
        assert mailbox_state(db.session.get(Mailbox, desk.mailbox_id)) == "active"
    assert len(smtp_server.received) == 1, "the administrators were told once"
    for token in oauth_server.issued_tokens():
        assert all(token not in html for html in seen)
    assert scripts.errors == []
    assert desk.errors == []

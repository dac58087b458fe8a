"""Mailbox administration through the test client: the same sentences as the CLI for a wrong
setting, choosing folders from a real Dovecot's list, and pausing and resuming polling;
every change in the audit log. Who may reach each page, and CSRF on every POST, are
checked with every administration route in tests/app/test_admin.py.
"""

from __future__ import annotations

import re

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, Mailbox, MailboxFolder, Message
from app.runtime import poll_settings
from app.services.mailboxes import poll_mailboxes
from app.worker import watch_targets
from tests import factories
from tests.app import console_world
from tests.dovecot import USER
from tests.web import form_token, sign_in, submit


@pytest.fixture
def world(web):
    return console_world.build(web)


@pytest.fixture
def admin(web):
    with web.app_context():
        factories.agent(db.session, "admin@desk.example", name="Admin Person", role="admin")
    client = web.test_client()
    assert sign_in(client, "admin@desk.example").status_code == 302
    return client


def audit_actions(web) -> list[str]:
    with web.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


PASSWORD_FORM = {"kind": "password", "name": "support", "username": "support",
                 "host": "imap.example", "port": "993", "security": "ssl",
                 "password_env": "SUPPORT_IMAP_PASSWORD", "folders": "INBOX"}
CLI_ADD = ["mailbox", "add", "support", "--host", "imap.example", "--port", "993", "--security", "ssl",
           "--username", "support", "--password-env", "SUPPORT_IMAP_PASSWORD", "--no-check"]
# A wrong setting: (what the form changes, what the CLI is given instead, the one sentence both say).
WRONG = {
    "no name": ({"name": " "}, {2: " "}, "The mailbox needs a name."),
    "host with a space": ({"host": "imap .example"}, {4: "imap .example"},
                          "'imap .example' is not a host name (for example: imap.example.com)"),
    "password variable that is no name": ({"password_env": "MY PASSWORD"}, {12: "MY PASSWORD"},
                                          "'MY PASSWORD' is not an environment variable name."),
    "name too long": ({"name": "m" * 101}, {2: "m" * 101}, "The mailbox name is longer than 100 characters."),
}


@pytest.mark.parametrize(("form", "cli_change", "sentence"), WRONG.values(), ids=WRONG.keys())
def test_a_wrong_setting_is_refused_in_the_browser_with_the_cli_s_sentence(
        web, admin, form, cli_change, sentence):
    page = submit(admin, "/admin/mailboxes/new?kind=password", "/admin/mailboxes/new",
                  {**PASSWORD_FORM, **form})
    args = [cli_change.get(i, arg) for i, arg in enumerate(CLI_ADD)]
    cli = web.test_cli_runner().invoke(args=args)

    assert page.status_code == 200 and str(escape(sentence)) in page.text
    assert cli.exit_code == 1 and sentence in cli.output
    with web.app_context():
        assert db.session.scalar(select(func.count(Mailbox.id))) == 0


def test_an_oauth2_mailbox_needs_its_client_id_and_a_blank_secret_keeps_the_stored_one(web, admin):
    refused = submit(admin, "/admin/mailboxes/new?kind=microsoft", "/admin/mailboxes/new",
                     {"kind": "microsoft", "name": "m365", "username": "help@corp.example",
                      "client_secret": "s"})
    added = submit(admin, "/admin/mailboxes/new?kind=microsoft", "/admin/mailboxes/new",
                   {"kind": "microsoft", "name": "m365", "username": "help@corp.example",
                    "client_id": "app-1", "client_secret": "first-secret", "tenant": "corp.example",
                    "folders": "INBOX"})
    with web.app_context():
        box = db.session.scalar(select(Mailbox))
        stored, page = box.oauth.client_secret, f"/admin/mailboxes/{box.id}/edit"
        assert (box.host, box.port, box.security) == ("outlook.office365.com", 993, "ssl")
        assert "/corp.example/" in box.oauth.token_url
    edited = submit(admin, page, page, {"name": "m365", "username": "help@corp.example", "client_id": "app-1",
                                        "client_secret": "", "tenant": "corp.example", "scopes": "a b"})

    assert "The client id (of the application registered at the provider) is required" in refused.text
    assert added.status_code == 302 and edited.status_code == 302
    with web.app_context():
        assert db.session.scalar(select(Mailbox)).oauth.client_secret == stored
    assert "first-secret" not in admin.get(page).text
    assert audit_actions(web)[-2:] == ["mailbox_added", "mailbox_changed"]


def test_folders_are_chosen_from_the_servers_list_and_removing_one_needs_confirming_and_keeps_its_mail(
        web, admin, dovecot):
    dovecot.append([factories.message(1)])
    dovecot.append([factories.message(2)], folder="Archive")
    with web.app_context():
        box = factories.imap_mailbox(db.session, dovecot)
        poll_mailboxes(db.session, None, poll_settings())
        db.session.commit()
        page = f"/admin/mailboxes/{box.id}/folders"

    listing = admin.get(page).text
    assert 'value="Archive" >' in listing.replace("  ", " ") or 'value="Archive"' in listing
    assert 'value="INBOX" checked' in listing
    added = submit(admin, page, page, {"folder": ["INBOX", "Archive"]})
    unconfirmed = submit(admin, page, page, {"folder": ["Archive"]})
    removed = submit(admin, page, page, {"folder": ["Archive"], "confirm_removal": "y"})

    assert added.status_code == 302
    assert unconfirmed.status_code == 200 and "needs confirming" in unconfirmed.text
    assert "never deletes mail already archived" in unconfirmed.text
    assert removed.status_code == 302
    with web.app_context():
        folders = {f.name: f for f in db.session.scalars(select(MailboxFolder))}
        assert folders["Archive"].checkpoint_uid == 0 and folders["Archive"].removed_at is None
        assert folders["INBOX"].removed_at is not None, "kept, not deleted"
        assert db.session.scalar(select(func.count(Message.id))) == 1, "its archived mail stays"
        reports = poll_mailboxes(db.session, None, poll_settings())
        assert [(r.folder, r.archived) for r in reports] == [("Archive", 1)]
    assert audit_actions(web)[-2:] == ["mailbox_folders_changed", "mailbox_folders_changed"]


def test_a_paused_mailbox_is_not_polled_or_watched_and_resuming_polls_it_again(web, admin, dovecot):
    dovecot.append([factories.message(1)])
    with web.app_context():
        box = factories.imap_mailbox(db.session, dovecot)
        page = f"/admin/mailboxes/{box.id}"
    paused = submit(admin, page, f"{page}/pause", follow_redirects=True)
    with web.app_context():
        reports = poll_mailboxes(db.session, None, poll_settings())
        watched = watch_targets(db.session, poll_settings())
        archived_while_paused = db.session.scalar(select(func.count(Message.id)))
    resumed = submit(admin, page, f"{page}/resume")
    with web.app_context():
        after = poll_mailboxes(db.session, None, poll_settings())
        watched_after = watch_targets(db.session, poll_settings())

    assert "is paused: it is not polled until it is resumed" in paused.text and ">Resume<" in paused.text
    assert reports[0].notes == ["not polled: the mailbox is paused"] and archived_while_paused == 0
    assert watched == []
    assert resumed.status_code == 302 and after[0].archived == 1
    assert [(m, f) for m, f, _ in watched_after] == [("support", "INBOX")]
    assert audit_actions(web)[-2:] == ["mailbox_paused", "mailbox_resumed"]


def test_an_oauth2_mailbox_not_connected_is_not_watched(web):
    from app.runtime import secret_box
    from app.services.mailboxes import add_mailbox
    from app.services.oauth import OAuthSettings

    with web.app_context():
        add_mailbox(db.session, "m365", username=USER, folders=["INBOX"], kind="microsoft",
                    oauth_settings=OAuthSettings(client_id="app", client_secret="s"), box=secret_box())
        db.session.commit()
        assert watch_targets(db.session, poll_settings()) == []


def test_the_cli_pauses_edits_and_sets_folders_through_the_same_service(web, dovecot):
    dovecot.append([factories.message(1)], folder="Archive")
    with web.app_context():
        factories.imap_mailbox(db.session, dovecot)
    runner = web.test_cli_runner()

    paused = runner.invoke(args=["mailbox", "pause", "support"])
    again = runner.invoke(args=["mailbox", "pause", "support"])
    edited = runner.invoke(args=["mailbox", "edit", "support", "--username", USER, "--name", "help"])
    listed = runner.invoke(args=["mailbox", "folders", "help"])
    chosen = runner.invoke(args=["mailbox", "folders", "help", "--set", "Archive", "--yes"])
    unknown = runner.invoke(args=["mailbox", "folders", "help", "--set", "Nope"])
    wrong_kind = runner.invoke(args=["mailbox", "edit", "help", "--client-id", "x"])

    assert paused.exit_code == 0 and again.exit_code == 1 and "is paused already" in again.output
    assert edited.exit_code == 0 and "Changed name of mailbox help" in edited.output
    assert "[x] INBOX" in listed.output and "[ ] Archive" in listed.output
    assert chosen.exit_code == 0 and "added Archive; removed INBOX" in chosen.output
    assert unknown.exit_code == 1 and "The server has no folder 'Nope'" in unknown.output
    assert wrong_kind.exit_code == 1 and "--client-id is only for OAuth2 mailboxes" in wrong_kind.output
    assert audit_actions(web)[-4:] == ["mailbox_added", "mailbox_paused", "mailbox_changed",
                                       "mailbox_folders_changed"]


def test_the_cli_adds_a_microsoft_mailbox_with_the_secret_from_an_environment_variable(web, monkeypatch):
    monkeypatch.setenv("M365_SECRET", "the-client-secret")
    result = web.test_cli_runner().invoke(args=[
        "mailbox", "add", "m365", "--kind", "microsoft", "--username", "help@corp.example",
        "--client-id", "app-1", "--client-secret-env", "M365_SECRET", "--tenant", "corp.example"])
    with_password = web.test_cli_runner().invoke(args=[
        "mailbox", "add", "g", "--kind", "google", "--username", "u@g.example", "--password-env", "P"])

    assert result.exit_code == 0, result.output
    assert "the-client-secret" not in result.output
    assert with_password.exit_code == 1
    assert "--password-env is only for password mailboxes" in with_password.output
    with web.app_context():
        box = db.session.scalar(select(Mailbox))
        assert (box.kind, box.host, box.oauth.client_id) == ("microsoft", "outlook.office365.com", "app-1")
        assert "the-client-secret" not in box.oauth.client_secret


def test_the_admin_form_page_says_where_to_register_the_application(admin):
    page = admin.get("/admin/mailboxes/new?kind=microsoft").text
    assert "Microsoft Entra admin center" in page and "IMAP.AccessAsUser.All" in page
    assert 'name="password_env"' not in page and 'name="tenant"' in page
    assert form_token(admin, "/admin/mailboxes/new?kind=password")


def test_replies_are_routed_through_a_mailbox_smtp_server_set_in_the_browser_or_the_cli(web, admin):
    added = submit(admin, "/admin/mailboxes/new?kind=password", "/admin/mailboxes/new", PASSWORD_FORM)
    page = added.location + "/edit"
    form = {key: value for key, value in PASSWORD_FORM.items() if key not in ("kind", "folders")}
    wrong = submit(admin, page, page, {**form, "smtp_host": "smtp .example"})
    saved = submit(admin, page, page, {**form, "smtp_host": "smtp.example", "smtp_port": "465",
                                       "smtp_security": "ssl"})
    runner = web.test_cli_runner()
    wrong_cli = runner.invoke(args=["mailbox", "edit", "support", "--smtp-host", "smtp .example"])
    cleared = runner.invoke(args=["mailbox", "edit", "support", "--smtp-host", ""])

    sentence = "'smtp .example' is not a host name for the SMTP server (for example: smtp.example.com)"
    assert wrong.status_code == 200 and str(escape(sentence)) in wrong.text
    assert wrong_cli.exit_code == 1 and sentence in wrong_cli.output
    assert saved.status_code == 302
    assert "Changed smtp_host, smtp_port, smtp_security of mailbox support" in cleared.output
    with web.app_context():
        mailbox = db.session.scalar(select(Mailbox))
        assert (mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security) == (None, None, None)
    assert audit_actions(web)[-3:] == ["mailbox_added", "mailbox_changed", "mailbox_changed"]


def test_every_mailbox_page_carries_the_administration_tabs_with_mailboxes_current(web, world):
    client = web.test_client()
    assert sign_in(client, "admin@desk.example").status_code == 302
    for path in ("/admin/mailboxes", "/admin/mailboxes/new", "/admin/mailboxes/new?kind=password",
                 f"/admin/mailboxes/{world.mailbox_id}", f"/admin/mailboxes/{world.mailbox_id}/edit",
                 f"/admin/mailboxes/{world.mailbox_id}/folders"):
        page = client.get(path).text
        assert 'aria-label="Administration"' in page, path
        assert re.search(r'<a href="/admin/mailboxes" aria-current="page">Mailboxes</a>', page), path

"""OAuth2 mailboxes end to end, without a browser: a loopback authorization server (Authlib),
a Dovecot that checks every token there, and SMTP servers on loopback.

Connecting here drives the provider's consent form over HTTP (the browser journey is in
``tests/app/test_admin_oauth_browser.py``); what follows is the product's own work:
polling with access tokens it refreshes, marking a mailbox whose refresh token was
revoked, telling the administrators once, going on with other mailboxes, resuming from
the checkpoint once reconnected, the CLI's device sign-in, and replies through the
mailbox's own account.
"""

from __future__ import annotations

import base64
import logging
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import Mailbox, Message, MessageLocation, utcnow
from app.runtime import now, poll_settings, raw_store, reply_settings, secret_box
from app.services import oauth
from app.services.dashboard import folder_health
from app.services.errors import ServiceError
from app.services.mailboxes import add_mailbox, mailbox_state, poll_mailboxes
from app.services.oauth import OAuthSettings
from app.services.outbound import send_reply
from mailbox.errors import NeedsReconnecting
from tests import factories
from tests.dovecot import USER
from tests.oauth_tokens import wait_until_inactive
from tests.parts import REPO
from tests.waiting import until

REDIRECT = "http://127.0.0.1/callback"
TIMEOUT = 10


def allow_at_provider(server, address: str) -> str:
    """Answer the provider's sign-in and consent form at ``address`` as the person would; return
    the address the provider sends the browser back to."""
    page = requests.get(address, timeout=TIMEOUT)
    page.raise_for_status()
    answer = requests.post(page.url, allow_redirects=False, timeout=TIMEOUT, data={
        "username": server.username, "password": server.password, "decision": "allow"})
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def connect(session, server, mailbox: Mailbox) -> None:
    """Connect as an administrator would, the provider's consent form answered over HTTP."""
    begun = oauth.begin(mailbox, secret_box(), REDIRECT)
    oauth.finish(session, mailbox, secret_box(), returned_to=allow_at_provider(server, begun.url),
                 state=begun.state, verifier=begun.verifier, redirect_uri=REDIRECT, by=None, at=now())
    session.commit()


def connect_in_another_process(server, subprocess_env) -> tuple[int, str, str]:
    """Run ``flask mailbox connect cloud --paste`` as a process of its own, allowing at the
    provider the address it prints; return its exit status, output and errors."""
    env = {**subprocess_env, "PUBLIC_URL": "http://127.0.0.1:9", "PYTHONUNBUFFERED": "1"}
    command = subprocess.Popen([sys.executable, "-m", "flask", "mailbox", "connect", "cloud", "--paste"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, cwd=REPO)
    try:
        # The command prints the provider's address; the person opens it elsewhere and allows.
        address = next(line.strip() for line in command.stdout if line.startswith(server.authorize_url))
        ended_on = allow_at_provider(server, address)
        assert ended_on.startswith("http://127.0.0.1:9/admin/oauth/callback?")
        out, err = command.communicate(ended_on + "\n", timeout=120)
    finally:
        command.kill()
    return command.returncode, out, err


def archived_from(session, mailbox: Mailbox) -> list[str]:
    """Return the subjects archived from the mailbox's folders, one per location."""
    return sorted(session.scalars(
        select(Message.subject).join(MessageLocation, MessageLocation.message_id == Message.id)
        .where(MessageLocation.folder_id.in_([f.id for f in mailbox.folders]))))


def messages(first: int, count: int) -> list[bytes]:
    return [factories.message(n, subject=f"cloud {n:03d}") for n in range(first, first + count)]


def poll(session, *names: str):
    return poll_mailboxes(session, list(names) or None, poll_settings())


def test_a_connected_mailbox_is_polled_with_tokens_and_its_secrets_never_rest_in_clear(
        app, session, oauth_server, oauth_dovecot, smtp_server, caplog):
    app.config.update(SMTP_URL=smtp_server.url)
    caplog.set_level(logging.DEBUG)
    mailbox = factories.oauth_mailbox(session, oauth_dovecot, oauth_server)
    assert mailbox_state(mailbox) == "not connected"
    oauth_dovecot.append(messages(0, 3))

    reports = poll(session)
    assert [r.errors for r in reports] == [["not polled: the mailbox is not connected to its provider yet"]]

    connect(session, oauth_server, mailbox)
    reports = poll(session)

    assert [r.errors for r in reports] == [[]]
    assert archived_from(session, mailbox) == ["cloud 000", "cloud 001", "cloud 002"]
    issued = oauth_server.issued_tokens()
    assert issued, "the server issued tokens"
    stored = " ".join(str(row) for table in db.metadata.sorted_tables
                      for row in session.execute(select(table)).all())
    # Everything logged at DEBUG by the product and the libraries it drives (IMAP, HTTP), but not
    # by the test's own authorization server (Authlib's grants, werkzeug), which is the provider.
    logged = "\n".join(r.getMessage() for r in caplog.records
                       if not r.name.startswith(("authlib.oauth2", "werkzeug")))
    assert "AUTHENTICATE" in logged, "the IMAP conversation was logged, so the check below means something"
    for token in issued:
        as_sent = base64.b64encode(f"user={USER}\x01auth=Bearer {token}\x01\x01".encode()).decode()
        assert token not in stored and token not in logged and as_sent not in logged
    assert oauth_server.client_secret not in stored
    assert smtp_server.received == [], "nobody is told anything while all is well"


def test_access_tokens_that_expire_every_two_seconds_are_refreshed_and_nothing_is_lost(
        app, session, oauth_server, oauth_dovecot):
    oauth_server.access_token_seconds = 2
    mailbox = factories.oauth_mailbox(session, oauth_dovecot, oauth_server)
    connect(session, oauth_server, mailbox)
    app.config.update(IMAP_FETCH_BATCH=4)

    for round_ in range(4):
        oauth_dovecot.append(messages(round_ * 10, 10))
        token = oauth.tokens_for(mailbox).token()
        reports = poll(session)
        assert [r.errors for r in reports] == [[]]
        # The next round starts once the token the poll used has expired at the provider.
        wait_until_inactive(oauth_server, token)

    assert archived_from(session, mailbox) == [f"cloud {n:03d}" for n in range(40)]
    # The first round signs in with the token of the connection; each later one must refresh.
    assert oauth_server.tokens_issued().get("refresh_token", 0) >= 3
    assert mailbox_state(session.get(Mailbox, mailbox.id)) == "active"


def test_a_revoked_refresh_token_stops_only_that_mailbox_tells_the_administrators_once_and_reconnecting_resumes(  # noqa: E501
        app, session, oauth_server, oauth_dovecot, dovecot, smtp_server):
    app.config.update(SMTP_URL=smtp_server.url)
    factories.agent(session, "root@desk.example", name="Root Admin", role="admin")
    factories.agent(session, "ops@desk.example", name="Ops Admin", role="admin")
    factories.agent(session, "sam@desk.example", name="Sam Agent", role="agent")
    session.commit()
    cloud = factories.oauth_mailbox(session, oauth_dovecot, oauth_server)
    other = factories.imap_mailbox(session, dovecot, name="support")
    session.commit()
    connect(session, oauth_server, cloud)
    oauth_dovecot.append(messages(0, 2))
    dovecot.append([factories.message(100, subject="other 1")])
    poll(session)
    assert archived_from(session, cloud) == ["cloud 000", "cloud 001"]

    oauth_server.revoke_user()
    oauth_dovecot.append(messages(2, 2))
    dovecot.append([factories.message(101, subject="other 2")])
    reports = {r.mailbox: r for r in poll(session)}

    assert "refused the sign-in (invalid_grant" in reports["cloud"].errors[0]
    assert reports["support"].errors == [] and reports["support"].archived == 1
    cloud = session.get(Mailbox, cloud.id)
    assert mailbox_state(cloud) == "needs reconnecting"
    told = smtp_server.wait_for(1)
    assert len(told) == 1
    assert sorted(told[0].recipients) == ["ops@desk.example", "root@desk.example"]
    assert told[0].message()["Subject"] == "The mailbox cloud has stopped: reconnect it"
    assert "invalid_grant" in told[0].message().get_content()
    health = {h.mailbox: h for h in folder_health(session, utcnow(), timedelta(hours=1))}
    assert health["cloud"].state == "failing" and "needs reconnecting" in health["cloud"].last_error
    assert health["support"].state == "ok"

    dovecot.append([factories.message(102, subject="other 3")])
    reports = {r.mailbox: r for r in poll(session)}
    assert reports["cloud"].errors == [
        "not polled: the provider refused its sign-in; an administrator must reconnect it"]
    assert reports["support"].archived == 1
    assert len(smtp_server.received) == 1, "the administrators are told once"

    connect(session, oauth_server, cloud)
    reports = {r.mailbox: r for r in poll(session)}

    assert reports["cloud"].errors == [] and reports["cloud"].archived == 2
    assert archived_from(session, cloud) == ["cloud 000", "cloud 001", "cloud 002", "cloud 003"]
    assert archived_from(session, other) == ["other 1", "other 2", "other 3"]
    assert session.scalar(select(func.count()).select_from(Message)) == 7, "nothing doubled"
    assert mailbox_state(session.get(Mailbox, cloud.id)) == "active"


def test_flask_mailbox_connect_signs_in_with_a_device_code(app, session, cli, oauth_server, oauth_dovecot):
    mailbox = factories.oauth_mailbox(session, oauth_dovecot, oauth_server)
    approved = threading.Event()

    def approve_when_asked() -> None:
        # The CLI prints the code; the person enters it at the provider from another device.
        if not until(lambda: oauth_server.pending_user_codes(), 30):
            return
        code = oauth_server.pending_user_codes()[0]
        requests.post(oauth_server.verification_url, timeout=TIMEOUT, data={
            "user_code": code, "username": oauth_server.username, "password": oauth_server.password,
            "decision": "allow"}).raise_for_status()
        approved.set()

    person = threading.Thread(target=approve_when_asked)
    person.start()
    result = cli("mailbox", "connect", "cloud")
    person.join()

    assert approved.is_set()
    assert result.exit_code == 0, result.output
    assert oauth_server.verification_url in result.output
    assert "Connected the mailbox cloud" in result.output
    oauth_dovecot.append(messages(0, 1))
    assert [r.errors for r in poll(session)] == [[]]
    assert archived_from(session, mailbox) == ["cloud 000"]


def test_a_reply_leaves_through_the_mailbox_account_over_smtp_with_xoauth2(
        app, session, oauth_server, oauth_dovecot, oauth_smtp_server):
    app.config.update(SUPPORT_ADDRESS="help@desk.example")
    mailbox = factories.oauth_mailbox(session, oauth_dovecot, oauth_server)
    mailbox.smtp_host, mailbox.smtp_port, mailbox.smtp_security = "127.0.0.1", oauth_smtp_server.port, "none"
    session.commit()
    connect(session, oauth_server, mailbox)
    oauth_dovecot.append([factories.message(1, subject="Invoice export stopped")])
    poll(session)
    ticket = session.scalar(select(Message).where(Message.subject == "Invoice export stopped")).ticket
    agent = factories.agent(session)
    session.commit()

    send_reply(session, raw_store(), ticket, agent, "It runs again.", reply_settings())
    session.commit()

    [sent] = oauth_smtp_server.wait_for(1)
    assert sent.user == USER, "signed in as the mailbox's own account, with its token"
    assert sent.recipients == ("alice@customer.example",)
    assert b"It runs again." in sent.raw

    oauth_server.revoke_user()
    oauth.forget(mailbox.id)
    try:
        send_reply(session, raw_store(), ticket, agent, "Second answer.", reply_settings())
    except ServiceError as exc:
        session.rollback()
        oauth.record_refusals(session)  # as the console does after a reply that was refused
        refused = str(exc)
    else:
        raise AssertionError("a reply with a revoked sign-in was sent")
    assert "refused the sign-in" in refused
    assert len(oauth_smtp_server.received) == 1
    assert mailbox_state(session.get(Mailbox, mailbox.id)) == "needs reconnecting"


def test_a_mailbox_whose_imap_takes_oauthbearer_is_polled_with_it(app, session, oauth_server, oauth_dovecot):
    mailbox = factories.oauth_mailbox(session, oauth_dovecot, oauth_server)
    mailbox.oauth.mechanism = "OAUTHBEARER"
    session.commit()
    connect(session, oauth_server, mailbox)
    oauth_dovecot.append(messages(0, 2))

    assert [r.errors for r in poll(session)] == [[]]
    assert archived_from(session, mailbox) == ["cloud 000", "cloud 001"]
    assert "user=<support>, method=OAUTHBEARER" in oauth_dovecot.log(), "Dovecot saw the mechanism"


def test_flask_mailbox_connect_by_pasting_the_address_the_browser_ended_on(
        app, session, oauth_server, oauth_dovecot, subprocess_env):
    mailbox = factories.oauth_mailbox(session, oauth_dovecot, oauth_server)
    status, out, err = connect_in_another_process(oauth_server, subprocess_env)
    assert status == 0, err
    assert "Connected the mailbox cloud" in out
    session.expire_all()
    assert mailbox_state(session.get(Mailbox, mailbox.id)) == "active"
    oauth_dovecot.append(messages(0, 1))
    assert [r.errors for r in poll(session)] == [[]]


def test_a_client_secret_changed_at_the_provider_stops_the_mailbox_until_its_new_secret_is_entered(
        app, session, oauth_server, oauth_dovecot):
    mailbox = factories.oauth_mailbox(session, oauth_dovecot, oauth_server)
    connect(session, oauth_server, mailbox)
    with oauth_server.store.lock:  # an administrator at the provider replaces the secret
        oauth_server.store.clients[oauth_server.client_id].client_secret = "the-new-secret"
    oauth.forget(mailbox.id)

    reports = poll(session)

    assert "refused the sign-in (invalid_client" in reports[0].errors[0]
    assert mailbox_state(session.get(Mailbox, mailbox.id)) == "needs reconnecting"


def test_a_provider_endpoint_in_clear_text_is_refused_unless_it_is_on_this_machine(app, session):
    def add(url: str):
        settings = OAuthSettings(client_id="app", client_secret="secret", authorize_url=url,
                                 token_url=url.replace("authorize", "token"), scopes="imap offline_access")
        return add_mailbox(session, "cloud", host="imap.idp.example", port=993, security="ssl", username="me",
                           folders=["INBOX"], kind="oauth2", oauth_settings=settings, box=secret_box())

    try:
        add("http://idp.example/authorize")
    except ServiceError as exc:
        refused = str(exc)
    else:
        raise AssertionError("a token endpoint over plain HTTP to another host was accepted")
    session.rollback()

    assert refused == ("the authorization endpoint must be an https:// address "
                       "(http:// only on this machine itself)")
    assert add("https://idp.example/authorize").oauth.token_url == "https://idp.example/token"


def test_a_refused_token_met_by_the_connection_test_marks_the_mailbox_and_reconnecting_elsewhere_clears_it(
        app, session, cli, oauth_server, oauth_dovecot, subprocess_env):
    mailbox = factories.oauth_mailbox(session, oauth_dovecot, oauth_server)
    connect(session, oauth_server, mailbox)
    oauth_server.revoke_user()

    tested = cli("mailbox", "test", "cloud")

    assert tested.exit_code == 1 and "invalid_grant" in tested.output
    session.expire_all()
    assert mailbox_state(session.get(Mailbox, mailbox.id)) == "needs reconnecting"
    status, _, err = connect_in_another_process(oauth_server, subprocess_env)
    assert status == 0, err
    session.expire_all()
    oauth.forget(mailbox.id)  # this process's access token was revoked with the consent
    # The refusal this process met was of the old refresh token: the new one is used.
    oauth_dovecot.append(messages(0, 1))
    assert [r.errors for r in poll(session)] == [[]]
    assert archived_from(session, mailbox) == ["cloud 000"]


def test_a_refusal_met_before_a_reconnect_in_another_process_does_not_stop_this_one(
        app, session, oauth_server, oauth_dovecot, subprocess_env):
    mailbox = factories.oauth_mailbox(session, oauth_dovecot, oauth_server)
    connect(session, oauth_server, mailbox)
    oauth_server.revoke_user()
    oauth.forget(mailbox.id)
    with pytest.raises(NeedsReconnecting):  # as an IDLE watcher of this process meets it
        oauth.tokens_for(mailbox).token()

    status, _, err = connect_in_another_process(oauth_server, subprocess_env)
    assert status == 0, err
    session.expire_all()
    oauth_dovecot.append(messages(0, 1))

    assert [r.errors for r in poll(session)] == [[]]
    assert archived_from(session, mailbox) == ["cloud 000"]

"""The quoted-reply attack, closed: an approver answers the access-request email and quotes it,
link and all (or a bounce returns it, or someone imports a copy); the poller archives it, an
agent copies the link from the ticket and presses Approve. The link is dead before the
message can be seen, the approver gets a new link by email, and the audit log says why.
"""

from __future__ import annotations

import email
import re
from email import policy
from email.message import EmailMessage

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import AccessRequest, AccessToken, AuditEntry, Message
from app.worker import tidy_access
from tests import factories
from tests.app.test_access import PUBLIC, approve, ask, links
from tests.app.test_access import Clock as _Clock
from tests.app.test_console_access import client_for
from tests.web import form_token

APPROVER = "boss@leaky.example"


@pytest.fixture
def clock(web):
    web.extensions["clock"] = clock = _Clock()
    return clock


@pytest.fixture
def world(web, clock, smtp_server):
    from tests.app import console_world

    web.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=PUBLIC)
    return console_world.build(web)


@pytest.fixture
def agent(web, world):
    return client_for(web, "agent")


@pytest.fixture
def support_mailbox(web, dovecot):
    with web.app_context():
        factories.imap_mailbox(db.session, dovecot)
    return dovecot


def quoting_reply(sent, words: str = "Which employee do you need?") -> bytes:
    """The approver's answer to one of our emails, quoting it whole, in quoted-printable."""
    original = sent.message()
    quoted = "\n".join("> " + line for line in original.get_content().splitlines())
    reply = EmailMessage()
    reply["From"] = f"The Boss <{APPROVER}>"
    reply["To"] = original["From"]
    reply["Subject"] = "Re: " + original["Subject"]
    reply["Message-ID"] = "<reply-1@leaky.example>"
    reply["In-Reply-To"] = original["Message-ID"]
    reply.set_content(f"{words}\n\nOn Monday, {original['From']} wrote:\n{quoted}\n", cte="quoted-printable")
    return factories.crlf(reply.as_bytes())


def poll(web) -> str:
    result = web.test_cli_runner().invoke(args=["mailbox", "poll", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def audit_of(web, action: str) -> list[AuditEntry]:
    with web.app_context():
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                       .order_by(AuditEntry.id)))


def the_requests(web) -> list[tuple]:
    with web.app_context():
        return db.session.execute(select(AccessRequest.id, AccessRequest.status, AccessRequest.decided_by)
                                  .order_by(AccessRequest.id)).all()


def archived_with(web, words: str) -> Message:
    with web.app_context():
        return db.session.scalar(select(Message).where(Message.body_text.contains(words)))


def test_the_approvers_quoting_reply_kills_the_link_before_the_agent_can_use_it(
        web, world, agent, smtp_server, support_mailbox):
    ask(agent, world)
    (decide,) = links(smtp_server, 1)
    support_mailbox.append([quoting_reply(smtp_server.received[0])])

    poll(web)

    reply = archived_with(web, "Which employee do you need?")
    # What the agent sees: the ticket and the raw .eml both show the link in the quote.
    raw = agent.get(f"/messages/{reply.id}/raw").data
    quoted_body = email.message_from_bytes(raw, policy=policy.default).get_content()
    assert PUBLIC + decide in quoted_body.replace("> ", "")
    before = the_requests(web)
    assert agent.get(decide).status_code == 410  # the page shows no form, but any page's CSRF token will do
    pressed = agent.post(decide, data={"csrf_token": form_token(agent, "/settings"), "approve": "Approve",
                                       "hours": "4"})

    assert pressed.status_code == 410 and "no longer works" in pressed.text
    assert the_requests(web) == before and before[-1][1] == "pending"
    (leaked,) = audit_of(web, "link leaked")
    assert f"archived message {reply.id} (inbound, from {APPROVER})" in leaked.detail
    (tried,) = audit_of(web, "leaked link tried")
    assert tried.agent_id is not None and "signed-in agent" in tried.detail
    assert len(audit_of(web, "link replaced")) == 1
    # The approver has a new link, which works.
    relinked = smtp_server.wait_for(2)[1]
    assert relinked.recipients == (APPROVER,)
    assert "no longer works" in relinked.message().get_content()
    (fresh,) = links(smtp_server, 2)
    assert fresh != decide
    assert approve(web.test_client(), fresh, "1").status_code == 200
    assert the_requests(web)[-1][1:] == ("approved", APPROVER)


def test_a_bounce_carrying_the_original_email_kills_its_link_too(web, world, agent, smtp_server,
                                                                 support_mailbox):
    ask(agent, world)
    (decide,) = links(smtp_server, 1)
    support_mailbox.append([factories.bounce(smtp_server.received[0].raw)])

    poll(web)

    customer = web.test_client()
    assert customer.get(decide).status_code == 410
    (leaked,) = audit_of(web, "link leaked")
    assert "delivery status report (bounce)" in leaked.detail
    (fresh,) = links(smtp_server, 2)
    assert customer.get(fresh).status_code == 200


def test_an_imported_copy_a_revoke_link_and_a_log_link_are_replaced_while_they_have_a_use(
        web, world, agent, smtp_server, tmp_path):
    ask(agent, world)
    (decide,) = links(smtp_server, 1)
    approve(web.test_client(), decide, "4")
    revoke, log = links(smtp_server, 2)
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "granted.eml").write_bytes(quoting_reply(smtp_server.received[1], "Thanks!"))
    (folder / "request.eml").write_bytes(smtp_server.received[0].raw)

    result = web.test_cli_runner().invoke(args=["mailbox", "import", str(folder)])

    assert result.exit_code == 0, result.output
    assert "2 new link(s) were emailed" in result.output
    customer = web.test_client()
    for old in (decide, revoke, log):
        assert customer.get(old).status_code == 410, old
    new = [path for sent in smtp_server.wait_for(4)[2:]
           for path in re.findall(re.escape(PUBLIC) + r"(/customer/\S+)", sent.message().get_content())]
    assert sorted(path.split("/")[2] for path in new) == ["log", "revoke"]
    for path in new:
        assert customer.get(path).status_code == 200, path
    (not_replaced,) = audit_of(web, "leaked link not replaced")
    assert "decide link" in not_replaced.detail  # the request was decided already: nothing to redo
    assert len(smtp_server.received) == 4


def test_only_the_tokens_that_stand_in_the_message_stop_working(web, world, agent, smtp_server):
    ask(agent, world, scope="business")
    ask(agent, world, scope="personal")
    first, second = links(smtp_server, 1)[0], links(smtp_server, 2)[0]
    with web.app_context():
        factories.archived(db.session, quoting_reply(smtp_server.received[0]))

    customer = web.test_client()
    assert customer.get(first).status_code == 410
    assert customer.get(second).status_code == 200
    with web.app_context():
        leaked = db.session.scalars(select(AccessToken.purpose).where(AccessToken.leaked_at.is_not(None)))
        assert list(leaked) == ["decide"]


def test_mail_is_archived_and_the_link_killed_while_the_mail_server_is_down_and_the_new_link_follows(
        web, world, agent, smtp_server, support_mailbox):
    from tests.dovecot import free_port

    ask(agent, world)
    (decide,) = links(smtp_server, 1)
    support_mailbox.append([quoting_reply(smtp_server.received[0])])
    web.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there

    output = poll(web)

    assert "archived 1" in output
    assert web.test_client().get(decide).status_code == 410
    with web.app_context():
        leaked = db.session.scalar(select(AccessToken).where(AccessToken.leaked_at.is_not(None)))
        assert leaked.replaced_at is None  # the new link waits for the mail server
    web.config["SMTP_URL"] = smtp_server.url
    with web.app_context():
        tidy_access()
    (fresh,) = links(smtp_server, 2)
    assert web.test_client().get(fresh).status_code == 200


def test_customer_emails_say_the_link_is_the_approvers_alone_and_a_reply_decides_nothing(
        web, world, agent, smtp_server):
    ask(agent, world)
    approve(web.test_client(), links(smtp_server, 1)[0], "1")
    for sent in smtp_server.wait_for(2):
        text = " ".join(sent.message().get_content().split())
        assert re.search(r"(This link is|These links are) yours alone: please do not forward (it|them)", text)
        assert "Replying to this email approves, denies or ends nothing" in text


def test_the_sweep_finds_links_in_mail_archived_before_the_archive_looked_for_them(
        web, world, agent, smtp_server):
    ask(agent, world)
    (decide,) = links(smtp_server, 1)
    with web.app_context():
        factories.archived(db.session, quoting_reply(smtp_server.received[0]))
        # As an archive upgraded from a version that did not look: the token never marked.
        db.session.execute(update(AccessToken).values(leaked_at=None, leaked_in_message_id=None))
        db.session.commit()
    assert web.test_client().get(decide).status_code == 200

    result = web.test_cli_runner().invoke(args=["access", "sweep"])

    assert result.exit_code == 0, result.output
    assert "Looked at 3 archived message(s): 1 customer link(s) found no longer work; " \
           "1 new link(s) were emailed." in result.output
    assert web.test_client().get(decide).status_code == 410
    (fresh,) = links(smtp_server, 2)
    assert web.test_client().get(fresh).status_code == 200

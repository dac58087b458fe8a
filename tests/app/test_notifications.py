"""Agents told about their work: a ticket assigned to them, a customer's answer on their ticket,
a customer's decision on their access, a grant about to end; listed in the console and emailed
through a real SMTP server as each agent chose, each email sent once by the worker's job.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.access import grants, links
from app.models import Notification, Ticket
from app.runtime import raw_store
from app.services import notifications, tickets
from app.worker import _in_context, notify_agents
from mailbox.ingest import Archiver, Seen
from tests import factories

START = datetime(2026, 6, 1, 9, 0)
PUBLIC = "http://desk.test"
SETTINGS = grants.AccessSettings()


class Clock:
    """The application's clock here: it moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app):
    app.extensions["clock"] = clock = Clock()
    return clock


@pytest.fixture
def mail(app, smtp_server):
    app.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=PUBLIC, SUPPORT_ADDRESS="help@desk.example",
                      DESK_NAME="Acme Support")
    return smtp_server


@pytest.fixture
def staff(session):
    """Three agents: Sam assigns, Kim is assigned, Lee looks on."""
    return {name: factories.agent(session, f"{name.lower()}@desk.example", name=f"{name} Agent")
            for name in ("Sam", "Kim", "Lee")}


@pytest.fixture
def account(session):
    return factories.account(session, "Customer Co", domains=["customer.example"],
                             contacts=["alice@customer.example"], approvers=["boss@customer.example"])


def listed(session, agent) -> list[Notification]:
    return notifications.recent(session, agent)


def ticket_of(session, n: int = 1):
    return factories.archived(session, factories.message(n)).ticket


def answer(session, to: int, n: int, **headers) -> None:
    """Archive a customer's answer to message ``to`` as the poller does, and commit."""
    raw = factories.message(n, in_reply_to=f"<test-{to}@customer.example>", headers=headers)
    archiver = Archiver(session, raw_store(), tag_prefix="SD", notify_assignees=True)
    archiver.archive([(raw, Seen(source=f"test:answer-{n}"))])
    session.commit()


def test_an_agent_assigned_a_ticket_by_someone_else_is_notified_and_nobody_else_is(
        session, clock, staff, account):
    ticket = ticket_of(session)
    clock.advance(minutes=5)
    tickets.assign(session, ticket, staff["Sam"], staff["Kim"].id)
    session.commit()

    (told,) = listed(session, staff["Kim"])
    assert told.kind == "assigned" and told.ticket_id == ticket.id
    assert told.text == f"Sam Agent assigned ticket #{ticket.id} to you: Question number 1"
    assert told.created_at == START + timedelta(minutes=5) and told.read_at is None
    assert notifications.path_of(told) == f"/tickets/{ticket.id}"
    assert listed(session, staff["Sam"]) == [] and listed(session, staff["Lee"]) == []


def test_taking_a_ticket_oneself_notifies_nobody_and_a_rule_assigning_one_notifies_the_assignee(
        session, clock, staff, account):
    mine, ruled = ticket_of(session, 1), ticket_of(session, 2)
    tickets.assign(session, mine, staff["Kim"], staff["Kim"].id)
    tickets.assign(session, ruled, None, staff["Kim"].id)
    session.commit()

    (told,) = listed(session, staff["Kim"])
    assert told.ticket_id == ruled.id and told.text.startswith("A rule assigned")


def test_a_customer_answer_on_an_assigned_ticket_notifies_its_agent_but_an_auto_reply_does_not(
        session, clock, staff, account):
    ticket = ticket_of(session, 1)
    tickets.assign(session, ticket, staff["Kim"], staff["Kim"].id)  # taken: nothing to tell
    session.commit()
    answer(session, 1, 2, **{"Auto-Submitted": "auto-replied"})
    assert listed(session, staff["Kim"]) == []

    answer(session, 1, 3)
    (told,) = listed(session, staff["Kim"])
    assert told.kind == "answered" and told.ticket_id == ticket.id and told.message_id is not None
    assert told.text == f"alice@customer.example answered ticket #{ticket.id}: Question number 1"
    assert listed(session, staff["Sam"]) == [] and listed(session, staff["Lee"]) == []


def test_a_message_on_an_unassigned_ticket_and_imported_mail_notify_nobody(session, clock, staff, account):
    ticket = ticket_of(session, 1)
    answer(session, 1, 2)
    tickets.assign(session, ticket, staff["Sam"], staff["Kim"].id)
    session.commit()
    factories.archived(session, factories.message(3, in_reply_to="<test-1@customer.example>"))

    assert [n.kind for n in listed(session, staff["Kim"])] == ["assigned"]


def ask(session, agent, account, hours: int = 1):
    request, notices = grants.request_access(session, agent, account, "business", "The export fails.",
                                             hours, START, SETTINGS)
    session.commit()
    return request, notices[0].links["decide"]


def decide(session, raw: str, approve: bool, at: datetime) -> list:
    token = links.find_token(session, raw, "decide", at)
    notices = grants.decide(session, token, approve, None, at, SETTINGS)
    session.commit()
    return notices


def test_a_customer_approving_denying_and_revoking_notifies_the_agent_who_asked_and_nobody_else(
        session, clock, staff, account):
    approved, raw = ask(session, staff["Kim"], account)
    notices = decide(session, raw, True, START)
    denied, raw_denied = ask(session, staff["Kim"], account)
    decide(session, raw_denied, False, START)
    revoke = links.find_token(session, notices[0].links["revoke"], "revoke", START + timedelta(minutes=10))
    grants.revoke(session, revoke, START + timedelta(minutes=10))
    session.commit()

    texts = [(n.text, n.request_id, n.account_id) for n in reversed(listed(session, staff["Kim"]))]
    records = "Customer Co's business records (jobs, tasks, todos)"
    boss = "boss@customer.example"
    assert texts == [(f"{boss} approved your access to {records} for 1 h", approved.id, account.id),
                     (f"{boss} denied your access to {records}", denied.id, account.id),
                     (f"{boss} revoked your access to {records}", approved.id, account.id)]
    assert all(n.kind == "access" for n in listed(session, staff["Kim"]))
    assert listed(session, staff["Sam"]) == [] and listed(session, staff["Lee"]) == []


def test_a_grant_about_to_end_is_announced_to_its_agent_once_at_the_lead_time(
        app, session, clock, staff, account):
    app.config["GRANT_ENDING_NOTICE_MINUTES"] = 30
    _, raw = ask(session, staff["Kim"], account, hours=1)
    decide(session, raw, True, START)
    before = len(listed(session, staff["Kim"]))  # the approval

    clock.advance(minutes=29, seconds=59)
    notify_agents()
    assert len(listed(session, staff["Kim"])) == before
    clock.advance(seconds=1)
    notify_agents()
    clock.advance(minutes=10)
    notify_agents()

    ending = [n for n in listed(session, staff["Kim"]) if n.kind == "grant_ending"]
    assert [(n.text, n.created_at) for n in ending] == [
        ("Your access to Customer Co's business records (jobs, tasks, todos) ends in 30 min",
         START + timedelta(minutes=30))]
    assert listed(session, staff["Sam"]) == []


def test_a_grant_ended_early_is_not_announced_as_ending(app, session, clock, staff, account):
    request, raw = ask(session, staff["Kim"], account, hours=1)
    decide(session, raw, True, START)
    grants.end_grant(session, staff["Kim"], request, START + timedelta(minutes=5))
    session.commit()
    clock.advance(minutes=45)
    notify_agents()
    assert [n.kind for n in listed(session, staff["Kim"])] == ["access"]


def choose(session, agent, kind: str, console: bool, email: bool) -> None:
    notifications.save_preferences(session, agent, {kind: notifications.Choice(console, email)})
    session.commit()


def test_the_defaults_list_every_kind_and_email_all_but_grants_ending(session, staff):
    choices = notifications.preferences(session, staff["Kim"])
    assert {kind: (c.in_console, c.by_email) for kind, c in choices.items()} == {
        "assigned": (True, True), "answered": (True, True), "access": (True, True),
        "grant_ending": (True, False)}


def test_console_off_lists_nothing_and_both_off_keeps_nothing(session, clock, staff, account, mail):
    choose(session, staff["Kim"], "assigned", console=False, email=True)
    choose(session, staff["Lee"], "assigned", console=False, email=False)
    first, second = ticket_of(session, 1), ticket_of(session, 2)
    tickets.assign(session, first, staff["Sam"], staff["Kim"].id)
    tickets.assign(session, second, staff["Sam"], staff["Lee"].id)
    session.commit()

    assert listed(session, staff["Kim"]) == [] and notifications.unread_count(session, staff["Kim"]) == 0
    kept = select(func.count(Notification.id)).where(Notification.agent_id == staff["Lee"].id)
    assert session.scalar(kept) == 0
    notify_agents()
    (sent,) = mail.wait_for(1)
    assert sent.recipients == ("kim@desk.example",)


def test_email_off_sends_nothing_while_the_console_lists_it(session, clock, staff, account, mail):
    choose(session, staff["Kim"], "assigned", console=True, email=False)
    tickets.assign(session, ticket_of(session), staff["Sam"], staff["Kim"].id)
    session.commit()
    notify_agents()
    assert len(listed(session, staff["Kim"])) == 1
    assert session.scalar(select(func.count(Notification.id)).where(Notification.by_email.is_(True))) == 0
    assert mail.received == []


def test_an_emailed_notification_reaches_the_smtp_server_from_the_desk_with_the_ticket_link(
        session, clock, staff, account, mail):
    ticket = ticket_of(session)
    tickets.assign(session, ticket, staff["Sam"], staff["Kim"].id)
    session.commit()
    notify_agents()

    (sent,) = mail.wait_for(1)
    message = sent.message()
    assert sent.recipients == ("kim@desk.example",) and sent.sender == "help@desk.example"
    assert message["From"] == "Acme Support <help@desk.example>"
    assert message["Subject"] == f"Assigned to you: ticket #{ticket.id}"
    assert message["Auto-Submitted"] == "auto-generated" and message["Message-ID"].endswith("@desk.example>")
    body = message.get_content()
    assert f"{PUBLIC}/tickets/{ticket.id}" in body and "Sam Agent assigned ticket" in " ".join(body.split())
    assert all(len(line) <= 72 or "://" in line for line in body.splitlines())
    assert message.get_content_type() == "text/plain"


def outbox(session) -> list[tuple[int, int, bool]]:
    session.rollback()  # see what other threads committed
    sent = Notification.email_sent_at.is_not(None)
    return session.execute(select(Notification.id, Notification.attempts, sent)
                           .where(Notification.by_email.is_(True)).order_by(Notification.id)).all()


def test_running_the_job_twice_sends_each_email_once(session, clock, staff, account, mail):
    tickets.assign(session, ticket_of(session, 1), staff["Sam"], staff["Kim"].id)
    tickets.assign(session, ticket_of(session, 2), staff["Sam"], staff["Lee"].id)
    session.commit()
    notify_agents()
    notify_agents()
    recipients = sorted(r for m in mail.wait_for(2) for r in m.recipients)
    assert recipients == ["kim@desk.example", "lee@desk.example"]
    assert len(mail.received) == 2
    assert [(attempts, sent) for _, attempts, sent in outbox(session)] == [(1, True), (1, True)]


def test_two_workers_at_once_send_each_email_once(app, session, clock, staff, account, mail):
    for n in range(20):
        tickets.assign(session, ticket_of(session, n), staff["Sam"], staff["Kim" if n % 2 else "Lee"].id)
    session.commit()
    start = threading.Barrier(2)

    def worker() -> None:
        start.wait()
        _in_context(app, notify_agents)()  # its own application context and session

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    mail.wait_for(20)
    assert len(mail.received) == 20
    assert [(attempts, sent) for _, attempts, sent in outbox(session)] == [(1, True)] * 20


def test_an_email_the_server_refused_keeps_its_error_and_is_sent_once_by_a_later_run(
        session, clock, staff, account, mail):
    tickets.assign(session, ticket_of(session), staff["Sam"], staff["Kim"].id)
    session.commit()
    mail.refuse_recipients()
    notify_agents()
    (row,) = session.scalars(select(Notification)).all()
    assert row.email_sent_at is None and "refused" in row.last_error and mail.received == []

    mail.accept_recipients()
    notify_agents()
    notify_agents()
    assert len(mail.wait_for(1)) == 1
    assert [(attempts, sent) for _, attempts, sent in outbox(session)] == [(2, True)]


def test_a_poll_from_a_real_dovecot_tells_the_assigned_agent_of_the_customers_answer(
        session, cli, dovecot, staff, account):
    dovecot.append([factories.message(1)])
    factories.imap_mailbox(session, dovecot)
    assert cli("mailbox", "poll", "--once").exit_code == 0
    ticket = session.scalar(select(Ticket))
    tickets.assign(session, ticket, staff["Sam"], staff["Kim"].id)
    session.commit()

    dovecot.append([factories.message(2, in_reply_to="<test-1@customer.example>", body="Still broken.")])
    polled = cli("mailbox", "poll", "--once")
    assert "archived 1" in polled.output, polled.output

    kinds = [(n.kind, n.ticket_id) for n in listed(session, staff["Kim"])]
    assert kinds == [("answered", ticket.id), ("assigned", ticket.id)]
    assert listed(session, staff["Lee"]) == []

"""The dashboard's numbers over a small archive whose every figure is known: mail per day and
per week, the backlog by age, first-response times, volume per account, access requests by
outcome and time to decision, ingestion health per folder and request-log usage; then the
page itself, its SVG charts with their words and tables, and who may open it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from flask import current_app
from sqlalchemy import select

from app.access import grants, links
from app.extensions import db
from app.models import Account, MailboxFolder, RequestLog, Ticket
from app.runtime import raw_store
from app.services import tickets as ticket_service
from app.services.dashboard import (
    AgeBucket,
    Spread,
    Volume,
    access_figures,
    account_usage,
    account_volumes,
    first_responses,
    folder_health,
    message_volume,
    spread,
    ticket_ages,
)
from app.services.mailboxes import add_mailbox
from mailbox.ingest import Archiver, Seen
from tests import factories
from tests.web import sign_in

# A Wednesday: the current week began on Monday 2 March, the oldest of twelve on 15 December.
NOW = datetime(2026, 3, 4, 12, 0)
STALE_AFTER = timedelta(minutes=15)


def mail(n: int, when: datetime, sender: str, *, in_reply_to: int | None = None) -> bytes:
    """Return a message dated ``when`` (UTC) with Message-ID <n@test>, maybe answering another."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@desk.example"
    msg["Subject"] = f"Question {n}"
    msg["Date"] = format_datetime(when.replace(tzinfo=UTC))
    msg["Message-ID"] = f"<{n}@test>"
    if in_reply_to is not None:
        msg["In-Reply-To"] = f"<{in_reply_to}@test>"
    msg.set_content(f"Message {n}.")
    return factories.crlf(msg.as_bytes())


def received(session, n: int, when: datetime, sender: str, in_reply_to: int | None = None) -> Ticket:
    return factories.archived(session, mail(n, when, sender, in_reply_to=in_reply_to)).ticket


def replied(session, ticket: Ticket, n: int, when: datetime) -> None:
    """Archive an outbound reply in the ticket, as sending one from the console does."""
    archiver = Archiver(session, raw_store(), tag_prefix=current_app.config["TICKET_TAG_PREFIX"],
                        direction="outbound", ticket=ticket)
    archiver.archive([(mail(n, when, "support@desk.example", in_reply_to=n - 100),
                       Seen(source=f"sent:test {n}"))])
    session.commit()


def at(day: str, hour: float = 0) -> datetime:
    return datetime.fromisoformat(day) + timedelta(hours=hour)


def build_archive(session) -> dict:
    """Mail, tickets, access requests, mailbox folders and request-log rows with known figures."""
    factories.account(session, "Acme", domains=["acme.example"], approvers=["boss@acme.example"])
    factories.account(session, "Bolt", domains=["bolt.example"])
    sam = factories.agent(session, "sam@desk.example", name="Sam Agent")
    tickets = _mail(session)
    for name, status in (("t2", "pending"), ("t4", "closed"), ("t6", "pending")):
        ticket_service.set_status(session, tickets[name], sam, status)
    session.commit()
    _access_requests(session, sam)
    _folders(session)
    _usage(session)
    return tickets


def _mail(session) -> dict:
    acme, bolt, stranger = "ann@acme.example", "bob@bolt.example", "someone@elsewhere.example"
    t1 = received(session, 1, at("2026-03-04", 8), acme)
    replied(session, t1, 101, at("2026-03-04", 10))  # 2 h
    t2 = received(session, 2, at("2026-03-03", 9), acme)
    replied(session, t2, 102, at("2026-03-03", 15))  # 6 h
    received(session, 3, at("2026-03-03", 16), acme, in_reply_to=102)
    replied(session, t2, 103, at("2026-03-03", 17))  # a second reply does not count
    t3 = received(session, 4, at("2026-03-02", 10), bolt)  # never answered
    t4 = received(session, 5, at("2026-02-24", 10), bolt)
    replied(session, t4, 105, at("2026-02-25", 10))  # 24 h
    t5 = received(session, 6, at("2026-02-10", 12), stranger)  # unmatched, never answered
    t6 = received(session, 7, at("2026-01-05", 9), acme)
    replied(session, t6, 107, at("2026-01-05", 9.5))  # 30 min
    t7 = received(session, 8, at("2025-11-01", 9), acme)  # before the twelve weeks
    replied(session, t7, 108, at("2025-11-02", 9))
    return {"t1": t1, "t2": t2, "t3": t3, "t4": t4, "t5": t5, "t6": t6, "t7": t7}


def account(session, name: str) -> Account:
    return session.scalar(select(Account).where(Account.name == name))


def _ask(session, agent, when: datetime):
    request, notices = grants.request_access(session, agent, account(session, "Acme"), "business",
                                             "Checking the export", 4,
                                             when, grants.AccessSettings())
    return request, notices[0].links["decide"]


def _decide(session, raw: str, approve: bool, when: datetime) -> None:
    token = links.find_token(session, raw, "decide", when)
    grants.decide(session, token, approve, None, when, grants.AccessSettings())


def _access_requests(session, sam) -> None:
    mia = factories.agent(session, "mia@desk.example", name="Mia Manager", role="manager")
    max_ = factories.agent(session, "max@desk.example", name="Max Manager", role="manager")
    _, raw = _ask(session, sam, at("2026-03-01", 9))
    _decide(session, raw, True, at("2026-03-01", 11))  # approved after 2 h
    _, raw = _ask(session, sam, at("2026-03-02", 9))
    _decide(session, raw, False, at("2026-03-02", 9.5))  # denied after 30 min
    _ask(session, sam, at("2026-03-02", 10))  # undecided past its time: expired, not yet marked
    _ask(session, sam, at("2026-03-04", 11))  # still pending
    cancelled, _ = _ask(session, sam, at("2026-03-03", 9))
    grants.cancel_request(session, sam, cancelled, at("2026-03-03", 9.2))
    _ask(session, sam, at("2026-02-20", 9))
    grants.expire_due(session, at("2026-02-21", 10))  # marked expired by the worker
    glass = grants.break_glass(session, mia, account(session, "Acme"), "business",
                               "The customer's payroll run is failing now.", at("2026-03-04", 9))
    grants.confirm_break_glass(session, max_, glass, at("2026-03-04", 9.1), grants.AccessSettings())  # 6 min
    _, raw = _ask(session, sam, at("2025-12-01", 9))  # before the twelve weeks
    _decide(session, raw, True, at("2025-12-01", 10))
    session.commit()


def _folders(session) -> None:
    box = add_mailbox(session, "support", host="imap.example", port=993, security="ssl",
                      username="desk", password_env="DESK_PW",
                      folders=["INBOX", "Sales", "Archive", "Spam", "Busy"])
    folders = {f.name: f for f in box.folders}
    folders["INBOX"].last_success_at = NOW - timedelta(minutes=2)
    folders["INBOX"].server_pending = 0
    folders["Sales"].last_success_at = NOW - timedelta(hours=3)
    folders["Sales"].last_error = "the server refused the login"
    folders["Sales"].last_error_at = NOW - timedelta(minutes=1)
    folders["Archive"].last_success_at = NOW - timedelta(hours=2)
    folders["Busy"].last_success_at = NOW - timedelta(minutes=1)
    folders["Busy"].server_pending = 7
    session.commit()


def _usage(session) -> None:
    ids = dict(session.execute(select(Account.name, Account.id)).all())
    rows = [(NOW - timedelta(minutes=m), ids["Acme"], ms) for m, ms in ((1, 10), (2, 20), (3, 30))]
    rows += [(at("2026-02-26", 0), ids["Bolt"], 5),  # the first of the seven days
             (at("2026-02-25", 23.99), ids["Bolt"], 500),  # the day before: left out
             (NOW, None, 1), (NOW, None, 2)]
    session.add_all([RequestLog(at=when, route="/x", method="GET", status=200, duration_ms=ms,
                                account_id=account) for when, account, ms in rows])
    session.commit()


@pytest.fixture
def archive(session):
    return build_archive(session)


def test_messages_per_day_count_inbound_and_outbound_over_the_last_thirty_days(session, archive):
    days, _ = message_volume(session, NOW)

    assert len(days) == 30 and days[0].start == date(2026, 2, 3) and days[-1].start == date(2026, 3, 4)
    busy = {v.start.isoformat(): (v.inbound, v.outbound) for v in days if v.inbound or v.outbound}
    assert busy == {"2026-03-04": (1, 1), "2026-03-03": (2, 2), "2026-03-02": (1, 0),
                    "2026-02-25": (0, 1), "2026-02-24": (1, 0), "2026-02-10": (1, 0)}


def test_messages_per_week_fold_twelve_weeks_that_start_on_monday(session, archive):
    _, weeks = message_volume(session, NOW)

    assert [w.start for w in weeks][::11] == [date(2025, 12, 15), date(2026, 3, 2)]
    busy = [w for w in weeks if w.inbound or w.outbound]
    assert busy == [Volume(date(2026, 1, 5), 1, 1), Volume(date(2026, 2, 9), 1, 0),
                    Volume(date(2026, 2, 23), 1, 1), Volume(date(2026, 3, 2), 4, 3)]


def test_open_and_pending_tickets_fall_into_age_buckets_and_closed_ones_do_not_count(session, archive):
    assert ticket_ages(session, NOW) == [
        AgeBucket("< 1 day", 1, 0), AgeBucket("1–3 days", 1, 1), AgeBucket("3–7 days", 0, 0),
        AgeBucket("7–30 days", 1, 0), AgeBucket("> 30 days", 1, 1)]


def test_first_response_is_the_first_reply_after_the_first_inbound_message_per_week(session, archive):
    weeks, overall = first_responses(session, NOW)

    by_week = {w.start.isoformat(): (w.spread, w.unanswered) for w in weeks if w.spread.count or w.unanswered}
    assert by_week == {
        "2026-01-05": (Spread(1, 0.5, 0.5), 0),
        "2026-02-09": (Spread(0, None, None), 1),
        "2026-02-23": (Spread(1, 24.0, 24.0), 0),
        "2026-03-02": (Spread(2, 4.0, 6.0), 1),
    }
    assert overall == Spread(4, 4.0, 24.0)


def test_the_ninetieth_percentile_is_the_nearest_rank():
    assert spread(list(range(1, 11))) == Spread(10, 5.5, 9)
    assert spread([3.0]) == Spread(1, 3.0, 3.0)
    assert spread([]) == Spread(0, None, None)


def test_volume_per_account_counts_the_last_thirty_days_and_unmatched_mail_apart(session, archive):
    volumes = account_volumes(session, NOW)

    assert [(a.account, a.inbound, a.outbound) for a in volumes.top] == [("Acme", 3, 3), ("Bolt", 2, 1)]
    assert (volumes.other_accounts, volumes.other_messages, volumes.unmatched) == (0, 0, 1)


def test_only_the_ten_busiest_accounts_are_named_and_the_rest_are_summed(session):
    for k in range(1, 12):
        factories.account(session, f"Account {k:02d}", domains=[f"a{k}.example"])
        for n in range(k):
            factories.archived(session, mail(1000 * k + n, NOW - timedelta(days=1), f"x@a{k}.example"))

    volumes = account_volumes(session, NOW)

    assert [a.account for a in volumes.top] == [f"Account {k:02d}" for k in range(11, 1, -1)]
    assert (volumes.other_accounts, volumes.other_messages, volumes.unmatched) == (1, 1, 0)


def test_access_requests_by_outcome_count_an_undecided_request_past_its_time_as_expired(session, archive):
    figures = access_figures(session, NOW)

    assert figures.outcomes == {"approved": 2, "denied": 1, "expired": 2, "cancelled": 1, "pending": 1}
    assert figures.decisions == Spread(3, 0.5, 2.0)
    assert figures.decision_histogram == [("< 1 h", 2), ("1–4 h", 1), ("4–12 h", 0), ("12–24 h", 0),
                                          ("> 24 h", 0)]


def test_folder_health_names_failing_stale_behind_and_unpolled_folders_worst_first(session, archive):
    folders = folder_health(session, NOW, STALE_AFTER)

    assert [(f.folder, f.state) for f in folders] == [
        ("Sales", "failing"), ("Archive", "stale"), ("Busy", "behind"), ("Spam", "never polled"),
        ("INBOX", "ok")]
    sales = folders[0]
    assert sales.last_error == "the server refused the login" and sales.since_success == timedelta(hours=3)
    assert folders[2].waiting == 7 and folders[3].since_success is None


def test_an_error_cleared_by_a_later_success_no_longer_fails_the_folder(session, archive):
    folder = session.scalar(select(MailboxFolder).where(MailboxFolder.name == "Sales"))
    folder.last_error, folder.last_success_at = None, NOW  # what the poller does on success
    session.commit()

    sales = next(f for f in folder_health(session, NOW, STALE_AFTER) if f.folder == "Sales")
    assert sales.state == "ok" and sales.last_error_at is None


def test_usage_per_account_counts_the_request_log_of_the_last_seven_days(session, archive):
    usage = account_usage(session, NOW)

    assert [(u.account, u.requests, u.mean_ms) for u in usage] == [
        ("Acme", 3, 20.0), (None, 2, 1.5), ("Bolt", 1, 5.0)]


# The page: charts as SVG with their words and numbers, for managers and administrators only.

@pytest.fixture
def site(web):
    web.extensions["clock"] = lambda: NOW
    with web.app_context():
        build_archive(db.session)
        for role in ("manager", "admin"):
            factories.agent(db.session, f"{role}@desk.example", name=f"{role.title()} Person", role=role)
    return web


def signed_in(app, email: str):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


@pytest.mark.parametrize("who", ["manager", "admin"])
def test_managers_and_administrators_see_every_chart_as_svg_with_words_and_numbers(site, who):
    page = signed_in(site, f"{who}@desk.example").get("/manage/dashboard").get_data(as_text=True)

    charts = ["chart-days", "chart-weeks", "chart-ages", "chart-responses", "chart-accounts",
              "chart-outcomes", "chart-decisions", "chart-usage"]
    for chart in charts:
        assert f'<svg class="chart" id="{chart}" role="img"' in page
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in page
        assert f'<title id="{chart}-title">' in page and f'<desc id="{chart}-desc">' in page
    assert page.count("<details><summary>Numbers</summary>") == 8 and page.count("<table") == 9
    assert "6 inbound and 4 outbound in all" in page
    assert "2 approved, 1 denied, 2 expired, 1 cancelled, 1 pending" in page
    assert "Median 4 h, 90th percentile 24 h over 4 tickets" in page
    assert "the server refused the login" in page and 'class="state state-failing"' in page
    assert "<script" not in page.split("</head>")[1], "the dashboard needs no script"


def test_the_dashboard_reads_the_application_clock(site):
    client = signed_in(site, "manager@desk.example")
    site.extensions["clock"] = lambda: NOW + timedelta(days=400)

    page = client.get("/manage/dashboard").get_data(as_text=True)

    assert "0 inbound and 0 outbound in all" in page
    assert "Nothing in this period" in page


def test_agents_are_refused_with_a_reason_and_strangers_are_sent_to_sign_in(site):
    with site.app_context():
        factories.agent(db.session, "agent@desk.example", name="Agent Person")
    agent = signed_in(site, "agent@desk.example")

    for path in ("/manage/dashboard", "/manage/audit", "/manage/audit.csv"):
        refused = agent.get(path)
        assert refused.status_code == 403
        assert "for managers and administrators" in refused.get_data(as_text=True)
        assert site.test_client().get(path).location.startswith("/login")
    assert "Dashboard</a>" not in agent.get("/tickets").get_data(as_text=True)
    manager = signed_in(site, "manager@desk.example").get("/tickets").get_data(as_text=True)
    assert 'href="/manage/dashboard">Dashboard</a>' in manager
    assert 'href="/manage/audit">Audit log</a>' in manager

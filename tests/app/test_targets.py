"""Response targets on both databases: what each ticket has due under the desk's settings and an
account's overrides, the queue ordered by it and its overdue rows as the injected clock
moves (across a weekend), the administration page refusing each wrong field beside it and
auditing a save, and the dashboard's targets met and missed, checked against a count made
minute by minute over the test's own tickets.
"""

from __future__ import annotations

import html
import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Account, AuditEntry, Ticket
from app.runtime import raw_store
from app.services import targets, tickets
from app.services.targets import TargetBook, TargetForm, target_figures
from app.target_rules import FIRST, NEXT
from mailbox.ingest import Archiver, Seen
from tests import factories
from tests.app.test_access import Clock
from tests.web import sign_in, submit

WORKDAY = (False, "09:00", "17:00")
CLOSED = (True, "", "")
# Monday to Friday, 09:00 to 17:00 UTC: a week an example can be counted by hand in.
UTC_WEEK = (WORKDAY,) * 5 + (CLOSED,) * 2
MONDAY = datetime(2026, 3, 2)


def mail(n: int, when: datetime, sender: str, in_reply_to: int | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "support@desk.example", f"Question {n}"
    msg["Date"] = format_datetime(when.replace(tzinfo=UTC))
    msg["Message-ID"] = f"<{n}@test>"
    if in_reply_to is not None:
        msg["In-Reply-To"] = f"<{in_reply_to}@test>"
    msg.set_content(f"Message {n}.")
    return factories.crlf(msg.as_bytes())


def asked(session, n: int, when: datetime, sender: str = "ann@acme.example",
          after: int | None = None) -> Ticket:
    return factories.archived(session, mail(n, when, sender, in_reply_to=after)).ticket


def answered(session, ticket: Ticket, n: int, when: datetime) -> None:
    """Archive a reply from the desk in the ticket, as sending one from the console does."""
    archiver = Archiver(session, raw_store(), tag_prefix=current_app.config["TICKET_TAG_PREFIX"],
                        direction="outbound", ticket=ticket)
    archiver.archive([(mail(n, when, "support@desk.example"), Seen(source=f"sent:test {n}"))])
    session.commit()


def desk(session, first: str = "4 h", later: str = "2 h", zone: str = "UTC", week=UTC_WEEK, account=None,
         own_hours: bool = True) -> None:
    targets.save_targets(session, account, TargetForm(first, later, zone, week, own_hours=own_hours),
                         by=None, now=MONDAY)
    session.commit()


@pytest.fixture
def sam(session):
    factories.account(session, "Acme", domains=["acme.example"])
    factories.account(session, "Bolt", domains=["bolt.example"])
    return factories.agent(session, "sam@desk.example", name="Sam Agent")


def test_with_nothing_set_no_ticket_has_anything_due(session, sam):
    ticket = asked(session, 1, MONDAY + timedelta(hours=9))
    assert targets.due_now(session, [ticket.id]) == {}
    assert not target_figures(session, MONDAY + timedelta(days=3)).any_target


def test_the_first_message_starts_the_first_response_target_and_a_later_one_the_next(session, sam):
    desk(session)
    ticket = asked(session, 1, MONDAY + timedelta(hours=15))  # 2 h left on Monday, 2 h on Tuesday
    due = targets.due_now(session, [ticket.id])[ticket.id]
    assert (due.kind, due.due) == (FIRST, MONDAY + timedelta(days=1, hours=11))

    answered(session, ticket, 101, MONDAY + timedelta(hours=16))
    assert targets.due_now(session, [ticket.id]) == {}  # waiting on the customer
    asked(session, 2, MONDAY + timedelta(days=1, hours=16), after=101)
    due = targets.due_now(session, [ticket.id])[ticket.id]
    assert (due.kind, due.due) == (NEXT, MONDAY + timedelta(days=2, hours=10))

    tickets.set_status(session, ticket, sam, "closed")
    session.commit()
    assert targets.due_now(session, [ticket.id]) == {}


def test_an_accounts_overrides_replace_only_what_they_set(session, sam):
    desk(session)
    bolt = asked(session, 1, MONDAY + timedelta(hours=9), "bob@bolt.example")
    acme = asked(session, 2, MONDAY + timedelta(hours=9))
    desk(session, first="1 h", later="", zone="", account=bolt.account, own_hours=False)
    book = TargetBook(session)
    assert book.for_account(bolt.account_id).first_minutes == 60
    assert book.for_account(bolt.account_id).next_minutes == 120  # the desk's
    assert book.for_account(acme.account_id).first_minutes == 240
    due = targets.due_now(session, [bolt.id, acme.id])
    assert due[bolt.id].due == MONDAY + timedelta(hours=10)
    assert due[acme.id].due == MONDAY + timedelta(hours=13)


def test_the_queue_ordered_by_due_puts_overdue_first_then_the_soonest_then_nothing_due(session, sam):
    desk(session)
    late = asked(session, 1, MONDAY + timedelta(hours=9))  # due 13:00
    soon = asked(session, 2, MONDAY + timedelta(hours=11))  # due 15:00
    waiting = asked(session, 3, MONDAY + timedelta(hours=8))
    answered(session, waiting, 103, MONDAY + timedelta(hours=9))
    quick = asked(session, 4, MONDAY + timedelta(hours=12), "bob@bolt.example")
    desk(session, first="30 min", later="", zone="", account=quick.account, own_hours=False)  # due 12:30
    view = tickets.QueueView("open", "all", None, sort="due")

    page = tickets.list_queue(session, sam, view, 1)
    assert [t.id for t in page.tickets] == [quick.id, late.id, soon.id, waiting.id]
    assert set(page.due) == {quick.id, late.id, soon.id}

    sam.page_size = 2
    assert [t.id for t in tickets.list_queue(session, sam, view, 2).tickets] == [soon.id, waiting.id]


@pytest.fixture
def clock(web):
    web.extensions["clock"] = clock = Clock()
    clock.now = datetime(2026, 3, 6, 15, 0)  # a Friday, 15:00 UTC
    return clock


def queue_row(page: str, ticket_id: int) -> str:
    return re.search(rf'<tr[^>]*>\s*<td class="num">#{ticket_id}</td>.*?</tr>', page, re.S).group(0)


def test_a_ticket_becomes_overdue_when_the_clock_passes_its_due_time_across_a_weekend(web, clock):
    with web.app_context():
        factories.account(db.session, "Acme", domains=["acme.example"])
        factories.agent(db.session, "sam@desk.example", name="Sam Agent")
        desk(db.session)
        ticket_id = asked(db.session, 1, clock.now).id  # 2 h on Friday, 2 h on Monday: due Monday 11:00
    client = web.test_client()
    assert sign_in(client, "sam@desk.example").status_code == 302

    for now in (datetime(2026, 3, 6, 16, 59), datetime(2026, 3, 8, 23, 0), datetime(2026, 3, 9, 11, 0)):
        clock.now = now
        row = queue_row(client.get("/tickets?queue=all&sort=due").get_data(as_text=True), ticket_id)
        assert "overdue" not in row.lower()
        assert "First response due" in row and "2026-03-09 11:00" in row

    clock.now = datetime(2026, 3, 9, 13, 10)
    row = queue_row(client.get("/tickets?queue=all&sort=due").get_data(as_text=True), ticket_id)
    assert 'class="overdue"' in row
    assert "<strong>Overdue</strong> by 2 h 10 min" in row
    assert "due soonest first" in client.get("/tickets?queue=all").get_data(as_text=True)
    assert client.get("/tickets?queue=all&sort=sideways").status_code == 400


@pytest.fixture
def admin(web, clock):
    with web.app_context():
        factories.account(db.session, "Acme", domains=["acme.example"])
        factories.agent(db.session, "ada@desk.example", name="Ada Admin", role="admin")
    client = web.test_client()
    assert sign_in(client, "ada@desk.example").status_code == 302
    return client


def week_fields(**changed) -> dict:
    fields = {}
    for key in targets.DAY_KEYS:
        fields.update({f"{key}_opens": "09:00", f"{key}_closes": "17:00"})
    for key in ("sat", "sun"):
        fields[f"{key}_closed"] = "y"
    return {**fields, **changed}


def error_of(page: str, field: str) -> str | None:
    found = re.search(rf'<span class="field-error" id="{field}-error">([^<]*)</span>', page)
    return html.unescape(found.group(1)) if found else None


def test_the_settings_page_puts_one_sentence_beside_each_wrong_field(web, admin):
    data = {"first_response": "soon", "next_response": "2 h", "time_zone": "Mars/Olympus",
            **week_fields(mon_opens="25:00", tue_opens="18:00")}
    response = submit(admin, "/admin/targets", "/admin/targets", data)
    page = response.get_data(as_text=True)

    assert response.status_code == 400
    errors = {f: error_of(page, f) for f in ("first_response", "next_response", "time_zone", "mon_opens",
                                             "tue_closes", "wed_opens")}
    assert errors["next_response"] is None and errors["wed_opens"] is None
    for field in ("first_response", "time_zone", "mon_opens", "tue_closes"):
        sentence = errors[field]
        assert sentence and sentence[0].isupper() and sentence.endswith(".") and sentence.count(". ") == 0
    assert "Tuesday" in errors["tue_closes"]
    with web.app_context():
        assert targets.settings_row(db.session, None) is None


def test_a_saved_setting_applies_and_is_audited_and_an_account_can_go_back_to_the_desks(web, admin):
    data = {"first_response": "1 day", "next_response": "90 min", "time_zone": "Europe/Berlin",
            **week_fields()}
    assert submit(admin, "/admin/targets", "/admin/targets", data).status_code == 302
    with web.app_context():
        acme_id = db.session.scalar(select(Account.id).where(Account.name == "Acme"))
        book = TargetBook(db.session)
        assert (book.for_account(acme_id).first_minutes, book.for_account(acme_id).hours.zone) == \
            (480, "Europe/Berlin")
    page = admin.get("/admin/targets").get_data(as_text=True)
    assert 'value="1 day"' in page and 'value="1 h 30 min"' in page

    assert submit(admin, f"/admin/targets/{acme_id}", f"/admin/targets/{acme_id}",
                  {"first_response": "2 h"}).status_code == 302
    with web.app_context():
        assert TargetBook(db.session).for_account(acme_id).first_minutes == 120
    assert "Acme</a>: first response 2 h" in admin.get("/admin/targets").get_data(as_text=True)
    assert submit(admin, f"/admin/targets/{acme_id}", f"/admin/targets/{acme_id}/clear").status_code == 302
    with web.app_context():
        assert TargetBook(db.session).for_account(acme_id).first_minutes == 480
        actions = db.session.execute(select(AuditEntry.action, AuditEntry.detail, AuditEntry.account_id)
                                     .where(AuditEntry.action == "response targets changed")
                                     .order_by(AuditEntry.id)).all()
    whose = [(a.account_id, a.detail.split(":")[0]) for a in actions]
    assert whose == [(None, "the desk"), (acme_id, "Acme"), (acme_id, "Acme")]
    assert "first response 1 day, next response 1 h 30 min, time zone Europe/Berlin" in actions[0].detail
    assert actions[0].detail.endswith("by ada@desk.example")


# The dashboard against a count made minute by minute, over tickets that vary.
NOW = datetime(2026, 3, 20, 12, 0)  # a Friday


def open_minute(t: datetime) -> bool:
    return t.weekday() < 5 and 9 <= t.hour < 17


def brute_due(start: datetime, minutes: int) -> datetime:
    t, counted = start, 0
    while True:
        if open_minute(t):
            counted += 1
            if counted == minutes:
                return t + timedelta(minutes=1)
        t += timedelta(minutes=1)


def brute_force(threads: list[tuple[list[tuple[datetime, bool]], bool]], first: int, later: int) -> Counter:
    """Count (kind, outcome, day) as a person would, one minute of the week at a time."""
    counts = Counter()
    first_day = NOW.date() - timedelta(days=29)
    for messages, closed in threads:
        waiting, kind, replied_before = None, None, False
        settled = []
        for when, inbound in messages:
            if inbound and waiting is None:
                waiting, kind = when, ("next" if replied_before else "first")
            elif not inbound:
                if waiting is not None:
                    settled.append((kind, waiting, when))
                waiting, replied_before = None, True
        if waiting is not None and not closed:
            settled.append((kind, waiting, None))
        for kind, start, reply in settled:
            due = brute_due(start, first if kind == "first" else later)
            if reply is not None and reply <= due:
                outcome, day = "met", reply.date()
            elif reply is not None or NOW > due:
                outcome, day = "missed", due.date()
            else:
                continue
            if first_day <= day <= NOW.date():
                counts[kind, outcome, day] += 1
    return counts


def test_the_dashboard_counts_targets_met_and_missed_as_a_minute_by_minute_count_does(session, sam):
    desk(session, first="3 h", later="1 h")
    rng = random.Random(20260320)
    threads, n = [], 0
    for _ in range(25):
        t = NOW - timedelta(days=rng.randint(0, 35), minutes=rng.randrange(0, 24 * 60, 7))
        messages = []
        n += 1
        ticket = asked(session, n, t)
        messages.append((t, True))
        for _ in range(rng.randint(0, 4)):
            t += timedelta(minutes=rng.randrange(5, 60 * 30, 11))
            if t >= NOW:
                break
            n += 1
            if rng.random() < 0.5:
                answered(session, ticket, n, t)
                messages.append((t, False))
            else:
                asked(session, n, t, after=n - 1)
                messages.append((t, True))
        closed = rng.random() < 0.2
        if closed:
            tickets.set_status(session, ticket, sam, "closed")
            session.commit()
        threads.append((messages, closed))

    figures = target_figures(session, NOW)
    found = Counter({(kind, outcome, d.day): getattr(d, outcome) for kind in ("first", "next")
                     for d in figures.days[kind] for outcome in ("met", "missed") if getattr(d, outcome)})
    expected = brute_force(threads, 180, 60)
    assert found == expected
    assert sum(found.values()) > 5  # the world holds enough of each to mean something
    for kind in ("first", "next"):
        met = sum(v for (k, o, _), v in expected.items() if (k, o) == (kind, "met"))
        assert figures.total(kind, "met") == met


def test_the_dashboard_shows_each_kinds_chart_with_words_and_numbers_that_agree(web, clock):
    clock.now = NOW
    with web.app_context():
        factories.account(db.session, "Acme", domains=["acme.example"])
        factories.agent(db.session, "mia@desk.example", name="Mia Manager", role="manager")
        desk(db.session, first="3 h", later="1 h")
        ticket = asked(db.session, 1, datetime(2026, 3, 19, 9, 0))
        answered(db.session, ticket, 2, datetime(2026, 3, 19, 10, 0))  # met
        asked(db.session, 3, datetime(2026, 3, 19, 11, 0), after=2)  # next due 12:00: missed
        asked(db.session, 4, datetime(2026, 3, 20, 11, 0))  # first due 14:00: still running
    client = web.test_client()
    assert sign_in(client, "mia@desk.example").status_code == 302
    page = client.get("/manage/dashboard").get_data(as_text=True)
    assert "1 first response target met and 0 missed over the last 30 days (100% met); 1 still within" in page
    assert "0 next response targets met and 1 missed over the last 30 days (0% met); 0 still within" in page
    assert 'id="chart-targets-first"' in page and 'id="chart-targets-next"' in page
    assert re.search(r"<td>2026-03-19</td><td class=\"num\">0</td><td class=\"num\">1</td>", page)

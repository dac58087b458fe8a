"""The console through Flask's test client, as an agent uses it with scripts off: the queue,
a ticket's thread and the work on it, downloads, account pages and settings, and replies
that reach a real SMTP server on loopback.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Message, Ticket
from app.rawstore import RawStore
from app.runtime import raw_store
from tests import factories
from tests.app import console_world
from tests.web import sign_in, submit


@pytest.fixture
def world(web):
    return console_world.build(web)


@pytest.fixture
def agent(web, world):
    client = web.test_client()
    sign_in(client, "agent@desk.example")
    return client


def test_the_queue_shows_each_view_with_its_counts_and_the_agents_default(agent, world):
    mine = agent.get("/tickets").text
    assert 'aria-current="page">Mine <span class="count">0</span>' in mine
    assert "No open tickets in this view." in mine
    everything = agent.get("/tickets?queue=all").text
    assert 'aria-current="page">All <span class="count">2</span>' in everything
    assert 'Unmatched mail <span class="count">1</span>' in everything
    # The HTML message (February) is newer than the unmatched one (January): it comes first.
    newer, older = f'href="/tickets/{world.ticket_id}"', f'href="/tickets/{world.unmatched_ticket_id}"'
    assert everything.index(newer) < everything.index(older)
    unmatched = agent.get("/tickets?queue=unmatched").text
    assert older in unmatched and newer not in unmatched
    assert agent.get("/tickets?queue=everything").status_code == 400


def test_the_ticket_shows_its_messages_with_why_they_were_linked_and_threaded(agent, world):
    page = agent.get(f"/tickets/{world.ticket_id}").text
    assert "sender boss@leaky.example is a contact of Leaky Widgets" in page
    assert "new ticket: not a reply to archived mail" in page
    assert f'src="/messages/{world.message_id}/body"' in page and "sandbox" in page
    assert "export.csv" in page and "To boss@leaky.example" in page


def test_the_ticket_page_reads_each_raw_message_only_the_first_time_it_is_shown(web, agent, world,
                                                                              monkeypatch):
    with web.app_context():  # a second HTML message in the thread, with two remote images
        ticket = db.session.get(Ticket, world.ticket_id)
        raw = factories.html_message(3, sender="boss@leaky.example",
                                     html='<p>See <img src="https://track.example/a.png">'
                                          '<img src="https://track.example/b.png"></p>')
        factories.archived(db.session, b"In-Reply-To: <html-1@leaky.example>\r\n" + raw)
        assert ticket.messages.count() == 2
    reads = []
    real_get = RawStore.get
    monkeypatch.setattr(RawStore, "get", lambda store, key: reads.append(key) or real_get(store, key))

    first = agent.get(f"/tickets/{world.ticket_id}").text
    assert len(reads) == 2
    second = agent.get(f"/tickets/{world.ticket_id}").text

    assert len(reads) == 2  # nothing read again
    for page in (first, second):
        assert "2 remote images or other remote content blocked" in page
        assert page.count('/body"') == 2


def test_a_mail_body_is_a_sandboxed_document_that_runs_no_script(agent, world):
    response = agent.get(f"/messages/{world.message_id}/body")
    policy = response.headers["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy and "script-src" not in policy
    assert "<b>export</b>" in response.text


def test_downloads_are_attachments_never_sniffed_and_the_raw_message_is_the_archived_bytes(web, agent, world):
    raw = agent.get(f"/messages/{world.message_id}/raw")
    with web.app_context():
        archived = raw_store().get(db.session.get(Message, world.message_id).sha256)
    assert raw.data == archived
    assert raw.headers["Content-Disposition"] == f"attachment; filename=message-{world.message_id}.eml"
    assert raw.headers["X-Content-Type-Options"] == "nosniff"
    attachment = agent.get(f"/messages/{world.message_id}/attachments/{world.attachment_id}")
    assert attachment.data == b"a,b\r\n1,2\r\n"
    assert attachment.headers["Content-Disposition"] == "attachment; filename=export.csv"
    assert attachment.headers["X-Content-Type-Options"] == "nosniff"
    elsewhere = f"/messages/{world.unmatched_message_id}/attachments/{world.attachment_id}"
    assert agent.get(elsewhere).status_code == 404


def test_an_empty_mine_points_to_the_unassigned_tickets_and_take_assigns_one_in_a_click(agent, world):
    mine = agent.get("/tickets").text
    assert "Nothing is assigned to you, but 2 open tickets wait for someone" in mine
    assert 'href="/tickets?status=open&amp;queue=unassigned">see the unassigned tickets</a>' in mine

    unassigned = agent.get("/tickets?status=open&queue=unassigned").text
    assert f'action="/tickets/{world.ticket_id}/take"' in unassigned
    taken = submit(agent, "/tickets?status=open&queue=unassigned", f"/tickets/{world.ticket_id}/take",
                   {"next": "/tickets?status=open&queue=unassigned"})
    assert taken.status_code == 302 and taken.location == "/tickets?status=open&queue=unassigned"
    after = agent.get(taken.location).text
    assert f"Ticket #{world.ticket_id} is yours." in after
    assert f'href="/tickets/{world.ticket_id}"' not in after
    mine = agent.get("/tickets").text
    assert f'href="/tickets/{world.ticket_id}"' in mine and "Nothing is assigned to you" not in mine
    assert f'action="/tickets/{world.ticket_id}/take"' not in mine, "one's own tickets offer no Take"
    assert "Agent Person: assigned nobody → Agent Person" in agent.get(f"/tickets/{world.ticket_id}").text
    elsewhere = submit(agent, "/tickets", f"/tickets/{world.ticket_id}/take", {"next": "https://evil.example/"})
    assert elsewhere.location == "/tickets", "never sent off the site"


def test_notes_status_and_assignment_are_saved_and_shown_in_the_history(agent, world):
    ticket = f"/tickets/{world.ticket_id}"
    submit(agent, ticket, f"{ticket}/notes", {"text": "Customer called; checking the export."})
    submit(agent, ticket, f"{ticket}/status", {"status": "pending"})
    page = agent.get(ticket).text
    agent_id = re.search(r'<option value="(\d+)">Agent Person</option>', page).group(1)
    submit(agent, ticket, f"{ticket}/assign", {"assignee": agent_id})
    page = agent.get(ticket).text
    assert "Customer called; checking the export." in page
    assert "Agent Person: status open → pending" in page
    assert "Agent Person: assigned nobody → Agent Person" in page
    assert f"/tickets/{world.ticket_id}" in agent.get("/tickets?status=pending").text


def test_a_refused_change_says_why_and_changes_nothing(web, agent, world):
    ticket = f"/tickets/{world.ticket_id}"
    page = submit(agent, ticket, f"/messages/{world.message_id}/move", {"ticket": "999"},
                  follow_redirects=True).text
    assert "Not done: there is no ticket 999." in page
    page = submit(agent, ticket, f"{ticket}/notes", {"text": ""}, follow_redirects=True).text
    assert "Not done: Internal note: This field is required." in page
    with web.app_context():
        assert db.session.get(Ticket, world.ticket_id).events == []


def test_an_unmatched_message_is_linked_to_an_account_and_can_be_moved(web, agent, world):
    ticket = f"/tickets/{world.unmatched_ticket_id}"
    link = f"/messages/{world.unmatched_message_id}/link"
    asked = submit(agent, ticket, link, {"account": str(world.account_id)}).text
    assert ("Mail from someone@elsewhere.example will be linked to Leaky Widgets, whose domains are "
            "leaky.example.") in asked
    submit(agent, ticket, link, {"account": str(world.account_id), "confirmed": "yes"})
    assert "Leaky Widgets" in agent.get(ticket).text
    submit(agent, ticket, f"/messages/{world.unmatched_message_id}/move", {"ticket": str(world.ticket_id)})
    with web.app_context():
        message = db.session.get(Message, world.unmatched_message_id)
        assert (message.account_id, message.ticket_id) == (world.account_id, world.ticket_id)
        assert message.thread_reason == f"moved here from ticket {world.unmatched_ticket_id} by Agent Person"


def test_the_account_page_shows_contacts_approvers_tickets_and_record_counts(agent, world):
    page = re.sub(r"\s+", " ", agent.get(f"/accounts/{world.account_id}").text)
    assert 'boss@leaky.example <span class="badge badge-ok"' in page
    assert "ops@leaky.example</li>" in page
    assert f"/tickets/{world.ticket_id}" in page
    for kind in ("Jobs", "Tasks", "Todos", "Employees"):
        assert re.search(rf"<td>{kind}</td><td class=\"num\">1</td><td class=\"num\">\d+ B</td>", page), kind


def test_settings_are_checked_kept_and_used_in_the_next_session(web, agent, world):
    refused = submit(agent, "/settings", "/settings",
                     {"page_size": "2", "time_zone": "Mars/Olympus", "default_queue": "all"}).text
    assert "Number must be between 5 and 200." in refused
    submit(agent, "/settings", "/settings",
           {"page_size": "7", "time_zone": "Asia/Tokyo", "default_queue": "unmatched"})
    later = web.test_client()
    sign_in(later, "agent@desk.example")
    form = later.get("/settings").text
    assert 'value="7"' in form and 'value="Asia/Tokyo"' in form
    queue = later.get("/tickets").text
    assert 'aria-current="page">Unmatched mail' in queue
    assert "2026-01-01 16:02" in queue  # sent at 09:02 +02:00, which is 16:02 in Tokyo


def reply(agent, world, body="We fixed the export; please try again."):
    ticket = f"/tickets/{world.ticket_id}"
    return submit(agent, ticket, f"{ticket}/reply", {"body": body, "then_status": "pending"},
                  follow_redirects=True)


def test_a_reply_reaches_the_smtp_server_threaded_and_is_archived_in_the_ticket(
        web, agent, world, smtp_server):
    web.config["SMTP_URL"] = smtp_server.url
    page = reply(agent, world).text
    assert "Reply sent." in page
    received = smtp_server.wait_for(1)[0]
    sent = received.message()
    assert received.recipients == ("boss@leaky.example",)
    assert sent["In-Reply-To"] == "<html-1@leaky.example>"
    assert sent["References"] == "<html-1@leaky.example>"
    assert sent["Subject"] == f"Re: HTML message number 1 [SD-{world.ticket_id}]"
    assert sent["Message-ID"] and sent["From"] == "Agent Person <support@desk.example>"
    with web.app_context():
        ticket = db.session.get(Ticket, world.ticket_id)
        outbound = ticket.messages.filter_by(direction="outbound").one()
        assert raw_store().get(outbound.sha256) == factories.crlf(received.raw)
        assert ticket.status == "pending"
        assert [e.kind for e in ticket.events] == ["reply", "status"]


def test_an_unreachable_smtp_server_is_reported_and_nothing_is_archived(web, agent, world):
    web.config["SMTP_URL"] = "smtp://127.0.0.1:9"
    page = reply(agent, world).text
    assert "cannot be reached" in page and "the reply was not sent" in page
    web.config["SMTP_URL"] = None
    assert "outbound mail is not configured: set SMTP_URL" in reply(agent, world).text
    with web.app_context():
        ticket = db.session.get(Ticket, world.ticket_id)
        assert ticket.messages.count() == 1 and ticket.events == [] and ticket.status == "open"


def test_with_a_file_url_replies_are_written_to_the_folder_as_archived(web, agent, world, tmp_path):
    web.config["SMTP_URL"] = f"file://{tmp_path / 'outbox'}"
    assert "Reply sent." in reply(agent, world).text
    (written,) = (tmp_path / "outbox").iterdir()
    with web.app_context():
        outbound = db.session.query(Message).filter_by(direction="outbound").one()
        assert written.read_bytes() == raw_store().get(outbound.sha256)
        assert written.name.endswith(".eml")


def test_a_refusal_says_what_is_needed_and_leads_back_to_the_account_or_the_tickets(web, agent, world):
    records = agent.get(f"/accounts/{world.account_id}/records/jobs")
    page = records.text
    assert records.status_code == 403 and "request access on the account page" in page
    assert f'<a href="/accounts/{world.account_id}">Back to the account</a>' in page
    dashboard = agent.get("/manage/dashboard")
    assert dashboard.status_code == 403 and "for managers and administrators" in dashboard.text
    assert '<a href="/tickets">Go to the tickets</a>' in dashboard.text
    assert "sign-in page" not in dashboard.text
    stranger = web.test_client().get("/no-such-page")
    assert stranger.status_code == 404 and '<a href="/login">Go to the sign-in page</a>' in stranger.text


def test_the_reply_box_starts_by_quoting_the_message_it_answers(web, agent, world):
    page = agent.get(f"/tickets/{world.ticket_id}").text
    box = re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    with web.app_context():
        answered = db.session.get(Message, world.message_id)
        quoted_lines = [f"&gt; {line}".rstrip() for line in answered.body_text.strip().splitlines()]
    shown = box.removeprefix("\r\n")  # HTML drops a textarea's first line break
    assert re.match(r"\n\nOn \d{4}-\d\d-\d\d \d\d:\d\d UTC, .+ wrote:\n", shown)
    assert "\n".join(quoted_lines) in box and quoted_lines


def test_a_ticket_shows_beside_the_thread_what_the_agent_may_open_of_its_account(web, agent, world):
    side = agent.get(f"/tickets/{world.ticket_id}").text
    status = side[side.index('aria-label="Access to records"'):]
    assert "Business:\n        counts only" in status and "Personal:\n        counts only" in status

    with web.app_context():
        from app.access import grants, links
        from app.models import AccessRequest, utcnow

        request = db.session.get(AccessRequest, world.request_id)
        raw = links.new_token(db.session, request, "decide", "boss@leaky.example",
                              utcnow() + timedelta(hours=1))
        token = links.find_token(db.session, raw, "decide", utcnow())
        grants.decide(db.session, token, True, None, utcnow(), grants.AccessSettings())
        db.session.commit()
    side = agent.get(f"/tickets/{world.ticket_id}").text
    status = side[side.index('aria-label="Access to records"'):]
    for scope in ("Business", "Personal"):
        opened = rf"{scope}:\s+<strong>open to you</strong> until \S+ \S+ UTC \((59 min|1 h) left\)"
        assert re.search(opened, status)
    unmatched = agent.get(f"/tickets/{world.unmatched_ticket_id}").text
    assert 'aria-label="Access to records"' not in unmatched, "mail of no account opens no records"


@pytest.mark.parametrize("minutes, words", [(0, "0 min"), (45, "45 min"), (60, "1 h"), (239, "3 h 59 min"),
                                            (1440, "24 h"), (-5, "0 min")])
def test_durations_read_in_hours_and_minutes(minutes, words):
    from app.console.pages import duration

    assert duration(minutes) == words


def queue_row(page: str, ticket_id: int) -> str:
    """Return the text of a ticket's row in a queue page, tags removed."""
    row = re.search(rf'<tr>\s*<td class="num">#{ticket_id}</td>(.*?)</tr>', page, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", row).split())


def test_each_queue_row_shows_who_wrote_whose_turn_it_is_and_its_age(web, agent, world, smtp_server):
    row = queue_row(agent.get("/tickets?queue=all").text, world.ticket_id)
    assert "boss@leaky.example" in row and "you: first reply" in row
    assert re.search(r"opened \d+ days ago", row)

    web.config["SMTP_URL"] = smtp_server.url
    reply(agent, world)
    row = queue_row(agent.get("/tickets?queue=all&status=pending").text, world.ticket_id)
    assert "the customer" in row and "you:" not in row

    with web.app_context():
        factories.archived(db.session, factories.message(
            9, sender="boss@leaky.example", subject=f"Re: HTML message number 1 [SD-{world.ticket_id}]",
            body="Still broken, sorry."))
    row = queue_row(agent.get("/tickets?queue=all&status=open").text, world.ticket_id)
    assert "you: customer replied" in row

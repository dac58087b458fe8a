"""Composing a reply in the console, with scripts off: Cc and Bcc, files, the agent's
signature and saved replies, each reply reaching a real SMTP server on loopback and
archived in its ticket as sent.
"""

from __future__ import annotations

import html
import re
from io import BytesIO

import pytest

from app.extensions import db
from app.models import AuditEntry, Message, SavedReply, Ticket
from app.runtime import raw_store
from tests import factories
from tests.app import console_world
from tests.web import sign_in, submit

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\r\n%%EOF\n"  # every byte value, CR and LF as they are


@pytest.fixture
def world(web, smtp_server):
    web.config["SMTP_URL"] = smtp_server.url
    return console_world.build(web)


def client_of(web, who: str):
    client = web.test_client()
    sign_in(client, f"{who}@desk.example")
    return client


@pytest.fixture
def agent(web, world):
    return client_of(web, "agent")


def reply(client, world, *, body="We fixed the export.", files=(), **fields):
    ticket = f"/tickets/{world.ticket_id}"
    data = {"body": body, "then_status": "pending", **fields,
            "files": [(BytesIO(data), name) for name, data in files]}
    return submit(client, ticket, f"{ticket}/reply", data, content_type="multipart/form-data",
                  follow_redirects=True)


def field_errors(page: str) -> list[str]:
    return [html.unescape(e) for e in re.findall(r'<span class="field-error"[^>]*>([^<]*)</span>', page)]


def outbound(web) -> list[Message]:
    with web.app_context():
        return db.session.query(Message).filter_by(direction="outbound").all()


def test_cc_is_in_the_headers_and_bcc_only_in_the_envelope_and_the_history(web, agent, world, smtp_server):
    page = reply(agent, world, cc="ops@leaky.example, partner@else.example", bcc="boss2@desk.example").text
    assert "Reply sent." in page
    received = smtp_server.wait_for(1)[0]
    sent = received.message()
    assert set(received.recipients) == {"boss@leaky.example", "ops@leaky.example", "partner@else.example",
                                        "boss2@desk.example"}
    assert sent["To"] == "boss@leaky.example"
    assert sent["Cc"] == "ops@leaky.example, partner@else.example"
    assert sent["Bcc"] is None and b"boss2" not in received.raw
    (archived,) = outbound(web)
    with web.app_context():
        assert raw_store().get(archived.sha256) == factories.crlf(received.raw)
    assert "cc ops@leaky.example, partner@else.example" in page  # the reply in the thread
    assert ("Agent Person: reply sent to boss@leaky.example, cc ops@leaky.example, partner@else.example, "
            "bcc boss2@desk.example") in page


def test_each_bad_address_gets_its_sentence_beside_its_field_and_nothing_is_sent(
        web, agent, world, smtp_server):
    response = reply(agent, world, body="Keep these words.", cc="ops@leaky.example, not-an-address",
                     bcc="a@b@c.example")
    assert response.status_code == 400
    assert field_errors(response.text) == ["“not-an-address” is not an email address.",
                                           "“a@b@c.example” is not an email address."]
    assert "Keep these words." in response.text, "the reply is shown again, nothing lost"
    assert 'value="ops@leaky.example, not-an-address"' in response.text
    assert outbound(web) == [] and smtp_server.received == []


def test_files_go_with_their_exact_bytes_and_the_archived_reply_lists_them(web, agent, world, smtp_server):
    files = [("report.pdf", PDF), ("notes.txt", b"line one\nline two\r\nno end")]
    assert "Reply sent." in reply(agent, world, files=files).text
    received = smtp_server.wait_for(1)[0]
    attached = [(a.get_filename(), a.get_payload(decode=True)) for a in received.message().iter_attachments()]
    assert attached == files
    (archived,) = outbound(web)
    with web.app_context():
        raw = raw_store().get(archived.sha256)
        assert raw == factories.crlf(received.raw)
        from mailbox.parse import parse_message

        assert [a.filename for a in parse_message(raw).attachments] == ["report.pdf", "notes.txt"]
        rows = db.session.get(Message, archived.id).attachments
    page = agent.get(f"/tickets/{world.ticket_id}").text
    reply_article = page[page.index(f'id="m{archived.id}"'):]
    for row in rows:
        link = f"/messages/{archived.id}/attachments/{row.id}"
        assert link in reply_article
        assert agent.get(link).data == dict(files)[row.filename]


def test_files_over_the_limit_are_refused_in_one_sentence_and_nothing_is_sent(web, agent, world, smtp_server):
    web.config["REPLY_ATTACHMENT_MAX_MB"] = 1
    response = reply(agent, world, files=[("a.bin", b"x" * 700_000), ("b.bin", b"y" * 700_000)])
    assert response.status_code == 400
    assert field_errors(response.text) == [
        "The files come to 1.3 MiB together, more than the 1 MiB a reply may carry; nothing was sent."]
    assert "choose them again" in response.text
    assert outbound(web) == [] and smtp_server.received == []
    with web.app_context():
        assert db.session.get(Ticket, world.ticket_id).events == []


def test_the_signature_set_in_settings_is_noted_by_the_box_and_added_below_every_reply(
        web, agent, world, smtp_server):
    settings = {"page_size": "25", "time_zone": "UTC", "default_queue": "mine",
                "signature": "Agent Person\r\nLeaky support, +1 555 0100"}
    assert "Settings saved." in submit(agent, "/settings", "/settings", settings, follow_redirects=True).text
    box = agent.get(f"/tickets/{world.ticket_id}").text
    assert "Your signature is added below the reply:" in box and "Leaky support, +1 555 0100" in box
    reply(agent, world, body="Fixed now.")
    sent = smtp_server.wait_for(1)[0].message()
    text = sent.get_content().replace("\r\n", "\n")
    assert text == "Fixed now.\n\n-- \nAgent Person\nLeaky support, +1 555 0100\n"


def saved(web, author: str, title: str, body: str, shared: bool) -> int:
    client = client_of(web, author)
    data = {"title": title, "body": body, **({"shared": "y"} if shared else {})}
    response = submit(client, "/saved-replies", "/saved-replies", data, follow_redirects=True)
    assert f"Saved reply “{title}” added." in response.text
    with web.app_context():
        return db.session.query(SavedReply).filter_by(title=title).one().id


def test_shared_replies_are_seen_by_all_and_personal_ones_by_their_author_alone(web, world):
    shared = saved(web, "agent", "Export fixed", "The export is fixed.", shared=True)
    personal = saved(web, "agent", "My own", "Only mine.", shared=False)
    author, manager, other = client_of(web, "agent"), client_of(web, "manager"), client_of(web, "admin")

    own = author.get("/saved-replies").text
    assert "Export fixed" in own and "My own" in own
    listing = manager.get("/saved-replies").text
    assert "Export fixed" in listing and "My own" not in listing
    assert manager.get(f"/saved-replies/{personal}").status_code == 404
    change = {"title": "Hijacked", "body": "Mine now.", "shared": "y"}
    assert submit(manager, "/saved-replies", f"/saved-replies/{personal}", change).status_code == 404
    assert submit(other, "/saved-replies", f"/saved-replies/{personal}/delete").status_code == 404
    ticket = other.get(f"/tickets/{world.ticket_id}?saved_reply={personal}").text
    assert "Only mine." not in ticket and "My own" not in ticket

    # A manager may change a shared reply; the change is audited.
    changed = {"title": "Export fixed", "body": "The export is fixed for good."}
    response = submit(manager, "/saved-replies", f"/saved-replies/{shared}", {**changed, "shared": "y"})
    assert response.status_code == 302
    assert "The export is fixed for good." in other.get("/saved-replies").text
    with web.app_context():
        assert [e.action for e in db.session.query(AuditEntry).order_by(AuditEntry.id)
                if "saved reply" in e.action] == ["saved reply added", "saved reply changed"]
        assert db.session.get(SavedReply, personal).title == "My own"


def test_an_agent_cannot_change_another_agents_shared_reply(web, world):
    admin = client_of(web, "admin")
    shared = saved(web, "manager", "Greeting", "Hello!", shared=True)
    with web.app_context():
        factories.agent(db.session, "kim@desk.example", name="Kim Agent")
    kim = client_of(web, "kim")
    assert "Greeting" in kim.get("/saved-replies").text
    assert f'href="/saved-replies/{shared}"' not in kim.get("/saved-replies").text
    assert kim.get(f"/saved-replies/{shared}").status_code == 403
    change = {"title": "X", "body": "Y", "shared": "y"}
    refused = submit(kim, "/saved-replies", f"/saved-replies/{shared}", change)
    assert refused.status_code == 403
    assert submit(admin, "/saved-replies", f"/saved-replies/{shared}/delete").status_code == 302
    assert "Greeting" not in kim.get("/saved-replies").text


def test_a_saved_reply_fills_its_placeholders_in_the_reply_box(web, agent, world, smtp_server):
    chosen = saved(web, "agent", "Thanks", "Dear {customer_name}, ticket {ticket_number} is fixed.\n"
                                          "{agent_name}; {not a placeholder}", shared=False)
    page = agent.get(f"/tickets/{world.ticket_id}?saved_reply={chosen}").text
    box = html.unescape(re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', page, re.S).group(1))
    filled = (f"Dear boss@leaky.example, ticket {world.ticket_id} is fixed.\n"
              "Agent Person; {not a placeholder}\n\nOn ")
    assert box.lstrip("\r\n").startswith(filled)
    assert "wrote:\n> " in box  # the quote stays below
    assert f'data-text="Dear boss@leaky.example, ticket {world.ticket_id} is fixed.' in page


def test_an_unknown_placeholder_is_refused_on_save_in_one_sentence(web, agent, world):
    data = {"title": "Typo", "body": "Dear {custmer_name},"}
    response = submit(agent, "/saved-replies", "/saved-replies", data)
    assert response.status_code == 400
    assert field_errors(response.text) == [
        "{custmer_name} is not a placeholder the desk fills; "
        "use {customer_name}, {ticket_number}, {agent_name}."]
    with web.app_context():
        assert db.session.query(SavedReply).count() == 0

"""Calls, chats and meetings agents log from the console: archived as messages with the
identity, linking, threading, search and exports of mail, and kept as written. No route,
service or statement edits or deletes one; a correction is a new entry beside it.
"""

from __future__ import annotations

import csv
import io
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.models import Attachment, Message, Ticket, TicketEvent
from app.models.message import KEPT_AS_WRITTEN, EntryKeptAsWritten
from app.runtime import raw_store, search_index
from app.services import search as search_service
from app.services.tickets import move_message
from mailbox.stdlib import load as load_stdlib_mailbox
from tests import factories
from tests.web import form_token, sign_in

CALL = {"channel": "phone", "direction": "inbound", "name": "Ann Archer", "address": "ann@acme.example",
        "happened_at": "2026-01-05T10:30", "duration": "15",
        "text": "Ann called: the quarterly zebrafish export stops at row 500."}


@pytest.fixture
def world(web):
    """Acme with its contact Ann, a ticket from Ann's mail, an agent and a manager."""
    with web.app_context():
        session = db.session
        factories.account(session, "Acme Plumbing", domains=["acme.example"], contacts=["ann@acme.example"])
        mail = factories.archived(session, factories.message(1, sender="ann@acme.example",
                                                             subject="Export fails"))
        factories.agent(session, "sam@desk.example", name="Sam Agent")
        factories.agent(session, "mia@desk.example", name="Mia Manager", role="manager")
        return {"ticket": mail.ticket_id, "mail": mail.id, "account": mail.account_id,
                "mail_id_header": mail.message_id_header}


@pytest.fixture
def sam(web, world):
    client = web.test_client()
    assert sign_in(client, "sam@desk.example").status_code == 302
    return client


def log(client, action: str, page: str, fields: dict, files=()):
    data = {"csrf_token": form_token(client, page), **fields,
            "files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(action, data=data, content_type="multipart/form-data")


def log_call(client, world, fields=CALL, files=(("call-notes.txt", b"Row 500 holds a NUL byte."),)):
    ticket = world["ticket"]
    return log(client, f"/tickets/{ticket}/log", f"/tickets/{ticket}", fields, files)


def newest_entry(web) -> Message:
    with web.app_context():
        entries = select(Message).where(Message.channel != "email")
        found = db.session.scalar(entries.order_by(Message.id.desc()))
        db.session.expunge(found)
        return found


def test_a_logged_call_is_archived_as_a_message_threaded_into_its_ticket(web, world, sam):
    response = log_call(sam, world)

    call = newest_entry(web)
    assert response.status_code == 302
    assert response.location.endswith(f"/tickets/{world['ticket']}#m{call.id}")
    assert (call.channel, call.direction, call.duration_minutes) == ("phone", "inbound", 15)
    assert (call.ticket_id, call.account_id) == (world["ticket"], world["account"])
    assert call.from_addr == "ann@acme.example" and call.from_name == "Ann Archer"
    assert call.in_reply_to == world["mail_id_header"]
    with web.app_context():
        raw = raw_store().get(call.sha256)
        assert db.session.scalar(select(Attachment.filename).where(Attachment.message_id == call.id)) \
            == "call-notes.txt"
        events = select(TicketEvent.detail).where(TicketEvent.message_id == call.id)
        history = db.session.scalars(events).all()
    headers = message_from_bytes(raw, policy=default_policy)
    assert headers["X-Desk-Channel"] == "phone" and headers["X-Desk-Duration"] == "15 minutes"
    assert headers["X-Desk-Direction"] == "from the customer"
    assert headers["X-Desk-Logged-By"] == "Sam Agent <sam@desk.example>"
    assert headers["In-Reply-To"] == f"<{world['mail_id_header']}>"
    assert history == ["phone call from the customer logged"]

    page = sam.get(f"/tickets/{world['ticket']}").text
    assert "Phone call</span>" in page and "from the customer" in page and "15 min" in page
    assert "logged by Sam Agent" in page and "quarterly zebrafish export" in page
    assert f"/messages/{call.id}/attachments/" in page and "call-notes.txt" in page


def test_a_call_logged_on_an_account_opens_a_ticket_of_that_account(web, world, sam):
    account = world["account"]
    fields = {**CALL, "channel": "meeting", "direction": "outbound", "address": "", "duration": ""}
    response = log(sam, f"/accounts/{account}/log", f"/accounts/{account}", fields)

    meeting = newest_entry(web)
    assert response.status_code == 302
    assert meeting.ticket_id != world["ticket"] and meeting.account_id == account
    assert meeting.link_reason == "logged by Sam Agent on the account Acme Plumbing"
    assert meeting.subject == "Meeting with Ann Archer" and meeting.duration_minutes is None
    with web.app_context():
        raw = raw_store().get(meeting.sha256)
        assert db.session.get(Ticket, meeting.ticket_id).account_id == account
    assert message_from_bytes(raw, policy=default_policy)["To"] == "Ann Archer:;"
    assert "Meeting</span>" in sam.get(f"/tickets/{meeting.ticket_id}").text


@pytest.mark.parametrize(("changed", "sentence"), [
    ({"name": "", "address": ""}, "give the customer&#39;s name, address or both"),
    ({"address": "ann at acme"}, "&#39;ann at acme&#39; is not an email address"),
    ({"happened_at": "2999-01-01T10:00"}, "the time is in the future; give when it happened"),
    ({"text": ""}, "Notes or transcript: This field is required"),
])
def test_a_bad_entry_is_refused_with_one_sentence_and_nothing_is_archived(web, world, sam, changed, sentence):
    response = log_call(sam, world, {**CALL, **changed})
    assert response.status_code == 302
    page = sam.get(response.location).text
    assert "Not logged: " in page and sentence in page
    with web.app_context():
        assert db.session.scalar(select(Message.id).where(Message.channel != "email")) is None


def test_no_request_edits_or_deletes_an_archived_message(web, world, sam):
    log_call(sam, world)
    call = newest_entry(web)
    for url in (f"/messages/{call.id}", f"/messages/{world['mail']}"):
        for method in ("DELETE", "PUT", "PATCH"):
            response = sam.open(url, method=method, data={"csrf_token": form_token(sam, "/settings"),
                                                          "text": "rewritten"})
            assert response.status_code == 405 and response.headers["Allow"] == "GET"
            assert KEPT_AS_WRITTEN in response.text.replace("&#39;", "'")
    assert sam.get(f"/messages/{call.id}").location.endswith(f"/tickets/{world['ticket']}#m{call.id}")
    assert newest_entry(web).sha256 == call.sha256 and newest_entry(web).body_text == call.body_text


def test_no_code_path_changes_or_deletes_an_entry_in_the_database(web, world, sam):
    log_call(sam, world)
    call_id = newest_entry(web).id
    with web.app_context():
        session = db.session
        call = session.get(Message, call_id)
        call.body_text = "Ann never called."
        with pytest.raises(EntryKeptAsWritten):
            session.flush()
        session.rollback()
        session.delete(session.get(Message, call_id))
        with pytest.raises(EntryKeptAsWritten):
            session.flush()
        session.rollback()
        statements = [update(Message).where(Message.id == call_id).values(body_text="Ann never called."),
                      update(Message).where(Message.id == call_id).values(channel="email"),
                      update(Message).where(Message.id == world["mail"]).values(channel="phone"),
                      delete(Attachment).where(Attachment.message_id == call_id),
                      text("DELETE FROM message WHERE id = :id").bindparams(id=call_id)]
        for statement in statements:  # past the ORM, the database's triggers refuse
            with pytest.raises(DBAPIError, match="kept as written"):
                session.execute(statement)
            session.rollback()
        # Filing it elsewhere is not changing it: an entry moves to another ticket as mail does.
        other = factories.archived(session, factories.message(2, sender="ann@acme.example")).ticket_id
        kim = factories.agent(session, "kim@desk.example")
        move_message(session, session.get(Message, call_id), other, kim)
        session.commit()
        assert session.get(Message, call_id).ticket_id == other
        assert session.get(Message, call_id).body_text.startswith("Ann called")


def test_a_correction_names_the_entry_it_corrects_and_both_are_kept(web, world, sam):
    log_call(sam, world)
    original = newest_entry(web)
    page = sam.get(f"/tickets/{world['ticket']}").text
    assert f'action="/messages/{original.id}/correct"' in page and 'value="Ann Archer"' in page
    fixed = {**CALL, "duration": "25", "text": "Ann called: the export stops at row 5,000, not 500."}
    response = log(sam, f"/messages/{original.id}/correct", f"/tickets/{world['ticket']}", fixed)

    correction = newest_entry(web)
    assert response.status_code == 302 and correction.id != original.id
    assert correction.corrects_id == original.id and correction.ticket_id == original.ticket_id
    assert correction.duration_minutes == 25 and correction.in_reply_to == original.message_id_header
    with web.app_context():
        raw = raw_store().get(correction.sha256)
        kept = db.session.get(Message, original.id)
        assert (kept.sha256, kept.body_text, kept.duration_minutes) == (
            original.sha256, original.body_text, 15)
        assert raw_store().get(original.sha256)  # the original's bytes are still there
    corrects = message_from_bytes(raw, policy=default_policy)["X-Desk-Corrects"]
    assert corrects == f"<{original.message_id_header}>"
    page = sam.get(f"/tickets/{world['ticket']}").text
    assert f'Corrected by <a href="#m{correction.id}">' in page
    assert f'Corrects <a href="#m{original.id}">the entry {original.id}</a>' in page
    assert page.index(f'id="m{original.id}"') < page.index(f'id="m{correction.id}"')
    assert "row 500." in page and "row 5,000" in page


def test_mail_takes_no_correction(web, world, sam):
    mail, ticket = world["mail"], world["ticket"]
    response = log(sam, f"/messages/{mail}/correct", f"/tickets/{ticket}", CALL)
    page = sam.get(response.location, follow_redirects=True).text
    assert "Not logged: only logged calls, chats and meetings take corrections" in page
    with web.app_context():
        assert db.session.scalar(select(Message.id).where(Message.corrects_id.is_not(None))) is None


def contact(client, text_: str):
    page = client.get("/contact").text
    nonce = page.split('name="nonce" type="hidden" value="')[1].split('"')[0]
    return client.post("/contact", data={"csrf_token": form_token(client, "/contact"), "nonce": nonce,
                                         "name": "Ann Archer", "address": "ann@acme.example",
                                         "subject": "Invoices", "text": text_, "website": ""})


def test_logged_calls_and_contact_messages_are_searched_threaded_and_exported_as_mail(web, world, sam):
    log_call(sam, world)
    assert contact(web.test_client(), "Please resend the zebrafish invoices.").status_code == 302
    with web.app_context():
        call = db.session.scalar(select(Message).where(Message.channel == "phone"))
        sent = db.session.scalar(select(Message).where(Message.channel == "form"))
        ids = {"phone": call.id, "form": sent.id}
        assert sent.account_id == world["account"] and sent.link_reason.startswith("sender ann@acme.example")
        assert sent.ticket_id not in (None, world["ticket"])
        factories.index_queue(db.session)
        found = search_service.run_search(db.session, search_index(), "zebrafish", page=1, pagelen=20,
                                          sort="date")
        assert {hit.message_id for hit in found.hits} == set(ids.values())
        threaded = search_service.run_search(db.session, search_index(), f"ticket:{world['ticket']}",
                                             page=1, pagelen=20, sort="date")
        assert {hit.message_id for hit in threaded.hits} == {world["mail"], call.id}

    manager = web.test_client()
    sign_in(manager, "mia@desk.example")
    page = manager.get("/search?q=zebrafish").text
    assert "<strong>2</strong> messages match." in page
    assert f'href="/tickets/{world["ticket"]}#m{call.id}"' in page
    rows = list(csv.DictReader(io.StringIO(manager.get("/search.csv?q=zebrafish&use=team").text)))
    assert {(int(r["message_id"]), r["channel"]) for r in rows} == {(v, k) for k, v in ids.items()}
    box_path = Path(web.config["INSTANCE_PATH"]) / "export.mbox"
    box_path.write_bytes(manager.get("/search.mbox?q=zebrafish&use=team").data)
    box = load_stdlib_mailbox().mbox(str(box_path))
    assert sorted(m["X-Desk-Channel"] for m in box) == ["form", "phone"]
    exported_call = next(m for m in box if m["X-Desk-Channel"] == "phone")
    assert b"zebrafish export stops" in exported_call.get_payload(0).get_payload(decode=True)



def test_the_migration_down_and_up_again_keeps_mail_and_its_guard(app, session):
    from flask_migrate import downgrade, upgrade

    from app import MIGRATIONS

    mail = factories.archived(session, factories.message(1)).id
    session.commit()  # no transaction of ours may hold the table the migration alters
    downgrade(directory=MIGRATIONS, revision="5b7e2d9c41a8")
    upgrade(directory=MIGRATIONS)

    session.expire_all()
    assert session.get(Message, mail).channel == "email"
    with pytest.raises(DBAPIError, match="kept as written"):
        session.execute(update(Message).where(Message.id == mail).values(channel="phone"))
    session.rollback()
    if db.engine.dialect.name == "sqlite":  # the dashboard's expression indexes came back
        names = set(session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'index'")))
        assert {"ix_message_when", "ix_message_ticket_direction_when"} <= names

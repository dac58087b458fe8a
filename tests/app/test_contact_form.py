"""The public contact form: a visitor's message becomes an archived message and a ticket,
linked by the sender's address as mail is; the same form sent again archives nothing
more, robots that fill in the hidden field archive nothing, a post without a CSRF token
is refused, and one client address is rate-limited.
"""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Message, MessageLocation, Ticket
from app.runtime import now, raw_store
from app.services import contact
from tests import factories
from tests.web import form_token

NONCE = re.compile(r'name="nonce" type="hidden" value="([0-9a-f]{32})"')


@pytest.fixture
def acme(web):
    with web.app_context():
        return factories.account(db.session, "Acme Plumbing", domains=["acme.example"],
                                 contacts=["ann@acme.example"]).id


def filled_form(client, **changed) -> dict:
    """Return the contact form as a visitor fills it in, with the page's CSRF token and nonce."""
    page = client.get("/contact").text
    return {"csrf_token": form_token(client, "/contact"), "nonce": NONCE.search(page).group(1),
            "name": "Ann Archer", "address": "ann@acme.example", "subject": "Invoice copies",
            "text": "Please send me copies of the March invoices.", "website": "", **changed}


def counts(web) -> tuple[int, int]:
    with web.app_context():
        messages = db.session.scalar(select(func.count(Message.id)))
        return messages, db.session.scalar(select(func.count(Ticket.id)))


def test_a_visitors_message_becomes_a_ticket_linked_to_their_account(web, acme):
    client = web.test_client()
    response = client.post("/contact", data=filled_form(client))

    assert response.status_code == 302 and response.location == "/contact/sent"
    assert "Your message has reached the support team" in client.get("/contact/sent").text
    with web.app_context():
        sent = db.session.scalar(select(Message))
        assert (sent.channel, sent.direction, sent.account_id) == ("form", "inbound", acme)
        assert sent.link_reason == "sender ann@acme.example is a contact of Acme Plumbing"
        assert sent.ticket.subject == "Invoice copies" and sent.ticket.account_id == acme
        assert sent.from_name == "Ann Archer" and sent.body_text.startswith("Please send me copies")
        raw = raw_store().get(sent.sha256)
    assert b"X-Desk-Channel: form" in raw and b"To: support@desk.example" in raw


def test_200_rapid_posts_from_one_address_are_limited_and_archive_one_message(web, acme):
    client = web.test_client()
    form = filled_form(client)
    statuses = [client.post("/contact", data=form).status_code for _ in range(200)]

    assert statuses[:5] == [302] * 5 and set(statuses[5:]) == {429}
    assert "Too many requests from here" in client.post("/contact", data=form).text
    assert counts(web) == (1, 1)


def test_a_visitor_who_goes_back_and_changes_the_text_sends_a_second_message(web, acme):
    client = web.test_client()
    form = filled_form(client)
    client.post("/contact", data=form)
    client.post("/contact", data={**form, "text": "And the April ones, please."})
    assert counts(web) == (2, 2)


def test_a_filled_in_hidden_field_looks_sent_and_archives_nothing(web, acme):
    client = web.test_client()
    response = client.post("/contact", data=filled_form(client, website="https://spam.example"))
    assert response.status_code == 302 and response.location == "/contact/sent"
    assert counts(web) == (0, 0)


def test_a_post_without_a_csrf_token_is_refused(web, acme):
    client = web.test_client()
    form = filled_form(client)
    del form["csrf_token"]
    response = client.post("/contact", data=form)
    assert response.status_code == 400 and "security token is missing or has expired" in response.text
    assert counts(web) == (0, 0)


@pytest.mark.parametrize(("changed", "sentence"), [
    ({"address": "ann at acme"}, "give an email address we can answer at"),
    ({"nonce": "made-up"}, "this form is not one this site gave out"),
    ({"text": ""}, "fill in your name, email address, subject and message"),
])
def test_a_malformed_form_says_what_is_wrong_and_keeps_what_was_typed(web, acme, changed, sentence):
    client = web.test_client()
    response = client.post("/contact", data=filled_form(client, **changed))
    assert response.status_code == 400
    assert f"Not sent: {sentence}" in response.text and 'value="Invoice copies"' in response.text
    assert counts(web) == (0, 0)


def test_the_same_form_archived_by_two_requests_at_once_is_one_message(web, acme):
    sent = contact.ContactMessage("Ann Archer", "ann@acme.example", "Race", "Sent twice at once.")
    nonce, start, outcomes = contact.new_nonce(), threading.Barrier(2), []

    def archive_it() -> None:
        with web.app_context():
            start.wait()
            try:
                contact.archive_contact_message(db.session, raw_store(), nonce, sent, now=now(),
                                                support_address="support@desk.example", tag_prefix="SD")
                db.session.commit()
                outcomes.append("done")
            except Exception as exc:  # the loser's unique key, on PostgreSQL; SQLite serialises
                db.session.rollback()
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=archive_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert "done" in outcomes and set(outcomes) <= {"done", "IntegrityError", "OperationalError"}
    assert counts(web) == (1, 1)
    with web.app_context():
        assert contact.was_archived(db.session, nonce, sent)
        assert db.session.scalar(select(func.count(MessageLocation.id))) == 1

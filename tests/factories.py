"""Test data written by the tests: mail messages and configured accounts and mailboxes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from hashlib import sha256

from flask import current_app

from app.models import Message
from app.runtime import raw_store
from app.services.accounts import add_account
from app.services.agents import add_agent
from app.services.mailboxes import add_mailbox

PASSWORD_ENV = "DESK_TEST_IMAP_PASSWORD"
AGENT_PASSWORD = "correct horse battery staple"


def message(n: int = 0, *, sender: str = "alice@customer.example", subject: str | None = None,
            body: str | None = None, message_id: str | None = "default",
            in_reply_to: str | None = None, references: list[str] | None = None,
            headers: dict[str, str] | None = None) -> bytes:
    """Return one RFC 5322 message with CRLF line endings, as IMAP carries it."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@desk.example"
    msg["Subject"] = subject if subject is not None else f"Question number {n}"
    when = datetime(2026, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=2))) + timedelta(minutes=n)
    msg["Date"] = format_datetime(when)
    if message_id == "default":
        message_id = f"<test-{n}@customer.example>"
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body if body is not None else f"Body of message {n}: the invoice export fails.")
    return crlf(msg.as_bytes())


def bounce(original: bytes, recipient: str = "boss@leaky.example") -> bytes:
    """A delivery status report (RFC 3464) from a mail server, returning ``original`` whole."""
    return crlf(b"\r\n".join([
        b"From: MAILER-DAEMON@mx.leaky.example", b"To: support@desk.example",
        b"Subject: Undelivered Mail Returned to Sender", b"Message-ID: <bounce-1@mx.leaky.example>",
        b"MIME-Version: 1.0",
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"', b"",
        b"--B", b"Content-Type: text/plain", b"", b"Mailbox full.", b"", b"--B",
        b"Content-Type: message/delivery-status", b"", b"Reporting-MTA: dns; mx.leaky.example", b"",
        b"Final-Recipient: rfc822; " + recipient.encode(), b"Action: failed", b"Status: 5.2.2", b"",
        b"--B", b"Content-Type: message/rfc822", b"", original, b"--B--", b""]))


def crlf(raw: bytes) -> bytes:
    """Return bytes with every line ending as CRLF, the form IMAP servers store and serve."""
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")


def account(session, name: str = "Customer Co", domains=("customer.example",),
            contacts=(), approvers=()):
    """Create and commit an account."""
    acct = add_account(session, name, list(domains), list(contacts), list(approvers))
    session.commit()
    return acct


def imap_mailbox(session, dovecot, name: str = "support", folders=("INBOX",)):
    """Configure and commit a mailbox pointing at a test Dovecot."""
    from tests.dovecot import USER

    box = add_mailbox(session, name, host="127.0.0.1", port=dovecot.port, security="none",
                      username=USER, password_env=PASSWORD_ENV, folders=list(folders))
    session.commit()
    return box


def oauth_mailbox(session, dovecot, server, name: str = "cloud"):
    """Configure and commit an OAuth2 mailbox (not yet connected) of a Dovecot that checks the
    tokens of a loopback authorization server (``tests.oauth_server``)."""
    from app.runtime import secret_box
    from app.services.oauth import OAuthSettings
    from tests.dovecot import USER

    settings = OAuthSettings(client_id=server.client_id, client_secret=server.client_secret,
                             authorize_url=server.authorize_url, token_url=server.token_url,
                             device_url=server.device_url, scopes="imap smtp offline_access")
    box = add_mailbox(session, name, host="127.0.0.1", port=dovecot.port, security="none",
                      username=USER, folders=["INBOX"], kind="oauth2", oauth_settings=settings,
                      box=secret_box())
    session.commit()
    return box


def agent(session, email: str = "sam@desk.example", *, name: str = "Sam Agent", role: str = "agent",
          password: str = AGENT_PASSWORD):
    """Create and commit a console agent."""
    staff = add_agent(session, email, name, role, password)
    session.commit()
    return staff


def archived(session, raw: bytes, source: str | None = None, direction: str = "inbound") -> Message:
    """Archive one message through the ingestion entry point and commit, as the poller does."""
    from mailbox.ingest import Archiver, Seen

    archiver = Archiver(session, raw_store(), direction=direction,
                        tag_prefix=current_app.config["TICKET_TAG_PREFIX"])
    result = archiver.archive([(raw, Seen(source=source or f"test:{sha256(raw).hexdigest()}"))])
    session.commit()
    return session.get(Message, result.new_message_ids[0])


def html_message(n: int = 0, *, sender: str = "alice@customer.example", html: str = "<p>Hello</p>",
                 attachments: tuple[tuple[str, str, bytes], ...] = ()) -> bytes:
    """Return a message with a text and an HTML alternative, and (name, type, bytes) attachments."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@desk.example"
    msg["Subject"] = f"HTML message number {n}"
    msg["Date"] = format_datetime(datetime(2026, 2, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=n))
    msg["Message-ID"] = f"<html-{n}@{sender.rpartition('@')[2]}>"
    msg.set_content("The text version of the message.")
    msg.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return crlf(msg.as_bytes())


def records(session, account_name: str, **kinds) -> None:
    """Import records for an account, as `flask records import` does, and commit."""
    from app.services.records import import_records

    import_records(session, {"account": account_name, **kinds})
    session.commit()


def index_queue(session) -> int:
    """Index every message waiting for the index, as the worker does, attachment text included."""
    from app.runtime import search_index
    from app.services.indexing import index_pending

    index = search_index()
    index.acquire_writer()
    try:
        return index_pending(session, index, store=raw_store())
    finally:
        index.release_writer()


def index_document(n: int, **fields):
    """An index document written straight to a search index, without a database row: an
    inbound, unmatched message from Pat to support, with the fields given changed."""
    from app.search.index import IndexDocument

    defaults = dict(subject="", body="", sender="Pat pat@example.org", from_addr="pat@example.org",
                    to="support@desk.example", cc="", account="", account_id=None, mailboxes="",
                    ticket=None, date=datetime(2024, 1, 1), filenames="", unmatched=True,
                    quarantined=False, direction="inbound")
    return IndexDocument(id=n, **{**defaults, **fields})

"""The fixed test archive the query-language table runs against: sixteen messages from two
accounts and strangers, in two mailboxes, over four years, each known by a label.

Messages are archived through the ingestion entry point and indexed with
``index_pending``; the documents are then written once more with the ticket status and
the attachment text this archive states, so the table does not depend on how the
indexer reads attachments (its own tests cover that).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Message, Ticket
from app.runtime import raw_store
from app.services.indexing import documents_for, index_pending
from app.services.mailboxes import add_mailbox
from app.services.tickets import set_status
from tests import factories
from tests.conftest import app_settings, database_url, fresh_schema

MAIL = Path(__file__).resolve().parent.parent / "data" / "mail"


@dataclass(frozen=True)
class Spec:
    raw: bytes
    when: datetime | None  # UTC; None keeps the message's own (the quarantined one has none)
    mailboxes: tuple[str, ...] = ()
    status: str = ""  # set on the message's ticket
    attachment_text: str = ""


def _msg(n: int, sender: str, subject: str, body: str, **headers) -> bytes:
    reply, to = headers.pop("in_reply_to", None), headers.pop("To", None)
    raw = factories.message(n, sender=sender, subject=subject, body=body, in_reply_to=reply, headers=headers)
    if to:  # the factory writes the one To header; add a recipient to it
        raw = raw.replace(b"\r\nTo: support@desk.example\r\n",
                          f"\r\nTo: support@desk.example, {to}\r\n".encode())
    return raw


def _at(*parts: int) -> datetime:
    return datetime(*parts)


SPECS: dict[str, Spec] = {
    "acme_invoice": Spec(_msg(1, "Ann Archer <ann@acme.example>", "Invoice 1042 is wrong",
                              "The invoice export fails when the total has cents.",
                              Cc="billing@acme.example"),
                         _at(2024, 1, 15, 10), ("Support Desk",)),
    "acme_refund": Spec(_msg(2, "Bob Baker <bob@acme.example>", "Refund request",
                             "Please refund the duplicate payment for order 77.", Cc="Ann@Acme.example"),
                        _at(2024, 1, 31, 23, 30), ("sales",)),
    "acme_reply": Spec(_msg(3, "Ann Archer <ann@acme.example>", "Re: Invoice 1042 is wrong",
                            "Any news on the invoice export? It still fails.",
                            in_reply_to="<test-1@customer.example>"),
                       _at(2024, 2, 1), ("Support Desk", "sales")),
    "acme_files": Spec(factories.html_message(4, sender="carol@acme.example", html="<p>Measurements.</p>",
                                              attachments=(("Invoice_March.pdf", "application/pdf", b"%PDF-"),
                                                           ("notes.txt", "text/plain", b"flange gasket"))),
                       _at(2024, 2, 10, 12), attachment_text="flange gasket measurements"),
    "birch_order": Spec(_msg(5, "Dave Dunn <dave@birch.example>", "Order for sourdough starter",
                             "We would like to order twelve sourdough starter kits.",
                             To="orders@desk.example"),
                        _at(2024, 2, 14, 9), ("Support Desk",)),
    "birch_cafe": Spec(_msg(6, "Emma Éclair <emma@birch.example>", "Café menu",
                            "The café needs a new façade and a naïve menu."),
                       _at(2024, 3, 1)),
    "birch_closed": Spec(_msg(7, "dave@birch.example", "Thanks, all sorted",
                              "The delivery arrived; thank you for the help."),
                         _at(2024, 3, 20, 15), status="closed"),
    "birch_pending": Spec(_msg(8, "emma@birch.example", "Delivery delayed",
                               "Our delivery is delayed again, we are waiting for the courier.",
                               Cc="courier@parcels.example, ops@mail.birch.example"),
                          _at(2024, 4, 2, 8), status="pending"),
    "stranger_offer": Spec(_msg(9, "Zed Zimmer <zed@nowhere.example>", "Partnership offer",
                                "We offer a partnership on invoice factoring."),
                           _at(2024, 4, 15, 11)),
    "stranger_cv": Spec(factories.html_message(10, sender="yan@nowhere.example", html="<p>My CV.</p>",
                                               attachments=(("Résumé_Yan.docx", "application/msword",
                                                             b"PK\x03\x04"),)),
                        _at(2024, 5, 5, 10)),
    "acme_export": Spec(_msg(11, "ann@acme.example", "Export of data",
                             "Each export of an invoice now fails silently."),
                        _at(2024, 5, 20, 14)),
    "quarantined": Spec((MAIL / "not-an-email-binary.eml").read_bytes(), _at(2024, 6, 1, 12)),
    "acme_meeting": Spec(_msg(13, "bob@acme.example", "Meeting notes", "Notes from our meeting.",
                              Cc="ann@acme.example, board@birch.example"),
                         _at(2024, 6, 15, 16)),
    "acme_2025": Spec(_msg(14, "bob@acme.example", "Annual review",
                           "Time for the annual review of the service contract."),
                      _at(2025, 1, 10, 9)),
    "birch_2023": Spec(_msg(15, "dave@birch.example", "Opening hours",
                            "When are you open over the holidays?"),
                       _at(2023, 12, 24, 18)),
    "quote": Spec(_msg(16, "dave@birch.example", "Quote <script>",
                       "Prices & terms: <b>net 30</b> for the oven invoice."),
                  _at(2024, 7, 1, 9)),
}
ALL = frozenset(SPECS)


@dataclass
class Archive:
    """The indexed archive: its index, and the message and ticket ids of each label."""

    index: object
    ids: dict[str, int]
    tickets: dict[str, int | None]
    bodies: dict[int, str] = field(default_factory=dict)
    # The To and Cc the database keeps for each label.
    recipients: dict[str, tuple[str, str]] = field(default_factory=dict)

    def labels(self, ids) -> set[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return {by_id[i] for i in ids}


def build(backend: str, tmp_path: Path, request, specs: dict[str, Spec] | None = None,
          search: str = "whoosh") -> Archive:
    """Create an application on the database ``backend`` with the ``search`` backend, archive
    and index ``specs`` (by default ``SPECS``), and return the archive."""
    app = _application(backend, tmp_path, request, search)
    with app.app_context():
        try:
            return _fill(db.session, app.extensions["search_index"], SPECS if specs is None else specs)
        finally:
            db.session.remove()
            db.engine.dispose()


def _application(backend: str, tmp_path: Path, request, search: str):
    from app import create_app

    app = create_app(app_settings(database_url(backend, tmp_path, request), tmp_path, search))
    fresh_schema(app)
    return app


def _fill(session, index, specs: dict[str, Spec]) -> Archive:
    acme = factories.account(session, "Acme Plumbing", domains=("acme.example",))
    birch = factories.account(session, "Birch Bakery", domains=("birch.example",))
    folders = _mailboxes(session)
    staff = factories.agent(session)
    ids = {label: _archive(session, label, spec, folders) for label, spec in specs.items()}
    for label, spec in specs.items():
        message = session.get(Message, ids[label])
        if spec.status:
            set_status(session, session.get(Ticket, message.ticket_id), staff, spec.status)
    session.commit()
    index.acquire_writer()
    try:
        index_pending(session, index)
        index.write(_restated(session, ids, specs))
    finally:
        index.release_writer()
    messages = {label: session.get(Message, i) for label, i in ids.items()}
    if specs is SPECS:
        assert messages["acme_invoice"].account_id == acme.id
        assert messages["birch_order"].account_id == birch.id
    return Archive(index=index, ids=ids, tickets={k: m.ticket_id for k, m in messages.items()},
                   bodies={m.id: m.body_text for m in messages.values()},
                   recipients={k: (m.to_addrs, m.cc_addrs) for k, m in messages.items()})


def _mailboxes(session) -> dict[str, int]:
    folders = {}
    for name in ("Support Desk", "sales"):
        box = add_mailbox(session, name, host="imap.example", port=993, security="ssl",
                          username=name, password_env="UNUSED_PASSWORD", folders=["INBOX"])
        folders[name] = box.folders[0].id
    session.commit()
    return folders


def _archive(session, label: str, spec: Spec, folders: dict[str, int]) -> int:
    from mailbox.ingest import Archiver, Seen

    raw = _dated(spec.raw, spec.when) if spec.raw.startswith(b"From:") else spec.raw
    if not spec.mailboxes:
        message = factories.archived(session, raw, source=f"test:{label}")
    else:
        archiver = Archiver(session, raw_store(), tag_prefix=current_app.config["TICKET_TAG_PREFIX"])
        seen = [Seen(folder_id=folders[name], uidvalidity=1, uid=len(label) * 100 + n)
                for n, name in enumerate(spec.mailboxes)]
        archiver.archive([(raw, where) for where in seen])
        session.commit()
        message = session.scalar(select(Message).where(Message.sha256 == _sha(raw)))
    if message.date_utc is None:  # the quarantined message is dated by its archiving
        message.archived_at = spec.when
        session.commit()
    return message.id


def _dated(raw: bytes, when: datetime) -> bytes:
    stamp = format_datetime(when.replace(tzinfo=UTC)).encode()
    return re.sub(rb"^Date: [^\r\n]*", b"Date: " + stamp, raw, count=1, flags=re.M)


def _sha(raw: bytes) -> str:
    from hashlib import sha256

    return sha256(raw).hexdigest()


def _restated(session, ids: dict[str, int], specs: dict[str, Spec]):
    by_id = {v: k for k, v in ids.items()}
    for doc in documents_for(session, list(ids.values())):
        spec = specs[by_id[doc.id]]
        ticket = session.get(Ticket, session.get(Message, doc.id).ticket_id or -1)
        yield replace(doc, status=ticket.status if ticket else "", attachment_text=spec.attachment_text)

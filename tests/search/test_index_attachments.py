"""Text inside attachments is searchable: plain text in its declared charset, HTML as its
readable text, and PDF through pypdf; a broken PDF is archived and indexed without it.
"""

from __future__ import annotations

import logging
import re
from email.message import EmailMessage

import pytest
from whoosh.qparser import QueryParser

from app.runtime import raw_store, search_index
from app.search.extract import attachment_text, text_kind
from app.services.tickets import set_status
from tests import factories


def pdf_with_text(text: str) -> bytes:
    """Return a one-page PDF showing ``text`` in Helvetica: the smallest PDF that holds words."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def with_attachments(n: int, *parts: tuple[str, str, bytes | str, str | None]) -> bytes:
    """Return a message whose attachments are (file name, content type, content, charset)."""
    msg = EmailMessage()
    msg["From"] = "alice@customer.example"
    msg["To"] = "support@desk.example"
    msg["Subject"] = f"Attached files {n}"
    msg["Message-ID"] = f"<attached-{n}@customer.example>"
    msg.set_content("Please see the attached files.")
    for filename, content_type, content, charset in parts:
        maintype, _, subtype = content_type.partition("/")
        if isinstance(content, str):
            msg.add_attachment(content, subtype=subtype, charset=charset, filename=filename)
        else:
            msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return factories.crlf(msg.as_bytes())



def ids_matching(field: str, words: str) -> set[int]:
    with search_index().searcher() as searcher:
        query = QueryParser(field, searcher.schema).parse(words)
        return {hit["id"] for hit in searcher.search(query, limit=None)}


# Pure extraction: no application, no database.

def test_plain_text_attachments_are_read_in_their_declared_charset():
    raw = with_attachments(1, ("notes.txt", "text/plain", "Café ledger for Zoë", "iso-8859-1"))
    assert b'charset="iso-8859-1"' in raw
    found = attachment_text(raw)
    assert found.text.strip() == "Café ledger for Zoë"
    assert found.notes == []


def test_html_attachments_give_their_readable_text_without_markup_or_scripts():
    page = "<html><head><style>p{}</style></head><body><p>Hello <b>wombat</b></p>" \
           "<script>steal()</script></body></html>"
    found = attachment_text(with_attachments(1, ("page.html", "text/html", page, "utf-8")))
    assert "Hello wombat" in found.text
    assert "steal" not in found.text and "<b>" not in found.text


def test_pdf_attachments_give_their_text():
    found = attachment_text(with_attachments(1, ("report.pdf", "application/pdf",
                                                 pdf_with_text("Quarterly flamingo report"), None)))
    assert found.text.strip() == "Quarterly flamingo report"


@pytest.mark.parametrize("data", [b"", b"%PDF-1.4\nnothing else", b"\0" * 500,
                                  pdf_with_text("cut in half")[:150]],
                         ids=["empty", "header only", "zeros", "truncated"])
def test_a_broken_pdf_gives_no_text_and_a_note_never_an_exception(data):
    raw = with_attachments(1, ("broken.pdf", "application/pdf", data, None),
                           ("notes.txt", "text/plain", "the rest is still read", "utf-8"))
    found = attachment_text(raw)
    assert found.text.strip() == "the rest is still read"
    assert found.notes[0].startswith("broken.pdf: the PDF cannot be read")
    assert all(note.startswith("broken.pdf: pypdf warned") for note in found.notes[1:])


def test_what_pypdf_warns_of_a_damaged_pdf_is_one_note_naming_it_not_lines_in_the_log():
    good = pdf_with_text("Quarterly flamingo report")
    # Every object's offset in the cross-reference table one byte off: pypdf finds the
    # objects anyway, warning about each one.
    damaged = re.sub(rb"(\d{10}) 00000 n", lambda m: b"%010d 00000 n" % (int(m.group(1)) + 1), good)
    logged = RootRecords()
    root = logging.getLogger()
    root.addHandler(logged)
    try:
        found = attachment_text(with_attachments(1, ("report.pdf", "application/pdf", damaged, None)))
        assert logged.messages == []
        logging.getLogger("pypdf._reader").warning("read outside an extraction")
        assert logged.messages == ["read outside an extraction"]  # logged as before
    finally:
        root.removeHandler(logged)
    assert found.text.strip() == "Quarterly flamingo report"
    assert len(found.notes) == 1
    assert re.fullmatch(r"report\.pdf: pypdf warned \d+ times while reading it, first: .+", found.notes[0])


class RootRecords(logging.Handler):
    """What the process's log handlers receive (pytest's own capture aside)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("pypdf"):
            self.messages.append(record.getMessage())


def test_the_text_of_all_attachments_together_is_capped():
    raw = with_attachments(1, ("a.txt", "text/plain", "alpha " * 100, "utf-8"),
                           ("b.txt", "text/plain", "beta " * 100, "utf-8"))
    found = attachment_text(raw, max_chars=700)
    assert len(found.text) == 700
    assert found.text.startswith("alpha") and "beta" in found.text
    assert found.notes == ["attachment text cut to 700 characters"]


def test_the_body_and_attachments_without_text_are_not_read_as_attachment_text():
    raw = with_attachments(1, ("photo.png", "image/png", b"\x89PNG wombat", None))
    assert attachment_text(raw).text == ""
    assert text_kind("application/octet-stream", "Invoice.PDF") == "pdf"
    assert text_kind("application/octet-stream", "photo.jpg") is None
    assert text_kind("text/csv", "") == "text"


# Through the archive and the index, on both databases.

def test_attachment_text_is_found_through_the_index(session):
    plain = factories.archived(session, with_attachments(
        1, ("notes.txt", "text/plain", "Reconcile the Zoë ledger", "iso-8859-1")))
    html = factories.archived(session, with_attachments(
        2, ("page.html", "text/html", "<p>The <i>wombat</i> invoice</p>", "utf-8")))
    pdf = factories.archived(session, with_attachments(
        3, ("report.pdf", "application/pdf", pdf_with_text("Quarterly flamingo report"), None)))
    assert factories.index_queue(session) == 3

    assert ids_matching("attachments", "zoe ledger") == {plain.id}  # accents folded
    assert ids_matching("attachments", "wombat") == {html.id}
    assert ids_matching("attachments", "flamingos") == {pdf.id}  # stemmed
    assert ids_matching("body", "flamingo") == set()  # the body field holds only the body
    assert ids_matching("filename", "report.pdf") == {pdf.id}


def test_a_message_with_a_broken_pdf_is_archived_and_indexed_without_its_text(session):
    message = factories.archived(session, with_attachments(
        1, ("broken.pdf", "application/pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog", None)))
    assert not message.quarantined
    assert factories.index_queue(session) == 1
    session.refresh(message)
    assert message.indexed_at is not None
    assert ids_matching("filename", "broken.pdf") == {message.id}
    assert ids_matching("subject", "attached") == {message.id}


def test_a_missing_raw_file_costs_only_the_attachment_text(session):
    message = factories.archived(session, with_attachments(
        1, ("notes.txt", "text/plain", "okapi", "utf-8")))
    raw_store().path_for(message.sha256).unlink()
    assert factories.index_queue(session) == 1
    assert ids_matching("subject", "attached") == {message.id}
    assert ids_matching("attachments", "okapi") == set()


def test_the_index_holds_the_ticket_status_and_month(session):
    sam = factories.agent(session)
    message = factories.archived(session, factories.message(1))
    set_status(session, message.ticket, sam, "pending")
    session.commit()
    factories.index_queue(session)
    assert ids_matching("status", "pending") == {message.id}
    assert ids_matching("month", "2026-01") == {message.id}

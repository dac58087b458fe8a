"""The parser over the project's own quirk mail (tests/data/mail, one file per quirk) and
over the shared corpora: each field as a reader of the message would see it, and a
readable ``ParseError`` only for bytes that hold no message at all.
"""

from __future__ import annotations

import email
import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailbox.parse import AttachmentInfo, ParseError, attachment_payload, parse_message
from tests.factories import crlf
from tests.parts import corpus_folder

MAIL = Path(__file__).resolve().parent.parent / "data" / "mail"

INVOICE_PDF = b"%PDF-1.4\n% invoice March 2026 for Acme Plumbing\n%%EOF\n"
# The last line break before a missing closing boundary counts as the boundary's, as usual.
EXPORT_CSV = b"date,amount\n2026-03-01,10"
RETURNED_HEADERS = (b"From: support@desk.example\nTo: nobody@acme.example\n"
                    b"Subject: Re: Invoice export fails\nMessage-ID: <answer-1@desk.example>\n")


def attachment(filename: str, content_type: str, data: bytes) -> AttachmentInfo:
    return AttachmentInfo(filename, content_type, len(data), hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class Expected:
    subject: str
    from_addr: str
    date_utc: datetime | None
    offset_minutes: int | None
    message_id: str | None
    from_name: str = ""
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    text_has: tuple[str, ...] = ()
    text_lacks: tuple[str, ...] = ()
    attachments: tuple[AttachmentInfo, ...] = ()
    auto_reason: str | None = None
    report_refs: tuple[str, ...] = ()
    defects_include: tuple[str, ...] = ()


CASES = {
    "latin1-labelled-utf8-body.eml": Expected(
        subject="Export bricht ab", from_addr="juergen@acme.example", from_name="Jürgen Müller",
        date_utc=datetime(2026, 3, 2, 9, 15), offset_minutes=60,
        message_id="latin1-label-1@acme.example",
        text_has=("Grüße aus München", "für März endet am 14. – bitte prüfen"),
        text_lacks=("Ã",),  # UTF-8 read as Latin-1 shows up as "GrÃ¼ÃŸe"
    ),
    "gb2312-subject-encoded-word.eml": Expected(
        subject="发票问题：三月的导出不完整", from_addr="zhang.wei@acme.example",
        from_name="Zhang Wei 张伟", date_utc=datetime(2026, 3, 3, 0, 0), offset_minutes=480,
        message_id="gb2312-subject-1@acme.example", text_has=("the March export is incomplete",),
    ),
    "missing-message-id.eml": Expected(
        subject="Sent by a script that sets no Message-ID", from_addr="pat@acme.example",
        from_name="Pat Owner", date_utc=datetime(2026, 3, 4, 9, 0), offset_minutes=0,
        message_id=None, text_has=("without a Message-ID header",),
    ),
    "duplicate-message-id-a.eml": Expected(
        subject="Reused Message-ID (a)", from_addr="pat@acme.example", from_name="Pat Owner",
        date_utc=datetime(2026, 3, 5, 9, 0), offset_minutes=0,
        message_id="same-id-every-time@broken-mailer.example",
        text_has=("First message that reuses the ID.",),
    ),
    "duplicate-message-id-b.eml": Expected(
        subject="Reused Message-ID (b)", from_addr="pat@acme.example", from_name="Pat Owner",
        date_utc=datetime(2026, 3, 5, 9, 5), offset_minutes=0,
        message_id="same-id-every-time@broken-mailer.example",
        text_has=("Second, different message that reuses the same ID.",),
    ),
    "missing-date.eml": Expected(
        subject="No Date header at all", from_addr="pat@acme.example",
        date_utc=None, offset_minutes=None, message_id="missing-date-1@acme.example",
        text_has=("carries no Date header",),
    ),
    "date-with-offset.eml": Expected(
        subject="Sent from Bangalore", from_addr="priya@acme.example", from_name="Priya Raman",
        date_utc=datetime(2026, 3, 3, 9, 0), offset_minutes=330,
        message_id="date-offset-1@acme.example", in_reply_to=("answer-7@desk.example",),
        references=("question-7@acme.example", "answer-7@desk.example"),
        text_has=("India Standard Time",),
    ),
    "date-with-negative-half-hour-offset.eml": Expected(
        subject="Sent from St. John's", from_addr="liam@acme.example", from_name="Liam Walsh",
        date_utc=datetime(2026, 3, 1, 2, 15), offset_minutes=-210,
        message_id="date-offset-2@acme.example", text_has=("crosses midnight UTC",),
    ),
    "obsolete-space-before-colon.eml": Expected(
        subject="Old mailer puts a space before the colon", from_addr="old@acme.example",
        from_name="Old Mailer", date_utc=datetime(2026, 3, 2, 11, 0), offset_minutes=0,
        message_id="obsolete-syntax-1@acme.example",
        text_has=("RFC 5322 section 4.5",), text_lacks=("Subject :",),
        defects_include=("ObsoleteHeaderSyntax",),
    ),
    "obsolete-space-before-colon-after-first-field.eml": Expected(
        subject="Only the later fields have a space before the colon", from_addr="old@acme.example",
        from_name="Old Mailer", date_utc=datetime(2026, 3, 2, 11, 5), offset_minutes=0,
        message_id="obsolete-syntax-2@acme.example",
        text_has=("The first field is well formed",), text_lacks=("Subject :", "Message-ID :"),
    ),
    "broken-multipart-boundary.eml": Expected(
        subject="The closing boundary never comes", from_addr="pat@acme.example",
        date_utc=datetime(2026, 3, 2, 12, 0), offset_minutes=0,
        message_id="broken-boundary-1@acme.example",
        text_has=("The text part is complete",), text_lacks=("This is a multi-part message",),
        attachments=(attachment("export.csv", "text/csv", EXPORT_CSV),),
        defects_include=("CloseBoundaryNotFoundDefect",),
    ),
    "multipart-boundary-never-appears.eml": Expected(
        subject="The declared boundary is not in the body", from_addr="pat@acme.example",
        date_utc=datetime(2026, 3, 2, 12, 30), offset_minutes=0,
        message_id="broken-boundary-2@acme.example",
        text_has=("Customers still need to read this text.",),
        defects_include=("StartBoundaryNotFoundDefect",),
    ),
    "html-only-with-script.eml": Expected(
        subject="HTML only, with a script", from_addr="news@acme.example",
        from_name="Newsletter Bot", date_utc=datetime(2026, 3, 2, 13, 0), offset_minutes=0,
        message_id="html-only-1@acme.example",
        text_has=("Your invoice is ready.", "Amount due: 42 EUR"),
        text_lacks=("document.cookie", "script in the body", "color: red", "Page title", "<p>"),
    ),
    "attachment-rfc2231-filename.eml": Expected(
        subject="Invoice attached", from_addr="pat@acme.example",
        date_utc=datetime(2026, 3, 2, 14, 0), offset_minutes=0, message_id="rfc2231-1@acme.example",
        text_has=("Please find the invoice attached.",), text_lacks=("JVBERi0",),
        attachments=(attachment("Rechnung März 2026.pdf", "application/pdf", INVOICE_PDF),),
    ),
    "auto-submitted-auto-replied.eml": Expected(
        subject="Out of office: Re: Invoice export fails", from_addr="pat@acme.example",
        from_name="Pat Owner", date_utc=datetime(2026, 3, 2, 15, 0), offset_minutes=0,
        message_id="ooo-1@acme.example", in_reply_to=("answer-1@desk.example",),
        references=("question-1@acme.example", "answer-1@desk.example"),
        text_has=("out of the office",), auto_reason="Auto-Submitted: auto-replied",
    ),
    "delivery-status-report-bounce.eml": Expected(
        subject="Undelivered Mail Returned to Sender", from_addr="mailer-daemon@mx.acme.example",
        from_name="Mail Delivery System", date_utc=datetime(2026, 3, 2, 16, 0), offset_minutes=0,
        message_id="bounce-1@mx.acme.example",
        text_has=("could not be delivered to nobody@acme.example",),
        attachments=(attachment("", "text/rfc822-headers", RETURNED_HEADERS),),
        auto_reason="delivery status report (bounce)", report_refs=("answer-1@desk.example",),
    ),
    "delivery-status-report-returned-message.eml": Expected(
        subject="Delivery Status Notification (Failure)", from_addr="postmaster@mx.acme.example",
        date_utc=datetime(2026, 3, 2, 16, 30), offset_minutes=0,
        message_id="bounce-2@mx.acme.example",
        text_has=("failed permanently: gone@acme.example",),
        auto_reason="delivery status report (bounce)", report_refs=("answer-1@desk.example",),
    ),
    "nul-bytes-in-body.eml": Expected(
        subject="A body with NUL bytes", from_addr="pat@acme.example",
        date_utc=datetime(2026, 3, 2, 17, 0), offset_minutes=0,
        message_id="nul-bytes-1@acme.example", text_has=("Before the NUL", "after the NUL."),
    ),
}

NOT_MESSAGES = {
    "empty.eml": "the message is empty",
    "not-an-email-binary.eml": "does not look like an email message",
}

KNOWN_BUGS: dict[str, str] = {}


def quirk_cases() -> list:
    return [
        pytest.param(name, expected, id=name.removesuffix(".eml"),
                     marks=[pytest.mark.xfail(reason=KNOWN_BUGS[name], strict=True)]
                     if name in KNOWN_BUGS else [])
        for name, expected in CASES.items()
    ]


def as_read(parsed) -> dict:
    """The fields of a parsed message, in the shape of ``Expected``, for one whole comparison."""
    return {
        "subject": parsed.subject,
        "from_addr": parsed.from_addr,
        "from_name": parsed.from_name,
        "date_utc": parsed.date_utc,
        "offset_minutes": parsed.date_offset_minutes,
        "message_id": parsed.message_id,
        "in_reply_to": parsed.in_reply_to,
        "references": parsed.references,
        "attachments": tuple(parsed.attachments),
        "auto_reason": parsed.auto_reason,
        "report_refs": parsed.report_refs,
    }


@pytest.mark.parametrize(("name", "expected"), quirk_cases())
def test_each_quirk_message_parses_to_what_its_reader_sees(name, expected):
    parsed = parse_message((MAIL / name).read_bytes())

    wanted = {key: value for key, value in expected.__dict__.items()
              if key not in ("text_has", "text_lacks", "defects_include")}
    assert as_read(parsed) == wanted
    assert [s for s in expected.text_has if s not in parsed.text] == []
    assert [s for s in expected.text_lacks if s in parsed.text] == []
    assert [d for d in expected.defects_include if d not in parsed.defects] == []


@pytest.mark.parametrize(("name", "reason"), NOT_MESSAGES.items())
def test_bytes_that_hold_no_message_raise_parse_error_with_a_readable_reason(name, reason):
    with pytest.raises(ParseError) as caught:
        parse_message((MAIL / name).read_bytes())

    assert reason in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_every_file_of_test_mail_has_an_expectation_in_this_table():
    on_disk = {p.name for p in MAIL.iterdir()}

    assert on_disk == set(CASES) | set(NOT_MESSAGES)


@pytest.mark.parametrize("corpus", ["parser-tests", "spamassassin"])
def test_every_corpus_message_parses_or_raises_parse_error_with_a_reason(corpus):
    folder = corpus_folder(corpus)
    unexpected = []
    for path in sorted(folder.iterdir()):
        try:
            parse_message(path.read_bytes())
        except ParseError as exc:
            if not str(exc).strip():
                unexpected.append((path.name, "ParseError without a reason"))
        except Exception as exc:  # the point of the test: nothing else may escape
            unexpected.append((path.name, f"{type(exc).__name__}: {exc}"))

    assert unexpected == []


LOGO_PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR logo of Acme Plumbing"
NOTES_TXT = b"Meter readings\r\n2026-03-01: 4711\r\n"


def message_with_attachments() -> bytes:
    """An HTML mail with an inline logo, a PDF invoice and a text file, as mail clients send it."""
    msg = EmailMessage()
    msg["From"] = "pat@acme.example"
    msg["To"] = "support@desk.example"
    msg["Subject"] = "Invoice and meter readings"
    msg["Message-ID"] = "<attachments-1@acme.example>"
    msg.set_content("The invoice and the readings are attached.")
    msg.add_alternative('<p>The invoice is attached.</p><img src="cid:logo@acme.example">', subtype="html")
    msg.get_payload()[1].add_related(LOGO_PNG, "image", "png", cid="<logo@acme.example>")
    msg.add_attachment(INVOICE_PDF, "application", "pdf", filename="invoice.pdf")
    msg.add_attachment(NOTES_TXT, "text", "plain", filename="readings.txt")
    return crlf(msg.as_bytes())


def test_each_listed_attachment_payload_is_found_by_its_hash():
    raw = message_with_attachments()
    listed = parse_message(raw).attachments

    assert [(a.filename, a.content_type) for a in listed] == [
        ("", "image/png"), ("invoice.pdf", "application/pdf"), ("readings.txt", "text/plain"),
    ]
    assert [attachment_payload(raw, a.sha256) for a in listed] == [LOGO_PNG, INVOICE_PDF, NOTES_TXT]


def test_an_attachment_hash_is_matched_in_upper_case_too():
    raw = message_with_attachments()

    assert attachment_payload(raw, hashlib.sha256(INVOICE_PDF).hexdigest().upper()) == INVOICE_PDF


def test_a_hash_no_attachment_has_finds_nothing():
    raw = message_with_attachments()

    assert attachment_payload(raw, hashlib.sha256(b"something else").hexdigest()) is None
    assert attachment_payload(raw, "not a hash") is None


def test_the_body_text_is_not_served_as_an_attachment():
    raw = message_with_attachments()
    body_payloads = [part.get_payload(decode=True) for part in email.message_from_bytes(raw).walk()
                     if part.get_content_type() in ("text/plain", "text/html") and not part.get_filename()]

    assert len(body_payloads) == 2
    assert [attachment_payload(raw, hashlib.sha256(p).hexdigest()) for p in body_payloads] == [None, None]


def test_bytes_that_hold_no_message_have_no_attachments():
    assert attachment_payload(b"", hashlib.sha256(b"").hexdigest()) is None
    assert attachment_payload((MAIL / "not-an-email-binary.eml").read_bytes(), "0" * 64) is None


@pytest.mark.parametrize("name", [n for n, e in CASES.items() if e.attachments])
def test_every_attachment_of_quirk_mail_is_found_by_its_hash(name):
    raw = (MAIL / name).read_bytes()

    for info in parse_message(raw).attachments:
        payload = attachment_payload(raw, info.sha256)
        assert payload is not None
        assert (len(payload), hashlib.sha256(payload).hexdigest()) == (info.size, info.sha256)


@pytest.mark.parametrize(("header", "subject"), [
    # A mailer folds after an encoded word; the plain word on the next line is a word of its own.
    (b"power =?utf-8?q?na=C3=AFve_**r=C3=A9sum=C3=A9**?=\r\n **power**", "power naïve **résumé** **power**"),
    (b"=?iso-8859-1?q?caf=E9?=\r\n\tmenu", "café menu"),
    # White space between two encoded words is not text (RFC 2047 section 6.2).
    (b"=?utf-8?q?caf=C3=A9?=\r\n =?utf-8?q?_menu?=", "café menu"),
])
def test_a_header_folded_after_an_encoded_word_keeps_the_space_the_fold_stands_for(header, subject):
    raw = b"From: kim@words.example\r\nSubject: " + header + b"\r\n\r\nBody.\r\n"

    assert parse_message(raw).subject == subject


def test_every_address_of_a_header_of_twenty_thousand_characters_is_read():
    addresses = [f"reader{n}@copies.example" for n in range(800)]
    raw = ("From: kim@words.example\r\nTo: " + ",\r\n ".join(addresses) + "\r\n\r\nBody.\r\n").encode()

    assert len(raw) > 20_000
    assert parse_message(raw).to == tuple(addresses)


def test_addresses_written_without_commas_are_each_read():
    raw = b"From: tim@power.example\r\nTo: tim@power.example ops@power.example\r\n\r\nBody.\r\n"

    assert parse_message(raw).to == ("tim@power.example", "ops@power.example")


def test_a_subject_with_one_broken_character_is_read_in_its_declared_charset():
    # Big5 with the second byte of one character missing, as a real spam mailer sent it.
    subject = "我知道你需要更多機會,一來吧!"
    encoded = subject.encode("big5").replace("一".encode("big5"), "一".encode("big5")[:1] + b" ")
    raw = (b"From: a@b.example\r\nSubject: =?big5?B?" + __import__("base64").b64encode(encoded)
           + b"?=\r\n\r\nBody.\r\n")

    read = parse_message(raw).subject
    assert read.startswith("我知道你需要更多機會,") and read.endswith("來吧!")

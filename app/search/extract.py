"""The searchable text of a message's attachments: text/*, HTML and PDF.

Pure: raw message bytes in, text and notes out, no Flask and no I/O.  Attachments are
hostile input like the rest of mail, so nothing here raises on a broken part: a part
that cannot be read gives no text and a note saying why.  PDFs are read with pypdf,
within limits of pages, characters and time, so one huge or pathological file can
neither fill memory nor hold up the indexing of the mail behind it.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message

from mailbox.parse import ParseError, attachment_parts
from mailbox.text import decode_bytes, html_to_text

# The same cap as a message's body text (mailbox.parse.MAX_TEXT_CHARS), for all of a
# message's attachments together; the raw bytes keep everything.
MAX_CHARS = 1_000_000
MAX_PDF_PAGES = 500
# Per PDF: a page is never interrupted, so one page may overrun this a little.
PDF_SECONDS = 10.0
# Labels mailers put on any file; the file name then says what it is.
_GENERIC_TYPES = frozenset((
    "application/octet-stream", "application/x-download", "application/force-download",
    "application/download", "application/unknown", "binary/octet-stream",
))
_HTML_TYPES = frozenset(("text/html", "application/xhtml+xml"))
_TEXT_SUFFIXES = (".txt", ".text", ".csv", ".log", ".md", ".ics", ".vcf")


@dataclass
class AttachmentText:
    text: str = ""
    notes: list[str] = field(default_factory=list)


def text_kind(content_type: str, filename: str) -> str | None:
    """Return how an attachment's text is read ("pdf", "html", "text"), or None if it holds none."""
    ctype, name = content_type.lower(), filename.lower()
    generic = ctype in _GENERIC_TYPES
    if ctype == "application/pdf" or (generic and name.endswith(".pdf")):
        return "pdf"
    if ctype in _HTML_TYPES or (generic and name.endswith((".html", ".htm"))):
        return "html"
    if ctype.startswith("text/") or (generic and name.endswith(_TEXT_SUFFIXES)):
        return "text"
    return None


def attachment_text(raw: bytes, max_chars: int = MAX_CHARS) -> AttachmentText:
    """Return the text of the message's attachments that hold text, at most ``max_chars``."""
    found = AttachmentText()
    texts: list[str] = []
    left = max_chars
    try:
        for part, name in attachment_parts(raw):
            text = _part_text(part, name, left, found.notes)
            if not text.strip():
                continue
            if len(text) >= left:
                texts.append(text[:left])
                found.notes.append(f"attachment text cut to {max_chars} characters")
                break
            texts.append(text)
            left -= len(text) + 1
    except ParseError as exc:
        found.notes.append(str(exc))
    found.text = "\n".join(texts)
    return found


def _part_text(part: Message, name: str, limit: int, notes: list[str]) -> str:
    try:
        kind = text_kind(part.get_content_type(), name)
        if kind is None:
            return ""
        payload = part.get_payload(decode=True) or b""
        if kind == "pdf":
            return _pdf_text(payload, limit, name or "a PDF attachment", notes)
        text, _note = decode_bytes(payload, part.get_content_charset())
        return html_to_text(text) if kind == "html" else text
    except Exception as exc:  # one unreadable part must not cost the text of the others
        notes.append(f"attachment {name or part.get_content_type()} cannot be read: {exc}")
        return ""


def _pdf_text(data: bytes, limit: int, name: str, notes: list[str]) -> str:
    # pypdf raises many kinds of exception on broken files (its own PdfReadError, but
    # also ValueError, KeyError, RecursionError...): every one of them means "no text".
    from pypdf import PdfReader  # here, not at the top: every `flask` command would load it

    with _pypdf_warnings() as warnings:
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                notes.append(f"{name}: the PDF needs a password; its text is not indexed")
                return ""
            return _pages_text(reader, limit, name, notes)
        except Exception as exc:
            notes.append(f"{name}: the PDF cannot be read ({type(exc).__name__}: {exc})")
            return ""
        finally:
            if warnings:
                times = "once" if len(warnings) == 1 else f"{len(warnings)} times"
                notes.append(f"{name}: pypdf warned {times} while reading it, first: {warnings[0]}")


class _PdfWarnings(logging.Handler):
    """pypdf's log records: the notes of the PDF this thread is reading, if it is reading one.

    pypdf logs a warning for each flaw it reads past in a damaged file, dozens for one
    attachment, which filled the worker's log (379 of 407 lines over an import of 30,000
    messages). While ``_pypdf_warnings`` collects in a thread, that thread's records
    become one note about the file; every other record goes on to the root logger's
    handlers, as if the ``pypdf`` logger still propagated.
    """

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        collected = getattr(self.local, "messages", None)
        if collected is None:
            logging.getLogger().handle(record)
        else:
            collected.append(record.getMessage())


_PDF_WARNINGS = _PdfWarnings()


@contextmanager
def _pypdf_warnings() -> Iterator[list[str]]:
    """Collect what pypdf logs in this thread while the block runs."""
    logger = logging.getLogger("pypdf")
    if _PDF_WARNINGS not in logger.handlers:
        logger.addHandler(_PDF_WARNINGS)
        logger.propagate = False
    messages: list[str] = []
    _PDF_WARNINGS.local.messages = messages
    try:
        yield messages
    finally:
        _PDF_WARNINGS.local.messages = None


def _pages_text(reader, limit: int, name: str, notes: list[str]) -> str:
    parts: list[str] = []
    size = 0
    deadline = time.monotonic() + PDF_SECONDS
    for number, page in enumerate(reader.pages):
        if number >= MAX_PDF_PAGES or time.monotonic() > deadline:
            notes.append(f"{name}: only the first {number} pages are indexed")
            break
        try:
            text = page.extract_text() or ""
        except Exception as exc:  # one broken page must not cost the others
            notes.append(f"{name}: page {number + 1} cannot be read ({type(exc).__name__})")
            continue
        parts.append(text)
        size += len(text) + 1
        if size >= limit:
            break
    return "\n".join(parts)[:limit]

"""Strings in a message that could be the secret of a customer link.

Customer links (``/customer/decide/<token>``) carry 43 characters of URL-safe base64
(``secrets.token_urlsafe(32)``). A link reaches the archive in an approver's reply that
quotes our email, a forwarded copy, a bounce that returns the original: once archived,
any agent could read it, so the archive must recognise it, whatever became of the text
on the way. ``TokenFinder`` is fed the text of every part of a message after its
transfer encoding (quoted-printable, base64) and charset are undone, and collects each
43-character stretch that could be a token, in that text and in the same text with HTML
tags removed, entities and %-escapes undone, and lines joined where a mail client broke
a long line inside a quote (``> ``). It does not know which tokens exist: the archive compares
the hashes of these candidates with those of the links it sent (``app.services.leaks``).

Pure: the standard library only, no I/O.
"""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

TOKEN_LENGTH = 43  # secrets.token_urlsafe(32): 256 bits in URL-safe base64, unpadded
_RUN = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_LENGTH},}}")
_RUN_BYTES = re.compile(rb"[A-Za-z0-9_-]{%d,}" % TOKEN_LENGTH)  # noqa: UP031 (bytes have no f-strings)
# A line break with the white space before it and the quote marks and white space after
# it: joining across these puts back together a link that a client broke inside a quote.
_BREAK = re.compile(r"[ \t]*\r?\n[> \t]*")
_TAG = re.compile(r"<[^<>]*>")
# Up to this run length every window is a candidate; longer runs (base64, hashes) give
# their first and last window only, since a link's token starts after the "/" before
# it, or ends before the space, quote or "&" after it.
_ALL_WINDOWS_UP_TO = 2 * TOKEN_LENGTH


def _undone(text: str) -> str:
    text = html.unescape(text) if "&" in text else text
    text = unquote(text) if "%" in text else text
    return _BREAK.sub("", text) if "\n" in text else text


class TokenFinder:
    """Collects the candidates of every text and payload it is given."""

    def __init__(self) -> None:
        self.candidates: set[str] = set()

    def add_text(self, text: str) -> None:
        """Look in decoded text as it is, and as it reads with escapes and line breaks undone,
        with its markup and without.

        Undoing entities, %-escapes and line breaks (with their quote marks) keeps a token in
        an attribute; removing tags as well joins one that a ``<br>`` broke in two.
        """
        self._add_runs(text)
        readings = {_undone(text)}
        if "<" in text:
            readings.add(_undone(_TAG.sub("", text)))
        for reading in readings - {text}:
            self._add_runs(reading)

    def add_bytes(self, data: bytes) -> None:
        """Look in bytes whose charset is unknown (a header section, an attachment)."""
        for run in _RUN_BYTES.findall(data):
            self._add_run(run.decode("ascii"))

    def _add_runs(self, text: str) -> None:
        for run in _RUN.findall(text):
            self._add_run(run)

    def _add_run(self, run: str) -> None:
        if len(run) <= _ALL_WINDOWS_UP_TO:
            self.candidates.update(run[i:i + TOKEN_LENGTH] for i in range(len(run) - TOKEN_LENGTH + 1))
        else:
            self.candidates.update((run[:TOKEN_LENGTH], run[-TOKEN_LENGTH:]))

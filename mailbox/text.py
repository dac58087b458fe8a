"""Turning the bytes of mail into text: charset decoding that survives lying labels,
and HTML reduced to readable text for indexing.

Pure functions; charset_normalizer is the only library used, as a last resort when
neither the declared charset nor UTF-8 decodes the bytes.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser

import charset_normalizer

# Labels that mail clients write but mean a superset; decoding with the superset
# reads what the sender's software really produced (the WHATWG Encoding Standard
# maps these the same way).
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "big5": "big5hkscs",
}
_UTF8_FIRST = frozenset(("cp1252", "ascii", "latin-1", "iso8859-1"))
_DETECT_LIMIT = 65536


def _codec_for(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _SUPERSETS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str | None]:
    """Decode mail bytes to text; return the text and a defect note, or None if clean."""
    codec = _codec_for(declared)
    if codec in _UTF8_FIRST:
        # Valid multi-byte UTF-8 is almost never meant as Latin-1: senders label
        # UTF-8 text "us-ascii" or "iso-8859-1" far more often than the reverse.
        try:
            return data.decode("utf-8"), None
        except UnicodeDecodeError:
            pass
    lenient = None
    if codec:
        try:
            return data.decode(codec), None
        except UnicodeDecodeError:
            lenient = data.decode(codec, errors="replace")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if declared and not codec:
            return text, f"unknown charset {declared!r}, read as UTF-8"
        return text, (f"charset {declared!r} did not fit, read as UTF-8" if declared else None)
    if lenient is not None:
        # A few stray bytes in text of the declared charset (a character cut in two by
        # the sender's mailer) cost those characters, not the whole text: a guess on
        # short text (a subject) is often another script altogether.
        bad = lenient.count("\ufffd") - data.decode(codec, errors="ignore").count("\ufffd")
        if bad <= max(2, len(lenient) // 100):
            return lenient, f"charset {declared}: {bad} byte sequences did not fit and were replaced"
    best = charset_normalizer.from_bytes(data[:_DETECT_LIMIT]).best()
    guess = best.encoding if best is not None else "cp1252"
    note = f"charset {declared or 'not declared'}: bytes did not fit, read as {guess}"
    return data.decode(guess, errors="replace"), note


_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt footer h1 h2 h3 h4 h5 h6 header hr li "
    "main nav ol p pre section table td th tr ul".split()
)
_SKIP_TAGS = frozenset(("script", "style", "head", "title", "template", "noscript"))
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIP_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Return the readable text of an HTML document, without markup, scripts or styles."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # HTMLParser is lenient, but mail finds every corner; keep what was read.
        pass
    text = _SPACES.sub(" ", "".join(parser.parts))
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()

"""Finding a customer link's token in a message, whatever happened to the text on its way back
to us: quoted, wrapped, transfer-encoded, charset-encoded, HTML-escaped, %-escaped, forwarded
as an attachment, returned in a bounce, or in bytes that are no mail at all. Pure: the parser
alone, no database.
"""

from __future__ import annotations

import base64
import secrets
import textwrap
from email.message import EmailMessage
from email.policy import SMTP
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbox.parse import ParseError, parse_message, token_candidates
from mailbox.tokens import TOKEN_LENGTH, TokenFinder
from tests import factories

BASE = "https://desk.example/customer/decide/"


def a_token() -> str:
    token = secrets.token_urlsafe(32)
    assert len(token) == TOKEN_LENGTH  # the form the access service creates
    return token


def mail(body: str, *, subtype: str = "plain", charset: str = "utf-8",
         cte: str | None = None) -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "boss@leaky.example"
    msg["To"] = "support@desk.example"
    msg["Subject"] = "Re: Access request for Leaky Widgets"
    msg.set_content(body, subtype=subtype, charset=charset, cte=cte)
    return msg


def quoted(text: str, width: int = 40) -> str:
    """The reply a mail client writes: the original hard-wrapped at ``width`` (URLs too) and quoted."""
    lines = []
    for line in text.splitlines():
        lines += ["> " + piece for piece in textwrap.wrap(line, width, break_long_words=True) or [""]]
    return "Which employee do you need?\n\nOn Monday you wrote:\n" + "\n".join(lines) + "\n"


def request_text(token: str) -> str:
    return ("Hello,\n\nSam asks to look at your business records.\nTo approve or deny, open this page:\n\n"
            f"{BASE}{token}\n\nOpening the link changes nothing by itself.\n")


def utf16(body: str) -> bytes:
    """A UTF-16 text part, base64-encoded, as some Windows software sends (the standard library
    cannot write one: it encodes line by line)."""
    encoded = base64.encodebytes(body.replace("\n", "\r\n").encode("utf-16"))
    return (b"From: boss@leaky.example\r\nSubject: Re: Access\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=utf-16\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded)


def found(raw: bytes, token: str) -> bool:
    """Say whether archiving would find the token: as the parser reads it, else (not mail) in the bytes."""
    try:
        parsed = parse_message(raw, find_tokens=True).token_candidates
    except ParseError:
        parsed = None
    return token in token_candidates(raw) and (parsed is None or token in parsed)


def the_ways(token: str) -> dict[str, bytes]:
    text = request_text(token)
    original = mail(text, cte="quoted-printable").as_bytes()
    forward_as_file = mail("See the attached email.")
    forward_as_file.add_attachment(original, maintype="application", subtype="octet-stream",
                                   filename="request.eml")
    inline_forward = mail("Forwarded message below.")
    inline_forward.add_attachment(mail(text, cte="base64"), filename="request.eml")
    safelinks = f"https://eur01.safelinks.protection.outlook.com/?url={quote(BASE + token, safe='')}&data=0"
    return {
        "plain quoted reply": mail(quoted(text, 200)).as_bytes(),
        "quoted reply wrapped inside the token": mail(quoted(text, 30)).as_bytes(),
        "quoted-printable with soft breaks": mail(quoted(text, 200), cte="quoted-printable").as_bytes(),
        "base64 body": mail(quoted(text), cte="base64").as_bytes(),
        "UTF-16 body": utf16(quoted(text, 200)),
        "HTML with every character an entity": mail(
            f'<a href="{BASE}{"".join(f"&#{ord(c)};" for c in token)}">approve</a>',
            subtype="html").as_bytes(),
        "percent-escaped in a safe-links URL": mail(f"Open {safelinks} to decide.").as_bytes(),
        "forwarded as message/rfc822, base64 inside": inline_forward.as_bytes(),
        "forwarded as a base64 .eml file": forward_as_file.as_bytes(),
        "bounce returning the original": factories.bounce(original),
        "in a header": b"Subject: about " + token.encode() + b"\r\n\r\nhello\r\n",
        "no mail at all": b"\x00\x01garbage " + (BASE + token).encode() + b" more\n",
    }


def test_a_token_is_found_whichever_way_the_mail_came_back():
    token = a_token()
    for way, raw in the_ways(token).items():
        assert found(raw, token), way


def test_a_message_without_links_gives_only_candidates_that_are_no_token():
    token = a_token()
    raw = mail("Please find the invoice attached; reference " + "Z" * 120 + ".").as_bytes()
    candidates = parse_message(raw, find_tokens=True).token_candidates
    assert token not in candidates
    assert all(len(c) == TOKEN_LENGTH for c in candidates)


def test_showing_a_message_does_not_look_for_tokens():
    raw = mail(quoted(request_text(a_token()))).as_bytes()
    assert parse_message(raw).token_candidates == set()


def test_long_runs_give_their_ends_and_short_runs_every_window():
    finder = TokenFinder()
    long_run, short_run = "a" * 50 + "B" * 400, "x" * 10 + "y" * 43
    finder.add_text(f"{long_run} {short_run}")
    assert long_run[:TOKEN_LENGTH] in finder.candidates and long_run[-TOKEN_LENGTH:] in finder.candidates
    assert "a" * 7 + "B" * 36 not in finder.candidates
    assert {short_run[i:i + TOKEN_LENGTH] for i in range(11)} <= finder.candidates


SEPARATORS = st.sampled_from(["", " ", "\n", "\r\n", ". ", "\n> ", "\t", "<br>", "\n\n"])
WORDS = st.lists(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
                 max_size=20).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(before=WORDS, after=WORDS, width=st.integers(20, 120), quote_it=st.booleans(),
       cte=st.sampled_from([None, "quoted-printable", "base64", "8bit"]), html=st.booleans(),
       separator=SEPARATORS)
def test_a_link_in_any_surrounding_text_survives_wrapping_quoting_and_encoding(
        before, after, width, quote_it, cte, html, separator):
    token = a_token()
    text = f"{before}{separator}{BASE}{token}{separator}{after}"
    body = quoted(text, width) if quote_it else text
    if html:
        body = "<p>" + body.replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br>\n") + "</p>"
    raw = mail(body, subtype="html" if html else "plain", cte=cte).as_bytes()
    assert found(raw, token)

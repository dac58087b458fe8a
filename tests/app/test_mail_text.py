"""The emails the desk writes by itself: every template in templates/mail/, rendered with
long sample values, has lines of at most 78 characters except those holding a URL, and
every URL stands whole on its line; they come from the desk's name, encoded as RFC 2047
asks when it is not ASCII.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from types import SimpleNamespace as Thing

import pytest
from flask import render_template

from app.services.mail_text import COPIED_WORD, wrap_body
from app.services.outbound import automatic_email, desk_sender
from tests.browser import sqlite_only as backend  # noqa: F401 (the fixture: mail needs no database)

MAIL = Path(__file__).resolve().parents[2] / "templates" / "mail"
BASE = "https://support-desk.customer-care.example.com"
LONG = ("The quarterly export of the Zürich office stops at the fourteenth of the month, and "
        "the customer's accountant needs every job of March to reconcile the invoices before "
        "the auditors arrive; I need to compare the jobs with what the export wrote.")
NAME = "Ünïcode Plumbing, Heating and Ventilation Supplies International Holdings Ltd"
WHEN = datetime(2026, 11, 30, 13, 5)
URL = re.compile(r"https?://\S+")


def url(path: str) -> str:
    return f"{BASE}/customer/{path}/Zq8-4xY_3kPn2Lr7Tb9Vw1Hs6Jd0Mf5Gc8Qa2Ne4Ux7Wo"


def sample() -> dict:
    agent = Thing(name="Maximiliane Mustermann-Oberhauser", email="maximiliane.mustermann@desk.example",
                  role="agent")
    account = Thing(name=NAME)
    request = Thing(account=account, agent=agent, minutes=240, reason=LONG, decide_by=WHEN, ends_at=WHEN,
                    ended_at=WHEN, end_reason="revoked by the customer", confirmed_by=agent,
                    decided_by="boss@" + "x" * 40 + ".example")
    consent = Thing(account=account, agent=agent, recipient="repairs-and-maintenance@carrier.example",
                    content=LONG, purpose=LONG, days=30, decide_by=WHEN, ends_at=WHEN, withdrawn_at=WHEN,
                    withdrawn_by="ops@leaky.example", decided_by="ops@leaky.example")
    links = {p: url(p) for p in ("decide", "revoke", "log", "consent", "withdraw")}
    return {"request": request, "consent": consent, "links": links, "scope": "business and personal records",
            "state": "given", "audit_head": Thing(entry_id=123456, hash="ab" * 32),
            "link": Thing(agent=agent, expires_at=WHEN, url=f"{BASE}/password/" + "Zq8-4xY_3kPn2Lr7" * 3),
            "hours": 72, "notice": Thing(account=account),
            "version": Thing(id=7, effective_on=date(2027, 1, 1)),
            "ahead": True, "version_url": f"{BASE}/privacy/versions/7", "summary": "    " + LONG}


TEMPLATES = sorted(p.name for p in MAIL.glob("*.txt") if not p.name.startswith("_"))


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_mail_template_wraps_at_78_and_keeps_each_url_whole(app, name):
    app.config.update(PUBLIC_URL=BASE, DESK_NAME="Example Support")
    with app.test_request_context():
        body = render_template(f"mail/{name}", **sample())
        raw = automatic_email(desk_sender(app.config), "ops@leaky.example", "A subject", body)
    text = message_from_bytes(raw, policy=default).get_content()

    too_long = [line for line in text.splitlines() if len(line) > 78 and not URL.search(line)
                and not copied_whole(line)]
    assert too_long == []
    if "entry 123456" in text:  # the audit anchor stays one line, to copy whole
        assert f"    entry 123456, hash {'ab' * 32}" in text.splitlines()
    for link in URL.findall(body):
        assert link in text.split(), link


def copied_whole(line: str) -> bool:
    """Say whether a line is an indented block to copy, kept whole by wrap_body."""
    return line.startswith("    ") and max(len(word) for word in line.split()) >= COPIED_WORD


def test_wrapping_keeps_indentation_and_line_breaks_and_never_breaks_a_url():
    link = url("decide")
    text = f"Open it:\n\n{link}\n\n    {LONG}\nShort line."
    wrapped = wrap_body(text)
    assert link in wrapped.splitlines()
    assert all(line.startswith("    ") for line in wrapped.splitlines()[4:-1])
    assert wrapped.splitlines()[-1] == "Short line."
    assert wrap_body(f"See {link} now") == f"See\n{link}\nnow"


def test_an_indented_line_to_copy_is_kept_whole_however_long():
    anchor = f"    entry 12, hash {'9f' * 32}"
    assert wrap_body(f"It stood here:\n\n{anchor}\n\nKeep it.") == f"It stood here:\n\n{anchor}\n\nKeep it."


@pytest.mark.parametrize("desk_name", ["Example Support", "Support Ågesen & Sønner, Zürich"])
def test_the_desks_emails_come_from_its_name_encoded_for_mail(app, desk_name):
    app.config.update(DESK_NAME=desk_name, SUPPORT_ADDRESS="support@desk.example")
    raw = automatic_email(desk_sender(app.config), "ops@leaky.example", "A subject", "Hello.\n")
    header = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")  # headers on the wire are ASCII
    parsed = message_from_bytes(raw, policy=default)
    assert parsed["From"].addresses[0].display_name == desk_name
    assert parsed["From"].addresses[0].addr_spec == "support@desk.example"
    if not desk_name.isascii():
        assert "=?utf-8?" in header
    assert "<support@desk.example>" in header

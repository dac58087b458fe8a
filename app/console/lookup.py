"""What the console's views share to find the row a URL names and to word a refused form.

Every view that opens a ticket, a message or another row of an account notes the account
in the request log (``app.requestlog.note_account``), so usage is counted per account
whichever view served it.
"""

from __future__ import annotations

from flask import abort
from flask_wtf import FlaskForm

from app.extensions import db
from app.models import Message, Ticket
from app.requestlog import note_account


def noted(row):
    """Return ``row`` after noting its account, or answer 404 when there is none."""
    if row is None:
        abort(404)
    if getattr(row, "account_id", None) is not None:
        note_account(row.account_id)
    return row


def ticket_or_404(ticket_id: int) -> Ticket:
    return noted(db.session.get(Ticket, ticket_id))


def message_or_404(message_id: int) -> Message:
    return noted(db.session.get(Message, message_id))


def form_problems(form: FlaskForm) -> str:
    """Say what is wrong with a refused form in one sentence: each field's label and its errors."""
    if "csrf_token" in form.errors:
        return "the form expired; reload the page and try again"
    return "; ".join(f"{form[name].label.text}: {' '.join(e.rstrip('.') for e in errors)}"
                     for name, errors in form.errors.items())

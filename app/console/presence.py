"""Who else has a ticket open: the list on the ticket page, and the page's heartbeat.

Loading the page records the agent as viewing it; while it is open its script posts a
heartbeat every ``PRESENCE_HEARTBEAT_SECONDS``, saying "replying" while the agent types,
and shows the answer's list. With scripts off the list comes from page loads alone.
"""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user

from app.auth.session import require_signed_in
from app.console import forms
from app.extensions import db
from app.models import Ticket
from app.requestlog import note_account
from app.runtime import now, presence_window
from app.services import presence

bp = Blueprint("presence", __name__)
bp.before_request(require_signed_in)


@bp.post("/tickets/<int:ticket_id>/presence")
def beat(ticket_id: int):
    ticket = db.session.get(Ticket, ticket_id) or abort(404)
    if ticket.account_id is not None:
        note_account(ticket.account_id)
    form = forms.PresenceForm()
    if not form.validate_on_submit():
        abort(400, description="a heartbeat says viewing or replying")
    presence.note_presence(db.session, current_user, ticket, form.activity.data, now(), presence_window())
    others = presence.others_present(db.session, current_user, ticket, now(), presence_window())
    db.session.commit()
    return {"others": presence.describe(others)}


def others_text(ticket: Ticket) -> str:
    """Return the other agents with the ticket open, as the page lists them."""
    return presence.describe(presence.others_present(db.session, current_user, ticket, now(),
                                                     presence_window()))


def note_open(ticket: Ticket, activity: str) -> None:
    """Record that the signed-in agent has the ticket's page open; the caller commits."""
    presence.note_presence(db.session, current_user, ticket, activity, now(), presence_window())

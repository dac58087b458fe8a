"""Reply drafts and held replies on a ticket page.

The reply box starts from the agent's draft when there is one. "Save draft" and "Discard
draft" are buttons of the reply form (so they work with scripts off); the page's script
(static/ticket.js) also saves the draft as the agent pauses typing, posting ``quiet=1``
and reading a JSON answer instead of a page. A reply posted after a customer's message
or another agent's reply arrived is held: the ticket page is shown again with what
arrived, the agent's text, and "Send anyway".
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth.session import require_signed_in
from app.console import forms
from app.console.lookup import ticket_or_404
from app.extensions import db
from app.models import Ticket
from app.runtime import now, presence_window
from app.services import drafts, presence
from app.services.collisions import Arrival, SeenMarker, arrived_since
from app.services.errors import ServiceError

bp = Blueprint("drafts", __name__)
bp.before_request(require_signed_in)

SAVED = {"saved": lazy_gettext("Draft saved."),
         "discarded": lazy_gettext("Draft discarded: the reply box was empty."),
         "stale": lazy_gettext("Draft not saved: you have replied on this ticket since that page was shown.")}


def _back(ticket: Ticket) -> Response:
    return redirect(url_for("console.ticket", ticket_id=ticket.id, _anchor="reply"))


@bp.post("/tickets/<int:ticket_id>/draft")
def save(ticket_id: int):
    ticket = ticket_or_404(ticket_id)
    form = forms.DraftForm()
    quiet = request.form.get("quiet") == "1"  # the page's script, which shows its own status
    try:
        if not form.validate_on_submit():
            raise ServiceError(" ".join(e for errors in form.errors.values() for e in errors).rstrip("."))
        outcome = drafts.save_draft(db.session, current_user, ticket, form.body.data or "", now(),
                                    form.seen_event.data)
        if outcome == "saved":
            presence.note_presence(db.session, current_user, ticket, "replying", now(), presence_window())
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        if quiet:
            return {"saved": False, "error": str(exc)}, 400
        flash(_("Draft not saved: %(reason)s.", reason=exc), "error")
        return _back(ticket)
    if quiet:
        return {"saved": outcome == "saved", "outcome": outcome}
    flash(SAVED[outcome], "info")
    return _back(ticket)


@bp.post("/tickets/<int:ticket_id>/draft/discard")
def discard(ticket_id: int):
    ticket = ticket_or_404(ticket_id)
    if not forms.ButtonForm().validate_on_submit():
        flash(_("Not done: the form expired; reload the page and try again."), "error")
        return _back(ticket)
    drafts.discard_draft(db.session, current_user, ticket)
    db.session.commit()
    flash(_("Draft discarded."), "info")
    return _back(ticket)


def draft_body(ticket: Ticket) -> str | None:
    """Return the text of the agent's draft on this ticket, if they have one."""
    draft = drafts.draft_of(db.session, current_user, ticket)
    return draft.body if draft else None


def held_back(ticket: Ticket, form: forms.ReplyForm) -> list[Arrival]:
    """Return what arrived since the reply's page was shown, keeping its text as the draft if any did.

    A form without a marker (a page from before markers, a script) is not held.
    """
    if form.seen_message.data is None or form.seen_event.data is None:
        return []
    arrived = arrived_since(db.session, ticket, current_user,
                            SeenMarker(form.seen_message.data, form.seen_event.data))
    if arrived:  # a reload of the page that shows them keeps the agent's text
        drafts.save_draft(db.session, current_user, ticket, form.body.data, now())
    return arrived

"""Moving a message, merging two tickets and linking a message to an account, each shown
before it is done, and undoing any of them for a while from the ticket's history.

Previews are GET pages that change nothing, each at an address of its own (an id too large
for the database then answers 404, where a path shared by two methods would answer 405).
The change itself is a POST from the preview (or, for a link whose domains agree, from the
ticket page). Everything works without scripts.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth.session import require_signed_in
from app.console import change_forms, forms
from app.console.change_panels import link_form, undo_window
from app.console.lookup import form_problems, noted
from app.extensions import db
from app.models import Account, Message, Ticket, TicketChange
from app.runtime import now
from app.services import account_links, changes, merging
from app.services.errors import ServiceError, as_sentence

bp = Blueprint("changes", __name__)
bp.before_request(require_signed_in)


def agent():
    return current_user._get_current_object()


def _refused(ticket_id: int | None, sentence: str) -> Response:
    db.session.rollback()
    flash(f"Not done: {sentence.rstrip('.')}.", "error")
    return redirect(url_for("console.ticket", ticket_id=ticket_id) if ticket_id else url_for("console.queue"))


@bp.get("/messages/<int:message_id>/move/preview")
def move_preview(message_id: int):
    message = noted(db.session.get(Message, message_id))
    target = request.args.get("ticket", type=int)
    if target is None:
        return _refused(message.ticket_id, "give the number of the ticket to move the message to")
    try:
        preview = merging.preview_move(db.session, message, target)
    except ServiceError as exc:
        return _refused(message.ticket_id, str(exc))
    form = change_forms.MoveForm(formdata=None, ticket=target)
    return render_template("changes/preview.html", preview=preview, form=form,
                           action=url_for("changes.move", message_id=message.id), back=message.ticket_id)


@bp.post("/messages/<int:message_id>/move")
def move(message_id: int):
    message = noted(db.session.get(Message, message_id))
    source, form = message.ticket_id, change_forms.MoveForm()
    if not form.validate_on_submit():
        return _refused(source, form_problems(form))
    try:
        merging.move(db.session, message, form.ticket.data, agent(), now())
        db.session.commit()
    except ServiceError as exc:
        return _refused(source, str(exc))
    flash(f"Message moved to ticket {form.ticket.data}. You can undo it from the ticket's history.", "info")
    return redirect(url_for("console.ticket", ticket_id=source or form.ticket.data))


@bp.get("/tickets/<int:ticket_id>/merge/preview")
def merge_preview(ticket_id: int):
    ticket = noted(db.session.get(Ticket, ticket_id))
    into = request.args.get("into", type=int)
    if into is None:
        return _refused(ticket.id, "give the number of the ticket to merge this one into")
    try:
        preview = merging.preview_merge(db.session, ticket, into)
    except ServiceError as exc:
        return _refused(ticket.id, str(exc))
    form = change_forms.MergeForm(formdata=None, into=into)
    return render_template("changes/preview.html", preview=preview, form=form,
                           action=url_for("changes.merge", ticket_id=ticket.id), back=ticket.id)


@bp.post("/tickets/<int:ticket_id>/merge")
def merge(ticket_id: int):
    ticket = noted(db.session.get(Ticket, ticket_id))
    form = change_forms.MergeForm()
    if not form.validate_on_submit():
        return _refused(ticket.id, form_problems(form))
    try:
        merging.merge(db.session, ticket, form.into.data, agent(), now())
        db.session.commit()
    except ServiceError as exc:
        return _refused(ticket.id, str(exc))
    flash(f"Ticket {ticket_id} merged into this one. You can undo it from the history.", "info")
    return redirect(url_for("console.ticket", ticket_id=form.into.data))


def _unlinked(message_id: int) -> Message:
    return noted(db.session.get(Message, message_id))


@bp.get("/messages/<int:message_id>/link/choose")
def link_page(message_id: int):
    message = _unlinked(message_id)
    if message.account_id is not None:
        return _refused(message.ticket_id, "the message is linked to an account already")
    return render_template("changes/link.html", message=message, form=link_form(message, submitted=False))


@bp.post("/messages/<int:message_id>/link")
def link(message_id: int):
    message = _unlinked(message_id)
    if message.account_id is not None:
        return _refused(message.ticket_id, "the message is linked to an account already")
    form = link_form(message)
    if not form.validate_on_submit():
        return render_template("changes/link.html", message=message, form=form), 400
    try:
        account = _account_to_link(message, form)
        if account is None:
            return render_template("changes/link_confirm.html", message=message, form=form,
                                   mismatch=as_sentence(account_links.mismatch(message, _chosen(form))))
        account_links.link(db.session, message, account.id, agent(), now())
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        form = link_form(message, submitted=False)
        form.account.errors = [as_sentence(str(exc))]
        return render_template("changes/link.html", message=message, form=form), 400
    flash(f"Message linked to {account.name}. You can undo it from the ticket's history.", "info")
    return redirect(url_for("console.ticket", ticket_id=message.ticket_id))


def _chosen(form) -> Account:
    return db.session.get(Account, int(form.account.data))


def _account_to_link(message: Message, form) -> Account | None:
    """Return the account to link to, made now if asked; None while a domain mismatch awaits confirmation."""
    if form.account.data == change_forms.NEW_ACCOUNT:
        return account_links.account_from_sender(db.session, message, agent(), now())
    account = _chosen(form)
    if account_links.mismatch(message, account) and form.confirmed.data != "yes":
        return None
    return account


@bp.post("/changes/<int:change_id>/undo")
def undo(change_id: int):
    change = noted(db.session.get(TicketChange, change_id))
    back = request.form.get("ticket", type=int) or change.ticket_id
    if not forms.ButtonForm().validate_on_submit():
        return _refused(back, "the form expired; reload the page and try again")
    try:
        changes.undo(db.session, change, agent(), now(), undo_window())
        db.session.commit()
    except ServiceError as exc:
        return _refused(back, str(exc))
    flash(f"Undone: {change.summary}.", "info")
    return redirect(url_for("console.ticket", ticket_id=back))

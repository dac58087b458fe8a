"""Logging phone calls, chats and meetings from the console, and correcting them.

An agent logs an entry on a ticket or on an account page; either form is a plain
multipart POST, so it works with scripts off. What is logged is archived as a message
(``app.services.communications``) and never changed: requests to edit or delete a
message are refused here with a sentence saying so, and a correction is logged as a
new entry beside the original.
"""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth.session import require_signed_in
from app.console.forms import LogForm
from app.console.lookup import message_or_404, ticket_or_404
from app.extensions import db
from app.models import Account, Message
from app.models.message import KEPT_AS_WRITTEN
from app.requestlog import note_account
from app.runtime import now, raw_store
from app.services import communications
from app.services.communications import Entry, EntrySettings, Upload
from app.services.errors import ServiceError

bp = Blueprint("communications", __name__)
bp.before_request(require_signed_in)


def agent():
    return current_user._get_current_object()


def _settings() -> EntrySettings:
    return EntrySettings(current_app.config["SUPPORT_ADDRESS"], current_app.config["TICKET_TAG_PREFIX"])


@bp.post("/tickets/<int:ticket_id>/log")
def log_on_ticket(ticket_id: int):
    ticket = ticket_or_404(ticket_id)
    back = url_for("console.ticket", ticket_id=ticket.id)
    form = LogForm()
    if not form.validate_on_submit():
        return _refused(form, back)
    return _logged(lambda: communications.log_on_ticket(db.session, raw_store(), ticket, agent(),
                                                        entry_from(form), _settings(), now()), back)


@bp.post("/accounts/<int:account_id>/log")
def log_on_account(account_id: int):
    account = db.session.get(Account, account_id) or abort(404)
    note_account(account.id)
    back = url_for("console.account", account_id=account.id) + "#log"
    form = LogForm()
    if not form.validate_on_submit():
        return _refused(form, back)
    return _logged(lambda: communications.log_on_account(db.session, raw_store(), account, agent(),
                                                         entry_from(form), _settings(), now()), back)


@bp.post("/messages/<int:message_id>/correct")
def correct(message_id: int):
    original = message_or_404(message_id)
    back = url_for("communications.message", message_id=original.id)
    form = LogForm()
    if not form.validate_on_submit():
        return _refused(form, back)
    return _logged(lambda: communications.log_correction(db.session, raw_store(), original, agent(),
                                                         entry_from(form), _settings(), now()), back)


@bp.route("/messages/<int:message_id>", methods=["GET", "PUT", "PATCH", "DELETE"])
def message(message_id: int):
    """A message's own address: its place in its ticket's thread. It takes no edit and no deletion."""
    found = message_or_404(message_id)
    if request.method != "GET":
        abort(405, valid_methods=["GET"], description=KEPT_AS_WRITTEN)
    if found.ticket_id is None:
        abort(404)
    return redirect(url_for("console.ticket", ticket_id=found.ticket_id, _anchor=f"m{found.id}"))


def _logged(log, back: str) -> Response:
    """Log an entry and commit; or roll back and say why it was refused."""
    try:
        entry = log()
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(f"Not logged: {exc}.", "error")
        return redirect(back)
    flash(f"{entry.channel_label} logged in ticket #{entry.ticket_id}.", "info")
    return redirect(url_for("console.ticket", ticket_id=entry.ticket_id, _anchor=f"m{entry.id}"))


def _refused(form: LogForm, back: str) -> Response:
    problems = "; ".join(f"{form[name].label.text}: {' '.join(e.rstrip('.') for e in errs)}"
                         for name, errs in form.errors.items())
    flash(f"Not logged: {problems}.", "error")
    return redirect(back)


def entry_from(form: LogForm) -> Entry:
    """Return the entry a valid form describes, its time read in the agent's time zone."""
    happened_at = form.happened_at.data.replace(tzinfo=ZoneInfo(agent().time_zone))
    files = tuple(Upload(_file_name(f.filename), f.read()) for f in request.files.getlist(form.files.name)
                  if f.filename)
    return Entry(channel=form.channel.data, direction=form.direction.data, name=form.name.data.strip(),
                 address=form.address.data.strip(), happened_at=happened_at,
                 duration_minutes=form.duration.data, text=form.text.data, files=files)


def _file_name(name: str) -> str:
    # The browser's name for the file, without any folder and with no control characters.
    name = os.path.basename(name.replace("\\", "/"))
    return "".join(c for c in name if c.isprintable()).strip()[:200] or "file"


def local_now() -> datetime:
    """Return the agent's current local time, to the minute, as the forms' default."""
    return now().replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(agent().time_zone)).replace(
        tzinfo=None, second=0, microsecond=0)


def log_form() -> LogForm:
    """Return an empty form to log an entry, its time set to now."""
    return LogForm(formdata=None, happened_at=local_now())


def correction_form(store, original: Message) -> LogForm:
    """Return a form to correct a logged entry, filled in with what the entry says."""
    customer = communications.customer_of(store.get(original.sha256), original.direction)
    when = original.date_utc or original.archived_at
    local = when.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(agent().time_zone)).replace(tzinfo=None)
    return LogForm(formdata=None, channel=original.channel, direction=original.direction, name=customer[0],
                   address=customer[1], happened_at=local, duration=original.duration_minutes,
                   text=original.body_text.rstrip("\n"))


def entry_panels(store, messages: list[Message]) -> tuple[dict[int, list[Message]], dict[int, LogForm]]:
    """Return the corrections of a thread's messages, and a correction form for each logged entry."""
    corrections = communications.corrections_of(db.session, [m.id for m in messages])
    forms = {m.id: correction_form(store, m) for m in messages if m.channel in communications.LOGGED_CHANNELS}
    return corrections, forms

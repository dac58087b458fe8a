"""Sharing from the console: forwarding a ticket or a message, and asking a customer's
consent to a forward or an export for someone outside the support team.

A forward to the account's own domains or the support team's goes at once. Any other
recipient needs a consent in force (``require_consent``, which audits a refusal); the
agent asks for one from the same form, the account's approvers are emailed, and once one
of them consents, the same forward goes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from app.access import consents
from app.access.guards import ConsentRequired, require_consent, require_role
from app.access.rules import EXPORT, MANAGING_ROLES
from app.auth.session import require_signed_in
from app.console import forms
from app.extensions import db
from app.models import Account, Ticket
from app.requestlog import note_account
from app.runtime import now, raw_store, reply_settings
from app.services import access_notices, oauth, sharing
from app.services.errors import ServiceError

bp = Blueprint("sharing", __name__)
bp.before_request(require_signed_in)


def me():
    return current_user._get_current_object()


def forward_form(ticket: Ticket, data=None) -> forms.ForwardForm:
    """Return the forward form of a ticket, offering the whole ticket or one of its messages."""
    form = forms.ForwardForm(formdata=data) if data is not None else forms.ForwardForm()
    form.content.choices = [("", "The whole ticket")] + [
        (str(m.id), f"Message {m.id}: {(m.subject or '(no subject)')[:60]}")
        for m in ticket.messages if m.direction == "inbound"]
    return form


def is_sharing(account: Account, recipient: str) -> bool:
    """Say whether sending the account's data to ``recipient`` shares it outside the team."""
    config = current_app.config
    return sharing.is_sharing(account, recipient, config["SUPPORT_ADDRESS"], config["INTERNAL_DOMAINS"])


@bp.post("/tickets/<int:ticket_id>/forward")
def forward(ticket_id: int):
    ticket = db.session.get(Ticket, ticket_id) or abort(404)
    if ticket.account_id:
        note_account(ticket.account_id)
    back = redirect(url_for("console.ticket", ticket_id=ticket_id) + "#forward")
    form = forward_form(ticket, request.form)
    if not form.validate_on_submit():
        problems = "; ".join(f"{form[name].label.text}: {' '.join(errs)}"
                             for name, errs in form.errors.items())
        flash(f"Not forwarded: {problems}.", "error")
        return back
    try:
        recipient = sharing.check_recipient(form.recipient.data)
        message_id = int(form.content.data) if form.content.data else None
        content = sharing.forward_content(db.session, ticket, message_id)
    except ServiceError as exc:
        flash(f"Not forwarded: {exc}.", "error")
        return back
    outside = is_sharing(content.account, recipient)
    if form.ask.data:
        if not outside:
            flash(f"{recipient} is inside {content.account.name} or the support team: forwarding needs no "
                  "consent.", "info")
            return back
        return _ask(content.account, recipient, content.kind, content.ref, content.words, form.purpose.data,
                    int(form.days.data), back, "Asked")
    try:
        consent = require_consent(content.account, recipient, content.kind, content.ref,
                                  content.words) if outside else None
    except ConsentRequired as refused:
        flash(f"Not forwarded. {refused.description}", "error")
        return back
    try:
        sharing.send_forward(db.session, raw_store(), ticket, me(), recipient, content, form.note.data or "",
                             consent, reply_settings(), now())
        db.session.commit()
        flash(f"Forwarded {content.words} to {recipient}.", "info")
    except ServiceError as exc:
        db.session.rollback()
        oauth.record_refusals(db.session)
        flash(f"Not forwarded: {exc}.", "error")
    return back


# Every download of an account's mail or records: its endpoint, the one account a download
# holds (None when it holds several, or mail of no account), and what it holds in words.
@dataclass(frozen=True)
class Export:
    account_of: Callable[[MultiDict], Account | None]
    words_of: Callable[[MultiDict], str]


EXPORTS: dict[str, Export] = {}
TEAM_USE = "for the support team's own use"
EXPORTERS = "Exports are for managers and administrators."
ONE_ACCOUNT = ("An export for someone outside the support team must hold one account's data only, since "
               "that account's contacts consent to it: narrow it to one account first.")


def register_export(endpoint: str, account_of: Callable[[MultiDict], Account | None],
                    words_of: Callable[[MultiDict], str]) -> None:
    """Declare a download route an export, so that ``for_whom`` guards it."""
    EXPORTS[endpoint] = Export(account_of, words_of)


def for_whom(endpoint: str) -> str:
    """Ask who an export is for, and let it go outside only under a consent; return the answer.

    Called by each export view before a byte is read. Without an answer the browser is
    sent to the question; for someone outside, the export must hold one account's data
    and a consent of that account's contacts must allow it (``require_consent``). The
    answer returned goes into the export's audit entry.
    """
    use = request.args.get("use")
    if use not in ("team", "outside"):
        abort(redirect(url_for("sharing.export_question", next=request.full_path)))
    if use == "team":
        return TEAM_USE
    try:
        recipient = sharing.check_recipient(request.args.get("recipient", ""))
    except ServiceError as exc:
        abort(400, description=f"Not exported: {exc}.")
    export = EXPORTS[endpoint]
    words = export.words_of(request.args)
    account = export.account_of(request.args)
    if account is None:
        consents.note_refusal(db.session, me(), None, f"{words} to {recipient}", "more than one account",
                              now())
        db.session.commit()
        abort(403, description=ONE_ACCOUNT)
    note_account(account.id)
    if not is_sharing(account, recipient):
        return f"for {recipient}, of {account.name} itself"
    consent = require_consent(account, recipient, EXPORT, export_ref(request.path, request.args), words)
    consents.note_use(db.session, me(), consent, f"exported {words}", now())
    return f"for {recipient} under consent {consent.id}"


def export_ref(path: str, args: MultiDict) -> str:
    """Return how a consent names an export: its address with the arguments that choose the data."""
    chosen = sorted((k, " ".join(v.split())) for k, v in args.items(multi=True)
                    if k not in ("use", "recipient") and v.strip())
    return f"{path}?{urlencode(chosen)}"[:1000]


def _export_of(target: str) -> tuple[str, str, MultiDict]:
    """Return the endpoint, path and arguments of an export address, or answer 400."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        abort(400, description="This is not an export of this site.")
    try:
        endpoint, _ = current_app.url_map.bind("").match(parts.path, method="GET")
    except HTTPException:
        abort(400, description="This is not an export of this site.")
    if endpoint not in EXPORTS:
        abort(400, description="This is not an export of this site.")
    return endpoint, parts.path, MultiDict(parse_qsl(parts.query, keep_blank_values=True))


@bp.get("/exports/for-whom")
def export_question():
    """Ask who an export is for, with a form that downloads it, and one to ask for consent."""
    require_role(MANAGING_ROLES, EXPORTERS)
    endpoint, path, args = _export_of(request.args.get("next", ""))
    hidden = [(k, v) for k, v in args.items(multi=True) if k not in ("use", "recipient")]
    consent_form = forms.ExportConsentForm(next=request.args["next"])
    return render_template("console/export_question.html", path=path, hidden=hidden,
                           words=EXPORTS[endpoint].words_of(args), consent_form=consent_form)


@bp.post("/exports/consent")
def ask_export_consent():
    """Ask one account's contacts to consent to an export for someone outside the team."""
    require_role(MANAGING_ROLES, EXPORTERS)
    form = forms.ExportConsentForm()
    endpoint, path, args = _export_of(form.next.data)
    back = redirect(url_for("sharing.export_question", next=form.next.data))
    if not form.validate_on_submit():
        problems = "; ".join(f"{form[name].label.text}: {' '.join(errs)}"
                             for name, errs in form.errors.items())
        flash(f"Not asked: {problems}.", "error")
        return back
    export = EXPORTS[endpoint]
    account = export.account_of(args)
    if account is None:
        flash(ONE_ACCOUNT, "error")
        return back
    try:
        recipient = sharing.check_recipient(form.recipient.data)
    except ServiceError as exc:
        flash(f"Not asked: {exc}.", "error")
        return back
    return _ask(account, recipient, EXPORT, export_ref(path, args), export.words_of(args), form.purpose.data,
                int(form.days.data), back, "Asked")


def _ask(account: Account, recipient: str, kind: str, ref: str, words: str, purpose: str | None, days: int,
         back, verb: str):
    try:
        consent, notices = consents.ask(db.session, me(), account, recipient, kind, ref, words, purpose or "",
                                        days, now())
        access_notices.send(notices)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(f"Not asked: {exc}.", "error")
        return back
    names = ", ".join(c.email for c in account.approvers)
    flash(f"{verb} {names} to consent to sending {words} to {recipient}. Nothing is sent until one of them "
          "consents.", "info")
    return back

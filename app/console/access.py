"""Access to an account's records from the console: asking for it, ending it, break-glass,
and the record pages themselves, each behind ``require_grant`` and written to the audit log.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.access import grants
from app.access.guards import require_grant
from app.access.rules import RECORD_KINDS
from app.auth.session import require_signed_in
from app.console import forms
from app.extensions import db
from app.models import AccessRequest, Account
from app.models.record import RECORD_TABLES
from app.requestlog import note_account
from app.runtime import access_settings, now
from app.services import access_notices
from app.services.errors import ServiceError
from app.services.records import read_record, read_records

bp = Blueprint("access", __name__)
bp.before_request(require_signed_in)


def me():
    return current_user._get_current_object()


def request_form() -> forms.AccessRequestForm:
    form = forms.AccessRequestForm()
    form.hours.choices = forms.hour_choices(grants.duration_choices(access_settings()))
    return form


def _account(account_id: int) -> Account:
    account = db.session.get(Account, account_id) or abort(404)
    note_account(account.id)
    return account


def _request(request_id: int) -> AccessRequest:
    request = db.session.get(AccessRequest, request_id) or abort(404)
    note_account(request.account_id)
    return request


def _carry_out(account_id: int, action, success: str):
    """Run a change and send its emails before committing; on any refusal, change nothing."""
    try:
        access_notices.send(action() or [])
        db.session.commit()
        flash(success, "info")
    except ServiceError as exc:
        db.session.rollback()
        flash(f"Not done: {exc}.", "error")
    return redirect(url_for("console.account", account_id=account_id) + "#access")


@bp.post("/accounts/<int:account_id>/access")
def ask(account_id: int):
    account = _account(account_id)
    form = request_form()
    if not form.validate_on_submit():
        flash("Not done: choose the records and the duration, and give a reason.", "error")
        return redirect(url_for("console.account", account_id=account_id) + "#access")

    def ask_approvers():
        return grants.request_access(db.session, me(), account, form.scope.data, form.reason.data,
                                     int(form.hours.data), now(), access_settings())[1]

    return _carry_out(account_id, ask_approvers, "Access requested: the approvers were emailed.")


@bp.post("/access/<int:request_id>/cancel")
def cancel(request_id: int):
    request = _request(request_id)
    return _carry_out(request.account_id,
                      lambda: grants.cancel_request(db.session, me(), request, now()), "Request cancelled.")


@bp.post("/access/<int:request_id>/end")
def end(request_id: int):
    request = _request(request_id)
    return _carry_out(request.account_id, lambda: grants.end_grant(db.session, me(), request, now()),
                      "Access ended.")


@bp.post("/accounts/<int:account_id>/break-glass")
def break_glass(account_id: int):
    account = _account(account_id)
    form = forms.BreakGlassForm()
    if not form.validate_on_submit():
        flash("Not done: write the emergency reason in full (20 characters or more).", "error")
        return redirect(url_for("console.account", account_id=account_id) + "#access")

    def ask_second_manager():
        grants.break_glass(db.session, me(), account, form.scope.data, form.reason.data, now())
        return []

    return _carry_out(account_id, ask_second_manager,
                      "Break-glass requested: a second manager must confirm it.")


@bp.post("/access/<int:request_id>/confirm")
def confirm(request_id: int):
    request = _request(request_id)
    return _carry_out(request.account_id,
                      lambda: grants.confirm_break_glass(db.session, me(), request, now(), access_settings()),
                      "Break-glass access confirmed; the customer's approvers were emailed.")


@bp.get("/accounts/<int:account_id>/records/<kind>")
def records(account_id: int, kind: str):
    account = _account(account_id)
    if kind not in RECORD_KINDS:
        abort(404)
    grant = require_grant(account.id, kind)
    items = read_records(db.session, account.id, kind)
    grants.note_view(db.session, me(), grant, kind, None, now())
    db.session.commit()
    return render_template("console/records.html", account=account, kind=kind, items=items,
                           fields=RECORD_TABLES[kind][1], grant=grant, clock=now())


@bp.get("/accounts/<int:account_id>/records/<kind>/<int:record_id>")
def record(account_id: int, kind: str, record_id: int):
    account = _account(account_id)
    if kind not in RECORD_KINDS:
        abort(404)
    grant = require_grant(account.id, kind)
    item = read_record(db.session, account.id, kind, record_id) or abort(404)
    grants.note_view(db.session, me(), grant, kind, item.id, now())
    db.session.commit()
    return render_template("console/record.html", account=account, kind=kind, item=item,
                           fields=RECORD_TABLES[kind][1], grant=grant, clock=now())

"""Response targets in the browser: the desk's first- and next-response targets, business
hours and time zone, and an account's overrides, through ``app.services.targets``, which
checks them (every wrong field gets its sentence beside it) and writes each change to
the audit log.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.admin import target_forms
from app.admin.forms import ButtonForm
from app.admin.views import bp, me
from app.business_hours import DAY_MINUTES
from app.extensions import db
from app.models import Account
from app.runtime import now
from app.services import targets as service
from app.services.accounts import account_with_id


@bp.get("/targets")
def targets():
    return _desk_page(target_forms.filled(service.form_of(service.settings_row(db.session, None),
                                                          for_account=False)))


@bp.post("/targets")
def save_targets():
    form = target_forms.TargetsForm()
    form.own_hours.data = True  # the desk always has hours of its own
    return _save(form, None, lambda status: _desk_page(form, status), "admin.targets", {})


# One rule for both methods: with two rules on one path, a number too large for an id
# answers 405 (werkzeug matched the other method's rule first) instead of 404.
@bp.route("/targets/<int:account_id>", methods=["GET", "POST"])
def account_targets(account_id: int):
    account = _account_or_404(account_id)
    if request.method == "POST":
        form = target_forms.TargetsForm()
        return _save(form, account, lambda status: _account_page(account, form, status),
                     "admin.account_targets", {"account_id": account.id})
    row = service.settings_row(db.session, account.id)
    return _account_page(account, target_forms.filled(service.form_of(row, for_account=True)))


@bp.post("/targets/<int:account_id>/clear")
def clear_account_targets(account_id: int):
    account = _account_or_404(account_id)
    if ButtonForm().validate_on_submit():
        service.clear_account_targets(db.session, account, by=me(), now=now())
        db.session.commit()
        flash(_("%(name)s follows the desk's targets and hours again.", name=account.name), "info")
    return redirect(url_for("admin.account_targets", account_id=account.id))


def _save(form, account: Account | None, page, done: str, args: dict):
    if not form.validate_on_submit():
        return page(400)
    try:
        service.save_targets(db.session, account, form.typed(), by=me(), now=now())
    except service.TargetSettingsError as exc:
        db.session.rollback()
        for name, sentence in exc.errors.items():
            form[name].errors = [*form[name].errors, sentence]
        return page(400)
    db.session.commit()
    flash(_("The response targets and business hours were saved."), "info")
    return redirect(url_for(done, **args))


def _desk_page(form, status: int = 200):
    return render_template("admin/targets.html", form=form, account=None,
                           overrides=service.overrides(db.session), describe=service.describe,
                           day_minutes=DAY_MINUTES, button=ButtonForm()), status


def _account_page(account: Account, form, status: int = 200):
    return render_template("admin/targets.html", form=form, account=account,
                           has_own=service.settings_row(db.session, account.id) is not None,
                           day_minutes=DAY_MINUTES, button=ButtonForm()), status


def _account_or_404(account_id: int) -> Account:
    return account_with_id(db.session, account_id) or abort(404)

"""The privacy policy in the browser: every version published, and publishing a new one (its
text, what changed, its effective date) through the service ``flask policy publish`` uses,
with the same checks and sentences. Publishing is written to the audit log there, and the
worker emails the notice to every company contact.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import ngettext

from app.admin import forms
from app.admin.views import bp, me, show_error
from app.extensions import db
from app.runtime import now
from app.services import policy as service
from app.services.errors import ServiceError


@bp.get("/policy")
def policy():
    return _policy_page(forms.PolicyForm())


@bp.post("/policy")
def publish_policy():
    form = forms.PolicyForm()
    if not form.validate_on_submit():
        return _policy_page(form, 400)
    try:
        version = service.publish_version(db.session, form.text.data, form.summary.data, form.effective.data,
                                          by=me(), now=now(), notice_days=_notice_days())
    except ServiceError as exc:
        db.session.rollback()
        return _policy_page(show_error(form, exc), 400)
    db.session.commit()
    owed = service.notice_counts(db.session).get(version.id, {}).get("owed", 0)
    flash(ngettext("Version %(version)s is published and takes effect on %(day)s; the worker emails its "
                   "notice to %(num)d company contact.",
                   "Version %(version)s is published and takes effect on %(day)s; the worker emails its "
                   "notice to %(num)d company contacts.", owed, version=version.id, day=version.effective_on),
          "info")
    return redirect(url_for("admin.policy"))


def _policy_page(form: forms.PolicyForm, status: int = 200):
    today = now().date()
    return render_template("admin/policy.html", form=form, history=service.history(db.session, today),
                           counts=service.notice_counts(db.session), notice_days=_notice_days(),
                           earliest=today + timedelta(days=_notice_days())), status


def _notice_days() -> int:
    return current_app.config["POLICY_NOTICE_DAYS"]

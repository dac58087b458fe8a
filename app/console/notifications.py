"""The agent's notifications: the page that lists them, marking them read, the unread count
every console page shows in its header, and the choices on the settings page.

Every route needs a signed-in, enabled agent, and each shows or changes only that
agent's own notifications. Marking read is a POST from a button, so the page works with
scripts off.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, has_request_context, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField

from app.auth.session import require_signed_in
from app.extensions import db
from app.runtime import now
from app.services import notifications
from app.services.errors import ServiceError

bp = Blueprint("notifications", __name__)
bp.before_request(require_signed_in)


class PreferencesForm(FlaskForm):
    """One "in the console" and one "by email" box per kind (``console_<kind>``, ``email_<kind>``)."""

    submit = SubmitField(lazy_gettext("Save notification settings"))

    def choices(self) -> dict[str, notifications.Choice]:
        return {kind: notifications.Choice(self[f"console_{kind}"].data, self[f"email_{kind}"].data)
                for kind in notifications.KINDS}


for _kind in notifications.KINDS:
    setattr(PreferencesForm, f"console_{_kind}", BooleanField(lazy_gettext("in the console")))
    setattr(PreferencesForm, f"email_{_kind}", BooleanField(lazy_gettext("by email")))


def preferences_form(agent) -> PreferencesForm:
    """Return the settings page's form, its boxes ticked as the agent chose."""
    form = PreferencesForm(formdata=None)
    for kind, choice in notifications.preferences(db.session, agent).items():
        form[f"console_{kind}"].data = choice.in_console
        form[f"email_{kind}"].data = choice.by_email
    return form


@bp.app_context_processor
def unread_notifications() -> dict:
    """Give every page of a signed-in agent the count of their unread notifications, for the header."""
    if not has_request_context() or not current_user.is_authenticated:
        return {}  # emails rendered by the CLI or the worker have no header
    return {"unread_notifications": notifications.unread_count(db.session, current_user)}


@bp.get("/notifications")
def page():
    me = current_user._get_current_object()
    return render_template("console/notifications.html", notifications=notifications.recent(db.session, me),
                           button=FlaskForm(), path_of=notifications.path_of)


@bp.post("/notifications/<int:notification_id>/read")
def read(notification_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        notifications.mark_read(db.session, current_user, notification_id, now())
    except ServiceError:
        abort(404)
    db.session.commit()
    return redirect(url_for("notifications.page"))


@bp.post("/notifications/read")
def read_all():
    if not FlaskForm().validate_on_submit():
        abort(400)
    count = notifications.mark_all_read(db.session, current_user, now())
    db.session.commit()
    flash(ngettext("%(num)d notification marked read.", "%(num)d notifications marked read.", count), "info")
    return redirect(url_for("notifications.page"))


@bp.post("/settings/notifications")
def save_preferences():
    form = PreferencesForm()
    if not form.validate_on_submit():
        abort(400)
    notifications.save_preferences(db.session, current_user, form.choices())
    db.session.commit()
    flash(_("Notification settings saved."), "info")
    return redirect(url_for("console.settings"))

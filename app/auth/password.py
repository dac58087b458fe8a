"""The page an invited agent, or one whose password was reset, opens from the emailed link to
set a password (``app.services.password_links``).

Opening the link changes nothing; the POST from its page, with a CSRF token, sets the
password and so spends the link. A link that is expired, used already, forged or for a
disabled agent gets one sentence on a page of its own (400 or 410), never a sign-in
redirect. These pages are rate-limited like the customers' link pages.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from app.auth.forms import SetPasswordForm
from app.extensions import db, limiter
from app.runtime import now
from app.services import password_links
from app.services.errors import ServiceError, as_sentence

bp = Blueprint("password", __name__)
limiter.limit(lambda: current_app.config["CUSTOMER_LINK_RATE_LIMIT"])(bp)


@bp.errorhandler(password_links.LinkRefused)
def refused(error: password_links.LinkRefused):
    db.session.rollback()
    return render_template("auth/link_refused.html", message=str(error)), error.status


@bp.route("/password/<raw>", methods=["GET", "POST"])
def set_password(raw: str):
    agent = password_links.agent_of_link(db.session, raw, now())
    form = SetPasswordForm()
    if not form.validate_on_submit():
        return _page(agent, form, 400 if form.is_submitted() else 200)
    if form.password.data != form.repeat.data:
        form.repeat.errors = [_("The two passwords differ; type the same one twice.")]
        return _page(agent, form, 400)
    try:
        password_links.set_password(db.session, raw, form.password.data, now())
    except password_links.LinkRefused:
        raise
    except ServiceError as exc:
        db.session.rollback()
        form.password.errors = [as_sentence(str(exc))]
        return _page(agent, form, 400)
    db.session.commit()
    if current_user.is_authenticated:
        logout_user()  # whoever was signed in on this browser, the link's agent signs in next
    flash(_("Your password is set. Sign in with it."), "info")
    return redirect(url_for("auth.login"))


def _page(agent, form: SetPasswordForm, status: int):
    return render_template("auth/set_password.html", agent=agent, form=form), status

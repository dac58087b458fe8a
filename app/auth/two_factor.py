"""The agent's own two-factor page, and the rule that roles needing it use nothing else until it is set up.

``TWO_FACTOR_ROLES`` (default: managers and administrators) must sign in with a code from
an authenticator app. A signed-in agent of such a role without one is sent to this page
from every other page of the console, the API and the exports alike; signing out and the
customer pages stay open. Here an agent sets up the app (a QR code, then a first code),
gets recovery codes (shown once), replaces them, or starts over with a new phone.
"""

from __future__ import annotations

import segno
from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user

from app.access.rules import ROLES
from app.auth.forms import CodeForm
from app.auth.session import require_signed_in
from app.extensions import db
from app.runtime import now, secret_box
from app.services import two_factor
from app.services.errors import ServiceError
from config import ConfigError

bp = Blueprint("two_factor", __name__, url_prefix="/account/two-factor")
bp.before_request(require_signed_in)

# What an agent who still has to set up two-factor sign-in may reach.
OPEN_ENDPOINTS = {"static", "health.healthz", "auth.login", "auth.code", "auth.logout", "cookies.page"}


def init_app(app: Flask) -> None:
    unknown = [r for r in app.config["TWO_FACTOR_ROLES"] if r not in ROLES]
    if unknown:
        raise ConfigError(f"TWO_FACTOR_ROLES names {unknown[0]!r}, which is no role "
                          f"(roles: {', '.join(ROLES)}; leave it empty for none)")
    app.before_request(_set_up_first)


def _set_up_first():
    if request.endpoint in OPEN_ENDPOINTS or request.blueprint in ("two_factor", "customer", "password"):
        return None
    if current_user.is_authenticated and not current_user.has_two_factor and \
            two_factor.requires_two_factor(current_user, current_app.config["TWO_FACTOR_ROLES"]):
        return redirect(url_for("two_factor.page"))
    return None


def me():
    return current_user._get_current_object()


@bp.get("")
def page():
    return _page()


@bp.post("/begin")
def begin():
    return _act(lambda: two_factor.start_setup(db.session, me(), secret_box()),
                _("Scan the code with your authenticator app, then type the code it shows."))


@bp.post("/confirm")
def confirm():
    form = CodeForm()
    if not form.validate_on_submit():
        return _page(form_error=_("Type the code your app shows.")), 400
    try:
        codes = two_factor.confirm_setup(db.session, me(), form.code.data, now(), secret_box())
    except ServiceError as exc:
        db.session.rollback()
        return _page(form_error=str(exc)), 400
    db.session.commit()
    login_user(me())  # the setup ended every session, this one too: carry on signed in
    return _page(recovery_codes=codes)


@bp.post("/recovery-codes")
def recovery_codes():
    form = CodeForm()
    try:
        codes = two_factor.new_recovery_codes(db.session, me(), form.code.data or "", now(), secret_box())
    except ServiceError as exc:
        db.session.rollback()
        return _page(form_error=str(exc)), 400
    db.session.commit()
    return _page(recovery_codes=codes)


@bp.post("/reset")
def reset():
    form = CodeForm()
    if two_factor.check_code(db.session, me(), form.code.data or "", now(), secret_box()) is None:
        db.session.commit()  # a code used is used, even if this request goes no further
        return _page(form_error=_("That code does not match, or was used already.")), 400
    two_factor.reset(db.session, me(), now(), by=me())
    db.session.commit()
    login_user(me())
    flash(_("Two-factor sign-in was removed. Set it up again with your new phone."), "info")
    return redirect(url_for("two_factor.page"))


def _act(action, done: str):
    try:
        action()
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc)[:1].upper() + str(exc)[1:] + ".", "error")
        return redirect(url_for("two_factor.page"))
    db.session.commit()
    flash(done, "info")
    return redirect(url_for("two_factor.page"))


def _page(form_error: str | None = None, recovery_codes: list[str] | None = None):
    agent = me()
    secret = two_factor.pending_secret(agent, secret_box())
    uri = two_factor.provisioning_uri(agent, secret, "Support desk") if secret else None
    qr = segno.make(uri, error="m").svg_data_uri(scale=4) if uri else None
    required = two_factor.requires_two_factor(agent, current_app.config["TWO_FACTOR_ROLES"])
    return render_template("auth/two_factor.html", agent=agent, secret=secret, uri=uri, qr=qr,
                           required=required, form=CodeForm(), form_error=form_error,
                           recovery_codes=recovery_codes, left=two_factor.recovery_codes_left(agent))

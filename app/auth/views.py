"""Sign-in and sign-out pages.

Failed sign-ins are rate-limited twice: per address and client, and per client across
addresses. Only failures count, so an agent who signs in correctly is never slowed.
"""

from __future__ import annotations

from hashlib import sha256

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from app.auth.forms import LoginForm
from app.auth.session import safe_next
from app.extensions import db, limiter
from app.services.agents import authenticate, revoke_sessions

bp = Blueprint("auth", __name__)

WRONG = "The email address or password is wrong, or the account is disabled."
LIMITED = ("Too many failed sign-ins from here. Wait a minute, then try again; "
           "if you forgot your password, ask an administrator.")


def _address_key() -> str:
    # Hashed, so the limiter's storage holds no address or IP address in clear.
    email = request.form.get("email", "").strip().lower()
    return sha256(f"{email}\0{get_remote_address()}".encode()).hexdigest()


def _client_key() -> str:
    return sha256(f"client\0{get_remote_address()}".encode()).hexdigest()


def _sign_in_failed(response) -> bool:
    return g.get("sign_in_failed", False)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_address_key,
               methods=["POST"], deduct_when=_sign_in_failed)
@limiter.limit(lambda: current_app.config["LOGIN_CLIENT_RATE_LIMIT"], key_func=_client_key,
               methods=["POST"], deduct_when=_sign_in_failed)
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    agent = authenticate(db.session, form.email.data, form.password.data)
    db.session.commit()  # keeps a hash upgraded to the current parameters
    if agent is None:
        g.sign_in_failed = True
        return render_template("auth/login.html", form=form, error=WRONG)
    login_user(agent, remember=form.remember.data)
    return redirect(safe_next(form.next.data))


@bp.errorhandler(429)
def too_many_attempts(error):
    return render_template("auth/login.html", form=LoginForm(), error=LIMITED), 429


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Every remember cookie of this agent, on any device, stops working.
        revoke_sessions(current_user._get_current_object())
        db.session.commit()
    session.clear()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))

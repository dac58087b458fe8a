"""Sign-in and sign-out pages, and the second step of sign-in: a code from an authenticator app.

Failed sign-ins are rate-limited twice: per address and client, and per client across
addresses; wrong codes the same way, per agent and client and per client. Only failures
count, so an agent who signs in correctly is never slowed. An agent with two-factor
sign-in set up is signed in only once the code is right: until then the session holds
just who passed the password, for a few minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from hashlib import sha256

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from app.auth.forms import CodeForm, LoginForm
from app.auth.session import safe_next
from app.extensions import db, limiter
from app.models import Agent
from app.runtime import now, secret_box
from app.services import two_factor
from app.services.agents import authenticate, load_agent, revoke_sessions

bp = Blueprint("auth", __name__)

WRONG = lazy_gettext("The email address or password is wrong, or the account is disabled.")
LIMITED = lazy_gettext("Too many failed sign-ins from here. Wait a minute, then try again; "
                       "if you forgot your password, ask an administrator.")
WRONG_CODE = lazy_gettext("That code is wrong, expired or used already. Type the code your app shows now.")
# How long a passed password waits for its code before the sign-in starts over.
CODE_MINUTES = 5


def _address_key() -> str:
    # Hashed, so the limiter's storage holds no address or IP address in clear.
    email = request.form.get("email", "").strip().lower()
    return sha256(f"{email}\0{get_remote_address()}".encode()).hexdigest()


def _client_key() -> str:
    return sha256(f"client\0{get_remote_address()}".encode()).hexdigest()


def _code_key() -> str:
    pending = session.get("two_factor", {})
    return sha256(f"code\0{pending.get('agent')}\0{get_remote_address()}".encode()).hexdigest()


def _sign_in_failed(response) -> bool:
    return g.get("sign_in_failed", False)


def _failures_limited(key_func):
    """Limit a sign-in step's failed POSTs per ``key_func`` (who and from where) and per client."""
    def decorate(view):
        per_client = limiter.limit(lambda: current_app.config["LOGIN_CLIENT_RATE_LIMIT"],
                                   key_func=_client_key, methods=["POST"], deduct_when=_sign_in_failed)
        per_key = limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=key_func,
                                methods=["POST"], deduct_when=_sign_in_failed)
        return per_key(per_client(view))
    return decorate


@bp.route("/login", methods=["GET", "POST"])
@_failures_limited(_address_key)
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
    if agent.has_two_factor:
        session["two_factor"] = {"agent": agent.get_id(), "remember": form.remember.data,
                                 "next": safe_next(form.next.data), "at": now().isoformat()}
        return redirect(url_for("auth.code"))
    login_user(agent, remember=form.remember.data)
    return redirect(safe_next(form.next.data))


@bp.route("/login/code", methods=["GET", "POST"])
@_failures_limited(_code_key)
def code():
    agent, pending = _waiting_for_code()
    if agent is None:
        flash(_("Sign in again: the time to type the code ran out."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("auth/code.html", form=form)
    used = two_factor.check_code(db.session, agent, form.code.data, now(), secret_box())
    db.session.commit()
    if used is None:
        g.sign_in_failed = True
        return render_template("auth/code.html", form=form, error=WRONG_CODE)
    session.pop("two_factor")
    login_user(agent, remember=pending["remember"])
    if used == "recovery code":
        left = two_factor.recovery_codes_left(agent)
        flash(ngettext("You signed in with a recovery code; %(num)d is left. "
                       "Set up your authenticator again under Two-factor sign-in.",
                       "You signed in with a recovery code; %(num)d are left. "
                       "Set up your authenticator again under Two-factor sign-in.", left), "info")
    return redirect(pending["next"])


def _waiting_for_code() -> tuple[Agent | None, dict]:
    pending = session.get("two_factor") or {}
    try:
        started = datetime.fromisoformat(pending["at"])
    except (KeyError, TypeError, ValueError):
        return None, pending
    if now() - started > timedelta(minutes=CODE_MINUTES):
        return None, pending
    return load_agent(db.session, pending.get("agent", "")), pending


@bp.errorhandler(429)
def too_many_attempts(error):
    if request.endpoint == "auth.code":
        return render_template("auth/code.html", form=CodeForm(), error=LIMITED), 429
    return render_template("auth/login.html", form=LoginForm(), error=LIMITED), 429


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Every remember cookie of this agent, on any device, stops working.
        revoke_sessions(current_user._get_current_object())
        db.session.commit()
    session.clear()
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))

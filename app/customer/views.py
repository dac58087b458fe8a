"""The pages a company contact reaches from an emailed link: decide on a request, revoke a
grant, see the access log.

Opening a link never changes anything, since mail scanners and link previews open
links too: a GET (or HEAD) only shows the page, and only a POST from that page, with its
CSRF token, decides or revokes. Each token works for one request and one purpose until
it expires; these routes are rate-limited so tokens cannot be guessed by trying.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from app.access import grants, links, queries, rules
from app.customer.forms import DecisionForm, RevokeForm
from app.extensions import db, limiter
from app.requestlog import note_account
from app.runtime import access_settings, now
from app.services import access_notices, leaks
from app.services.errors import ServiceError

bp = Blueprint("customer", __name__, url_prefix="/customer")
limiter.limit(lambda: current_app.config["CUSTOMER_LINK_RATE_LIMIT"])(bp)


def _token(raw: str, purpose: str):
    token = links.find_token(db.session, raw, purpose, now())
    note_account(token.request.account_id)
    return token


@bp.errorhandler(links.TokenError)
def refused(error: links.TokenError):
    db.session.rollback()
    if error.leaked is not None and request.method == "POST":
        # Someone acts on a link that stood in archived mail: the audit log names them if it can.
        agent_id = current_user.id if current_user.is_authenticated else None
        leaks.note_leaked_use(db.session, error.leaked, agent_id, now())
        db.session.commit()
    return render_template("customer/refused.html", message=str(error)), error.status


@bp.route("/decide/<raw>", methods=["GET", "POST"])
def decide(raw: str):
    token = _token(raw, "decide")
    form = DecisionForm.for_request(token.request)
    error = None
    if request.method == "POST":
        if not form.validate_on_submit() or not (form.approve.data or form.deny.data):
            return _page("customer/decide.html", token, form, "Choose approve or deny."), 400
        try:
            # The decision stands only once its confirmation email (with the revoke link) is sent.
            access_notices.send(grants.decide(db.session, token, form.approve.data, float(form.hours.data),
                                       now(), access_settings()))
            db.session.commit()
        except links.TokenError:
            raise
        except ServiceError as exc:
            db.session.rollback()
            error = str(exc)
    return _page("customer/decide.html", token, form, error)


@bp.route("/revoke/<raw>", methods=["GET", "POST"])
def revoke(raw: str):
    token = _token(raw, "revoke")
    form = RevokeForm()
    if request.method == "POST" and form.validate_on_submit():
        # Revocation takes effect whether or not the notices can be sent.
        ended = grants.revoke(db.session, token, now())
        db.session.commit()
        access_notices.send_or_log(ended)
    return _page("customer/revoke.html", token, form, None)


@bp.get("/log/<raw>")
def log(raw: str):
    token = _token(raw, "log")
    account = token.request.account
    views = queries.record_views(db.session, account.id)
    return render_template("customer/log.html", account=account, views=views)


def _page(template: str, token, form, error: str | None):
    req = token.request
    return render_template(template, req=req, form=form, error=error, state=grants.describe(req, now()),
                           scope=rules.scope_words(req.scope))

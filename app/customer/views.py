"""The pages a company contact reaches from an emailed link: decide on a request, revoke a
grant, see the access log; give or refuse a consent to share, and withdraw it.

Opening a link never changes anything, since mail scanners and link previews open
links too: a GET (or HEAD) only shows the page, and only a POST from that page, with its
CSRF token, decides or revokes. Each token works for one request and one purpose until
it expires; these routes are rate-limited so tokens cannot be guessed by trying.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext
from flask_login import current_user

from app import i18n
from app.access import consents, grants, links, queries, rules, words
from app.customer.forms import ConsentForm, DecisionForm, RevokeForm, WithdrawForm
from app.extensions import db, limiter
from app.requestlog import note_account
from app.runtime import access_settings, now
from app.services import access_notices, contact_languages, leaks
from app.services.errors import ServiceError

bp = Blueprint("customer", __name__, url_prefix="/customer")
limiter.limit(lambda: current_app.config["CUSTOMER_LINK_RATE_LIMIT"])(bp)


def _token(raw: str, purpose: str):
    token = links.find_token(db.session, raw, purpose, now())
    note_account(token.account_id)
    _speak_to(token)
    return token


def _speak_to(token) -> None:
    """Write the page in the contact's language; a POST from it teaches the desk their browser's.

    Only a POST teaches: it carries the page's CSRF token, so it is the contact acting, where
    a GET may be a mail scanner's with a language of its own. A contact of unknown language
    reads the page in their browser's (English when the desk has none of those).
    """
    contact = contact_languages.contact_at(db.session, token.account_id, token.contact_email)
    browser = request.headers.get("Accept-Language")
    if request.method == "POST":
        contact_languages.learn(contact, browser, contact_languages.VISIT)
    i18n.use_locale(contact.language if contact and contact.language else i18n.from_header(browser))


@bp.errorhandler(links.TokenError)
def refused(error: links.TokenError):
    db.session.rollback()
    if error.leaked is not None and request.method == "POST":
        # Someone acts on a link that stood in archived mail: the audit log names them if it can.
        agent_id = current_user.id if current_user.is_authenticated else None
        leaks.note_leaked_use(db.session, error.leaked, agent_id, now())
        db.session.commit()
    i18n.use_locale(i18n.from_header(request.headers.get("Accept-Language")))
    return render_template("customer/refused.html", message=str(error)), error.status


@bp.route("/decide/<raw>", methods=["GET", "POST"])
def decide(raw: str):
    token = _token(raw, "decide")
    form = DecisionForm.for_request(token.request)
    error, status, links = _decision(token, form, form.approve, form.deny, gettext("Choose approve or deny."),
                                     lambda: grants.decide(db.session, token, form.approve.data,
                                                           float(form.hours.data), now(), access_settings()))
    return _page("customer/decide.html", token, form, error, links), status


def _decision(token, form, yes, no, choose: str, decide) -> tuple[str | None, int, dict[str, str]]:
    """Carry out a customer's decision posted from its page; return the error to show, the status,
    and the links the confirmation email gives this contact (their access log, ending it).

    The decision stands only once its confirmation email (with the link that undoes it) is
    sent. A form with neither button is answered with ``choose`` and status 400.
    """
    if request.method != "POST":
        return None, 200, {}
    if not form.validate_on_submit() or not (yes.data or no.data):
        return choose, 400, {}
    try:
        notices = decide()
        access_notices.send(notices)
        db.session.commit()
    except links.TokenError:
        raise
    except ServiceError as exc:
        db.session.rollback()
        return str(exc), 200, {}
    own = next((n for n in notices if n.to == token.contact_email), None)
    return None, 200, {p: access_notices.link(p, raw) for p, raw in own.links.items()} if own else {}


@bp.route("/revoke/<raw>", methods=["GET", "POST"])
def revoke(raw: str):
    token = _token(raw, "revoke")
    form = RevokeForm()
    _end(form, lambda: grants.revoke(db.session, token, now()))
    return _page("customer/revoke.html", token, form, None)


@bp.get("/log/<raw>")
def log(raw: str):
    token = _token(raw, "log")
    account = token.request.account
    views = queries.record_views(db.session, account.id)
    return render_template("customer/log.html", account=account, views=views,
                           consents=queries.consents_of(db.session, account.id),
                           uses=queries.consent_uses(db.session, account.id), clock=now(),
                           describe_consent=words.consent_state, name_record=words.record)


@bp.route("/consent/<raw>", methods=["GET", "POST"])
def consent(raw: str):
    token = _token(raw, "consent")
    form = ConsentForm.for_consent(token.consent)
    choose = gettext("Choose to consent or to refuse.")
    error, status, links = _decision(token, form, form.give, form.refuse, choose,
                                     lambda: consents.decide(db.session, token, form.give.data,
                                                             int(form.days.data), now(),
                                                             access_settings().log_link_days))
    return _consent_page("customer/consent.html", token, form, error, links), status


@bp.route("/withdraw/<raw>", methods=["GET", "POST"])
def withdraw(raw: str):
    token = _token(raw, "withdraw")
    form = WithdrawForm()
    _end(form, lambda: consents.withdraw(db.session, token, now()))
    return _consent_page("customer/withdraw.html", token, form, None)


def _end(form, end) -> None:
    """End a grant or withdraw a consent posted from its page. It takes effect whether or not
    the notices that say so can be sent."""
    if request.method == "POST" and form.validate_on_submit():
        notices = end()
        db.session.commit()
        access_notices.send_or_log(notices)


def _consent_page(template: str, token, form, error: str | None, links: dict | None = None):
    consent = token.consent
    return render_template(template, consent=consent, form=form, error=error, links=links or {},
                           state=consents.describe(consent, now()),
                           state_words=words.consent_state(consent, now()),
                           in_force=rules.consent_in_force(queries.as_consent(consent), now()),
                           uses=queries.consent_uses(db.session, consent.account_id, consent.id))


def _page(template: str, token, form, error: str | None, links: dict | None = None):
    req = token.request
    return render_template(template, req=req, form=form, error=error, links=links or {},
                           state=grants.describe(req, now()), state_words=words.request_state(req, now()),
                           scope=words.scope(req.scope))

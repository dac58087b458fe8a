"""Emails about access and sharing: requests to approvers, confirmations with revoke and log
links, notices that a grant ended, break-glass alerts, and the asking, giving, refusing
and withdrawing of consents to share. Rendered from ``templates/mail/``
and handed to the outbound transport (``SMTP_URL``), marked as automatic so that
out-of-office replies do not answer them. Each states the audit chain's head.
"""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import lazy_gettext

from app.access import consents, words
from app.access.grants import Notice
from app.extensions import db
from app.i18n import in_locale
from app.models import Consent
from app.runtime import access_settings, now
from app.services import audit, contact_languages, leaks
from app.services.errors import ServiceError
from app.services.outbound import automatic_email, desk_sender, outbound_transport

SUBJECTS = {
    "consent_request":
        lazy_gettext("Consent to share %(account)s's data with %(recipient)s: please give or refuse"),
    "consent_given": lazy_gettext("You consented to share %(account)s's data with %(recipient)s"),
    "consent_given_by_other":
        lazy_gettext("Consent to share %(account)s's data with %(recipient)s was given"),
    "consent_refused": lazy_gettext("You refused to share %(account)s's data with %(recipient)s"),
    "consent_withdrawn": lazy_gettext("Consent to share %(account)s's data with %(recipient)s was withdrawn"),
    "consent_relinked":
        lazy_gettext("A new link about sharing %(account)s's data: the old one no longer works"),
    "request": lazy_gettext("Access request for %(account)s: please approve or deny"),
    "granted": lazy_gettext("You approved access to %(account)s's records"),
    "approved": lazy_gettext("Access to %(account)s's records was approved"),
    "denied": lazy_gettext("You denied access to %(account)s's records"),
    "ended": lazy_gettext("Access to %(account)s's records has ended"),
    "break_glass": lazy_gettext("Emergency access to %(account)s's records was opened"),
    "relinked": lazy_gettext("A new link for %(account)s's access request: the old one no longer works"),
}
PATHS = {"decide": "/customer/decide/", "revoke": "/customer/revoke/", "log": "/customer/log/",
         "consent": "/customer/consent/", "withdraw": "/customer/withdraw/"}


def link(purpose: str, token: str) -> str:
    """Return the absolute address of a customer page for a token."""
    return f"{current_app.config['PUBLIC_URL']}{PATHS[purpose]}{token}"


def build(notice: Notice) -> bytes:
    """Return the email for a notice, ready for SMTP."""
    about = notice.about
    links = {purpose: link(purpose, token) for purpose, token in notice.links.items()}
    # The chain's head as this transaction sees it, the entry this email is about included:
    # the approver keeps a witness of the log that the database alone cannot rewrite.
    head = audit.head(db.session)
    # Written in the reader's language: a contact's own, English for an agent or a stranger.
    with in_locale(contact_languages.language_of(db.session, about.account_id, notice.to)):
        if isinstance(about, Consent):
            body = render_template(f"mail/{notice.template}.txt", consent=about, links=links, audit_head=head,
                                   state=consents.describe(about, now()))
            subject = str(SUBJECTS[notice.template]) % {"account": about.account.name,
                                                        "recipient": about.recipient}
        else:
            body = render_template(f"mail/access_{notice.template}.txt", request=about, links=links,
                                   scope=words.scope(about.scope), audit_head=head,
                                   reason=words.status(about.end_reason or "expired"))
            subject = str(SUBJECTS[notice.template]) % {"account": about.account.name}
    return automatic_email(desk_sender(current_app.config), notice.to, subject, body)


def send(notices: list[Notice]) -> None:
    """Send each notice; raise ``ServiceError`` naming the first that could not be sent."""
    if not notices:
        return
    config = current_app.config
    transport = outbound_transport(config["SMTP_URL"], config["SMTP_TIMEOUT_SECONDS"])
    for notice in notices:
        transport.send(build(notice), config["SUPPORT_ADDRESS"], [notice.to])


def send_or_log(notices: list[Notice]) -> None:
    """Send notices of something already done; a failure is logged, never undoes it."""
    try:
        send(notices)
    except ServiceError as exc:
        current_app.logger.error("access notices not sent: %s", exc)


def send_new_links() -> int:
    """Email a new link for each leaked one, in a transaction of its own; return how many were sent.

    Called after mail is archived, and by the worker's tidy-up job, which tries again
    whatever could not be sent: a mail server that is down is logged, never raised.
    """
    try:
        due = leaks.replace_leaked_links(db.session, now(), access_settings().log_link_days)
        send(due)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        WAITING.note("new links in place of leaked ones", exc)
        return 0
    if due:
        WAITING.sent("new links in place of leaked ones")
    return len(due)


class Waiting:
    """Says once why mail of one kind waits, not at every retry.

    The worker retries unsent notices every minute; a mail server that stays down, or
    ``SMTP_URL`` left unset, would otherwise write the same line each time. A kind's
    reason is logged when it first appears or changes, and once more when that kind of
    mail goes out again.
    """

    def __init__(self) -> None:
        self._reasons: dict[str, str] = {}

    def note(self, kind: str, problem: Exception) -> None:
        reason = str(problem)
        if self._reasons.get(kind) != reason:
            self._reasons[kind] = reason
            current_app.logger.warning("%s wait, and are tried again every minute: %s", kind, reason)

    def sent(self, kind: str) -> None:
        if self._reasons.pop(kind, None) is not None:
            current_app.logger.info("%s are being sent again", kind)


WAITING = Waiting()

"""The contact form at /contact: a visitor's message becomes an archived message and a
ticket, as mail to the support address would (``app.services.contact``).

Sending is rate-limited per client address (``CONTACT_RATE_LIMIT``). A form whose
hidden field a robot filled in is answered as if it was sent, and archives nothing.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, redirect, render_template, url_for
from sqlalchemy.exc import IntegrityError

from app.contact.forms import ContactForm
from app.extensions import db, limiter
from app.runtime import now, raw_store
from app.services import contact
from app.services.errors import ServiceError

bp = Blueprint("contact", __name__)
log = logging.getLogger(__name__)


@bp.get("/contact")
def page():
    return render_template("contact/form.html", form=ContactForm(nonce=contact.new_nonce()), problem=None)


@bp.post("/contact")
@limiter.limit(lambda: current_app.config["CONTACT_RATE_LIMIT"])
def send():
    form = ContactForm()
    if not form.validate_on_submit():
        return _refused(form, "fill in your name, email address, subject and message")
    if form.website.data:
        log.info("contact form: the hidden field was filled in, so nothing was archived")
        return redirect(url_for("contact.sent"))
    sent = contact.ContactMessage(form.name.data, form.address.data, form.subject.data, form.text.data)
    try:
        contact.archive_contact_message(db.session, raw_store(), form.nonce.data or "", sent,
                                        support_address=current_app.config["SUPPORT_ADDRESS"],
                                        tag_prefix=current_app.config["TICKET_TAG_PREFIX"], now=now())
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        return _refused(form, str(exc))
    except IntegrityError:
        db.session.rollback()  # the same form, posted at the same moment by another request
        if not contact.was_archived(db.session, form.nonce.data, sent):
            raise
    return redirect(url_for("contact.sent"))


def _refused(form: ContactForm, problem: str):
    return render_template("contact/form.html", form=form, problem=problem), 400


@bp.get("/contact/sent")
def sent():
    return render_template("contact/sent.html")

"""The saved replies page: list, add, change and remove the replies an agent may use.

Another agent's personal reply is not found here (404), as if it did not exist; a shared
reply the agent may not change is shown, but its form is not offered and a POST to it is
refused (403). Every form posts and redirects, so the page works with scripts off.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth.session import require_signed_in
from app.console.forms import ButtonForm, SavedReplyForm
from app.extensions import db
from app.models import SavedReply
from app.runtime import now
from app.services import saved_replies
from app.services.errors import ServiceError, as_sentence
from app.services.saved_replies import PLACEHOLDERS

bp = Blueprint("saved_replies", __name__)
bp.before_request(require_signed_in)


def agent():
    return current_user._get_current_object()


def _visible_or_404(saved_id: int) -> SavedReply:
    return saved_replies.find(db.session, agent(), saved_id) or abort(404)


def _editable_or_403(saved_id: int) -> SavedReply:
    reply = _visible_or_404(saved_id)
    if not saved_replies.can_edit(agent(), reply):
        abort(403, description=_("Only its author, a manager or an administrator can change a shared reply."))
    return reply


def show_error(form: SavedReplyForm, error: ServiceError) -> SavedReplyForm:
    """Put the service's sentence beside the field it names, or above the form."""
    field = form._fields.get(error.field or "")
    (field.errors if field is not None else form.form_errors).append(as_sentence(str(error)))
    return form


def _list_page(form: SavedReplyForm, status: int = 200):
    replies = saved_replies.visible(db.session, agent())
    editable = {r.id for r in replies if saved_replies.can_edit(agent(), r)}
    return render_template("console/saved_replies.html", replies=replies, editable=editable, form=form,
                           placeholders=PLACEHOLDERS), status


@bp.get("/saved-replies")
def page():
    return _list_page(SavedReplyForm(formdata=None, shared=True))


@bp.post("/saved-replies")
def create():
    form = SavedReplyForm()
    if not form.validate_on_submit():
        return _list_page(form, 400)
    try:
        reply = saved_replies.create(db.session, agent(), form.title.data, form.body.data, form.shared.data,
                                     now())
    except ServiceError as exc:
        db.session.rollback()
        return _list_page(show_error(form, exc), 400)
    db.session.commit()
    flash(_("Saved reply “%(title)s” added.", title=reply.title), "info")
    return redirect(url_for("saved_replies.page"))


# One rule for both methods: Werkzeug answers 405 rather than 404 for an id too large for
# the database when a path has separate GET and POST rules.
@bp.route("/saved-replies/<int:saved_id>", methods=["GET", "POST"])
def edit(saved_id: int):
    reply = _editable_or_403(saved_id)
    if request.method == "GET":
        return _edit_page(reply, SavedReplyForm(formdata=None, obj=reply))
    form = SavedReplyForm()
    if not form.validate_on_submit():
        return _edit_page(reply, form, 400)
    try:
        saved_replies.update(db.session, agent(), reply, form.title.data, form.body.data, form.shared.data,
                             now())
    except ServiceError as exc:
        db.session.rollback()
        return _edit_page(reply, show_error(form, exc), 400)
    db.session.commit()
    flash(_("Saved reply “%(title)s” changed.", title=reply.title), "info")
    return redirect(url_for("saved_replies.page"))


def _edit_page(reply: SavedReply, form: SavedReplyForm, status: int = 200):
    return render_template("console/saved_reply.html", reply=reply, form=form, delete_form=ButtonForm(),
                           placeholders=PLACEHOLDERS), status


@bp.post("/saved-replies/<int:saved_id>/delete")
def delete(saved_id: int) -> Response:
    reply = _editable_or_403(saved_id)  # the CSRF token is checked before any view
    title = reply.title
    saved_replies.delete(db.session, agent(), reply, now())
    db.session.commit()
    flash(_("Saved reply “%(title)s” removed.", title=title), "info")
    return redirect(url_for("saved_replies.page"))

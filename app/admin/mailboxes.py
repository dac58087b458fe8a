"""Mailbox administration in the browser: the list, adding and editing a mailbox (password or
OAuth2), its page with its folders' health, the step-by-step connection test, choosing
folders from the server's list, pausing and resuming.

Administrators only, through the admin blueprint's guard; every POST carries the CSRF
token (Flask-WTF), and every change goes through ``app.services.mailboxes``, the same
service as ``flask mailbox``, which checks it, says what is wrong in the same sentence,
and writes it to the audit log. Connecting an OAuth2 mailbox is ``app.admin.oauth``'s.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug import Response
from wtforms.fields.choices import SelectChoice

from app.admin.mailbox_forms import SECURITY, ActionForm, FolderChoiceForm, MailboxForm
from app.admin.oauth import redirect_uri
from app.admin.views import bp
from app.extensions import db
from app.models import Mailbox
from app.models.mailbox import KINDS
from app.runtime import now, poll_settings, secret_box
from app.services import mailboxes, oauth
from app.services.errors import ServiceError, as_sentence
from app.services.mailbox_health import KIND_LABELS, folders_health, last_errors, mailbox_overview
from mailbox.diagnosis import diagnose_connection
from mailbox.errors import MailboxError
from mailbox.oauth import PROVIDERS


def _mailbox(mailbox_id: int) -> Mailbox:
    return db.session.get(Mailbox, mailbox_id) or abort(404)


def _me():
    return current_user._get_current_object()


@bp.get("/mailboxes")
def mailboxes_list():
    return render_template("admin/mailboxes/list.html", rows=mailbox_overview(db.session, now()))


@bp.route("/mailboxes/new", methods=["GET", "POST"])
def new_mailbox():
    kind = request.values.get("kind", "")
    if kind not in KINDS:
        return render_template("admin/mailboxes/choose_kind.html", kinds=KIND_LABELS)
    form = MailboxForm(kind=kind)
    form.kind.data = kind
    if form.validate_on_submit():
        try:
            mailbox = mailboxes.add_mailbox(db.session, form.name.data or "", **_connection(form, kind),
                                            folders=form.folder_names(), kind=kind,
                                            oauth_settings=form.oauth_settings(), box=secret_box(),
                                            by=_me(), at=now())
            db.session.commit()
        except ServiceError as exc:
            return _refused(form, exc, "admin/mailboxes/form.html", kind=kind, mailbox=None)
        flash(_added(mailbox), "info")
        return redirect(url_for("admin.mailbox", mailbox_id=mailbox.id))
    return _form_page(form, kind, None)


@bp.route("/mailboxes/<int:mailbox_id>/edit", methods=["GET", "POST"])
def edit_mailbox(mailbox_id: int):
    mailbox = _mailbox(mailbox_id)
    form = MailboxForm(data=mailboxes.current_settings(mailbox)) if request.method == "GET" else MailboxForm()
    form.kind.data = mailbox.kind
    if form.validate_on_submit():
        try:
            changed = mailboxes.edit_mailbox(db.session, mailbox, by=_me(), at=now(),
                                             name=form.name.data or "", **_connection(form, mailbox.kind),
                                             oauth_settings=form.oauth_settings(), box=secret_box(),
                                             smtp_host=form.smtp_host.data or "",
                                             smtp_port=form.smtp_port.data or None,
                                             smtp_security=form.smtp_security.data or None)
            db.session.commit()
        except ServiceError as exc:
            return _refused(form, exc, "admin/mailboxes/form.html", kind=mailbox.kind, mailbox=mailbox)
        flash(_("Saved: %(settings)s changed.", settings=", ".join(changed)) if changed
              else _("Nothing was changed."), "info")
        return redirect(url_for("admin.mailbox", mailbox_id=mailbox.id))
    return _form_page(form, mailbox.kind, mailbox)


@bp.get("/mailboxes/<int:mailbox_id>")
def mailbox(mailbox_id: int):
    return _mailbox_page(_mailbox(mailbox_id))


@bp.post("/mailboxes/<int:mailbox_id>/test")
def test_mailbox(mailbox_id: int):
    mailbox = _mailbox(mailbox_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    steps = diagnose_connection(mailbox, poll_settings())
    oauth.record_refusals(db.session)  # a provider that refused the token marks the mailbox now
    return _mailbox_page(mailbox, steps)


@bp.post("/mailboxes/<int:mailbox_id>/pause")
def pause_mailbox(mailbox_id: int):
    mailbox = _mailbox(mailbox_id)
    return _done(mailbox, lambda: mailboxes.pause_mailbox(db.session, mailbox, by=_me(), at=now()),
                 _("The mailbox %(name)s is paused: it is not polled until it is resumed.",
                   name=mailbox.name))


@bp.post("/mailboxes/<int:mailbox_id>/resume")
def resume_mailbox(mailbox_id: int):
    mailbox = _mailbox(mailbox_id)
    return _done(mailbox, lambda: mailboxes.resume_mailbox(db.session, mailbox, by=_me(), at=now()),
                 _("The mailbox %(name)s is polled again, from where it stopped.", name=mailbox.name))


@bp.route("/mailboxes/<int:mailbox_id>/folders", methods=["GET", "POST"])
def mailbox_folders(mailbox_id: int):
    mailbox = _mailbox(mailbox_id)
    form = FolderChoiceForm()
    try:
        available = mailboxes.server_folders(mailbox, poll_settings())
    except (MailboxError, ServiceError) as exc:
        problem = _("The server's folders cannot be listed: %(problem)s", problem=exc)
        return _folders_page(mailbox, form, [], [], problem=problem)
    chosen = request.form.getlist("folder") if request.method == "POST" else [f.name for f in mailbox.folders]
    if form.validate_on_submit():
        try:
            change = mailboxes.set_folders(db.session, mailbox, chosen, by=_me(), at=now(),
                                           available=available, removal_confirmed=form.confirm_removal.data)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            return _folders_page(mailbox, form, available, chosen, problem=as_sentence(str(exc)))
        flash(_folders_saved(change), "info")
        return redirect(url_for("admin.mailbox", mailbox_id=mailbox.id))
    return _folders_page(mailbox, form, available, chosen)


# ---- helpers of the views above -------------------------------------------------------------

def _connection(form: MailboxForm, kind: str) -> dict:
    """The connection settings typed; blank ones are the provider's for Microsoft 365 and Google."""
    return {"host": (form.host.data or "").strip(), "port": form.port.data or 0,
            "security": form.security.data or "", "username": (form.username.data or "").strip(),
            "password_env": (form.password_env.data or "").strip() if kind == "password" else None}


def _form_page(form: MailboxForm, kind: str, mailbox: Mailbox | None, problem: str | None = None):
    if kind not in PROVIDERS:  # there is no provider's own to fall back on
        form.security.choices = [SelectChoice("", _("choose one")), *SECURITY[1:]]
    return render_template("admin/mailboxes/form.html", form=form, kind=kind, kind_label=KIND_LABELS[kind],
                           preset=PROVIDERS.get(kind), mailbox=mailbox, problem=problem,
                           callback=redirect_uri())


def _refused(form: MailboxForm, exc: ServiceError, template: str, *, kind: str, mailbox: Mailbox | None):
    db.session.rollback()
    text = as_sentence(str(exc))
    return _form_page(form, kind, mailbox, problem=None if form.show_problem(text) else text)


def _added(mailbox: Mailbox) -> str:
    if mailbox.uses_oauth:
        return _("The mailbox %(name)s was added. Connect it: sign in at the provider as the mailbox's "
                 "account and consent.", name=mailbox.name)
    return _("The mailbox %(name)s was added. Test its connection to see each step of reaching it.",
             name=mailbox.name)


def _mailbox_page(mailbox: Mailbox, steps: list | None = None) -> str:
    return render_template("admin/mailboxes/mailbox.html", mailbox=mailbox,
                           state=mailboxes.mailbox_state(mailbox), kind_label=KIND_LABELS[mailbox.kind],
                           folders=folders_health(mailbox, now()), errors=last_errors(mailbox), steps=steps)


def _done(mailbox: Mailbox, action: Callable[[], None], success: str) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        action()
        db.session.commit()
        flash(success, "info")
    except ServiceError as exc:
        db.session.rollback()
        flash(_("Not done: %(problem)s", problem=as_sentence(str(exc))), "error")
    return redirect(url_for("admin.mailbox", mailbox_id=mailbox.id))


def _folders_page(mailbox: Mailbox, form: FolderChoiceForm, available: list[str], chosen: list[str],
                  problem: str | None = None) -> str:
    current = [f.name for f in mailbox.folders]
    listed = available + [name for name in current if name not in available]
    return render_template("admin/mailboxes/folders.html", mailbox=mailbox, form=form, listed=listed,
                           available=available, chosen=chosen, problem=problem,
                           removing=mailboxes.plan_folders(mailbox, chosen).removed)


def _folders_saved(change: mailboxes.FolderChange) -> str:
    added, removed = ", ".join(change.added), ", ".join(change.removed)
    if added and removed:
        return _("Added %(added)s (all their mail is archived); removed %(removed)s (their archived mail "
                 "stays)", added=added, removed=removed)
    if added:
        return _("Added %(added)s (all their mail is archived)", added=added)
    if removed:
        return _("Removed %(removed)s (their archived mail stays)", removed=removed)
    return _("The folders are unchanged.")

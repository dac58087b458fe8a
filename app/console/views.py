"""The console's pages: the queue, a ticket and the work done on it, accounts, settings.

Every view here needs a signed-in, enabled agent (checked once, before each request).
Account pages show records only as counts and byte totals: no record content is read
by any view in this blueprint.
"""

from __future__ import annotations

from io import BytesIO
from zoneinfo import available_timezones

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app import i18n
from app.access import consents, grants, queries
from app.access.rules import SCOPE_KINDS
from app.auth.session import require_signed_in, safe_next
from app.console import communications as entries
from app.console import compose, drafts, forms, presence, sharing
from app.console.change_panels import history_changes
from app.console.lookup import message_or_404, ticket_or_404
from app.console.mailbody import body_csp, body_document
from app.console.notifications import preferences_form
from app.console.pages import access_rows, grant_status, show_message
from app.console.queue_forms import bulk_form
from app.extensions import db
from app.form_errors import show_error
from app.ids import row_id
from app.models import Account, Attachment, Message, Ticket
from app.requestlog import note_account
from app.runtime import access_settings, now, raw_store, reply_settings
from app.services import notifications, oauth
from app.services import tickets as ticket_service
from app.services.accounts import account_names, list_accounts
from app.services.agents import set_language, update_settings
from app.services.collisions import seen_marker
from app.services.communications import beside_originals
from app.services.compose import set_signature
from app.services.drafts import discard_draft
from app.services.errors import ServiceError, as_sentence
from app.services.outbound import message_to_answer, send_reply
from app.services.records import record_summary
from mailbox.parse import attachment_payload, parse_message

bp = Blueprint("console", __name__)


# Deny by default: every console route, present and future, needs a signed-in agent.
bp.before_request(require_signed_in)


def agent():
    return current_user._get_current_object()


def _done(ticket_id: int, action, success: str) -> Response:
    """Run a change, commit it and say so; or roll back and say why it was refused."""
    try:
        action()
        db.session.commit()
        flash(success, "info")
    except ServiceError as exc:
        db.session.rollback()
        oauth.record_refusals(db.session)  # a reply's mailbox whose sign-in was refused
        flash(_("Not done: %(reason)s.", reason=exc), "error")
    return redirect(url_for("console.ticket", ticket_id=ticket_id))


def _refused(form, ticket_id: int) -> Response:
    problems = "; ".join(f"{form[name].label.text}: {' '.join(e.rstrip('.') for e in errs)}"
                         for name, errs in form.errors.items())
    flash(_("Not done: %(reason)s.", reason=problems), "error")
    return redirect(url_for("console.ticket", ticket_id=ticket_id))


@bp.get("/")
def home():
    return redirect(url_for("console.queue"))


@bp.get("/tickets")
def queue():
    account = _account_filter(request.args.get("account", ""))
    try:
        view = ticket_service.queue_view(request.args.get("status"), request.args.get("queue"),
                                         account.id if account else None, agent(),
                                         sender=request.args.get("sender"), words=request.args.get("words"),
                                         sort=request.args.get("sort"))
    except ServiceError as exc:
        abort(400, description=str(exc))
    if account is not None:
        note_account(account.id)
    page = ticket_service.list_queue(db.session, agent(), view, request.args.get("page", 1, type=int))
    return render_template("console/queue.html", view=view, page=page, account=account,
                           queue_labels=forms.QUEUE_LABELS, status_labels=forms.STATUS_LABELS,
                           status_words=forms.STATUS_WORDS, button=forms.ButtonForm(), clock=now(),
                           accounts=account_names(db.session),
                           bulk_form=bulk_form(ticket_service.enabled_agents(db.session)))


def _account_filter(raw: str) -> Account | None:
    """Return the account a queue's ``?account=`` names, none when it is empty, else 404."""
    if not raw:
        return None
    try:
        return db.session.get(Account, row_id(raw)) or abort(404)
    except ValueError:
        abort(404)


@bp.get("/tickets/<int:ticket_id>")
def ticket(ticket_id: int):
    ticket = ticket_or_404(ticket_id)
    if ticket.merged_into_id is not None:  # kept, closed; its messages and history are there now
        flash(_("Ticket #%(ticket)s was merged into ticket #%(into)s.", ticket=ticket.id,
                into=ticket.merged_into_id), "info")
        return redirect(url_for("console.ticket", ticket_id=ticket.merged_into_id))
    return _ticket_page(ticket, remote=request.args.get("remote", type=int))


def _ticket_page(ticket: Ticket, *, remote: int | None = None, reply_form: forms.ReplyForm | None = None,
                 held: forms.ReplyForm | None = None, arrived: list | None = None) -> str:
    """Render a ticket.

    ``reply_form`` is a refused reply, shown again with each error beside its field;
    ``held`` is a reply held back because ``arrived`` came since its page was shown.
    """
    seen = seen_marker(db.session, ticket)  # before the thread: what the page shows is at least this
    store = raw_store()
    thread = beside_originals(ticket_service.thread(db.session, ticket))
    items = [
        show_message(store, item, remote_allowed=item.id == remote) if isinstance(item, Message) else item
        for item in thread
    ]
    try:
        answering, cannot_reply = message_to_answer(db.session, ticket), None
    except ServiceError as exc:
        answering, cannot_reply = None, str(exc)
    corrections, correction_forms = entries.entry_panels(store, [i for i in thread if isinstance(i, Message)])
    ticket_forms = _ticket_forms(ticket)
    if ticket.account_id is not None:
        ticket_forms["grants"] = grant_status(db.session, agent(), ticket.account_id, now())
    if answering is not None:  # the reply starts by quoting what it answers, to be edited at will
        choices = compose.saved_choices(db.session, ticket, answering, agent())
        ticket_forms["saved_replies"] = choices
        ticket_forms["reply_form"] = reply_form or held or compose.reply_form(
            choices, answering, request.args.get("saved_reply", type=int), drafts.draft_body(ticket))
    page = render_template("console/ticket.html", ticket=ticket, items=items, answering=answering,
                           cannot_reply=cannot_reply, corrections=corrections,
                           correction_forms=correction_forms, seen=seen, held=held is not None,
                           arrived=arrived or [], arrived_ids={a.message_id for a in arrived or []},
                           also_open=presence.others_text(ticket), **ticket_forms)
    presence.note_open(ticket, "replying" if held else "viewing")
    notifications.mark_ticket_read(db.session, agent(), ticket.id, now())  # what it told of is seen now
    # After rendering, which a commit would make load every row again: the agent's presence,
    # and how messages shown for the first time are shown, kept for the next view.
    db.session.commit()
    return page


def _ticket_forms(ticket: Ticket) -> dict:
    assign = forms.AssignForm(assignee=str(ticket.assignee_id or ""))
    assign.assignee.choices = forms.agent_choices(ticket_service.enabled_agents(db.session))
    return {"reply_form": forms.ReplyForm(), "note_form": forms.NoteForm(), "assign_form": assign,
            "forward_form": sharing.forward_form(ticket),
            "status_form": forms.StatusForm(status=ticket.status),
            "log_form": entries.log_form(), **history_changes(ticket)}


@bp.post("/tickets/<int:ticket_id>/reply")
def reply(ticket_id: int):
    ticket = ticket_or_404(ticket_id)
    form = forms.ReplyForm()
    if not form.validate_on_submit():  # shown again with each error beside its field; nothing lost
        return _ticket_page(ticket, reply_form=form), 400
    arrived = drafts.held_back(ticket, form)
    if arrived:  # written without knowing of these: shown them, with the text kept, to decide
        return _ticket_page(ticket, held=form, arrived=arrived), 409
    try:
        send_reply(db.session, raw_store(), ticket, agent(), form.body.data, reply_settings(),
                   **compose.extras(form))
        ticket_service.set_status(db.session, ticket, agent(), form.then_status.data)
        discard_draft(db.session, agent(), ticket)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        oauth.record_refusals(db.session)  # a reply's mailbox whose sign-in was refused
        if exc.field in ("body", "cc", "bcc", "files"):
            form[exc.field].errors = [as_sentence(str(exc))]
            return _ticket_page(ticket, reply_form=form), 400
        flash(_("Not done: %(reason)s.", reason=exc), "error")
        return redirect(url_for("console.ticket", ticket_id=ticket_id))
    flash(_("Reply sent."), "info")
    return redirect(url_for("console.ticket", ticket_id=ticket_id))


@bp.post("/tickets/<int:ticket_id>/notes")
def add_note(ticket_id: int):
    ticket = ticket_or_404(ticket_id)
    form = forms.NoteForm()
    if not form.validate_on_submit():
        return _refused(form, ticket_id)
    return _done(ticket_id, lambda: ticket_service.add_note(db.session, ticket, agent(), form.text.data),
                 _("Note added."))


@bp.post("/tickets/<int:ticket_id>/status")
def set_status(ticket_id: int):
    ticket = ticket_or_404(ticket_id)
    form = forms.StatusForm()
    if not form.validate_on_submit():
        return _refused(form, ticket_id)
    return _done(ticket_id, lambda: ticket_service.set_status(db.session, ticket, agent(), form.status.data),
                 _("Status set to %(status)s.", status=forms.STATUS_WORDS[form.status.data]))


@bp.post("/tickets/<int:ticket_id>/take")
def take(ticket_id: int):
    """Assign the ticket to oneself in one click, from the queue; back to the same view."""
    ticket = ticket_or_404(ticket_id)
    back = redirect(safe_next(request.form.get("next")))
    if not forms.ButtonForm().validate_on_submit():
        flash(_("Not done: the form expired; reload the page and try again."), "error")
        return back
    try:
        ticket_service.assign(db.session, ticket, agent(), agent().id)
        db.session.commit()
        flash(_("Ticket #%(ticket)s is yours.", ticket=ticket.id), "info")
    except ServiceError as exc:
        db.session.rollback()
        flash(_("Not done: %(reason)s.", reason=exc), "error")
    return back


@bp.post("/tickets/<int:ticket_id>/assign")
def assign(ticket_id: int):
    ticket = ticket_or_404(ticket_id)
    form = forms.AssignForm()
    form.assignee.choices = forms.agent_choices(ticket_service.enabled_agents(db.session))
    if not form.validate_on_submit():
        return _refused(form, ticket_id)
    assignee = int(form.assignee.data) if form.assignee.data else None
    return _done(ticket_id, lambda: ticket_service.assign(db.session, ticket, agent(), assignee),
                 _("Assignment saved."))


@bp.get("/accounts")
def accounts():
    return render_template("console/accounts.html", accounts=list_accounts(db.session))


@bp.get("/accounts/<int:account_id>")
def account(account_id: int):
    account = db.session.get(Account, account_id) or abort(404)
    note_account(account.id)
    form = forms.AccessRequestForm()
    form.hours.choices = forms.hour_choices(grants.duration_choices(access_settings()))
    return render_template("console/account.html", account=account,
                           tickets=ticket_service.account_tickets(db.session, account),
                           records=record_summary(db.session, account), request_form=form,
                           break_glass_form=forms.BreakGlassForm(), button=forms.ButtonForm(),
                           requests=access_rows(db.session, account.id, current_user.id, now()),
                           scope_kinds=SCOPE_KINDS, consents=queries.consents_of(db.session, account.id),
                           describe_consent=consents.describe, clock=now(), log_form=entries.log_form())


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    me = agent()
    form = forms.SettingsForm(obj=me)
    form.language.choices = i18n.languages_named(i18n.available())
    if form.validate_on_submit():
        try:
            update_settings(db.session, me, page_size=form.page_size.data,
                            time_zone=form.time_zone.data.strip(),
                            default_queue=form.default_queue.data)
            set_language(db.session, me, form.language.data, i18n.available())
            set_signature(db.session, me, form.signature.data or "")
            db.session.commit()
            flash(_("Settings saved."), "info")
            return redirect(url_for("console.settings"))
        except ServiceError as exc:
            db.session.rollback()
            show_error(form, exc)
    return render_template("console/settings.html", form=form, zones=sorted(available_timezones()),
                           notification_form=preferences_form(me), notification_kinds=notifications.KINDS)


@bp.get("/messages/<int:message_id>/body")
def message_body(message_id: int):
    """The HTML of one message, sanitised, as a document for a sandboxed frame."""
    message = message_or_404(message_id)
    html = None if message.quarantined else parse_message(raw_store().get(message.sha256)).html
    if html is None:
        abort(404)
    allow_remote = request.args.get("remote") == "1"
    document, _ = body_document(html, allow_remote=allow_remote)
    response = current_app.response_class(document, mimetype="text/html")  # charset utf-8 added
    response.headers["Content-Security-Policy"] = body_csp(allow_remote)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/messages/<int:message_id>/raw")
def message_raw(message_id: int):
    """The archived bytes, exactly as received, as an .eml download."""
    message = message_or_404(message_id)
    return _download(raw_store().get(message.sha256), f"message-{message.id}.eml", "message/rfc822")


@bp.get("/messages/<int:message_id>/attachments/<int:attachment_id>")
def attachment(message_id: int, attachment_id: int):
    message = message_or_404(message_id)
    found = db.session.get(Attachment, attachment_id)
    if found is None or found.message_id != message.id:
        abort(404)
    payload = attachment_payload(raw_store().get(message.sha256), found.sha256)
    if payload is None:
        abort(404)
    return _download(payload, _download_name(found), "application/octet-stream")


def _download_name(found: Attachment) -> str:
    # The name comes from the sender: keep it readable, but no folders and no control characters.
    name = "".join(c for c in found.filename.replace("/", "_").replace("\\", "_") if c.isprintable())
    return name.strip(" .")[:200] or f"attachment-{found.id}.bin"


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    # Mail content is never rendered by the browser here: always a download, never sniffed.
    response = send_file(BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


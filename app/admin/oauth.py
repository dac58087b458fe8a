"""Connecting an OAuth2 mailbox from the browser: the administrator presses Connect, signs in
at the provider and consents, and the provider sends the browser back here with a code.

The grant's state and PKCE verifier travel in the administrator's own session cookie
(signed by the application): the return is accepted only in the session that began it,
and only once. The redirect URI is ``PUBLIC_URL`` + ``/admin/oauth/callback``, the
address registered with the provider (the README says so); ``flask mailbox connect``
uses the same one when the administrator pastes the address their browser ended on.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.access.rules import is_managing
from app.admin.views import bp
from app.extensions import db
from app.models import Mailbox
from app.runtime import now, secret_box
from app.security import PAGE_POLICY
from app.services import oauth
from app.services.errors import ServiceError
from mailbox.errors import MailboxError

_PENDING = "oauth_connect"


def redirect_uri() -> str:
    """The address the provider returns the browser to, as registered with the provider."""
    return f"{current_app.config['PUBLIC_URL']}/admin/oauth/callback"


@bp.app_context_processor
def mailboxes_to_reconnect() -> dict:
    """Give every console page of an administrator or manager the mailboxes that stopped, for
    the red banner of ``base.html``: nobody who could act should miss a mailbox gone quiet."""
    if not has_request_context() or not current_user.is_authenticated \
            or not is_managing(current_user.role):
        return {}  # emails rendered by the CLI or the worker carry no banner
    return {"mailboxes_to_reconnect": oauth.needing_reconnect(db.session)}


@bp.after_request
def let_connect_reach_the_provider(response: Response) -> Response:
    """Allow the provider's origin as a form target on the pages of an OAuth2 mailbox.

    The Connect form posts here and is redirected to the provider's sign-in page; browsers
    apply the page's ``form-action`` to that redirect as well, so ``'self'`` alone would
    stop it.
    """
    mailbox_id = (request.view_args or {}).get("mailbox_id")
    if mailbox_id is None or "Content-Security-Policy" in response.headers:
        return response
    mailbox = db.session.get(Mailbox, mailbox_id)
    if mailbox is not None and mailbox.oauth is not None:
        parts = urlsplit(mailbox.oauth.authorize_url)
        response.headers["Content-Security-Policy"] = PAGE_POLICY.replace(
            "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}")
    return response


@bp.post("/mailboxes/<int:mailbox_id>/connect")
def connect_mailbox(mailbox_id: int):
    mailbox = db.session.get(Mailbox, mailbox_id) or abort(404)
    if not mailbox.uses_oauth:
        flash(_("The mailbox %(name)s signs in with a password; there is nothing to connect.",
                name=mailbox.name), "error")
        return redirect(url_for("admin.mailbox", mailbox_id=mailbox.id))
    try:
        begun = oauth.begin(mailbox, secret_box(), redirect_uri())
    except (ServiceError, MailboxError) as exc:
        flash(f"{str(exc)[:1].upper()}{str(exc)[1:]}.", "error")
        return redirect(url_for("admin.mailbox", mailbox_id=mailbox.id))
    session[_PENDING] = {"mailbox": mailbox.id, "state": begun.state, "verifier": begun.verifier}
    return redirect(begun.url)


@bp.get("/oauth/callback")
def oauth_callback():
    pending = session.pop(_PENDING, None)
    if pending is None:
        return render_template("admin/oauth_unexpected.html"), 400
    mailbox = db.session.get(Mailbox, pending["mailbox"]) or abort(404)
    try:
        oauth.finish(db.session, mailbox, secret_box(), returned_to=request.url, state=pending["state"],
                     verifier=pending["verifier"], redirect_uri=redirect_uri(),
                     by=current_user._get_current_object(), at=now())
        db.session.commit()
    except (ServiceError, MailboxError) as exc:
        db.session.rollback()
        flash(_("The mailbox %(name)s was not connected: %(problem)s.", name=mailbox.name, problem=exc),
              "error")
    else:
        flash(_("The mailbox %(name)s is connected; it is polled from its checkpoint on.", name=mailbox.name),
              "info")
    return redirect(url_for("admin.mailbox", mailbox_id=mailbox.id))

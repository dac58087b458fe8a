"""Error pages a person can act on: a bad request, a missing page, a refused form (CSRF),
too many attempts, and our own failures.

Each says what happened and what to do, in a plain page that reveals nothing else.
"""

from __future__ import annotations

from flask import Flask, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, Forbidden, MethodNotAllowed


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _form_refused)
    app.register_error_handler(429, _too_many_requests)
    app.register_error_handler(400, _bad_request)
    app.register_error_handler(403, _forbidden)
    app.register_error_handler(404, _not_found)
    app.register_error_handler(405, _method_not_allowed)
    app.register_error_handler(413, _too_large)
    app.register_error_handler(500, _server_error)


def _page(title: str, message: str, status: int):
    url, label = _way_back()
    return render_template("errors/error.html", title=title, message=message, back_url=url,
                           back_label=label), status


def _way_back() -> tuple[str, str]:
    """Where the person should go from here: the account the refused page belongs to, the page
    they came from on this site, their tickets, or, when not signed in, the sign-in page."""
    signed_in = current_user.is_authenticated
    account_id = (request.view_args or {}).get("account_id")
    if signed_in and isinstance(account_id, int) and request.endpoint != "console.account":
        return url_for("console.account", account_id=account_id), _("Back to the account")
    if request.referrer and request.referrer.startswith(request.host_url) and request.referrer != request.url:
        return request.referrer, _("Go back")
    if signed_in:
        return url_for("console.queue"), _("Go to the tickets")
    return url_for("auth.login"), _("Go to the sign-in page")


def _form_refused(error: CSRFError):
    # The token is missing, expired or from another site: refuse, and never act on it.
    return _page(_("Form refused"),
                 _("This form was refused because its security token is missing or has expired. "
                   "Go back, reload the page, and send it again."), 400)


def _too_many_requests(error):
    return _page(_("Too many requests"),
                 _("Too many requests from here. Wait a minute, then try again."), 429)


def _bad_request(error):
    # Our own views abort(400) with a sentence written for the person; others get a general one.
    message = error.description if error.description != BadRequest.description else (
        _("The request could not be understood. Check the address or the form, and try again."))
    return _page(_("Bad request"), message, 400)


def _forbidden(error):
    message = error.description if error.description != Forbidden.description else (
        _("Your role does not allow this page."))
    return _page(_("Not allowed"), message, 403)


def _not_found(error):
    return _page(_("Not found"), _("There is nothing at this address. It may have been mistyped, "
                                    "or the ticket or message may not exist."), 404)


def _method_not_allowed(error):
    message = error.description if error.description != MethodNotAllowed.description else (
        _("This address does not take that kind of request."))
    body, status = _page(_("Not allowed"), message, 405)
    return body, status, {"Allow": ", ".join(error.valid_methods or ())}


def _too_large(error):
    return _page(_("Too large"), _("The files sent are larger than %(size)s MiB together, so nothing was "
                                    "saved. Go back and attach fewer or smaller files.",
                                    size=current_app.config["UPLOAD_MAX_MB"]), 413)


def _server_error(error):
    return _page(_("Something went wrong"), _("The desk could not finish this request; nothing was "
                                               "changed by it. Try again, and tell an administrator if "
                                               "it happens again."), 500)

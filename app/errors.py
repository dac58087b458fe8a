"""Error pages a person can act on: a refused form (CSRF) and too many attempts.

Each says what happened and what to do, in a plain page that reveals nothing else.
"""

from __future__ import annotations

from flask import Flask, render_template, request, url_for
from flask_wtf.csrf import CSRFError


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _form_refused)
    app.register_error_handler(429, _too_many_requests)


def _page(title: str, message: str, status: int):
    back = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else None
    return render_template("errors/error.html", title=title, message=message,
                           back_url=back or url_for("auth.login"),
                           back_label="Go back" if back else "Go to the sign-in page"), status


def _form_refused(error: CSRFError):
    # The token is missing, expired or from another site: refuse, and never act on it.
    return _page("Form refused",
                 "This form was refused because its security token is missing or has expired. "
                 "Go back, reload the page, and send it again.", 400)


def _too_many_requests(error):
    return _page("Too many requests", "Too many requests from here. Wait a minute, then try again.", 429)

"""Response headers that make every page harder to misuse.

Pages run only this site's own scripts and styles, load frames only from this site
(the sandboxed mail bodies), never leak their address to other sites, and are never
framed by another site. A view that needs stricter rules (a mail body, a download)
sets its own Content-Security-Policy, which is left as it is.

Nothing a signed-in person sees, and no customer page, is kept by the browser or a proxy
(``Cache-Control: no-store``): a record page must not come back from the cache with Back
once its grant was revoked, nor a mail from a shared computer's cache after sign-out.
"""

from __future__ import annotations

from flask import Flask, request
from flask_login import current_user
from werkzeug.wrappers import Response

PAGE_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'self'",
])

# Blueprints whose pages are reached by an emailed link holding a token in the path.
LINK_BLUEPRINTS = ("customer", "password")


def init_app(app: Flask) -> None:
    app.after_request(_add_headers)


def _add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", PAGE_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    if request.blueprint in LINK_BLUEPRINTS:
        # The page's own address holds a link's token: no request it makes may carry it on.
        headers["Referrer-Policy"] = "no-referrer"
    if _private(response):
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
        headers.pop("ETag", None)
        headers.pop("Last-Modified", None)
    return response


def _private(response: Response) -> bool:
    if request.endpoint == "static":  # the same stylesheet and scripts for everyone
        return False
    # The customer pages show who opened which record; they carry their own key in the URL.
    # The contact form's page holds its one-time nonce: a copy from a cache would be stale.
    return request.blueprint in (*LINK_BLUEPRINTS, "contact") or current_user.is_authenticated

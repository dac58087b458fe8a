"""The administration blueprint: every page needs a signed-in administrator; agents and
managers are refused with 403. Also the helpers its area modules share: the navigation,
the acting administrator, and showing a service's sentence beside the field it concerns.
"""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.access.guards import require_role
from app.access.rules import ADMIN
from app.auth.session import require_signed_in
from app.form_errors import show_error  # noqa: F401 (the administration pages import it from here)
from app.i18n import lazy_gettext
from app.models import Agent

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The administration navigation: (label, endpoint); an area adds its own entry.
# Labels are lazy: each page writes them in its own request's language.
SECTIONS: list[tuple[str, str]] = [(lazy_gettext("Agents"), "admin.agents"),
                                    (lazy_gettext("Accounts"), "admin.accounts"),
                                    (lazy_gettext("Mailboxes"), "admin.mailboxes_list"),
                                    (lazy_gettext("Privacy policy"), "admin.policy"),
                                    (lazy_gettext("Response targets"), "admin.targets")]


@bp.before_request
def require_admin():
    """Every administration page needs a signed-in administrator."""
    refused = require_signed_in()
    if refused is not None:
        return refused
    require_role((ADMIN,), _("Administration is for administrators; ask one if you need a change here."))
    return None


@bp.get("/")
def home():
    """Administration opens on its first area."""
    return redirect(url_for(SECTIONS[0][1]))


@bp.context_processor
def navigation() -> dict:
    """Give every administration page the navigation; each page names its own section."""
    return {"admin_sections": SECTIONS}


def me() -> Agent:
    """Return the administrator making the request."""
    return current_user._get_current_object()


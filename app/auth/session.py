"""Flask-Login glue: which agent a cookie names, and where an agent goes after signing in.

A cookie names ``id:session_version``; the loader refuses a disabled agent and an old
version, so disabling an agent or signing out ends their sessions at the next request.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for
from flask_login import current_user

from app.extensions import db, login_manager
from app.models import Agent
from app.services.agents import load_agent

# Where a signed-in agent lands: their queue.
HOME_ENDPOINT = "console.queue"


@login_manager.user_loader
def load_user(identity: str) -> Agent | None:
    return load_agent(db.session, identity)


def home_url() -> str:
    """Return the page a signed-in agent starts on."""
    return url_for(HOME_ENDPOINT)


def safe_next(target: str | None) -> str:
    """Return ``target`` when it is a path on this site, else the home page (no open redirect)."""
    if not target or "\\" in target or not target.startswith("/"):
        return home_url()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return home_url()
    return target


def require_signed_in():
    """A blueprint's before-request hook: every route needs a signed-in, enabled agent."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None

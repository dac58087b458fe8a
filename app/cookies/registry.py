"""Every cookie the product sets, as the configuration names and times it.

The product sets two cookies, both through libraries: Flask's signed session cookie and
Flask-Login's remember-me cookie. Flask-WTF keeps its anti-forgery token inside the
session, Flask-Limiter counts in its own store, and an agent's settings live in the
database, so none of them adds a cookie. A cookie added anywhere else must be added
here: the tests walk the console and the customer pages and fail on any cookie this
list does not name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from flask_login.config import COOKIE_DURATION, COOKIE_NAME


@dataclass(frozen=True)
class Cookie:
    name: str
    purpose: str
    lifetime: str
    set_for: str


def cookies(config: Mapping) -> list[Cookie]:
    """Return every cookie the product sets, named and timed as ``config`` sets them."""
    return [
        Cookie(config["SESSION_COOKIE_NAME"],
               "Session security: keeps you signed in while the browser is open, and holds the "
               "anti-forgery token that every form sends back, so that no other site can post a form "
               "as you. While you sign in it holds which step you are on, and after an action the "
               "notice the next page shows. Signed with the server's key so that it cannot be altered; "
               "it names at most your staff account, with a hash of your browser and address that "
               "makes a copied cookie less useful. Your settings are kept on the server, not in it.",
               # Flask makes it a browser-session cookie: nothing here marks a session permanent.
               "Until you close the browser",
               "Staff; and a customer who opens a page with a form (approve, deny, end access)"),
        Cookie(config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME),
               "Keeps you signed in on this browser after it closes; set only when you tick "
               "\u201cKeep me signed in on this computer\u201d. It names your staff account and is "
               "refused as soon as you sign out anywhere, your password is reset or you are disabled.",
               duration_words(config.get("REMEMBER_COOKIE_DURATION", COOKIE_DURATION)),
               "Staff who ask for it at sign-in"),
    ]


def duration_words(duration: timedelta | int) -> str:
    """Say a cookie's lifetime in days, hours or minutes."""
    seconds = int(duration.total_seconds() if isinstance(duration, timedelta) else duration)
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"

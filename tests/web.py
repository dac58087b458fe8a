"""Driving the application through Flask's test client as a browser would: CSRF tokens
come from the forms on the pages, and sign-in goes through the sign-in form.
"""

from __future__ import annotations

import re

from tests import factories

_TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def form_token(client, path: str = "/login", **kwargs) -> str:
    """Return the first CSRF token in the page at ``path``, as a browser would submit it."""
    page = client.get(path, **kwargs).get_data(as_text=True)
    return _TOKEN.search(page).group(1)


def sign_in(client, email: str, password: str = factories.AGENT_PASSWORD, *, remember: bool = False,
            next_: str = "", **kwargs):
    """Post the sign-in form; return the response."""
    data = {"csrf_token": form_token(client, **kwargs), "email": email, "password": password,
            "next": next_}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data, **kwargs)


def submit(client, page: str, action: str, data: dict | None = None, **kwargs):
    """Post a form found on ``page`` to ``action``, with that page's CSRF token."""
    return client.post(action, data={"csrf_token": form_token(client, page), **(data or {})}, **kwargs)

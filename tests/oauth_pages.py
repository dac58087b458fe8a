"""The pages of the tests' OAuth2 server (tests.oauth_server): sign-in with consent, and the
device verification page.

Plain HTML forms with stable field names and labels, so a test drives them the way a
person does: with ``requests`` (post the form) or with headless Chromium (fill in
``username`` and ``password``, click Allow). Both forms post back to the URL they were
served from: the authorization request's parameters stay in the query string, so
Authlib reads them again and validates the request a second time before answering.
"""

from __future__ import annotations

from markupsafe import escape

_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title></head>
<body>
<h1>{title}</h1>
{body}
</body>
</html>
"""

_SIGN_IN = """{error}
<form method="post">
{extra}
<p><label for="username">Username</label> <input id="username" name="username" autocomplete="username"></p>
<p><label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password"></p>
<p><button type="submit" name="decision" value="allow" id="allow">Allow</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button></p>
</form>
"""


def _error(text: str) -> str:
    return f'<p role="alert" class="error">{escape(text)}</p>' if text else ""


def consent_page(client_id: str, scope: str | None, error: str = "") -> str:
    """Return the sign-in and consent page of an authorization request."""
    scopes = "".join(f"<li>{escape(s)}</li>" for s in (scope or "").split()) or "<li>(no scope)</li>"
    body = (f"<p>The application <strong id=\"client\">{escape(client_id)}</strong> asks for:</p>"
            f"<ul id=\"scopes\">{scopes}</ul>" + _SIGN_IN.format(error=_error(error), extra=""))
    return _PAGE.format(title="Sign in and allow access", body=body)


def device_page(user_code: str, error: str = "") -> str:
    """Return the page where the user enters the device's code, signs in and approves."""
    field = (f'<p><label for="user_code">Code</label> '
             f'<input id="user_code" name="user_code" value="{escape(user_code)}"></p>')
    return _PAGE.format(title="Connect a device", body=_SIGN_IN.format(error=_error(error), extra=field))


def device_done_page(approved: bool) -> str:
    """Return the page shown once the user has allowed or denied the device."""
    text = "The device is connected; you may close this page." if approved else "Access was denied."
    return _PAGE.format(title="Device", body=f'<p id="result">{text}</p>')

"""Getting tokens from the tests' authorization server (tests.oauth_server) the way a client does.

Over HTTP with ``requests``, no shortcut into the server's storage: the authorization code
flow fetches the consent page, posts its form as the person would, and reads the code from
the redirect's Location without following it (nothing listens at a loopback redirect URI
here); the device flow asks for codes, approves on the verification page and polls. The
SASL strings are the ones IMAP and SMTP clients send, for tests that speak SMTP with
smtplib.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import requests

from tests.oauth_server import OAuthServer
from tests.waiting import until

REDIRECT_URI = "http://127.0.0.1/callback"  # a loopback redirect, never followed
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
TIMEOUT = 10


def pkce_pair() -> tuple[str, str]:
    """Return a PKCE code verifier and its S256 challenge (RFC 7636, section 4)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorization_params(server: OAuthServer, challenge: str, scope: str, state: str = "state-1") -> dict:
    """Return the query of an authorization request for the server's client."""
    return {"response_type": "code", "client_id": server.client_id, "redirect_uri": REDIRECT_URI,
            "scope": scope, "state": state, "code_challenge": challenge, "code_challenge_method": "S256"}


def consent(server: OAuthServer, params: dict, decision: str = "allow", password: str | None = None,
            ) -> requests.Response:
    """Load the consent page for ``params``, post its form, and return the unfollowed answer."""
    page = requests.get(server.authorize_url, params=params, timeout=TIMEOUT)
    page.raise_for_status()
    form = {"username": server.username, "password": server.password if password is None else password,
            "decision": decision}
    return requests.post(page.url, data=form, allow_redirects=False, timeout=TIMEOUT)


def redirect_query(answer: requests.Response) -> dict[str, str]:
    """Return the parameters of the redirect URI an authorization answer sends the browser to."""
    assert answer.status_code == 302, answer.text
    return {key: values[0] for key, values in parse_qs(urlsplit(answer.headers["Location"]).query).items()}


def authorization_code_tokens(server: OAuthServer, scope: str = "imap smtp offline_access") -> dict:
    """Return the token response of the authorization code flow with PKCE, the user allowing."""
    verifier, challenge = pkce_pair()
    code = redirect_query(consent(server, authorization_params(server, challenge, scope)))["code"]
    return token_request(server, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI,
                         code_verifier=verifier).json()


def device_tokens(server: OAuthServer, scope: str = "imap smtp offline_access") -> dict:
    """Return the token response of the device flow, the user approving on the verification page."""
    codes = requests.post(server.device_url, data={"scope": scope},
                          auth=(server.client_id, server.client_secret), timeout=TIMEOUT).json()
    pending = token_request(server, grant_type=DEVICE_GRANT, device_code=codes["device_code"])
    assert pending.json()["error"] == "authorization_pending"
    approval = requests.post(codes["verification_uri"], timeout=TIMEOUT, data={
        "user_code": codes["user_code"], "username": server.username, "password": server.password,
        "decision": "allow"})
    approval.raise_for_status()
    return token_request(server, grant_type=DEVICE_GRANT, device_code=codes["device_code"]).json()


def token_request(server: OAuthServer, **form: str) -> requests.Response:
    """Post to the token endpoint as the server's client, authenticating with HTTP Basic."""
    return requests.post(server.token_url, data=form, auth=(server.client_id, server.client_secret),
                         timeout=TIMEOUT)


def refresh(server: OAuthServer, refresh_token: str) -> requests.Response:
    """Ask for a new access token with a refresh token (the secret in the body, as some clients do)."""
    return requests.post(server.token_url, timeout=TIMEOUT, data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": server.client_id, "client_secret": server.client_secret})


def revoke(server: OAuthServer, token: str) -> None:
    """Revoke a token at the revocation endpoint (RFC 7009), as the client does on disconnect."""
    answer = requests.post(server.revoke_url, data={"token": token},
                           auth=(server.client_id, server.client_secret), timeout=TIMEOUT)
    answer.raise_for_status()


def introspect(server: OAuthServer, token: str) -> dict:
    """Return what the server says of a token to the mail servers (RFC 7662)."""
    answer = requests.post(server.introspect_url_with_credentials, data={"token": token}, timeout=TIMEOUT)
    answer.raise_for_status()
    return answer.json()


def wait_until_inactive(server: OAuthServer, token: str, seconds: float = 30) -> None:
    """Return once the server says the token is inactive (it expired); fail after ``seconds``."""
    assert until(lambda: not introspect(server, token)["active"], seconds), f"still active after {seconds} s"


def xoauth2(user: str, token: str) -> str:
    """Return the SASL XOAUTH2 initial response, unencoded (smtplib base64-encodes it)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def oauthbearer(user: str, token: str) -> str:
    """Return the SASL OAUTHBEARER initial response (RFC 7628), unencoded."""
    return f"n,a={user},\x01auth=Bearer {token}\x01\x01"

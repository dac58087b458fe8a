"""The OAuth2 client of mailboxes: the providers the product knows, and the grants it uses.

An administrator registers an application at the provider (its client id and secret),
signs in there once and consents; the product then holds a refresh token and exchanges
it for short-lived access tokens, which IMAP and SMTP accept through SASL XOAUTH2 or
OAUTHBEARER. Three grants reach a refresh token:

- the authorization code grant with PKCE (RFC 7636), for the browser: the provider
  sends the administrator back to the console with a code;
- the device authorisation grant (RFC 8628), for ``flask mailbox connect`` on a server
  without a browser, where the provider offers it: the administrator enters a short code
  at the provider from any device;
- otherwise the same code grant, with the administrator pasting the address the
  provider sent their browser to.

HTTP is Authlib's client over requests. Every failure leaves this module as a
``mailbox.errors`` exception of one sentence: ``NeedsReconnecting`` when the provider
refused the grant itself (consent withdrawn, refresh token expired or revoked, the
application's secret changed), ``ConnectionFailed`` when it could not be asked.

No Flask, no database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError

from mailbox.errors import ConfigurationError, ConnectionFailed, LoginFailed, NeedsReconnecting

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# Errors of a token endpoint that no retry mends (RFC 6749 5.2): only signing in again does.
_REFUSALS = {"invalid_grant", "invalid_client", "unauthorized_client", "access_denied",
             "expired_token", "invalid_scope"}
TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Provider:
    """What the product knows of a provider, so that an administrator types only the
    application's id and secret."""

    label: str
    authorize_url: str
    token_url: str
    device_url: str | None
    scopes: str
    imap: tuple[str, int, str]
    smtp: tuple[str, int, str] | None
    mechanism: str = "XOAUTH2"
    # Asked of the authorization endpoint besides the standard parameters.
    extra: dict = field(default_factory=dict)


# Microsoft: "Authenticate an IMAP, POP or SMTP connection using OAuth" (learn.microsoft.com,
# exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth).
# "organizations" accepts work and school accounts of any tenant; a tenant id narrows it.
_MICROSOFT = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0"
# Google: "OAuth 2.0 Mechanism" (developers.google.com/gmail/imap/xoauth2-protocol). A refresh
# token comes only with access_type=offline, and again on a later consent only with
# prompt=consent. Google's device grant refuses the mail scope, so it is not offered.
PROVIDERS = {
    "microsoft": Provider(
        label="Microsoft 365",
        authorize_url=_MICROSOFT + "/authorize",
        token_url=_MICROSOFT + "/token",
        device_url=_MICROSOFT + "/devicecode",
        scopes="https://outlook.office.com/IMAP.AccessAsUser.All "
               "https://outlook.office.com/SMTP.Send offline_access",
        imap=("outlook.office365.com", 993, "ssl"),
        smtp=("smtp.office365.com", 587, "starttls"),
    ),
    "google": Provider(
        label="Google Workspace or Gmail",
        authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",
        device_url=None,
        scopes="https://mail.google.com/",
        imap=("imap.gmail.com", 993, "ssl"),
        smtp=("smtp.gmail.com", 587, "starttls"),
        extra={"access_type": "offline", "prompt": "consent"},
    ),
}


@dataclass(frozen=True)
class OAuthApp:
    """An application registered at a provider, and where that provider answers."""

    client_id: str
    client_secret: str | None = field(repr=False)  # out of logs and tracebacks, as every secret here
    authorize_url: str
    token_url: str
    scopes: str
    device_url: str | None = None
    extra: dict = field(default_factory=dict)

@dataclass(frozen=True)
class Tokens:
    """What a token endpoint answered; ``refresh`` is None when it kept the old one."""

    access: str = field(repr=False)
    expires_at: float  # seconds since the epoch
    refresh: str | None = field(repr=False)


@dataclass(frozen=True)
class Authorization:
    """A code grant begun: the address to send the administrator to, and what checks the return."""

    url: str
    state: str
    verifier: str


@dataclass(frozen=True)
class DeviceCode:
    """A device grant begun: the code the administrator enters at ``verification_uri``."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    interval: float
    expires_at: float


def begin(app: OAuthApp, redirect_uri: str) -> Authorization:
    """Return the provider's sign-in address for a code grant with PKCE (S256)."""
    verifier = generate_token(64)
    client = _client(app, redirect_uri=redirect_uri)
    url, state = client.create_authorization_url(app.authorize_url, code_verifier=verifier, **app.extra)
    return Authorization(url=url, state=state, verifier=verifier)


def code_from(returned_to: str, state: str) -> str:
    """Read the code from the address the provider sent the browser back to.

    Raises ``LoginFailed`` with the provider's own reason when consent was refused, and when
    the state is not the one this grant began with (a forged or stale return).
    """
    query = parse_qs(urlsplit(returned_to.strip()).query)
    if "error" in query:
        reason = query.get("error_description", query["error"])[0]
        raise LoginFailed(f"the provider did not grant access: {reason}")
    if query.get("state", [""])[0] != state:
        raise LoginFailed("the address returned is not the answer to this sign-in (its state differs); "
                          "start connecting again")
    code = query.get("code", [""])[0]
    if not code:
        raise LoginFailed("the address returned carries no authorization code")
    return code


def exchange(app: OAuthApp, redirect_uri: str, code: str, verifier: str) -> Tokens:
    """Trade an authorization code for tokens."""
    client = _client(app, redirect_uri=redirect_uri)
    return _asking(app, lambda: client.fetch_token(app.token_url, grant_type="authorization_code",
                                                    code=code, code_verifier=verifier))


def refresh(app: OAuthApp, refresh_token: str) -> Tokens:
    """Trade a refresh token for a new access token (and, at some providers, a new refresh token)."""
    client = _client(app)
    return _asking(app, lambda: client.refresh_token(app.token_url, refresh_token=refresh_token))


def begin_device(app: OAuthApp) -> DeviceCode:
    """Ask the provider for a user code (RFC 8628 3.1)."""
    if not app.device_url:
        raise ConfigurationError("this provider offers no device sign-in")
    data = {"client_id": app.client_id, "scope": app.scopes}
    try:
        response = requests.post(app.device_url, data=data, timeout=TIMEOUT_SECONDS,
                                 auth=(app.client_id, app.client_secret) if app.client_secret else None)
    except requests.RequestException as exc:
        raise ConnectionFailed(f"the provider's device endpoint cannot be reached ({_reason(exc)})") from exc
    answer = _json(response)
    if response.status_code != 200 or "device_code" not in answer:
        raise LoginFailed(f"the provider refused a device code: {_error_words(answer, response)}")
    return DeviceCode(
        device_code=answer["device_code"], user_code=answer["user_code"],
        verification_uri=answer.get("verification_uri_complete") or answer["verification_uri"],
        interval=float(answer.get("interval", 5)),
        expires_at=time.time() + float(answer.get("expires_in", 600)),
    )


def wait_for_device(app: OAuthApp, device: DeviceCode,
                    sleep: Callable[[float], None] = time.sleep) -> Tokens:
    """Poll the token endpoint at the interval the provider asked for until the administrator
    approves, refuses, or the code expires (RFC 8628 3.4, 3.5)."""
    client = _client(app)
    interval = device.interval
    while time.time() < device.expires_at:
        sleep(interval)
        try:
            return _asking(app, lambda: client.fetch_token(app.token_url, grant_type=DEVICE_GRANT,
                                                            device_code=device.device_code,
                                                            client_id=app.client_id))
        except _Pending as pending:
            if pending.slow_down:
                interval += 5
    raise LoginFailed("the code was not entered at the provider before it expired; connect again")


def _client(app: OAuthApp, redirect_uri: str | None = None) -> OAuth2Session:
    client = OAuth2Session(app.client_id, app.client_secret, scope=app.scopes, redirect_uri=redirect_uri,
                           code_challenge_method="S256", default_timeout=TIMEOUT_SECONDS,
                           token_endpoint_auth_method="client_secret_post" if app.client_secret else "none")
    return client


class _Pending(Exception):
    def __init__(self, slow_down: bool) -> None:
        self.slow_down = slow_down


def _asking(app: OAuthApp, ask: Callable[[], dict]) -> Tokens:
    host = urlsplit(app.token_url).netloc
    try:
        answer = ask()
    except OAuthError as exc:
        if exc.error in ("authorization_pending", "slow_down"):
            raise _Pending(exc.error == "slow_down") from None
        words = f"{exc.error}: {exc.description}" if exc.description else exc.error
        if exc.error in _REFUSALS:
            raise NeedsReconnecting(f"the provider at {host} refused the sign-in ({words})") from None
        raise ConnectionFailed(f"the provider at {host} answered with an error ({words})") from None
    except requests.RequestException as exc:
        raise ConnectionFailed(f"the provider at {host} cannot be reached ({_reason(exc)})") from None
    except ValueError:
        raise ConnectionFailed(f"the provider at {host} answered with something that is not a token") \
            from None
    if "access_token" not in answer:
        raise ConnectionFailed(f"the provider at {host} answered without an access token")
    expires_at = float(answer.get("expires_at") or time.time() + float(answer.get("expires_in", 3600)))
    return Tokens(access=answer["access_token"], expires_at=expires_at, refresh=answer.get("refresh_token"))


def _json(response: requests.Response) -> dict:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _error_words(answer: dict, response: requests.Response) -> str:
    return answer.get("error_description") or answer.get("error") or f"HTTP {response.status_code}"


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "it did not answer in time"
    if isinstance(exc, requests.ConnectionError):
        return "the connection failed; check the address and the network"
    return type(exc).__name__

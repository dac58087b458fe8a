"""A real OAuth2 authorization server on loopback, standing in for Microsoft 365 or Google.

The product signs in to IMAP and SMTP with OAuth2 access tokens; its tests need a provider
that behaves like one, over HTTP, with no mocks: a sign-in and consent page, the
authorization code grant with PKCE (S256 only, as Microsoft and Google require of new
clients), the refresh token grant, the device authorization grant (RFC 8628) for a
headless ``flask mailbox connect``, revocation (RFC 7009) and introspection (RFC 7662).
The protocol is Authlib's, through its Flask integration, so the server is only the
storage (tests.oauth_protocol) and the pages (tests.oauth_pages): what the grants check is
what a real server checks. A test gets tokens the way a client does, with tests.oauth_tokens.

Access tokens are opaque and short-lived when a test asks (``access_token_seconds``):
Dovecot and the test SMTP server ask the introspection endpoint about every token on every
login, so a token revoked or expired here is refused there at once, as a provider's
withdrawn consent is. Introspection is for the mail servers, a client of their own
(``mail-server`` with a secret) authenticating with HTTP Basic: Dovecot's oauth2 passdb
can send no other client authentication, and it sends Basic when the credentials are in
the URL (``introspect_url_with_credentials``). Only access tokens introspect as active:
a resource server must never accept a refresh token as a bearer token.

Everything lives in memory behind one lock: requests come from the server's threads while
the test thread inspects and revokes. Forms carry no CSRF token; this server only ever
listens on 127.0.0.1 for the length of a test.
"""

from __future__ import annotations

import hmac
import threading
import time

from authlib.common.security import generate_token
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc8628 import DeviceCodeGrant
from flask import Flask, request
from werkzeug.serving import make_server

from tests.dovecot import PASSWORD, USER
from tests.oauth_pages import consent_page, device_done_page, device_page
from tests.oauth_protocol import (
    HOST,
    MAIL_SERVER_CLIENT,
    AuthorizationCodeGrant,
    Client,
    DeviceEndpoint,
    DeviceGrant,
    Introspection,
    RefreshTokenGrant,
    Revocation,
    S256Required,
    Server,
    Store,
    User,
)


class OAuthServer:
    """The authorization server on a free loopback port, in a background thread.

    One confidential client (``client_id``, ``client_secret``) may use every grant; one
    user (``username``, ``password``) signs in. ``access_token_seconds`` may be changed
    while the server runs; it applies to tokens issued afterwards.
    """

    def __init__(self, client_id: str = "desk", client_secret: str = "desk-secret", *,
                 username: str = USER, password: str = PASSWORD, access_token_seconds: int = 3600,
                 rotate_refresh_tokens: bool = False, device_interval: int = 1) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.username, self.password = username, password
        self.mail_server_secret = generate_token(24)
        self.store = Store()
        self.store.clients[client_id] = Client(client_id, client_secret, frozenset(
            {"authorization_code", "refresh_token", DeviceCodeGrant.GRANT_TYPE}))
        self.store.clients[MAIL_SERVER_CLIENT] = Client(MAIL_SERVER_CLIENT, self.mail_server_secret,
                                                        frozenset())
        self.app = Flask(__name__)
        self.oauth = Server(self.app, self.store, access_token_seconds, rotate_refresh_tokens)
        self.oauth.register_grant(AuthorizationCodeGrant, [S256Required()])
        self.oauth.register_grant(RefreshTokenGrant)
        self.oauth.register_grant(DeviceGrant)
        device_endpoint = DeviceEndpoint(self.oauth)
        device_endpoint.INTERVAL = device_interval
        self.oauth.register_endpoint(device_endpoint)
        self.oauth.register_endpoint(Introspection)
        self.oauth.register_endpoint(Revocation)
        self._routes()
        self._server = make_server(HOST, 0, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="oauth-server", daemon=True)

    def _routes(self) -> None:
        self.app.add_url_rule("/authorize", "authorize", self._authorize, methods=["GET", "POST"])
        self.app.add_url_rule("/token", "token", self._token, methods=["POST"])
        self.app.add_url_rule("/revoke", "revoke", lambda: self.oauth.create_endpoint_response(
            "revocation"), methods=["POST"])
        self.app.add_url_rule("/introspect", "introspect", lambda: self.oauth.create_endpoint_response(
            "introspection"), methods=["POST"])
        self.app.add_url_rule("/device_authorization", "device_authorization",
                              lambda: self.oauth.create_endpoint_response("device_authorization"),
                              methods=["POST"])
        self.app.add_url_rule("/device", "device", self._device, methods=["GET", "POST"])

    # Life

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()

    # Addresses

    @property
    def url(self) -> str:
        """The server's base URL, without a trailing slash: ``http://127.0.0.1:PORT``."""
        return f"http://{HOST}:{self._server.server_port}"

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def revoke_url(self) -> str:
        return f"{self.url}/revoke"

    @property
    def introspect_url(self) -> str:
        return f"{self.url}/introspect"

    @property
    def introspect_url_with_credentials(self) -> str:
        """The introspection URL with the mail servers' client in it, for HTTP Basic (Dovecot's way)."""
        return f"http://{MAIL_SERVER_CLIENT}:{self.mail_server_secret}@{HOST}:{self._server.server_port}" \
               "/introspect"

    @property
    def device_url(self) -> str:
        """The device authorization endpoint (RFC 8628, section 3.1), where a device asks for codes."""
        return f"{self.url}/device_authorization"

    @property
    def verification_url(self) -> str:
        """The page where the user enters the user code and approves the device."""
        return f"{self.url}/device"

    # Settings and inspection for tests

    @property
    def access_token_seconds(self) -> int:
        return self.oauth.access_token_seconds

    @access_token_seconds.setter
    def access_token_seconds(self, seconds: int) -> None:
        self.oauth.access_token_seconds = seconds

    def register_redirect_uri(self, uri: str) -> None:
        """Allow a redirect URI beyond the loopback ones every client may use."""
        with self.store.lock:
            self.store.clients[self.client_id].redirect_uris.add(uri)

    def revoke_user(self, username: str | None = None) -> None:
        """Revoke every access and refresh token of the user, as an administrator withdrawing consent."""
        username = username or self.username
        with self.store.lock:
            for token in self.store.by_access.values():
                if token.username == username:
                    token.revoked = token.refresh_revoked = True
            for code in [c for c, found in self.store.codes.items() if found.username == username]:
                del self.store.codes[code]
            self.store.device_decisions.clear()

    def pending_user_codes(self) -> list[str]:
        """The user codes of device sign-ins asked for and not yet decided, oldest first."""
        with self.store.lock:
            return [c["user_code"] for c in self.store.devices.values()
                    if c["user_code"] not in self.store.device_decisions and c["expires_at"] > time.time()]

    def issued_tokens(self) -> list[str]:
        """Every access and refresh token string ever issued, in order."""
        with self.store.lock:
            return list(self.store.issued)

    def token_requests(self) -> dict[str, int]:
        """How many token requests of each grant type came, answered with a token or an error."""
        with self.store.lock:
            return dict(self.store.token_requests)

    def tokens_issued(self) -> dict[str, int]:
        """How many token responses of each grant type carried a token."""
        with self.store.lock:
            return dict(self.store.tokens_issued)

    def introspections(self) -> int:
        """How many introspection requests named a token (Dovecot makes one per login)."""
        with self.store.lock:
            return self.store.introspections

    def granted_scopes(self) -> list[str]:
        """The scope of each consent given, at the sign-in page or for a device, in order."""
        with self.store.lock:
            return list(self.store.granted_scopes)

    # Views

    def _signed_in(self) -> User | None:
        given = request.form.get("username", ""), request.form.get("password", "")
        ok = hmac.compare_digest(given[0].encode(), self.username.encode()) and hmac.compare_digest(
            given[1].encode(), self.password.encode())
        return User(self.username) if ok else None

    def _authorize(self):
        try:
            grant = self.oauth.get_consent_grant()
        except OAuth2Error as error:
            if error.redirect_uri:  # the client's redirect URI is known good: the error goes there
                return self.oauth.handle_error_response(None, error)
            return f"{error.error}: {error.description}", 400  # otherwise tell the person, as providers do
        if request.method == "GET":
            return consent_page(grant.client.client_id, grant.request.payload.scope)
        if request.form.get("decision") != "allow":
            return self.oauth.create_authorization_response(grant_user=None, grant=grant)
        user = self._signed_in()
        if user is None:
            return consent_page(grant.client.client_id, grant.request.payload.scope,
                                error="Wrong username or password."), 401
        return self.oauth.create_authorization_response(grant_user=user, grant=grant)

    def _token(self):
        with self.store.lock:
            self.store.token_requests[request.form.get("grant_type", "")] += 1
        return self.oauth.create_token_response()

    def _device(self):
        user_code = request.values.get("user_code", "").strip().upper()
        if request.method == "GET":
            return device_page(user_code)
        with self.store.lock:
            credential = next((c for c in self.store.devices.values() if c["user_code"] == user_code), None)
        if credential is None or credential.is_expired():
            return device_page(user_code, error="Unknown or expired code."), 400
        approved = request.form.get("decision") == "allow"
        user = self._signed_in() if approved else User(self.username)
        if user is None:
            return device_page(user_code, error="Wrong username or password."), 401
        with self.store.lock:
            self.store.device_decisions[user_code] = (user, approved)
            if approved:
                self.store.granted_scopes.append(credential.get_scope())
        return device_done_page(approved)

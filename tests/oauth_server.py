"""A real OAuth2 authorization server on loopback, standing in for Microsoft 365 or Google.

The product signs in to IMAP and SMTP with OAuth2 access tokens; its tests need a provider
that behaves like one, over HTTP, with no mocks: a sign-in and consent page, the
authorization code grant with PKCE (S256 only, as Microsoft and Google require of new
clients), the refresh token grant, the device authorization grant (RFC 8628) for a
headless ``flask mailbox connect``, revocation (RFC 7009) and introspection (RFC 7662).
The protocol is Authlib's, through its Flask integration, so the server is only the
storage and the pages: what the grants check is what a real server checks.

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
import uuid
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint, DeviceCodeGrant, DeviceCredentialDict
from flask import Flask, request
from werkzeug.serving import make_server

from tests.dovecot import PASSWORD, USER
from tests.oauth_pages import consent_page, device_done_page, device_page

HOST = "127.0.0.1"
MAIL_SERVER_CLIENT = "mail-server"
CODE_SECONDS = 300
SECRET_AUTH = ["client_secret_basic", "client_secret_post"]


@dataclass(frozen=True)
class User:
    username: str

    def get_user_id(self) -> str:
        return self.username


@dataclass
class Client(ClientMixin):
    """A registered client; a confidential one authenticates with its secret, Basic or in the body."""

    client_id: str
    client_secret: str
    grant_types: frozenset[str]
    redirect_uris: set[str] = field(default_factory=set)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # every authorization request must name its redirect URI

    def get_allowed_scope(self, scope: str) -> str:
        return scope or ""  # scopes are free text: the provider's vocabulary is the test's to choose

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        parts = urlsplit(redirect_uri)
        # A native application's loopback redirect, any port (RFC 8252, section 7.3).
        return redirect_uri in self.redirect_uris or (parts.scheme == "http" and parts.hostname == HOST)

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in SECRET_AUTH

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class Token(TokenMixin):
    """One access token, and the refresh token if it was issued with one; a grant groups them."""

    access_token: str
    refresh_token: str | None
    client_id: str
    username: str
    scope: str
    grant_id: str
    issued_at: float
    expires_in: int
    revoked: bool = False
    refresh_revoked: bool = False

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def get_expires_at(self) -> float:
        return self.issued_at + self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.get_expires_at()

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> User:
        return User(self.username)

    def get_client(self) -> str:
        return self.client_id


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    username: str
    code_challenge: str
    code_challenge_method: str
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


class Store:
    """Everything the server knows, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.by_access: dict[str, Token] = {}
        self.by_refresh: dict[str, Token] = {}
        self.devices: dict[str, DeviceCredentialDict] = {}
        self.device_decisions: dict[str, tuple[User, bool]] = {}
        self.issued: list[str] = []
        self.granted_scopes: list[str] = []
        self.token_requests: Counter[str] = Counter()
        self.tokens_issued: Counter[str] = Counter()
        self.introspections = 0


class S256Required(CodeChallenge):
    """PKCE on every authorization request, S256 only: a request without it is refused."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required: code_challenge with code_challenge_method=S256")
        return super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = SECRET_AUTH

    def save_authorization_code(self, code, request):
        data = request.payload.data
        store = self.server.store
        with store.lock:
            store.codes[code] = AuthorizationCode(
                code, request.client.client_id, request.payload.redirect_uri, request.scope or "",
                request.user.username, data["code_challenge"], data["code_challenge_method"],
                time.time() + CODE_SECONDS,
            )
            store.granted_scopes.append(request.scope or "")

    def query_authorization_code(self, code, client):
        with self.server.store.lock:
            found = self.server.store.codes.get(code)
        if found and found.client_id == client.client_id and found.expires_at > time.time():
            return found
        return None

    def delete_authorization_code(self, authorization_code):
        with self.server.store.lock:
            self.server.store.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code):
        return User(authorization_code.username)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = SECRET_AUTH

    @property
    def INCLUDE_NEW_REFRESH_TOKEN(self) -> bool:  # noqa: N802 (Authlib's attribute name)
        return self.server.rotate_refresh_tokens

    def authenticate_refresh_token(self, refresh_token):
        with self.server.store.lock:
            found = self.server.store.by_refresh.get(refresh_token)
        return found if found and not found.refresh_revoked else None

    def authenticate_user(self, refresh_token):
        return User(refresh_token.username)

    def revoke_old_credential(self, refresh_token):
        if self.server.rotate_refresh_tokens:
            with self.server.store.lock:
                refresh_token.refresh_revoked = True


class DeviceGrant(DeviceCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = SECRET_AUTH

    def query_device_credential(self, device_code):
        with self.server.store.lock:
            return self.server.store.devices.get(device_code)

    def query_user_grant(self, user_code):
        with self.server.store.lock:
            return self.server.store.device_decisions.get(user_code)

    def should_slow_down(self, credential):
        return False

    def create_token_response(self):
        answer = super().create_token_response()
        with self.server.store.lock:  # a device code is good for one token response
            self.server.store.devices.pop(self.request.credential["device_code"], None)
        return answer


class DeviceEndpoint(DeviceAuthorizationEndpoint):
    CLIENT_AUTH_METHODS = SECRET_AUTH

    def get_verification_uri(self):
        return f"{request.host_url}device"

    def save_device_credential(self, client_id, scope, data):
        credential = DeviceCredentialDict(client_id=client_id, scope=scope or "",
                                          expires_at=time.time() + self.EXPIRES_IN, **data)
        with self.server.store.lock:
            self.server.store.devices[data["device_code"]] = credential


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = SECRET_AUTH

    def query_token(self, token_string, token_type_hint):
        with self.server.store.lock:
            self.server.store.introspections += 1
            return self.server.store.by_access.get(token_string)

    def check_permission(self, token, client, request):
        return client.client_id in (MAIL_SERVER_CLIENT, token.client_id)

    def introspect_token(self, token):
        return {
            "active": True, "username": token.username, "sub": token.username, "scope": token.scope,
            "client_id": token.client_id, "token_type": "Bearer",
            "exp": int(token.get_expires_at()), "iat": int(token.issued_at),
        }


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = SECRET_AUTH

    def query_token(self, token_string, token_type_hint):
        with self.server.store.lock:
            return self.server.store.by_refresh.get(token_string) or self.server.store.by_access.get(
                token_string)

    def revoke_token(self, token, request):
        # RFC 7009, section 2.1: revoking a refresh token revokes the grant's access tokens too.
        self.server.revoke(token, whole_grant=request.form["token"] == token.refresh_token)


class Server(AuthorizationServer):
    """Authlib's Flask authorization server over a ``Store``."""

    def __init__(self, app: Flask, store: Store, access_token_seconds: int, rotate_refresh_tokens: bool):
        super().__init__(app, query_client=self._client, save_token=self._save)
        self.store = store
        self.access_token_seconds = access_token_seconds
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.register_token_generator("default", BearerTokenGenerator(
            lambda **_: generate_token(42), lambda **_: generate_token(48),
            lambda client, grant_type: self.access_token_seconds,
        ))

    def _client(self, client_id: str) -> Client | None:
        with self.store.lock:
            return self.store.clients.get(client_id)

    def _save(self, token: dict, request) -> None:
        previous = getattr(request, "refresh_token", None)  # set by the refresh token grant
        grant_id = previous.grant_id if previous else uuid.uuid4().hex
        kept = Token(token["access_token"], token.get("refresh_token"), request.client.client_id,
                     request.user.username, token.get("scope", ""), grant_id, time.time(),
                     token["expires_in"])
        with self.store.lock:
            self.store.by_access[kept.access_token] = kept
            self.store.issued.append(kept.access_token)
            if kept.refresh_token:
                self.store.by_refresh[kept.refresh_token] = kept
                self.store.issued.append(kept.refresh_token)
            self.store.tokens_issued[request.payload.grant_type] += 1

    def revoke(self, token: Token, whole_grant: bool) -> None:
        with self.store.lock:
            family = [t for t in self.store.by_access.values() if t.grant_id == token.grant_id]
            for each in family if whole_grant else [token]:
                each.revoked = True
                each.refresh_revoked = each.refresh_revoked or whole_grant


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

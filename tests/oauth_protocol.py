"""Authlib's side of the tests' OAuth2 server (tests.oauth_server): the storage, the grants and
the endpoints, each the smallest subclass Authlib asks for.

Authlib does the protocol (what a request must carry, which errors it earns); these classes
only say where things are kept, in one in-memory ``Store`` behind one lock, since requests
arrive on the HTTP server's threads while the test thread reads and revokes. What this
server adds to Authlib's defaults: PKCE with S256 on every authorization request, access
tokens whose lifetime the test sets, refresh tokens that rotate only when asked, revocation
of a refresh token taking its grant's access tokens with it (RFC 7009, section 2.1), and
introspection that reports access tokens only, to the mail servers' client or the token's
own.
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
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint, DeviceCodeGrant, DeviceCredentialDict
from flask import Flask, request

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

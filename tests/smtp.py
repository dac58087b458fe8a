"""A real SMTP server on loopback for the tests of outbound mail.

aiosmtpd listens on 127.0.0.1 on a port the kernel picks, in a thread of its own, and
keeps every message it accepts as it came off the wire: the envelope sender, the
recipients and the raw bytes (CRLF line endings, dot-stuffing undone). The application
reaches it through ``SMTP_URL``, set to ``server.url``. Told to, it refuses recipients
for a while (``refuse_recipients``), as a server that is full or greylisting does.

Given an authorization server's introspection URL, it is instead a submission server like
Microsoft 365's or Gmail's: it offers AUTH XOAUTH2 and OAUTHBEARER only (on plain loopback,
where aiosmtpd would otherwise offer AUTH only after STARTTLS), refuses MAIL FROM before a
successful AUTH, asks the authorization server about the bearer token over HTTP at every
AUTH, accepts it only when it is active and its user is the SASL user, and records that user
on each message it receives.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email
import json
import threading
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, AuthResult

HOST = "127.0.0.1"
WAIT_SECONDS = 30.0  # a deadline a busy machine does not reach unless mail never comes


@dataclass(frozen=True)
class Received:
    """One message as the server accepted it."""

    sender: str
    recipients: tuple[str, ...]
    raw: bytes
    user: str | None = None  # the SASL user that signed in, when the server asks for OAuth2

    def message(self) -> EmailMessage:
        """Return the raw bytes parsed with the standard library's modern policy."""
        return email.message_from_bytes(self.raw, policy=policy.default)


class _Handler:
    """aiosmtpd's handler: accept every message and hand it to the server's list, unless the
    server is told to refuse recipients for now."""

    def __init__(self, keep, refusal=lambda: None) -> None:
        self._keep = keep
        self._refusal = refusal

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        refusal = self._refusal()
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self._keep(Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content,
                            session.auth_data))
        return "250 OK"


class _OAuth2Handler(_Handler):
    """The handler of a server that signs senders in with OAuth2 bearer tokens.

    aiosmtpd offers a handler's ``auth_<MECHANISM>`` methods as SASL mechanisms; what one
    returns in ``auth_data`` becomes the session's, read again by ``handle_DATA``.
    """

    def __init__(self, keep, introspection_url: str) -> None:
        super().__init__(keep)
        self._introspection_url = introspection_url

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:  # noqa: N802
        # Here rather than aiosmtpd's auth_required, which warns at every connection that
        # AUTH without TLS is unsafe: on loopback, for a test, it is what we mean.
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def auth_XOAUTH2(self, server, args) -> AuthResult:  # noqa: N802 (aiosmtpd's hook name)
        return await self._sign_in(server, args, _xoauth2_fields)

    async def auth_OAUTHBEARER(self, server, args) -> AuthResult:  # noqa: N802
        return await self._sign_in(server, args, _oauthbearer_fields)

    async def _sign_in(self, server, args, fields) -> AuthResult:
        blob = await server.challenge_auth("") if len(args) == 1 else _decode(args[1])
        if blob is MISSING:
            return AuthResult(success=False, handled=True)
        user, token = fields(blob or b"")
        if user and token and await asyncio.to_thread(self._user_of, token) == user:
            return AuthResult(success=True, auth_data=user)
        # As Gmail does (and RFC 7628 for OAUTHBEARER): a JSON error as a challenge, which the
        # client answers with anything, then the refusal.
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": ""})
        if await server.challenge_auth(error) is MISSING:
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False, message="535 5.7.8 Username and token not accepted")

    def _user_of(self, token: str) -> str | None:
        """Return the user of an active token, as the authorization server says (RFC 7662)."""
        answer = requests.post(self._introspection_url, data={"token": token}, timeout=10)
        answer.raise_for_status()
        found = answer.json()
        return found.get("username") if found.get("active") is True else None


def _decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return None


def _xoauth2_fields(blob: bytes) -> tuple[str | None, str | None]:
    """Return the user and token of XOAUTH2's ``user=U^Aauth=Bearer T^A^A``."""
    fields = dict(part.split("=", 1) for part in blob.decode(errors="replace").split("\x01") if "=" in part)
    return fields.get("user"), _bearer(fields.get("auth", ""))


def _oauthbearer_fields(blob: bytes) -> tuple[str | None, str | None]:
    """Return the user and token of OAUTHBEARER's ``n,a=U,^Aauth=Bearer T^A^A`` (RFC 7628)."""
    gs2, _, rest = blob.decode(errors="replace").partition("\x01")
    user = next((p[2:] for p in gs2.split(",") if p.startswith("a=")), None)
    user = user.replace("=2C", ",").replace("=3D", "=") if user else None
    fields = dict(part.split("=", 1) for part in rest.split("\x01") if "=" in part)
    return user, _bearer(fields.get("auth", ""))


def _bearer(auth: str) -> str | None:
    scheme, _, token = auth.partition(" ")
    return token if scheme.lower() == "bearer" and token else None


class _Controller(Controller):
    """aiosmtpd's threaded controller, listening on a port the kernel picks.

    Asking the kernel for port 0 at bind time, rather than probing for a free port and
    binding it later, leaves no window in which another process can take the port.
    """

    def _create_server(self):
        return self._listen()

    async def _listen(self):
        server = await super()._create_server()
        self.port = server.sockets[0].getsockname()[1]  # read by start() once the server is ready
        return server


class SmtpServer:
    """An SMTP server on loopback that keeps every message it receives.

    ``received`` may be read while the server runs: messages arrive on the server's
    thread, so it returns a copy taken under the lock. With ``oauth2_introspection_url``
    (the authorization server's, with the credentials in it:
    ``OAuthServer.introspect_url_with_credentials``) senders must sign in with a token.
    """

    def __init__(self, oauth2_introspection_url: str | None = None) -> None:
        self._messages: list[Received] = []
        self._arrived = threading.Condition()
        self._refusal: str | None = None
        if oauth2_introspection_url is None:
            self._controller = _Controller(_Handler(self._keep, lambda: self._refusal), hostname=HOST,
                                           port=0, enable_SMTPUTF8=True)
        else:
            self._controller = _Controller(
                _OAuth2Handler(self._keep, oauth2_introspection_url), hostname=HOST, port=0,
                enable_SMTPUTF8=True, auth_require_tls=False,
                auth_exclude_mechanism=["PLAIN", "LOGIN"],
            )

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def refuse_recipients(self, reply: str = "451 4.3.2 Not accepting mail just now, try later") -> None:
        """Answer every RCPT TO with ``reply`` from now on, as a server refusing mail for a while does."""
        self._refusal = reply

    def accept_recipients(self) -> None:
        """Take mail again."""
        self._refusal = None

    @property
    def port(self) -> int:
        return self._controller.port

    @property
    def url(self) -> str:
        """The server as the application's ``SMTP_URL`` names it: ``smtp://127.0.0.1:PORT``."""
        return f"smtp://{HOST}:{self.port}"

    @property
    def received(self) -> list[Received]:
        with self._arrived:
            return list(self._messages)

    def wait_for(self, count: int = 1, timeout: float = WAIT_SECONDS) -> list[Received]:
        """Return the messages once at least ``count`` have arrived; fail after ``timeout`` seconds."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._messages) >= count, timeout):
                raise AssertionError(f"the SMTP server received {len(self._messages)} message(s) "
                                     f"in {timeout} s, not {count}")
            return list(self._messages)

    def _keep(self, message: Received) -> None:
        with self._arrived:
            self._messages.append(message)
            self._arrived.notify_all()

"""OAuth2 mailboxes: configuring the provider, connecting, the access tokens, and what
happens when the provider stops honouring the refresh token.

The refresh token and the application's secret are kept encrypted (``app.secretbox``,
``ENCRYPTION_KEY``). Access tokens live only in this process's memory (``_CACHE``), are
refreshed when less than a quarter of their life (at most a minute) remains, and are
never written to the database, a log line or a page.

When the provider refuses a refresh, the mailbox "needs reconnecting". The refusal is
kept in this process at once (so nothing asks the provider again) and written
(``failed_at`` and the provider's reason) by ``record_refusals`` in the caller's session
once its work is rolled back: after each mailbox's poll, before the administrators are
told, and after a reply that could not leave. It cannot be written through a connection
of its own at the moment of the refusal, since SQLite has one writer at a time and the
refusal comes in the middle of the caller's transaction. The administrators are emailed
once (``notify_needing_reconnect``, after each poll), every console page of an
administrator or manager shows a banner, and the dashboard's ingestion health turns red;
other mailboxes are polled as before. Connecting again clears the mark, and polling
resumes from each folder's checkpoint.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.access.rules import ADMIN
from app.models import Agent, Mailbox, MailboxOAuth, utcnow
from app.models.mailbox import MECHANISMS, OAUTH_KINDS
from app.secretbox import SecretBox, SecretUnreadable
from app.services import audit
from app.services.errors import ServiceError
from app.services.outbound import automatic_email, desk_sender, outbound_transport
from mailbox import oauth
from mailbox.errors import MailboxError, NeedsReconnecting
from mailbox.oauth import PROVIDERS, Authorization, DeviceCode, OAuthApp, Tokens

# The client secret and the tokens cross these endpoints: https, except to this machine itself.
_URL = re.compile(r"^(https://[^\s/]+|http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?)(/\S*)?$")
_TENANT = re.compile(r"^[A-Za-z0-9.-]{1,100}$")


@dataclass(frozen=True)
class OAuthSettings:
    """What an administrator enters for an OAuth2 mailbox; the URLs come from the provider's
    preset for Microsoft 365 and Google, and are typed for any other provider."""

    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    tenant: str = "organizations"
    authorize_url: str | None = None
    token_url: str | None = None
    device_url: str | None = None
    scopes: str | None = None
    mechanism: str | None = None


def configure(mailbox: Mailbox, kind: str, settings: OAuthSettings, box: SecretBox) -> None:
    """Check and set the OAuth2 side of a mailbox; a changed application needs connecting again.

    A blank secret keeps the one stored, so editing other settings never asks for it again.
    """
    if kind not in OAUTH_KINDS:
        raise ServiceError(f"the kind must be one of {', '.join(OAUTH_KINDS)}, not {kind!r}")
    client_id = settings.client_id.strip()
    if not client_id or len(client_id) > 500:
        raise ServiceError("the client id (of the application registered at the provider) is required, "
                           "up to 500 characters")
    preset = PROVIDERS.get(kind)
    if preset is not None:
        tenant = (settings.tenant or "organizations").strip()
        if not _TENANT.match(tenant):
            raise ServiceError(f"{tenant[:60]!r} is not a tenant (a domain, a tenant id, or organizations)")
        urls = {"authorize_url": preset.authorize_url.format(tenant=tenant),
                "token_url": preset.token_url.format(tenant=tenant),
                "device_url": preset.device_url.format(tenant=tenant) if preset.device_url else None}
        scopes, mechanism = settings.scopes or preset.scopes, settings.mechanism or preset.mechanism
    else:
        urls = {"authorize_url": (settings.authorize_url or "").strip(),
                "token_url": (settings.token_url or "").strip(),
                "device_url": (settings.device_url or "").strip() or None}
        scopes, mechanism = settings.scopes, settings.mechanism or "XOAUTH2"
        for what, url in (("authorization", urls["authorize_url"]), ("token", urls["token_url"]),
                          ("device authorisation", urls["device_url"] or "https://x/")):
            if not _URL.match(url) or len(url) > 2000:
                raise ServiceError(f"the {what} endpoint must be an https:// address "
                                   "(http:// only on this machine itself)")
    scopes = " ".join((scopes or "").split())
    if not scopes:
        raise ServiceError("the scopes are required (IMAP read access and offline access)")
    if mechanism not in MECHANISMS:
        raise ServiceError(f"the SASL mechanism must be one of {', '.join(MECHANISMS)}")
    current = mailbox.oauth
    if current is None:
        if not settings.client_secret:
            raise ServiceError("the client secret (of the application registered at the provider) "
                               "is required")
        current = mailbox.oauth = MailboxOAuth(client_id=client_id, authorize_url="", token_url="", scopes="")
    changed = (current.client_id, current.token_url) != (client_id, urls["token_url"])
    current.client_id = client_id
    current.authorize_url, current.token_url, current.device_url = (
        urls["authorize_url"], urls["token_url"], urls["device_url"])
    current.scopes, current.mechanism = scopes, mechanism
    if settings.client_secret:
        current.client_secret = box.encrypt(settings.client_secret)
        changed = True
    if changed and current.refresh_token is not None:
        current.refresh_token = None  # a token of another application cannot be refreshed by this one
        forget(mailbox.id)


def app_of(mailbox: Mailbox, box: SecretBox) -> OAuthApp:
    """Return the mailbox's registered application, its secret decrypted."""
    settings = mailbox.oauth
    if settings is None:
        raise ServiceError(f"the mailbox {mailbox.name} does not sign in with OAuth2")
    secret = _decrypted(box, settings.client_secret, mailbox)
    extra = PROVIDERS[mailbox.kind].extra if mailbox.kind in PROVIDERS else {}
    return OAuthApp(client_id=settings.client_id, client_secret=secret, authorize_url=settings.authorize_url,
                    token_url=settings.token_url, scopes=settings.scopes, device_url=settings.device_url,
                    extra=extra)


# ---- connecting ------------------------------------------------------------------------------

def begin(mailbox: Mailbox, box: SecretBox, redirect_uri: str) -> Authorization:
    """Return where to send the administrator to sign in at the provider."""
    return oauth.begin(app_of(mailbox, box), redirect_uri)


def finish(session: Session, mailbox: Mailbox, box: SecretBox, *, returned_to: str, state: str,
           verifier: str, redirect_uri: str, by: Agent | None, at: datetime) -> None:
    """Complete a code grant from the address the provider returned to, and keep the refresh token."""
    code = oauth.code_from(returned_to, state)
    tokens = oauth.exchange(app_of(mailbox, box), redirect_uri, code, verifier)
    _connected(session, mailbox, box, tokens, by, at, "the authorization code grant")


def begin_device(mailbox: Mailbox, box: SecretBox) -> DeviceCode:
    """Ask the provider for a code to enter at its device page."""
    return oauth.begin_device(app_of(mailbox, box))


def finish_device(session: Session, mailbox: Mailbox, box: SecretBox, device: DeviceCode, *,
                  by: Agent | None, at: datetime, sleep: Callable[[float], None] = time.sleep) -> None:
    """Wait until the code is entered and approved at the provider, and keep the refresh token."""
    tokens = oauth.wait_for_device(app_of(mailbox, box), device, sleep)
    _connected(session, mailbox, box, tokens, by, at, "the device authorisation grant")


def _connected(session: Session, mailbox: Mailbox, box: SecretBox, tokens: Tokens,
               by: Agent | None, at: datetime, grant: str) -> None:
    if not tokens.refresh:
        raise ServiceError("the provider gave no refresh token, so the mailbox would stop within the hour; "
                           "ask for offline access in the scopes (offline_access at Microsoft)")
    settings = mailbox.oauth
    settings.refresh_token = box.encrypt(tokens.refresh)
    settings.connected_at = at
    settings.failed_at = settings.failure = settings.notified_at = None
    with _LOCK:
        _REFUSED.pop(mailbox.id, None)
    _remember(mailbox.id, tokens)
    audit.append(session, "mailbox_connected", at=at, agent_id=by.id if by else None,
                 detail=f"mailbox {mailbox.name} connected with OAuth2 by {grant}")
    session.flush()


# ---- access tokens --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Cached:
    access: str = field(repr=False)
    fresh_until: float  # when it is refreshed: a quarter of its life (at most a minute) before its end


_CACHE: dict[int, _Cached] = {}
_LOCK = threading.Lock()
_REFRESHING: dict[int, threading.Lock] = {}


def _remember(mailbox_id: int, tokens: Tokens) -> None:
    now = time.time()
    margin = min(60.0, (tokens.expires_at - now) / 4)
    with _LOCK:
        _CACHE[mailbox_id] = _Cached(tokens.access, tokens.expires_at - margin)


def forget(mailbox_id: int) -> None:
    """Drop the access token this process holds for a mailbox."""
    with _LOCK:
        _CACHE.pop(mailbox_id, None)


_REFUSED: dict[int, tuple[datetime, str]] = {}


class MailboxTokens:
    """The ``TokenProvider`` of one OAuth2 mailbox, for IMAP and SMTP.

    It reads the refresh token from the database when it must refresh, through a
    connection of its own. Refreshes of one mailbox are made one at a time in a process:
    IDLE watchers and a poll starting together ask once. A provider that rotates refresh
    tokens gets the new one stored in the same way (on SQLite this waits for the caller's
    transaction, which has written nothing yet when a connection signs in).
    """

    def __init__(self, mailbox: Mailbox, engine: Engine, box: SecretBox) -> None:
        self.mailbox_id = mailbox.id
        self.name = mailbox.name
        self._app = app_of(mailbox, box)
        self._engine = engine
        self._box = box

    def __repr__(self) -> str:
        return f"MailboxTokens({self.name!r})"

    def token(self) -> str:
        cached = _CACHE.get(self.mailbox_id)
        if cached and time.time() < cached.fresh_until:
            return cached.access
        with _LOCK:
            refreshing = _REFRESHING.setdefault(self.mailbox_id, threading.Lock())
        with refreshing:
            cached = _CACHE.get(self.mailbox_id)
            if cached and time.time() < cached.fresh_until:
                return cached.access
            return self._refresh()

    def refused(self, token: str) -> None:
        with _LOCK:
            cached = _CACHE.get(self.mailbox_id)
            if cached and cached.access == token:
                del _CACHE[self.mailbox_id]

    def _refresh(self) -> str:
        with self._engine.connect() as connection:
            row = connection.execute(select(MailboxOAuth.refresh_token, MailboxOAuth.failed_at,
                                            MailboxOAuth.connected_at)
                                     .where(MailboxOAuth.mailbox_id == self.mailbox_id)).first()
        refusal = _REFUSED.get(self.mailbox_id)
        if refusal is not None:
            if row is None or not _connected_since(row.connected_at, refusal[0]):
                raise NeedsReconnecting(f"the provider refused its sign-in ({refusal[1]})", mailbox=self.name)
            with _LOCK:  # connected again since, in another process: the refusal was of the old token
                _REFUSED.pop(self.mailbox_id, None)
        if row is None or row.refresh_token is None:
            raise NeedsReconnecting("the mailbox is not connected to its provider yet; connect it",
                                    mailbox=self.name)
        if row.failed_at is not None:
            raise NeedsReconnecting("the provider refused its token earlier; reconnect the mailbox",
                                    mailbox=self.name)
        try:
            stored = self._box.decrypt(row.refresh_token)
        except SecretUnreadable:
            self._refused("its refresh token does not decrypt with ENCRYPTION_KEY (was the key changed?)")
            raise NeedsReconnecting("its refresh token does not decrypt with ENCRYPTION_KEY; reconnect the "
                                    "mailbox", mailbox=self.name) from None
        try:
            tokens = oauth.refresh(self._app, stored)
        except NeedsReconnecting as exc:
            self._refused(str(exc))
            exc.mailbox = self.name
            raise
        except MailboxError as exc:
            exc.mailbox = self.name
            raise
        if tokens.refresh and tokens.refresh != stored:
            # The provider rotates refresh tokens: the old one may work no more, so the new
            # one is kept now, whatever becomes of the work that asked for it.
            with self._engine.begin() as connection:
                connection.execute(update(MailboxOAuth).where(MailboxOAuth.mailbox_id == self.mailbox_id)
                                   .values(refresh_token=self._box.encrypt(tokens.refresh)))
        _remember(self.mailbox_id, tokens)
        return tokens.access

    def _refused(self, reason: str) -> None:
        forget(self.mailbox_id)
        with _LOCK:
            _REFUSED[self.mailbox_id] = (utcnow(), reason[:2000])


def _connected_since(connected_at: datetime | None, refused_at: datetime) -> bool:
    return connected_at is not None and connected_at >= refused_at


def record_refusals(session: Session) -> None:
    """Write the refusals this process met into the database, in the caller's session, and commit.

    Call it when the work that met them is committed or rolled back.
    """
    with _LOCK:
        refused = dict(_REFUSED)
    if not refused:
        return
    for mailbox_id, (at, reason) in refused.items():
        # Not when the mailbox was connected again since (in another process, say): the
        # refusal was of the token it held before.
        session.execute(update(MailboxOAuth)
                        .where(MailboxOAuth.mailbox_id == mailbox_id, MailboxOAuth.failed_at.is_(None),
                               or_(MailboxOAuth.connected_at.is_(None), MailboxOAuth.connected_at < at))
                        .values(failed_at=at, failure=reason, notified_at=None)
                        .execution_options(synchronize_session=False))
    session.commit()
    with _LOCK:
        for mailbox_id in refused:
            _REFUSED.pop(mailbox_id, None)


def tokens_for(mailbox: Mailbox) -> MailboxTokens:
    """Return the token provider of an OAuth2 mailbox in the current application."""
    from app.extensions import db
    from app.runtime import secret_box

    return MailboxTokens(mailbox, db.engine, secret_box())


# ---- telling people -------------------------------------------------------------------------

def needing_reconnect(session: Session) -> list[Mailbox]:
    """Return the mailboxes whose provider refused their token, by name."""
    return list(session.scalars(select(Mailbox).join(MailboxOAuth)
                                .where(MailboxOAuth.failed_at.is_not(None)).order_by(Mailbox.name)))


def notify_needing_reconnect(session: Session, at: datetime) -> int:
    """Email the administrators once about each mailbox that newly needs reconnecting; return how
    many mailboxes were told of. A mail server that is down leaves them to the next call."""
    from app.services.access_notices import WAITING

    record_refusals(session)
    due = [m for m in needing_reconnect(session) if m.oauth.notified_at is None]
    if not due:
        return 0
    admins = [a.email for a in session.scalars(select(Agent).where(Agent.role == ADMIN,
                                                                   Agent.disabled.is_(False)))]
    config = current_app.config
    try:
        transport = outbound_transport(config["SMTP_URL"], config["SMTP_TIMEOUT_SECONDS"])
        for mailbox in due:
            if admins:
                transport.send(_reconnect_email(mailbox, admins), config["SUPPORT_ADDRESS"], admins)
            mailbox.oauth.notified_at = at
            audit.append(session, "mailbox_needs_reconnecting", at=at,
                         detail=f"mailbox {mailbox.name}: {mailbox.oauth.failure}; "
                                f"{len(admins)} administrator(s) emailed")
            session.commit()
    except ServiceError as exc:
        session.rollback()
        WAITING.note("notices that a mailbox needs reconnecting", exc)
        return 0
    return len(due)


def _reconnect_email(mailbox: Mailbox, admins: list[str]) -> bytes:
    config = current_app.config
    return automatic_email(
        desk_sender(config), ", ".join(admins), f"The mailbox {mailbox.name} has stopped: reconnect it",
        f"The provider of the mailbox {mailbox.name} ({mailbox.username}) refused to renew its sign-in:\n"
        f"{mailbox.oauth.failure}\n\n"
        "No mail is archived from it until an administrator connects it again:\n"
        f"{config['PUBLIC_URL']}/admin/mailboxes/{mailbox.id}\n\n"
        "Mail that arrived meanwhile waits on the server and is archived once it is reconnected.\n"
        "Other mailboxes are not affected. This email is sent once.\n")


def _decrypted(box: SecretBox, stored: str | None, mailbox: Mailbox) -> str | None:
    if stored is None:
        return None
    try:
        return box.decrypt(stored)
    except SecretUnreadable:
        raise ServiceError(f"the client secret of {mailbox.name} does not decrypt with ENCRYPTION_KEY; "
                           "enter it again") from None

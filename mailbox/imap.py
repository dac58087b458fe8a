"""IMAP transport, and the only importer of IMAPClient: the ``MailSource`` of IMAP servers.

Folders are opened with EXAMINE (read-only) and bodies fetched with BODY.PEEK[], so
polling never changes the server's mailbox: no flag is set, nothing is expunged.
Every library or socket failure leaves this module as a ``mailbox.errors`` exception
whose message says, in one sentence, what went wrong.

It signs in with a password (LOGIN) or with an OAuth2 access token (SASL XOAUTH2 or
OAUTHBEARER, RFC 7628), trying one fresh token when the server refuses one
(``mailbox.source.sign_in_with_token``).
"""

from __future__ import annotations

import imaplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from mailbox.errors import ConnectionFailed, FolderMissing, LoginFailed, MailboxError
from mailbox.source import Changes, TokenProvider, sign_in_with_token

_BODY = b"BODY[]"


@dataclass(frozen=True)
class Endpoint:
    name: str
    host: str
    port: int
    security: str  # "ssl", "starttls" or "none"
    username: str
    password: str | None = field(default=None, repr=False)  # never in a log line or a traceback
    timeout: float = 30.0
    # A CA bundle to trust besides the system's, for servers with a private CA.
    ca_file: str | None = None
    # For OAuth2 mailboxes, in place of the password: the access tokens and the SASL mechanism.
    tokens: TokenProvider | None = None
    mechanism: str = "XOAUTH2"


@dataclass(frozen=True)
class FolderStatus:
    uidvalidity: int
    uidnext: int | None
    exists: int


class ImapConnection:
    """A logged-in connection to one mailbox; use as a context manager."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.client: IMAPClient | None = None
        self.folder: str | None = None

    def __enter__(self) -> ImapConnection:
        self.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def open(self) -> None:
        """Connect and sign in."""
        ep = self.endpoint
        with self._translating("cannot connect"):
            context = ssl.create_default_context(cafile=ep.ca_file)
            self.client = IMAPClient(ep.host, port=ep.port, ssl=ep.security == "ssl",
                                     ssl_context=context, timeout=ep.timeout)
            if ep.security == "starttls":
                self.client.starttls(context)
        try:
            if ep.tokens is None:
                self.client.login(ep.username, ep.password)
            else:
                self._sign_in_with_token()
        except LoginError as exc:
            raise LoginFailed(
                f"the server refused the login for {ep.username}: {_text(exc)}",
                mailbox=ep.name,
            ) from exc
        except (OSError, imaplib.IMAP4.error, IMAPClientError) as exc:
            raise self._connection_error("lost the connection while logging in", exc) from exc

    def _sign_in_with_token(self) -> None:
        ep = self.endpoint

        def sign_in(token: str) -> None:
            if ep.mechanism == "OAUTHBEARER":
                self.client.oauthbearer_login(ep.username, token)
            else:
                self.client.oauth2_login(ep.username, token, mech=ep.mechanism)

        sign_in_with_token(ep.tokens, sign_in, LoginError)

    def folders(self) -> list[str]:
        """Return the names of the folders that hold messages (not the \\Noselect ones)."""
        with self._translating("cannot list the folders"):
            listed = self.client.list_folders()
        return sorted(name for flags, _, name in listed if b"\\Noselect" not in flags)

    def changes(self, folder: str, uidvalidity: int | None, checkpoint: int) -> Changes:
        """Examine ``folder`` and list the UIDs beyond the checkpoint, or all of them when the
        folder's UIDVALIDITY is not the checkpoint's."""
        status = self.examine(folder)
        after = checkpoint if status.uidvalidity == uidvalidity else 0
        return Changes(uidvalidity=status.uidvalidity, uids=self.uids_after(after),
                       exists=status.exists)

    def close(self) -> None:
        """Log out, ignoring a connection that is already gone."""
        self.folder = None
        if self.client is None:
            return
        try:
            self.client.logout()
        except Exception:  # the server may already have dropped us; nothing to save here
            try:
                self.client.shutdown()
            except Exception:
                pass
        self.client = None

    def examine(self, folder: str) -> FolderStatus:
        """Open a folder read-only and return its UIDVALIDITY, UIDNEXT and message count."""
        with self._translating("cannot open the folder", folder=folder):
            try:
                info = self.client.select_folder(folder, readonly=True)
            except IMAPClientError as exc:
                raise FolderMissing(
                    f"the server has no folder {folder!r}: {_text(exc)}",
                    mailbox=self.endpoint.name, folder=folder,
                ) from exc
        self.folder = folder
        return FolderStatus(
            uidvalidity=int(info[b"UIDVALIDITY"]),
            uidnext=int(info[b"UIDNEXT"]) if b"UIDNEXT" in info else None,
            exists=int(info.get(b"EXISTS", 0)),
        )

    def uids_after(self, uid: int) -> list[int]:
        """Return the UIDs greater than ``uid`` in the open folder, ascending."""
        with self._translating("cannot list new messages", folder=self.folder):
            found = self.client.search(["UID", f"{uid + 1}:*"])
        # "n:*" always matches the highest UID, even when it is below n (RFC 3501 6.4.8).
        return sorted(u for u in found if u > uid)

    def sizes(self, uids: list[int]) -> dict[int, int]:
        """Return the size in bytes of each message, for planning fetch batches."""
        if not uids:
            return {}
        with self._translating("cannot read message sizes", folder=self.folder):
            response = self.client.fetch(uids, [b"RFC822.SIZE"])
        return {uid: int(data.get(b"RFC822.SIZE", 0)) for uid, data in response.items()}

    def fetch(self, uids: list[int]) -> dict[int, bytes]:
        """Fetch the raw bytes of messages without setting \\Seen (BODY.PEEK[])."""
        if not uids:
            return {}
        with self._translating("lost the connection while fetching", folder=self.folder):
            response = self.client.fetch(uids, [b"BODY.PEEK[]"])
        return {uid: data[_BODY] for uid, data in response.items() if _BODY in data}

    def can_wait(self) -> bool:
        """Tell whether the server offers IMAP IDLE (RFC 2177)."""
        with self._translating("cannot read the server's capabilities"):
            return self.client.has_capability("IDLE")

    def wait_for_change(self, folder: str, timeout: float) -> bool:
        """IDLE on ``folder`` for up to ``timeout`` seconds; tell whether mail arrived."""
        if self.folder != folder:
            self.examine(folder)
        with self._translating("lost the connection while idling", folder=self.folder):
            self.client.idle()
            try:
                responses = self.client.idle_check(timeout=timeout)
            finally:
                self.client.idle_done()
        return any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)

    @contextmanager
    def _translating(self, doing: str, folder: str | None = None) -> Iterator[None]:
        try:
            yield
        except MailboxError:
            raise
        except (OSError, imaplib.IMAP4.error, IMAPClientError, ValueError) as exc:
            raise self._connection_error(doing, exc, folder) from exc

    def _connection_error(self, doing: str, exc: BaseException,
                          folder: str | None = None) -> ConnectionFailed:
        ep = self.endpoint
        return ConnectionFailed(f"{doing} on {ep.host}:{ep.port}: {_text(exc)}",
                                mailbox=ep.name, folder=folder)


def _text(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "the server did not answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running, and is the port right?)"
    if isinstance(exc, socket.gaierror):
        return "the host name cannot be resolved"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    detail = str(exc).strip()
    if isinstance(exc, bytes):
        detail = exc.decode(errors="replace")
    return detail or type(exc).__name__

"""What the poller, the worker's IDLE watchers and the status pages need of a mailbox.

A mail source answers two questions about a folder: which messages arrived since a
checkpoint (``changes``), and, where the server can tell, when the next one arrives
(``wait_for_change``). The checkpoint is the pair the poller keeps per folder: the
folder's identity (IMAP's UIDVALIDITY) and the highest message number archived under
it. IMAP is the only source today (``mailbox.imap``); another (the Microsoft Graph or
Gmail API) is a class with these methods and an entry in ``mailbox.poller.open_source``.

Credentials are a password, or a ``TokenProvider`` that hands out OAuth2 access tokens
and refreshes them, so that a source never sees a refresh token.

No I/O here: ``sign_in_with_token`` runs the sign-in it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Changes:
    """What a folder holds beyond a checkpoint.

    ``uidvalidity`` is the folder's identity now; when it differs from the checkpoint's,
    the numbering started over and ``uids`` lists every message in the folder.
    """

    uidvalidity: int
    uids: list[int]
    exists: int


class TokenProvider(Protocol):
    """Hands out OAuth2 access tokens for one mailbox."""

    def token(self) -> str:
        """Return an access token valid for a while yet, refreshing it when it is near its end.

        Raises ``mailbox.errors.NeedsReconnecting`` when the provider refuses the refresh.
        """

    def refused(self, token: str) -> None:
        """Forget a token the server refused, so the next ``token()`` refreshes."""


def sign_in_with_token(tokens: TokenProvider, sign_in: Callable[[str], None],
                       refusal: type[Exception]) -> None:
    """Sign in with the provider's access token; a token the server refuses (``refusal``) is
    handed back and one fresh token tried, since a token may be revoked or end between its
    refresh and its use. IMAP and SMTP sign in this way."""
    for attempt in (1, 2):
        token = tokens.token()
        try:
            sign_in(token)
            return
        except refusal:
            tokens.refused(token)
            if attempt == 2:
                raise


class MailSource(Protocol):
    """A signed-in connection to one mailbox; use as a context manager."""

    def __enter__(self) -> MailSource: ...

    def __exit__(self, *exc_info) -> None: ...

    def folders(self) -> list[str]:
        """Return the names of the folders the account can archive."""

    def changes(self, folder: str, uidvalidity: int | None, checkpoint: int) -> Changes:
        """Open ``folder`` read-only and list what lies beyond the checkpoint, ascending."""

    def sizes(self, uids: list[int]) -> dict[int, int]:
        """Return the size in bytes of each message of the open folder."""

    def fetch(self, uids: list[int]) -> dict[int, bytes]:
        """Return the exact bytes of each message of the open folder, changing nothing there."""

    def can_wait(self) -> bool:
        """Tell whether ``wait_for_change`` can learn of new mail without polling."""

    def wait_for_change(self, folder: str, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds on ``folder``; tell whether mail arrived."""

"""The one exception tree of the mail package, each carrying where it happened."""

from __future__ import annotations


class MailboxError(Exception):
    """Something went wrong with a mailbox; the message is one sentence for a person."""

    def __init__(self, message: str, *, mailbox: str | None = None,
                 folder: str | None = None, uid: int | None = None) -> None:
        super().__init__(message)
        self.mailbox = mailbox
        self.folder = folder
        self.uid = uid

    def __str__(self) -> str:
        where = ", ".join(
            f"{label} {value}"
            for label, value in (("mailbox", self.mailbox), ("folder", self.folder), ("UID", self.uid))
            if value is not None
        )
        text = super().__str__()
        return f"{text} ({where})" if where else text


class ConnectionFailed(MailboxError):
    """The IMAP server could not be reached, or the connection dropped."""


class LoginFailed(MailboxError):
    """The server refused the username and password."""


class NeedsReconnecting(LoginFailed):
    """The OAuth2 provider refused to refresh the mailbox's token (consent withdrawn, the
    refresh token expired, the application's secret changed): only signing in at the
    provider again, as an administrator, brings the mailbox back."""


class FolderMissing(MailboxError):
    """The folder does not exist on the server."""


class ConfigurationError(MailboxError):
    """The mailbox is configured in a way that cannot work (e.g. its password is not set)."""


class ImportSourceError(MailboxError):
    """A file or folder given to an import cannot be read as mail."""

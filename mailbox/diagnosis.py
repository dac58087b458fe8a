"""Testing a mailbox's connection step by step, so an administrator reads exactly what failed:
the host name (DNS), the server answering (TCP), TLS (on connect, or after STARTTLS), the
sign-in, and each folder opened read-only.

DNS, TCP and TLS are tried with the standard library's ``socket`` and ``ssl``, which tell
these failures apart; the sign-in and the folders go through the mailbox's ``MailSource``,
as the poller does. No password or token is ever part of what it says.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

from app.models import Mailbox, MailboxFolder
from app.services.errors import ServiceError
from mailbox.errors import MailboxError
from mailbox.poller import PollSettings, open_source


@dataclass(frozen=True)
class Step:
    """One step of reaching a mailbox: ``status`` is ok, failed, skipped (not needed) or not tried."""

    name: str
    status: str
    detail: str


STEPS = ("DNS", "TCP", "TLS", "login")


class _Stop(Exception):
    """A step failed: the steps after it are not tried."""


def diagnose_connection(mailbox: Mailbox, settings: PollSettings) -> list[Step]:
    """Try each step of reaching the mailbox in turn (DNS, TCP, TLS, login, each folder) and
    say what each found; the first failure ends the test. Never shows a password or token."""
    steps: list[Step] = []
    try:
        _resolve(mailbox, steps)
        _reach(mailbox, settings, steps)
        _sign_in_and_open(mailbox, settings, steps)
    except _Stop:
        tried = {s.name for s in steps}
        later = [name for name in STEPS if name not in tried]
        if not any(s.name.startswith("folder ") for s in steps):
            later.append("folders")
        steps += [Step(name, "not tried", "an earlier step failed") for name in later]
    return steps


def _failed(steps: list[Step], name: str, detail: str) -> _Stop:
    steps.append(Step(name, "failed", detail))
    return _Stop()


def _resolve(mailbox: Mailbox, steps: list[Step]) -> None:
    try:
        found = socket.getaddrinfo(mailbox.host, mailbox.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise _failed(steps, "DNS", f"the host name {mailbox.host} does not resolve ({reason}); "
                                    "check its spelling") from None
    addresses = ", ".join(dict.fromkeys(info[4][0] for info in found))
    steps.append(Step("DNS", "ok", f"{mailbox.host} resolves to {addresses}"))


def _reach(mailbox: Mailbox, settings: PollSettings, steps: list[Step]) -> None:
    where = f"{mailbox.host}:{mailbox.port}"
    try:
        sock = socket.create_connection((mailbox.host, mailbox.port), timeout=settings.timeout)
    except ConnectionRefusedError:
        raise _failed(steps, "TCP", f"nothing listens on {where}: the connection was refused "
                                    "(is the port right, and the server running?)") from None
    except TimeoutError:
        raise _failed(steps, "TCP", f"{where} did not answer within {settings.timeout:g} s "
                                    "(a firewall may drop the connection)") from None
    except OSError as exc:
        raise _failed(steps, "TCP", f"cannot connect to {where}: {exc.strerror or exc}") from None
    steps.append(Step("TCP", "ok", f"{where} accepts connections"))
    with sock:
        if mailbox.security == "none":
            steps.append(Step("TLS", "skipped", "not used: the mailbox is set to connect without TLS"))
            return
        _secure(mailbox, settings, sock, steps)


def _secure(mailbox: Mailbox, settings: PollSettings, sock: socket.socket, steps: list[Step]) -> None:
    context = ssl.create_default_context(cafile=settings.ca_file)
    try:
        if mailbox.security == "starttls":
            _ask_starttls(sock, steps)
        with context.wrap_socket(sock, server_hostname=mailbox.host) as tls:
            version = tls.version()
    except ssl.SSLCertVerificationError as exc:
        raise _failed(steps, "TLS", f"the server's certificate is not trusted: {exc.verify_message} "
                                    "(an expired, self-signed or other host's certificate)") from None
    except ssl.SSLError as exc:
        raise _failed(steps, "TLS", f"the TLS handshake failed ({exc.reason or exc}); does port "
                                    f"{mailbox.port} speak {mailbox.security}?") from None
    except (OSError, ValueError) as exc:
        raise _failed(steps, "TLS", f"the TLS handshake did not complete ({exc})") from None
    steps.append(Step("TLS", "ok", f"{version} with a trusted certificate for {mailbox.host}"))


def _ask_starttls(sock: socket.socket, steps: list[Step]) -> None:
    """Read the IMAP greeting and ask for STARTTLS (RFC 3501 6.2.1), as a client must first."""
    reader = sock.makefile("rb")
    reader.readline()
    sock.sendall(b"d1 STARTTLS\r\n")
    while True:
        line = reader.readline(4096)
        if not line:
            raise _failed(steps, "TLS", "the server closed the connection when asked for STARTTLS")
        if line.startswith(b"d1 "):
            break
    if not line[3:].upper().startswith(b"OK"):
        words = line[3:].decode(errors="replace").strip()
        raise _failed(steps, "TLS", f"the server refused STARTTLS: {words}")


def _sign_in_and_open(mailbox: Mailbox, settings: PollSettings, steps: list[Step]) -> None:
    how = "with OAuth2 (a token problem shows here)" if mailbox.uses_oauth else "with the password"
    try:
        with open_source(mailbox, settings) as source:
            steps.append(Step("login", "ok", f"signed in as {mailbox.username} {how}"))
            for folder in mailbox.folders:
                _open_folder(source, folder, steps)
    except (MailboxError, ServiceError) as exc:  # folders report their own: this is the sign-in's
        raise _failed(steps, "login", f"signing in {how} failed: {exc}") from None
    if any(s.status == "failed" for s in steps):
        raise _Stop()


def _open_folder(source, folder: MailboxFolder, steps: list[Step]) -> None:
    name = f"folder {folder.name}"
    try:
        changes = source.changes(folder.name, folder.uidvalidity, folder.checkpoint_uid)
    except MailboxError as exc:
        steps.append(Step(name, "failed", f"cannot be opened read-only: {exc}"))
        return
    steps.append(Step(name, "ok", f"opened read-only: {changes.exists} message(s), "
                                  f"{len(changes.uids)} not yet archived"))

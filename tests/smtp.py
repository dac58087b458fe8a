"""A real SMTP server on loopback for the tests of outbound mail.

aiosmtpd listens on 127.0.0.1 on a port the kernel picks, in a thread of its own, and
keeps every message it accepts as it came off the wire: the envelope sender, the
recipients and the raw bytes (CRLF line endings, dot-stuffing undone). The application
reaches it through ``SMTP_URL``, set to ``server.url``.
"""

from __future__ import annotations

import email
import threading
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"
WAIT_SECONDS = 30.0  # a deadline a busy machine does not reach unless mail never comes


@dataclass(frozen=True)
class Received:
    """One message as the server accepted it."""

    sender: str
    recipients: tuple[str, ...]
    raw: bytes

    def message(self) -> EmailMessage:
        """Return the raw bytes parsed with the standard library's modern policy."""
        return email.message_from_bytes(self.raw, policy=policy.default)


class _Handler:
    """aiosmtpd's handler: accept every message and hand it to the server's list."""

    def __init__(self, keep) -> None:
        self._keep = keep

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self._keep(Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


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
    thread, so it returns a copy taken under the lock.
    """

    def __init__(self) -> None:
        self._messages: list[Received] = []
        self._arrived = threading.Condition()
        self._controller = _Controller(_Handler(self._keep), hostname=HOST, port=0,
                                       enable_SMTPUTF8=True)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

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

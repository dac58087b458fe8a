"""A private Dovecot IMAP server for tests and benchmarks.

Each instance writes its own configuration into a temporary folder, listens on a free
loopback port, stores mail as Maildir under that folder, and is stopped afterwards.
Dovecot will not deliver mail as root, so when the tests run as root the mail user is
``nobody``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from imapclient import IMAPClient

USER = "support"
PASSWORD = "test-password"

_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 0
mail_location = maildir:~/Maildir
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service anvil {{
  chroot =
}}
"""


class PortTaken(RuntimeError):
    """Dovecot could not listen: another process holds one of its ports."""


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Dovecot:
    def __init__(self, root: Path, binary: str = "dovecot", tls: bool = False) -> None:
        self.root = Path(root)
        self.binary = binary
        self.port = free_port()
        self.tls = tls
        self.imaps_port = free_port() if tls else 0
        self.certificate = self.root / "server.pem"
        self.process: subprocess.Popen | None = None
        self._configure()

    def _configure(self) -> None:
        for sub in ("run", "state", "home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            uid = gid = 65534  # nobody: Dovecot refuses to run mail processes as root
            users = ""
            shutil.chown(self.root / "home", uid, gid)
            os.chmod(self.root, 0o755)
        else:
            uid, gid = os.getuid(), os.getgid()
            name = pwd.getpwuid(uid).pw_name
            users = f"default_internal_user = {name}\ndefault_login_user = {name}"
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        ssl_setting = self._make_certificate() if self.tls else "ssl = no"
        (self.root / "dovecot.conf").write_text(_CONFIG.format(
            root=self.root, uid=uid, gid=gid, port=self.port, users=users, ssl=ssl_setting,
            imaps_port=self.imaps_port,
        ))

    def _make_certificate(self) -> str:
        """Write a self-signed certificate for 127.0.0.1; clients trust it as their CA file."""
        key = self.root / "server.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(key), "-out", str(self.certificate)],
            check=True, capture_output=True,
        )
        os.chmod(key, 0o644)  # read by Dovecot's unprivileged login processes
        return f"ssl = yes\nssl_cert = <{self.certificate}\nssl_key = <{key}"

    def start(self) -> None:
        """Start Dovecot and wait until it accepts, on new ports if another process took its own.

        A port found free can be taken by someone else before Dovecot binds it (other test
        workers pick ports too), so a start that fails on a port in use tries again.
        """
        for _attempt in range(3):
            try:
                return self._start()
            except PortTaken:
                self.port = free_port()
                self.imaps_port = free_port() if self.tls else 0
                self._configure()
        self._start()

    def _start(self) -> None:
        logged_before = len(self._log_text())
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        deadline = time.monotonic() + 60  # reached only if Dovecot never listens
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                said = f"{self.process.stderr.read().decode()}{self.log()}"
                self.process = None
                if "Address already in use" in said:
                    raise PortTaken(said)
                raise RuntimeError(f"dovecot exited: {said}")
            # Its own word that it listens, not only an answer on the port: another
            # process holding the port would answer too.
            if "starting up" in self._log_text()[logged_before:]:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen on port {self.port}: {self.log()}")

    def stop(self) -> None:
        """Stop Dovecot with every process it started, ending open client connections."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        try:  # imap processes serving clients outlive the master for a moment
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process = None

    def log(self) -> str:
        return self._log_text()[-3000:]

    def _log_text(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self) -> IMAPClient:
        """Return a logged-in IMAPClient (the tests' own view of the server)."""
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=30)
        client.login(USER, PASSWORD)
        return client

    def append(self, messages: list[bytes], folder: str = "INBOX", flags=()) -> None:
        """Append messages to a folder, creating it if needed."""
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for raw in messages:
                client.append(folder, raw, flags=flags)

    def fetch_all(self, folder: str = "INBOX") -> dict[int, dict]:
        """Return every message's raw bytes and flags, read without changing anything."""
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            if not uids:
                return {}
            return {
                uid: {"raw": data[b"BODY[]"], "flags": set(data[b"FLAGS"])}
                for uid, data in client.fetch(uids, ["BODY.PEEK[]", "FLAGS"]).items()
            }

"""A private Dovecot IMAP server for tests and benchmarks.

Each instance writes its own configuration into a temporary folder, listens on a free
loopback port, stores mail as Maildir under that folder, and is stopped afterwards.
Dovecot will not deliver mail as root, so when the tests run as root the mail user is
``nobody``.

Given an authorization server's introspection URL, it also signs users in with OAuth2
access tokens (SASL XOAUTH2 and OAUTHBEARER) through its oauth2 passdb, as Microsoft 365
and Gmail do; the password keeps working beside it, for the tests' own appends.
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
auth_mechanisms = plain login{oauth2_mechanisms}
first_valid_uid = 0
mail_location = maildir:~/Maildir
{users}
passdb {{
  driver = passwd-file
{passwd_mechanisms}  args = scheme=PLAIN username_format=%u {root}/passwd
}}
{oauth2_passdb}userdb {{
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
{anvil_listener}}}
"""


# With an authorization server: XOAUTH2 and OAUTHBEARER go to the oauth2 passdb, which asks
# the introspection endpoint about the token at every login; PLAIN and LOGIN stay with the
# password file, so a test still appends mail with the password. The auth cache is off (it
# is by default; said here because a cached success would hide a revoked token). A refused
# token is answered at once, without the failure delay and the per-address penalty that
# doubles it up to 15 s: tests refuse tokens on purpose, many times from 127.0.0.1.
_OAUTH2_PASSDB = """\
auth_cache_size = 0
auth_failure_delay = 0
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/dovecot-oauth2.conf.ext
}}
"""

_OAUTH2_PARTS = ("oauth2_mechanisms", "passwd_mechanisms", "oauth2_passdb", "anvil_listener")
_NO_PENALTY = """\
  unix_listener anvil-auth-penalty {
    mode = 0
  }
"""

# RFC 7662 introspection by POST, the client's credentials in the URL (Dovecot sends them
# as HTTP Basic; it has no other way to authenticate to the endpoint). No tokeninfo_url:
# introspection alone decides, and ``active`` must be true, so a revoked or expired token is
# refused although its user is still known.
_OAUTH2_ARGS = """\
introspection_mode = post
introspection_url = {url}
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 10000
"""


class PortTaken(RuntimeError):
    """Dovecot could not listen: another process holds one of its ports."""


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Dovecot:
    """Dovecot with the test user's password; with ``oauth2_introspection_url``, OAuth2 logins too.

    The introspection URL is the authorization server's, with the credentials Dovecot
    authenticates with in it (``OAuthServer.introspect_url_with_credentials``).
    """

    def __init__(self, root: Path, binary: str = "dovecot", tls: bool = False,
                 oauth2_introspection_url: str | None = None) -> None:
        self.root = Path(root)
        self.oauth2_introspection_url = oauth2_introspection_url
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
            imaps_port=self.imaps_port, **self._oauth2_settings(),
        ))

    def _oauth2_settings(self) -> dict[str, str]:
        """Return the configuration's OAuth2 parts: all empty without an introspection URL."""
        if self.oauth2_introspection_url is None:
            return dict.fromkeys(_OAUTH2_PARTS, "")
        args = _OAUTH2_ARGS.format(url=self.oauth2_introspection_url)
        (self.root / "dovecot-oauth2.conf.ext").write_text(args)
        return {
            "oauth2_mechanisms": " xoauth2 oauthbearer",
            "passwd_mechanisms": "  mechanisms = plain login\n",
            "oauth2_passdb": _OAUTH2_PASSDB.format(root=self.root),
            "anvil_listener": _NO_PENALTY,
        }

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

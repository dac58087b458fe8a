"""Encrypting the few secrets the database must keep, with keys that live outside it.

An agent's authenticator secret must be read back to check a code, so it cannot be
hashed like a password; it is stored encrypted with Fernet (AES-128-CBC with an HMAC,
from the ``cryptography`` package) under ``ENCRYPTION_KEY``. Someone who reads the
database without the key learns nothing of it. ``ENCRYPTION_KEY`` may list several keys,
comma-separated, to rotate it: the first encrypts, and any of them decrypts.

Pure: no Flask, no database.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretUnreadable(Exception):
    """A stored secret does not decrypt with any configured key (changed or missing key)."""


class SecretBox:
    def __init__(self, setting: str) -> None:
        keys = [key.strip() for key in setting.split(",") if key.strip()]
        if not keys:
            raise ValueError("ENCRYPTION_KEY holds no key")
        # Any text makes a key: its SHA-256 is the 32 bytes Fernet wants.
        self._fernet = MultiFernet([Fernet(base64.urlsafe_b64encode(hashlib.sha256(k.encode()).digest()))
                                    for k in keys])

    def encrypt(self, secret: str) -> str:
        """Return the secret encrypted under the first key, as text for a database column."""
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        """Return a secret ``encrypt`` made, or raise ``SecretUnreadable``."""
        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError) as exc:
            raise SecretUnreadable("a stored secret does not decrypt with ENCRYPTION_KEY") from exc

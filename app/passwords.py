"""Password hashing with argon2id, memory-hard and salted, through argon2-cffi.

Pure: no Flask, no database.  The hasher's parameters are argon2-cffi's defaults
(RFC 9106's low-memory profile); when they change, ``needs_rehash`` says so and the
next successful sign-in stores a fresh hash.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
# Long enough for any passphrase, short enough that hashing cannot be made a burden.
MAX_LENGTH = 1024

_hasher = PasswordHasher()


def password_problem(password: str) -> str | None:
    """Return why a new password is refused, or None when it is acceptable."""
    if not password.strip():
        return "the password is empty"
    if len(password) < MIN_LENGTH:
        return f"the password is shorter than {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password is longer than {MAX_LENGTH} characters"
    return None


def hash_password(password: str) -> str:
    """Return an argon2id hash of the password, with its own random salt."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Say whether the password matches the stored hash; a damaged hash matches nothing."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash new passwords with ``hasher`` from now on, and return the hasher it replaces.

    The tests hash with argon2's cheapest profile, as every test agent's password costs a
    hash: verification reads each hash's own parameters, so either verifies the other's.
    """
    global _hasher
    replaced, _hasher = _hasher, hasher
    return replaced


def is_password_hash(stored: str) -> bool:
    """Say whether ``stored`` is a password's hash, rather than the mark of an agent who has none yet."""
    return stored.startswith("$argon2")


def needs_rehash(stored_hash: str) -> bool:
    """Say whether the hash was made with other parameters than the current ones."""
    return _hasher.check_needs_rehash(stored_hash)


def burn_time(password: str) -> None:
    """Spend the time a verification takes, so an unknown address answers no faster."""
    verify_password(_placeholder_hash(), password)


@cache
def _placeholder_hash() -> str:
    return _hasher.hash("an unguessable placeholder that no agent has")

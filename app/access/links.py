"""The single-purpose links company contacts use: random secrets, stored only as hashes,
bound to one access request or one consent and one purpose, with an expiry (rule 7 of
the design).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AccessRequest, AccessToken, Consent
from app.services.errors import ServiceError


class TokenError(ServiceError):
    """A customer link cannot be used; ``status`` is the HTTP status its page answers with.

    ``leaked`` is the token when it was refused for having been found in archived mail.
    """

    def __init__(self, message: str, status: int, leaked: AccessToken | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.leaked = leaked


def find_token(session: Session, raw: str, purpose: str, now: datetime) -> AccessToken:
    """Return the token a link carries for this purpose, or raise ``TokenError`` saying why not."""
    digest = hash_token(raw)
    token = session.scalar(select(AccessToken).where(AccessToken.token_hash == digest))
    # The lookup is by hash; the comparison repeats it in constant time all the same.
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        raise TokenError("This link is not valid. Check that it was copied whole from the email.", 404)
    if token.purpose != purpose:
        raise TokenError("This link is for another page; use the link from the email as it is.", 403)
    if token.leaked_at is not None:
        raise TokenError("This link was found in a message that reached our support archive, where our "
                         "staff could read it, so it no longer works. A new link was emailed to the "
                         "approver it was sent to; use that one.", 410, leaked=token)
    if now >= token.expires_at:
        raise TokenError("This link has expired.", 410)
    return token


def hash_token(raw: str) -> str:
    """Return the stored form of a link's secret."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def new_token(session: Session, request: AccessRequest, purpose: str, email: str,
              expires_at: datetime) -> str:
    """Add a link token for one request, purpose and contact; return its secret (stored only hashed)."""
    return _add(session, AccessToken(request=request, purpose=purpose, contact_email=email,
                                     expires_at=expires_at))


def new_consent_token(session: Session, consent: Consent, purpose: str, email: str,
                      expires_at: datetime) -> str:
    """Add a link token for one consent, purpose and contact; return its secret (stored only hashed)."""
    return _add(session, AccessToken(consent=consent, purpose=purpose, contact_email=email,
                                     expires_at=expires_at))


def _add(session: Session, token: AccessToken) -> str:
    # 256 bits; mailbox.tokens.TOKEN_LENGTH is the length of this form, which the archive looks for.
    raw = secrets.token_urlsafe(32)
    token.token_hash = hash_token(raw)
    session.add(token)
    return raw

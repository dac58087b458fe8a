"""Two-factor sign-in: an authenticator app's codes (TOTP, RFC 6238) and single-use recovery codes.

Staff who can read every customer's mail sign in with a password and a code that only
their phone holds. Setting up stores a new secret (encrypted, ``app.secretbox``) that
counts once a first code from the app proves it holds the same; ten recovery codes are
shown once, for the day the phone is lost. A code is good for its 30-second step and the
steps either side (clocks drift), and only once: the step of the last accepted code is
kept, and no code of that step or an earlier one is accepted again. Every change is
audited. The clock is an argument, as everywhere in services.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime

import pyotp
from sqlalchemy.orm import Session

from app.models import Agent, RecoveryCode
from app.secretbox import SecretBox
from app.services import audit
from app.services.agents import revoke_sessions
from app.services.errors import ServiceError
from app.services.rows import change_if

STEP_SECONDS = 30
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_SEPARATORS = re.compile(r"[\s-]+")


def requires_two_factor(agent: Agent, roles: tuple[str, ...]) -> bool:
    """Say whether the agent's role must sign in with a code (``TWO_FACTOR_ROLES``)."""
    return agent.role in roles


def start_setup(session: Session, agent: Agent, box: SecretBox) -> str:
    """Give the agent a new authenticator secret, not yet in force; return it (for the app, once)."""
    if agent.has_two_factor:
        raise ServiceError(f"{agent.email} has two-factor sign-in set up already; reset it first")
    secret = pyotp.random_base32()
    agent.totp_secret, agent.totp_last_step = box.encrypt(secret), None
    session.flush()
    return secret


def pending_secret(agent: Agent, box: SecretBox) -> str | None:
    """Return the secret of a setup waiting for its first code, or None."""
    if agent.has_two_factor or agent.totp_secret is None:
        return None
    return box.decrypt(agent.totp_secret)


def provisioning_uri(agent: Agent, secret: str, issuer: str) -> str:
    """Return the otpauth:// address an authenticator app reads from a QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=agent.email, issuer_name=issuer)


def confirm_setup(session: Session, agent: Agent, code: str, now: datetime, box: SecretBox) -> list[str]:
    """Put the pending secret in force once the app's code matches; return the new recovery codes.

    Every other session and remembered sign-in of the agent ends: they began without it.
    """
    secret = pending_secret(agent, box)
    if secret is None:
        raise ServiceError("there is no setup waiting for a code; begin again")
    step = _matching_step(secret, _normalise(code), now, None)
    if step is None:
        raise ServiceError("that code does not match: check the app's clock, and type the code it shows now")
    agent.totp_enabled_at, agent.totp_last_step = now, step
    revoke_sessions(agent)
    codes = _new_recovery_codes(session, agent)
    audit.append(session, "two-factor enabled", at=now, agent_id=agent.id, detail=f"for {agent.email}")
    return codes


def check_code(session: Session, agent: Agent, code: str, now: datetime, box: SecretBox) -> str | None:
    """Accept an authenticator code or an unused recovery code once; say which it was, or None."""
    if not agent.has_two_factor:
        return None
    typed = _normalise(code)
    if typed.isdigit() and len(typed) == 6:
        step = _matching_step(box.decrypt(agent.totp_secret), typed, now, agent.totp_last_step)
        if step is None:
            return None
        # Record the step as used, unless a sign-in racing this one used it (or a later one) first.
        last = Agent.totp_last_step
        if change_if(session, agent, [last.is_(None) | (last < step)], totp_last_step=step):
            return "authenticator code"
        return None
    if _use_recovery_code(session, agent, typed, now):
        audit.append(session, "recovery code used", at=now, agent_id=agent.id,
                     detail=f"{recovery_codes_left(agent)} left")
        return "recovery code"
    return None


def new_recovery_codes(session: Session, agent: Agent, code: str, now: datetime, box: SecretBox) -> list[str]:
    """Replace the agent's recovery codes, after a current code proves it is them; return the new ones."""
    if check_code(session, agent, code, now, box) is None:
        raise ServiceError("that code does not match, or was used already")
    codes = _new_recovery_codes(session, agent)
    audit.append(session, "recovery codes replaced", at=now, agent_id=agent.id, detail=f"for {agent.email}")
    return codes


def reset(session: Session, agent: Agent, now: datetime, by: Agent | None) -> None:
    """Remove the agent's authenticator and recovery codes and end their sessions.

    ``by`` is the administrator who did it, or None from the command line. A role that
    requires two-factor sign-in must set it up again at the next sign-in.
    """
    agent.totp_secret = agent.totp_enabled_at = agent.totp_last_step = None
    agent.recovery_codes.clear()
    revoke_sessions(agent)
    who = f"by {by.email}" if by is not None and by.id != agent.id else \
        "by the agent" if by is not None else "from the command line"
    audit.append(session, "two-factor reset", at=now, agent_id=by.id if by else None,
                 detail=f"for {agent.email}, {who}")
    session.flush()


def recovery_codes_left(agent: Agent) -> int:
    """Return how many of the agent's recovery codes are still unused."""
    return sum(1 for c in agent.recovery_codes if c.used_at is None)


def _matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    totp = pyotp.TOTP(secret)
    current = int(now.replace(tzinfo=UTC).timestamp()) // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue  # that code, or an older one, was accepted already
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _use_recovery_code(session: Session, agent: Agent, typed: str, now: datetime) -> bool:
    digest = _hash(typed)
    for stored in agent.recovery_codes:
        if stored.used_at is None and hmac.compare_digest(stored.code_hash, digest):
            return change_if(session, stored, [RecoveryCode.used_at.is_(None)], used_at=now)
    return False


def _new_recovery_codes(session: Session, agent: Agent) -> list[str]:
    codes = ["-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4)) for _ in range(4))
             for _ in range(RECOVERY_CODES)]
    agent.recovery_codes.clear()
    session.flush()
    agent.recovery_codes.extend(RecoveryCode(code_hash=_hash(_normalise(c))) for c in codes)
    session.flush()
    return codes


def _normalise(code: str) -> str:
    return _SEPARATORS.sub("", code or "").lower()


def _hash(normalised: str) -> str:
    # 16 characters of a 31-letter alphabet: 79 bits, beyond guessing, so a plain hash is enough.
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()

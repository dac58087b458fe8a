"""Invitations and password resets: an emailed link with which an agent sets their password.

The link needs no table. Its token is signed with ``SECRET_KEY`` (itsdangerous) and
names the agent, the moment it expires, and a fingerprint of the agent's current
password hash and session version. Setting a password changes the hash, so the link is
spent by its first use; a reset or a resent invitation puts a new random mark in place
of the hash, so every link sent before stops working too. An agent who has been invited
or reset holds such a mark instead of a hash, and no password signs them in.

The expiry is checked against the clock passed in, never the signer's own clock, so
tests move time as everywhere else. Mail goes through the outbound transport
(``SMTP_URL``); callers flush the change, send, then commit, so a link that could not be
sent leaves nothing changed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app, render_template
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from app.models import Agent
from app.passwords import hash_password, is_password_hash, password_problem
from app.services import audit
from app.services.agents import check_new_agent, record_change, revoke_sessions
from app.services.errors import ServiceError
from app.services.outbound import automatic_email, desk_sender, outbound_transport

SALT = "agent-password-link"
PATH = "/password/"
PURPOSES = ("invite", "reset")
SUBJECTS = {"invite": "You are invited to the support desk: set your password",
            "reset": "Set a new password for the support desk"}


class LinkRefused(ServiceError):
    """A password link that cannot be used; ``status`` is the HTTP status its page answers with."""

    def __init__(self, sentence: str, status: int) -> None:
        super().__init__(sentence)
        self.status = status


@dataclass(frozen=True)
class PasswordLink:
    agent: Agent
    purpose: str  # "invite" or "reset"
    url: str
    expires_at: datetime


def invite_agent(session: Session, email: str, name: str, role: str, *, by: Agent | None,
                 now: datetime) -> PasswordLink:
    """Add an agent who cannot sign in until they set a password with the returned link."""
    email = check_new_agent(session, email, name, role)
    agent = Agent(email=email, name=name.strip(), role=role, password_hash=_no_password())
    session.add(agent)
    session.flush()
    record_change(session, "agent invited", agent, by, now, f"as {role}")
    return _link(agent, "invite", now)


def resend_invitation(session: Session, agent: Agent, *, by: Agent | None, now: datetime) -> PasswordLink:
    """Make a new invitation link for an agent who has not set a password; earlier links stop working."""
    if is_password_hash(agent.password_hash):
        raise ServiceError(f"{agent.email} has set a password already; reset their password instead")
    if agent.disabled:
        raise ServiceError(f"{agent.email} is disabled; enable them before inviting them again")
    agent.password_hash = _no_password()
    record_change(session, "agent invited again", agent, by, now)
    session.flush()
    return _link(agent, "invite", now)


def reset_password(session: Session, agent: Agent, *, by: Agent | None, now: datetime) -> PasswordLink:
    """Remove the agent's password, end their sessions, and return a link to set a new one."""
    if agent.disabled:
        raise ServiceError(f"{agent.email} is disabled; enable them before resetting their password")
    agent.password_hash = _no_password()
    revoke_sessions(agent)
    record_change(session, "agent password reset", agent, by, now)
    session.flush()
    return _link(agent, "reset", now)


def agent_of_link(session: Session, raw: str, now: datetime) -> Agent:
    """Return the agent a link names, or raise ``LinkRefused`` saying why it cannot be used."""
    try:
        agent_id, fingerprint, expires = _serializer().loads(raw)
        agent_id, expires = int(agent_id), int(expires)
    except (BadSignature, TypeError, ValueError):
        raise LinkRefused("This link is not valid: it is incomplete or was changed. Copy the whole "
                          "address from the email, or ask an administrator to send a new link.", 400)
    agent = session.get(Agent, agent_id)
    if agent is None or agent.disabled:
        raise LinkRefused("This link belongs to an agent who is disabled, so it cannot be used. "
                          "Ask an administrator if you need to sign in again.", 410)
    if fingerprint != _fingerprint(agent):
        raise LinkRefused("This link was used already, or a newer one replaced it. Sign in with your "
                          "password, or ask an administrator to send a new link.", 410)
    if _naive_utc(now) >= datetime.fromtimestamp(expires, UTC).replace(tzinfo=None):
        raise LinkRefused("This link has expired. Ask an administrator to send a new one.", 410)
    return agent


def set_password(session: Session, raw: str, password: str, now: datetime) -> Agent:
    """Set the password of the agent a link names; the link is spent by it."""
    agent = agent_of_link(session, raw, now)
    problem = password_problem(password)
    if problem:
        raise ServiceError(problem)
    agent.password_hash = hash_password(password)
    revoke_sessions(agent)
    audit.append(session, "agent password set", at=now, agent_id=agent.id,
                 detail=f"{agent.email}, with an emailed link")
    session.flush()
    return agent


def send_link(link: PasswordLink) -> None:
    """Email the link to its agent, or raise ``ServiceError`` saying why it was not sent."""
    config = current_app.config
    transport = outbound_transport(config["SMTP_URL"], config["SMTP_TIMEOUT_SECONDS"])
    transport.send(_email(link), config["SUPPORT_ADDRESS"], [link.agent.email])


def _email(link: PasswordLink) -> bytes:
    config = current_app.config
    body = render_template(f"mail/agent_{link.purpose}.txt", link=link, hours=config["PASSWORD_LINK_HOURS"])
    return automatic_email(desk_sender(config), link.agent.email, SUBJECTS[link.purpose], body)


def _link(agent: Agent, purpose: str, now: datetime) -> PasswordLink:
    expires_at = _naive_utc(now) + timedelta(hours=current_app.config["PASSWORD_LINK_HOURS"])
    expires = int(expires_at.replace(tzinfo=UTC).timestamp())
    token = _serializer().dumps([agent.id, _fingerprint(agent), expires])
    return PasswordLink(agent, purpose, f"{current_app.config['PUBLIC_URL']}{PATH}{token}", expires_at)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(agent: Agent) -> str:
    # Neither the hash nor the mark appears in the link, only a digest of them with the
    # session version: the token is signed, not encrypted.
    digest = hashlib.sha256(f"{agent.password_hash}\0{agent.session_version}".encode())
    return digest.hexdigest()[:32]


def _no_password() -> str:
    # Random, so each reset or invitation spends every link sent before it; never a hash,
    # so no password matches it.
    return f"!no-password:{secrets.token_hex(16)}"


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at

"""Staff accounts: adding agents, their roles, disabling them, signing them in and out, their settings.

An administrator's changes to another agent (role, disabling, enabling) are written to the
audit log, and the desk always keeps one enabled administrator: demoting or disabling the
last one is refused here, so the browser and the command line refuse it alike.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access.rules import ADMIN, ROLES
from app.models import Agent
from app.models.agent import QUEUES
from app.models.time import utcnow
from app.passwords import (
    burn_time,
    hash_password,
    is_password_hash,
    needs_rehash,
    password_problem,
    verify_password,
)
from app.services import audit
from app.services.errors import ServiceError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PAGE_SIZES = range(5, 201)


def check_new_agent(session: Session, email: str, name: str, role: str) -> str:
    """Refuse an agent that cannot be added; return the address as it will be stored."""
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 320:
        raise ServiceError(f"{email[:80]!r} is not an email address", "email")
    if _find(session, email) is not None:
        raise ServiceError(f"an agent with the address {email} exists already", "email")
    if not name.strip():
        raise ServiceError("the agent needs a name", "name")
    if len(name.strip()) > 200:
        raise ServiceError("the name is longer than 200 characters", "name")
    if role not in ROLES:
        raise ServiceError(f"the role must be one of {', '.join(ROLES)}, not {role[:20]!r}", "role")
    return email


def add_agent(session: Session, email: str, name: str, role: str, password: str) -> Agent:
    """Create an agent whose password is stored only as an argon2id hash."""
    email = check_new_agent(session, email, name, role)
    problem = password_problem(password)
    if problem:
        raise ServiceError(problem)
    agent = Agent(email=email, name=name.strip(), role=role, password_hash=hash_password(password))
    session.add(agent)
    session.flush()
    return agent


def agent_with_email(session: Session, email: str) -> Agent:
    """Return the agent with this address or raise ``ServiceError``."""
    agent = _find(session, email.strip().lower())
    if agent is None:
        raise ServiceError(f"no agent has the address {email.strip()[:80]!r} (see `flask agents list`)")
    return agent


def list_agents(session: Session) -> list[dict]:
    """Return every agent without any secret, ready for printing or JSON."""
    agents = session.scalars(select(Agent).order_by(Agent.email)).all()
    return [
        {"id": a.id, "email": a.email, "name": a.name, "role": a.role, "disabled": a.disabled,
         "two_factor": a.has_two_factor, "created_at": a.created_at.isoformat(timespec="seconds")}
        for a in agents
    ]


def disable_agent(session: Session, email: str, *, by: Agent | None = None,
                  now: datetime | None = None) -> Agent:
    """Disable an agent: sign-in is refused and every session and remember cookie dies.

    ``by`` is the administrator who did it, or None from the command line.
    """
    agent = agent_with_email(session, email)
    if agent.disabled:
        return agent
    _keep_an_administrator(session, agent, "disable this one")
    agent.disabled = True
    revoke_sessions(agent)
    record_change(session, "agent disabled", agent, by, now)
    session.flush()
    return agent


def enable_agent(session: Session, email: str, *, by: Agent | None = None,
                 now: datetime | None = None) -> Agent:
    """Let a disabled agent sign in again (their old cookies stay revoked)."""
    agent = agent_with_email(session, email)
    if not agent.disabled:
        return agent
    agent.disabled = False
    record_change(session, "agent enabled", agent, by, now)
    session.flush()
    return agent


def change_role(session: Session, email: str, role: str, *, by: Agent | None = None,
                now: datetime | None = None) -> Agent:
    """Give agent ``email`` another role; the last enabled administrator keeps theirs."""
    agent = agent_with_email(session, email)
    if role not in ROLES:
        raise ServiceError(f"the role must be one of {', '.join(ROLES)}, not {role[:20]!r}", "role")
    if role == agent.role:
        return agent
    if role != ADMIN:
        _keep_an_administrator(session, agent, "change this role")
    previous, agent.role = agent.role, role
    record_change(session, "agent role changed", agent, by, now, f"from {previous} to {role}")
    session.flush()
    return agent


def is_last_administrator(session: Session, agent: Agent) -> bool:
    """Say whether ``agent`` is the only enabled administrator."""
    if agent.role != ADMIN or agent.disabled:
        return False
    others = select(func.count()).select_from(Agent).where(
        Agent.role == ADMIN, Agent.disabled.is_(False), Agent.id != agent.id)
    return session.scalar(others) == 0


def _keep_an_administrator(session: Session, agent: Agent, doing: str) -> None:
    # Locks the enabled administrators' rows on PostgreSQL, so two administrators demoting
    # each other at once cannot both pass; SQLite lets one writer at a time anyway.
    session.scalars(select(Agent.id).where(Agent.role == ADMIN, Agent.disabled.is_(False))
                    .with_for_update()).all()
    if is_last_administrator(session, agent):
        raise ServiceError(f"{agent.email} is the last enabled administrator, and the desk needs one: "
                           f"make another agent an administrator first, then {doing}")


def record_change(session: Session, action: str, agent: Agent, by: Agent | None, now: datetime | None,
                  more: str = "") -> None:
    """Write an administrator's change to ``agent`` to the audit log (``by`` None: the command line)."""
    who = f"by {by.email}" if by is not None else "from the command line"
    detail = f"{agent.email}{', ' + more if more else ''}, {who}"
    audit.append(session, action, at=now or utcnow(), agent_id=by.id if by else None, detail=detail)


def authenticate(session: Session, email: str, password: str) -> Agent | None:
    """Return the enabled agent whose address and password match, else None.

    An unknown address costs as much time as a wrong password, so timing tells an
    attacker nothing about which addresses exist.
    """
    agent = _find(session, email.strip().lower())
    if agent is None or not is_password_hash(agent.password_hash):
        # An invited agent, or one whose password was reset, has no password yet.
        burn_time(password)
        return None
    if not verify_password(agent.password_hash, password) or agent.disabled:
        return None
    if needs_rehash(agent.password_hash):
        agent.password_hash = hash_password(password)
        session.flush()
    return agent


def revoke_sessions(agent: Agent) -> None:
    """End every session and remember cookie of the agent, on every device."""
    agent.session_version += 1


def load_agent(session: Session, identity: str) -> Agent | None:
    """Return the enabled agent a cookie identity (``id:version``) names, if it is current."""
    agent_id, _, version = identity.partition(":")
    if not (agent_id.isdigit() and version.isdigit()):
        return None
    agent = session.get(Agent, int(agent_id))
    if agent is None or agent.disabled or agent.session_version != int(version):
        return None
    return agent


def update_settings(session: Session, agent: Agent, *, page_size: int, time_zone: str,
                    default_queue: str) -> Agent:
    """Change the acting agent's own settings after checking each value."""
    if page_size not in PAGE_SIZES:
        raise ServiceError(f"the page size must be between {PAGE_SIZES[0]} and {PAGE_SIZES[-1]}", "page_size")
    if default_queue not in QUEUES:
        raise ServiceError(f"the default queue must be one of {', '.join(QUEUES)}", "default_queue")
    if not _is_time_zone(time_zone):
        raise ServiceError(f"{time_zone[:64]!r} is not a time zone (for example: Europe/Berlin)", "time_zone")
    agent.page_size, agent.time_zone, agent.default_queue = page_size, time_zone, default_queue
    session.flush()
    return agent


def set_language(session: Session, agent: Agent, language: str, languages: list[str]) -> Agent:
    """Write the console in ``language`` for the acting agent, one of the desk's ``languages``."""
    if language not in languages:
        raise ServiceError(f"{language[:16]!r} is not a language the desk speaks", "language")
    agent.language = language
    session.flush()
    return agent


def _is_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return len(name) <= 64


def _find(session: Session, email: str) -> Agent | None:
    # Addresses are stored lower-cased, so the unique index answers this.
    return session.scalar(select(Agent).where(Agent.email == email))

"""Response targets at work: the settings an administrator keeps (the desk's, and an account's
overrides), what each ticket has due and when, the queue in order of what is due, and the
targets met and missed per day for the dashboard.

The rules are pure (``app.target_rules`` over ``app.business_hours``); this module reads
the messages that count and the settings that apply. A message counts at its Date
header, else when it was archived, as the thread orders it. A customer message that is
an auto-reply or a bounce asks nothing, and a forward to someone else answers nobody.
Every function takes ``now`` from its caller. Changes are audited; services flush,
callers commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.business_hours import (
    DEFAULT_HOURS,
    STANDARD_WEEK,
    WEEKDAYS,
    BusinessHours,
    BusinessTimeError,
    check_zone,
    format_clock,
    format_duration,
    parse_clock,
    parse_duration,
    parse_week,
    week_text,
)
from app.models import Account, Agent, Message, ResponseTarget, Ticket, TicketEvent
from app.services import audit
from app.services.errors import ServiceError, as_sentence
from app.target_rules import FIRST, KINDS, MET, MISSED, NEXT, NO_TARGETS, Targets, Wait, now_due, waits

DAYS = 30  # the dashboard's period, as its mail per day
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class TargetSettingsError(ServiceError):
    """Settings that cannot be saved: one sentence per field that is wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()), next(iter(errors)))
        self.errors = errors


@dataclass(frozen=True)
class TargetForm:
    """What an administrator typed: targets as durations, a zone, and each day's hours.

    ``days`` holds per weekday (Monday first) (closed, opens, closes). For an account,
    an empty value means "as the desk", and ``own_hours`` says whether its hours differ.
    """

    first_response: str = ""
    next_response: str = ""
    time_zone: str = ""
    days: tuple[tuple[bool, str, str], ...] = ()
    own_hours: bool = True


@dataclass(frozen=True)
class SavedTargets:
    first_minutes: int | None
    next_minutes: int | None
    zone: str | None
    week: tuple | None = field(default=None)


def read_form(typed: TargetForm, *, for_account: bool) -> SavedTargets:
    """Check what was typed; raise ``TargetSettingsError`` naming every field that is wrong."""
    errors: dict[str, str] = {}
    minutes = {}
    for name in ("first_response", "next_response"):
        text = getattr(typed, name)
        minutes[name] = _checked(errors, name, parse_duration, text) if text.strip() else None
    zone = typed.time_zone.strip()
    if zone:
        _checked(errors, "time_zone", check_zone, zone)
    elif not for_account:
        errors["time_zone"] = "Give the desk's time zone, such as Europe/Berlin or UTC."
    week = _read_week(typed.days, errors) if typed.own_hours else None
    if errors:
        raise TargetSettingsError(errors)
    return SavedTargets(minutes["first_response"], minutes["next_response"], zone or None, week)


def _checked(errors: dict[str, str], name: str, check, text: str):
    try:
        return check(text.strip())
    except BusinessTimeError as exc:
        errors[name] = as_sentence(str(exc))
        return None


def _read_week(days: tuple[tuple[bool, str, str], ...], errors: dict[str, str]) -> tuple | None:
    week = []
    for key, day, (closed, opens, closes) in zip(DAY_KEYS, WEEKDAYS, days, strict=True):
        if closed:
            week.append(None)
            continue
        start = _checked(errors, f"{key}_opens", parse_clock, opens or "")
        end = _checked(errors, f"{key}_closes", lambda t: parse_clock(t, closing=True), closes or "")
        if start is not None and end is not None and start >= end:
            errors[f"{key}_closes"] = f"On {day} the desk must close after it opens."
        week.append((start, end))
    if not errors and all(span is None for span in week):
        errors["mon_opens"] = "The desk must be open on at least one day of the week."
    return None if errors else tuple(week)


def settings_row(session: Session, account_id: int | None) -> ResponseTarget | None:
    """Return the desk's settings (no account) or the account's overrides, if any were saved."""
    column = ResponseTarget.account_id
    return session.scalar(select(ResponseTarget).where(column.is_(None) if account_id is None
                                                        else column == account_id))


def form_of(row: ResponseTarget | None, *, for_account: bool) -> TargetForm:
    """Return the settings as the form shows them (the standard week when none are saved)."""
    week = parse_week(row.business_hours) if row is not None and row.business_hours else None
    shown = week or STANDARD_WEEK
    days = tuple((span is None, format_clock(span[0] if span else 9 * 60),
                  format_clock(span[1] if span else 17 * 60)) for span in shown)
    first = row.first_response_minutes if row else None
    later = row.next_response_minutes if row else None
    zone = row.time_zone if row is not None and row.time_zone else ("" if for_account else DEFAULT_HOURS.zone)
    return TargetForm(format_duration(first) if first else "", format_duration(later) if later else "", zone,
                      days, own_hours=week is not None or not for_account)


def save_targets(session: Session, account: Account | None, typed: TargetForm, *, by: Agent | None,
                 now: datetime) -> ResponseTarget:
    """Save the desk's settings (``account`` None) or an account's overrides, and audit the change."""
    saved = read_form(typed, for_account=account is not None)
    row = settings_row(session, account.id if account else None)
    if row is None:
        row = ResponseTarget(account_id=account.id if account else None)
        session.add(row)
    row.first_response_minutes, row.next_response_minutes = saved.first_minutes, saved.next_minutes
    row.time_zone = saved.zone
    row.business_hours = week_text(saved.week) if saved.week else None
    row.updated_at = now
    session.flush()
    words = describe(row, for_account=account is not None)
    _audit(session, "response targets changed", account, by, now, words)
    return row


def clear_account_targets(session: Session, account: Account, *, by: Agent | None, now: datetime) -> None:
    """Remove an account's overrides, so the desk's settings apply to it again."""
    row = settings_row(session, account.id)
    if row is None:
        return
    session.delete(row)
    session.flush()
    _audit(session, "response targets changed", account, by, now, "as the desk's again")


def _audit(session: Session, action: str, account: Account | None, by: Agent | None, now: datetime,
           detail: str) -> None:
    who = f"by {by.email}" if by is not None else "from the command line"
    whose = f"{account.name}: " if account is not None else "the desk: "
    audit.append(session, action, at=now, agent_id=by.id if by else None,
                 account_id=account.id if account else None, detail=f"{whose}{detail}, {who}")


def describe(row: ResponseTarget, *, for_account: bool) -> str:
    """Say in words what the settings are, as the audit log and the overview list them."""
    unset = "as the desk" if for_account else "none"

    def target(minutes: int | None) -> str:
        return format_duration(minutes) if minutes else unset

    hours = "as the desk"
    if row.business_hours:
        hours = ", ".join(f"{day[:3]} {_span_words(span)}"
                          for day, span in zip(WEEKDAYS, parse_week(row.business_hours), strict=True))
    return (f"first response {target(row.first_response_minutes)}, next response "
            f"{target(row.next_response_minutes)}, time zone {row.time_zone or 'as the desk'}, hours {hours}")


def _span_words(span) -> str:
    return "closed" if span is None else f"{format_clock(span[0])}–{format_clock(span[1])}"


def overrides(session: Session) -> list[tuple[Account, ResponseTarget]]:
    """Return every account with settings of its own, by name."""
    own = ResponseTarget.account_id == Account.id
    rows = session.execute(select(Account, ResponseTarget).join(ResponseTarget, own).order_by(Account.name))
    return [(account, row) for account, row in rows]


class TargetBook:
    """The targets that apply to each account, read once: the desk's, with an account's overrides."""

    def __init__(self, session: Session) -> None:
        rows = session.scalars(select(ResponseTarget)).all()
        self._desk = next((r for r in rows if r.account_id is None), None)
        self._accounts = {r.account_id: r for r in rows if r.account_id is not None}
        self._cache: dict[int | None, Targets] = {}

    def any_target(self) -> bool:
        rows = [self._desk, *self._accounts.values()]
        return any(r is not None and (r.first_response_minutes or r.next_response_minutes) for r in rows)

    def for_account(self, account_id: int | None) -> Targets:
        if account_id not in self._cache:
            self._cache[account_id] = self._merge(self._accounts.get(account_id))
        return self._cache[account_id]

    def _merge(self, own: ResponseTarget | None) -> Targets:
        desk = self._desk
        if desk is None and own is None:
            return NO_TARGETS

        def pick(name: str):
            value = getattr(own, name) if own is not None else None
            return value if value is not None else (getattr(desk, name) if desk is not None else None)

        week = parse_week(pick("business_hours")) if pick("business_hours") else DEFAULT_HOURS.week
        hours = BusinessHours(pick("time_zone") or DEFAULT_HOURS.zone, week)
        return Targets(pick("first_response_minutes"), pick("next_response_minutes"), hours)


def _counting():
    """The messages that ask or answer: a person's message in, and a reply out that is no forward."""
    forwarded = select(TicketEvent.id).where(TicketEvent.message_id == Message.id,
                                             TicketEvent.kind == "forward").exists()
    return or_(and_(Message.direction == "inbound", Message.auto_reason.is_(None)),
               and_(Message.direction == "outbound", ~forwarded))


def ticket_waits(session: Session, tickets, book: TargetBook) -> dict[int, tuple[tuple, list[Wait]]]:
    """Return for each ticket (a select of Ticket.id, account_id, status) its waits, oldest first."""
    found = {tid: (account_id, status) for tid, account_id, status in session.execute(tickets)}
    messages: dict[int, list[tuple[datetime, bool]]] = {tid: [] for tid in found}
    ids = select(tickets.subquery().c[0])
    rows = session.execute(select(Message.ticket_id, Message.when(), Message.direction)
                           .where(Message.ticket_id.in_(ids), _counting())
                           .order_by(Message.ticket_id, Message.when(), Message.id))
    for ticket_id, when, direction in rows:
        messages[ticket_id].append((when, direction == "inbound"))
    return {tid: ((account_id, status), waits(messages[tid], book.for_account(account_id)))
            for tid, (account_id, status) in found.items()}


def due_now(session: Session, ticket_ids: list[int]) -> dict[int, Wait]:
    """Return the wait each of these tickets has due (only those that have one)."""
    if not ticket_ids:
        return {}
    book = TargetBook(session)
    if not book.any_target():
        return {}
    query = select(Ticket.id, Ticket.account_id, Ticket.status).where(Ticket.id.in_(ticket_ids))
    due = {}
    for ticket_id, ((_, status), found) in ticket_waits(session, query, book).items():
        wait = now_due(found, status == "closed")
        if wait is not None:
            due[ticket_id] = wait
    return due


def order_by_due(session: Session, tickets, activity_order: list[int]) -> list[int]:
    """Return the ids of ``tickets`` (a select of Ticket.id, account_id, status), soonest due first.

    Overdue tickets come first (their due time is earliest), then the rest by due time,
    then those with nothing due in ``activity_order``, the queue's usual order.
    """
    book = TargetBook(session)
    due = {}
    if book.any_target():
        for ticket_id, ((_, status), found) in ticket_waits(session, tickets, book).items():
            wait = now_due(found, status == "closed")
            if wait is not None:
                due[ticket_id] = wait.due
    position = {tid: n for n, tid in enumerate(activity_order)}
    return sorted(activity_order, key=lambda tid: (tid not in due, due.get(tid, datetime.min), position[tid]))


@dataclass(frozen=True)
class TargetDay:
    day: date
    met: int
    missed: int


@dataclass(frozen=True)
class TargetFigures:
    """Targets met and missed per UTC day over the last ``DAYS`` days, per kind (first, next)."""

    days: dict[str, list[TargetDay]]
    running: dict[str, int]  # waits still within their target now
    any_target: bool

    def total(self, kind: str, outcome: str) -> int:
        return sum(getattr(d, outcome) for d in self.days[kind])


def target_figures(session: Session, now: datetime) -> TargetFigures:
    """Return per day and kind the targets met and missed, counted on the day each was settled.

    A target is met on the day the desk answered, by its due time; it is missed on the day
    it fell due unanswered, whether a late answer came later or not. A ticket closed
    without an answer owes nothing. The settings apply as they stand now.
    """
    first_day = now.date() - timedelta(days=DAYS - 1)
    book = TargetBook(session)
    counts = {(kind, outcome): {} for kind in KINDS for outcome in (MET, MISSED)}
    running = {FIRST: 0, NEXT: 0}
    if book.any_target():
        since = datetime.combine(first_day, datetime.min.time())
        active = select(Message.ticket_id).where(Message.when() >= since)
        tickets = select(Ticket.id, Ticket.account_id, Ticket.status).where(
            or_(Ticket.id.in_(active), Ticket.status != "closed"))
        for (_, status), found in ticket_waits(session, tickets, book).values():
            _tally(found, status == "closed", now, first_day, counts, running)
    days = {kind: [TargetDay(d, counts[kind, MET].get(d, 0), counts[kind, MISSED].get(d, 0))
                   for d in (first_day + timedelta(days=i) for i in range(DAYS))] for kind in KINDS}
    return TargetFigures(days, running, book.any_target())


def _tally(found: Iterable[Wait], closed: bool, now: datetime, first_day: date, counts: dict,
           running: dict) -> None:
    for wait in found:
        if wait.due is None or (closed and wait.answered is None):
            continue
        outcome = wait.outcome(now)
        if outcome is None:
            running[wait.kind] += 1
            continue
        day = wait.settled_at(now).date()
        if first_day <= day <= now.date():
            bucket = counts[wait.kind, outcome]
            bucket[day] = bucket.get(day, 0) + 1

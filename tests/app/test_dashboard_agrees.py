"""The dashboard's figures agree with each other and with the archive they count: each is
computed here another way, in Python from the rows themselves, and each total equals the
sum of its parts. The dashboard's page shows those same numbers, and every chart names
the one unit of its value axis.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import AccessRequest, Account, Message, Ticket
from app.services.dashboard import DAYS, OUTCOMES, WEEKS, build_dashboard, first_week
from tests.app.test_manage_dashboard import NOW, build_archive, signed_in, site  # noqa: F401 (site: the fixture)

STALE = timedelta(hours=1)


def counted_at(message: Message) -> date:
    return (message.date_utc or message.archived_at).date()


def test_each_figure_equals_a_count_of_the_archive_and_each_total_the_sum_of_its_parts(session):
    build_archive(session)
    figures = build_dashboard(session, NOW, stale_after=STALE)
    messages = session.scalars(select(Message)).all()
    today = NOW.date()

    for volume in figures.days:
        on_day = [m for m in messages if counted_at(m) == volume.start]
        assert volume.inbound == sum(m.direction == "inbound" for m in on_day)
        assert volume.outbound == sum(m.direction == "outbound" for m in on_day)
    assert [v.start for v in figures.days] == [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    for week in figures.weeks:
        in_week = [m for m in messages if week.start <= counted_at(m) < week.start + timedelta(days=7)]
        assert week.inbound + week.outbound == len(in_week)
    # Days and weeks overlap: where a whole week lies within the days, both count it alike.
    for week in figures.weeks:
        days = [v for v in figures.days if week.start <= v.start < week.start + timedelta(days=7)]
        if len(days) == 7:
            assert week.inbound == sum(v.inbound for v in days)

    tickets = session.scalars(select(Ticket)).all()
    assert sum(a.open for a in figures.ages) == sum(t.status == "open" for t in tickets)
    assert sum(a.pending for a in figures.ages) == sum(t.status == "pending" for t in tickets)

    recent = [m for m in messages if today - timedelta(days=DAYS - 1) <= counted_at(m) <= today]
    accounts = figures.accounts
    shown = sum(a.inbound + a.outbound for a in accounts.top)
    assert shown + accounts.other_messages + accounts.unmatched == len(recent)
    assert accounts.unmatched == sum(m.account_id is None for m in recent)
    names = {a.id: a.name for a in session.scalars(select(Account))}
    for volume in accounts.top:
        mine = [m for m in recent if names.get(m.account_id) == volume.account]
        assert (volume.inbound, volume.outbound) == (sum(m.direction == "inbound" for m in mine),
                                                     sum(m.direction == "outbound" for m in mine))

    since = first_week(NOW)
    made = [r for r in session.scalars(select(AccessRequest)) if r.requested_at.date() >= since]
    assert sum(figures.access.outcomes[o] for o in OUTCOMES) == len(made)
    decided = [r for r in made if r.status in ("approved", "denied") and r.decided_at is not None]
    histogram = sum(n for _, n in figures.access.decision_histogram)
    assert histogram == figures.access.decisions.count == len(decided)
    assert len(figures.weeks) == len(figures.responses) == WEEKS


def test_the_page_shows_the_same_figures_and_each_chart_names_its_unit(site):  # noqa: F811
    page = signed_in(site, "manager@desk.example").get("/manage/dashboard").get_data(as_text=True)
    with site.app_context():
        figures = build_dashboard(db.session, NOW, stale_after=STALE)
    in_last_week = sum(v.inbound for v in figures.days[-7:])
    assert f"<strong>{in_last_week}</strong> messages in, last 7 days" in page
    open_tickets = sum(a.open for a in figures.ages)
    assert f"<strong>{open_tickets}</strong> open ticket" in page
    for unit in ("Messages", "Tickets", "Hours", "Requests", "Decisions"):
        assert 'class="axis-name" transform="rotate(-90)"' in page and f">{unit}</text>" in page, unit
    # Durations in words read as everywhere else ("4 h", "3 h 59 min"); the chart's axis is in hours.
    assert "<strong>4 h</strong> median first response" in page
    assert "Median 4 h, 90th percentile 24 h over 4 tickets" in page

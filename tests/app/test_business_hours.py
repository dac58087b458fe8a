"""Business time over opening hours in a zone: examples a support team would check by hand
(a weekend, an evening, a day the clocks change), and properties over any opening hours,
zone and instant: adding business time and measuring it back gives the same amount, every
due time falls within opening hours, and adding in two steps equals adding at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.business_hours import (
    STANDARD_WEEK,
    BusinessHours,
    BusinessTimeError,
    add_business_time,
    business_time_between,
    format_duration,
    is_open,
    parse_clock,
    parse_duration,
    parse_week,
    week_text,
)
from app.target_rules import FIRST, MET, MISSED, NEXT, Targets, now_due, overdue_by, waits

BERLIN = BusinessHours("Europe/Berlin", STANDARD_WEEK)
NEW_YORK = BusinessHours("America/New_York", STANDARD_WEEK)
ROUND_THE_CLOCK = BusinessHours("Europe/London", ((0, 24 * 60),) * 7)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def test_four_hours_asked_on_friday_afternoon_fall_due_on_monday_morning():
    # Friday 6 March 2026, 15:00 in Berlin (14:00 UTC): 2 h left on Friday, 2 h on Monday.
    asked = datetime(2026, 3, 6, 14, 0)
    assert add_business_time(BERLIN, asked, hours(4)) == datetime(2026, 3, 9, 10, 0)  # Monday 11:00 CET


def test_a_message_in_the_evening_counts_from_the_next_opening():
    asked = datetime(2026, 3, 4, 20, 0)  # Wednesday 21:00 in Berlin
    assert add_business_time(BERLIN, asked, hours(1)) == datetime(2026, 3, 5, 9, 0)  # Thursday 10:00 CET


def test_business_time_between_friday_evening_and_monday_noon_is_three_hours():
    assert business_time_between(BERLIN, datetime(2026, 3, 6, 17, 0), datetime(2026, 3, 9, 11, 0)) == hours(3)


def test_a_day_on_which_the_clocks_go_back_is_an_hour_longer_when_open_round_the_clock():
    # London goes back from 02:00 BST to 01:00 GMT on Sunday 25 October 2026.
    start, end = datetime(2026, 10, 24, 23, 0), datetime(2026, 10, 26, 0, 0)  # local midnights
    assert business_time_between(ROUND_THE_CLOCK, start, end) == hours(25)


def test_a_day_on_which_the_clocks_go_forward_inside_opening_hours_is_an_hour_shorter():
    # Berlin goes from 02:00 CET to 03:00 CEST on Sunday 29 March 2026; open 01:00-05:00 that day.
    early = BusinessHours("Europe/Berlin", (None,) * 6 + ((60, 300),))
    assert business_time_between(early, datetime(2026, 3, 28, 0, 0), datetime(2026, 3, 30, 0, 0)) == hours(3)
    assert add_business_time(early, datetime(2026, 3, 29, 0, 0), hours(2)) == datetime(2026, 3, 29, 2, 0)


def test_opening_hours_follow_the_zone_across_the_change_of_the_clocks():
    # New York opens at 09:00 local: 14:00 UTC in winter, 13:00 UTC after 8 March 2026;
    # asked on Friday at 17:30 EST, one hour is due on Monday at 10:00 EDT.
    assert add_business_time(NEW_YORK, datetime(2026, 3, 6, 22, 30), hours(1)) == datetime(2026, 3, 9, 14, 0)
    assert is_open(NEW_YORK, datetime(2026, 3, 9, 13, 0))
    assert not is_open(NEW_YORK, datetime(2026, 3, 6, 13, 30))


@pytest.mark.parametrize(("text", "minutes"), [("4 h", 240), ("1 day", 480), ("2h30m", 150), ("90 min", 90),
                                               ("1 day 2 h", 600), ("3 Hours", 180)])
def test_durations_read_as_people_type_them(text, minutes):
    assert parse_duration(text) == minutes


@pytest.mark.parametrize("text", ["", "4", "soon", "4 weeks", "0 h", "h 4", "400 days"])
def test_a_duration_that_cannot_be_read_is_refused_with_a_sentence(text):
    with pytest.raises(BusinessTimeError):
        parse_duration(text)


def test_durations_are_written_back_in_days_hours_and_minutes():
    assert [format_duration(m) for m in (45, 240, 480, 630)] == ["45 min", "4 h", "1 day", "1 day 2 h 30 min"]


def test_times_of_day_and_the_week_survive_being_stored():
    assert parse_clock("24:00", closing=True) == 1440
    with pytest.raises(BusinessTimeError):
        parse_clock("24:00")
    with pytest.raises(BusinessTimeError):
        parse_clock("9.30")
    assert parse_week(week_text(STANDARD_WEEK)) == STANDARD_WEEK


def test_a_zone_that_does_not_exist_and_a_week_never_open_are_refused():
    with pytest.raises(BusinessTimeError, match="no time zone named"):
        BusinessHours("Mars/Olympus", STANDARD_WEEK)
    with pytest.raises(BusinessTimeError, match="at least one day"):
        BusinessHours("UTC", (None,) * 7)
    with pytest.raises(BusinessTimeError, match="open before it closes"):
        BusinessHours("UTC", ((600, 540), *STANDARD_WEEK[1:]))


# The waits of a ticket: (when, from the customer).
T = datetime(2026, 3, 2, 9, 0)  # a Monday, 09:00 UTC
TARGETS = Targets(first_minutes=240, next_minutes=120, hours=BusinessHours("UTC", STANDARD_WEEK))


def test_the_first_customer_message_starts_the_first_response_target():
    found = waits([(T, True), (T + hours(1), True)], TARGETS)
    assert [(w.kind, w.asked, w.answered, w.due) for w in found] == [(FIRST, T, None, T + hours(4))]
    assert now_due(found, closed=False) == found[0]
    assert overdue_by(found[0], T + hours(6)) == hours(2)


def test_after_a_reply_the_next_customer_message_starts_a_next_response_target():
    found = waits([(T, True), (T + hours(1), False), (T + hours(2), True)], TARGETS)
    assert [(w.kind, w.answered) for w in found] == [(FIRST, T + hours(1)), (NEXT, None)]
    assert found[0].outcome(T) == MET
    assert found[1].due == T + hours(4)


def test_a_ticket_waiting_on_the_customer_or_closed_has_nothing_due():
    assert now_due(waits([(T, True), (T + hours(1), False)], TARGETS), closed=False) is None
    assert now_due(waits([(T, True)], TARGETS), closed=True) is None
    assert now_due(waits([(T, True)], Targets(hours=TARGETS.hours)), closed=False) is None  # no target


def test_a_late_answer_missed_its_target_on_the_day_it_fell_due():
    wait = waits([(T, True), (T + hours(30), False)], TARGETS)[0]
    assert wait.outcome(T + hours(40)) == MISSED
    assert wait.settled_at(T + hours(40)) == wait.due


# Properties over any opening hours, zone and instant.
ZONES = ["UTC", "Europe/Berlin", "Europe/London", "America/New_York", "Australia/Lord_Howe",
         "America/Santiago", "Asia/Kolkata", "Pacific/Chatham"]


@st.composite
def opening_hours(draw) -> BusinessHours:
    def day():
        # At least an hour a day keeps the walk short; a span may end at midnight.
        opens = draw(st.integers(0, 23 * 60))
        closed = draw(st.booleans()) and draw(st.booleans())  # a day in four is closed
        return None if closed else (opens, draw(st.integers(opens + 60, 1440)))

    week = [day() for _ in range(7)]
    if all(span is None for span in week):
        week[0] = (9 * 60, 17 * 60)
    return BusinessHours(draw(st.sampled_from(ZONES)), tuple(week))


instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1))
amounts = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=5))


@settings(max_examples=150, deadline=None)
@given(opening_hours(), instants, amounts)
def test_measuring_the_business_time_added_gives_it_back(week, start, amount):
    assert business_time_between(week, start, add_business_time(week, start, amount)) == amount


@settings(max_examples=150, deadline=None)
@given(opening_hours(), instants, amounts)
def test_a_due_time_always_falls_within_opening_hours(week, start, amount):
    due = add_business_time(week, start, amount)
    assert due > start
    assert is_open(week, due)


@settings(max_examples=100, deadline=None)
@given(opening_hours(), instants, amounts, amounts)
def test_adding_in_two_steps_equals_adding_at_once(week, start, first, second):
    assert add_business_time(week, add_business_time(week, start, first), second) == \
        add_business_time(week, start, first + second)


@settings(max_examples=100, deadline=None)
@given(opening_hours(), instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)))
def test_business_time_never_exceeds_the_time_that_passed(week, start, span):
    assert timedelta(0) <= business_time_between(week, start, start + span) <= span


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
       instants)
def test_round_the_clock_hours_count_every_real_hour_whatever_the_clocks_do(zone, start):
    always = BusinessHours(zone, ((0, 24 * 60),) * 7)
    assert business_time_between(always, start, start + timedelta(days=40)) == timedelta(days=40)

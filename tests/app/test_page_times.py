"""Times and durations read the same on every page: each time a page shows goes through the
``local_time`` filter (which names the zone), each duration through ``duration``; no
template formats a time by hand.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from app.console.pages import duration, local_time

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# A time formatted by hand in a template; the machine-readable datetime="..." of a <time>
# element and the min="..." of a date input are ISO by definition and shown to nobody, as is
# a variable named iso, which a translated sentence puts in its <time datetime="{{ iso }}Z">.
BY_HAND = re.compile(r"(?<!datetime=\"\{\{ )\b[\w.]+\.(strftime|isoformat)\(")
MACHINE = re.compile(r'(datetime|min)="?\{\{[^}]*\}\}|min=[\w.]+\.isoformat\(\)'
                     r'|\biso ?= ?[\w.]+\.isoformat\(\)')


def test_no_page_template_formats_a_time_by_hand():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if BY_HAND.search(MACHINE.sub("", line)):
                found.append(f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()}")
    assert found == []


def test_times_name_their_zone_and_days_have_none(app):
    with app.test_request_context():  # nobody signed in: a customer's page, in UTC
        assert local_time(datetime(2026, 11, 30, 13, 5)) == "2026-11-30 13:05 UTC"
        assert local_time(date(2026, 12, 31)) == "2026-12-31"
        assert local_time(None) == "no date"


def test_durations_read_in_hours_and_minutes():
    assert [duration(m) for m in (0, 45, 60, 239, 24 * 60 + 1)] == ["0 min", "45 min", "1 h", "3 h 59 min",
                                                                     "24 h 1 min"]

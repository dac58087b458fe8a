"""The dashboard's charts of response targets: per day, the first-response and the
next-response targets met and missed, one chart per kind, one unit (targets) per chart.

Pure: from ``app.services.targets.TargetFigures`` to markup; the words carry the same totals
as the bars and the tables under "Numbers".
"""

from __future__ import annotations

from markupsafe import Markup

from app.manage.charts import Series, bar_chart
from app.manage.panels import short_date
from app.services.targets import DAYS, TargetFigures
from app.target_rules import KINDS, MET, MISSED


def words(figures: TargetFigures, kind: str) -> str:
    """Say a kind's totals: met, missed, the share met, and how many are still running."""
    met, missed = figures.total(kind, MET), figures.total(kind, MISSED)
    share = f" ({round(100 * met / (met + missed))}% met)" if met + missed else ""
    return (f"{met} {KINDS[kind]} target{'s' if met != 1 else ''} met and {missed} missed over the last "
            f"{DAYS} days{share}; {figures.running[kind]} still within their target.")


def target_chart(figures: TargetFigures, kind: str) -> Markup:
    days = figures.days[kind]
    desc = (f"{KINDS[kind].capitalize()} targets met and missed per day (UTC), counted on the day the reply "
            f"came in time or the target passed unanswered, from {days[0].day} to {days[-1].day}: "
            + words(figures, kind))
    return bar_chart(f"chart-targets-{kind}", f"{KINDS[kind].capitalize()} targets met and missed per day",
                     desc, [short_date(d.day) for d in days],
                     [Series("Met", [d.met for d in days], "met"),
                      Series("Missed", [d.missed for d in days], "missed")],
                     stacked=True, label_every=5)


def charts(figures: TargetFigures) -> dict[str, Markup]:
    """Return the chart of each kind of target by kind."""
    return {kind: target_chart(figures, kind) for kind in KINDS}

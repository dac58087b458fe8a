"""The dashboard's charts of response targets: per day, the first-response and the
next-response targets met and missed, one chart per kind, one unit (targets) per chart.

Pure: from ``app.services.targets.TargetFigures`` to markup; the words carry the same totals
as the bars and the tables under "Numbers".
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup

from app.manage.charts import Series, bar_chart
from app.manage.panels import short_date
from app.services.targets import DAYS, TargetFigures
from app.target_rules import FIRST, KINDS, MET, MISSED


def words(figures: TargetFigures, kind: str) -> str:
    """Say a kind's totals: met, missed, the share met, and how many are still running."""
    met, missed = figures.total(kind, MET), figures.total(kind, MISSED)
    numbers = {"missed": missed, "days": DAYS, "running": figures.running[kind]}
    if not met + missed:
        if kind == FIRST:
            return ngettext("%(num)d first response target met and %(missed)s missed over the last %(days)s "
                            "days; %(running)s still within their target.",
                            "%(num)d first response targets met and %(missed)s missed over the last %(days)s "
                            "days; %(running)s still within their target.", met, **numbers)
        return ngettext("%(num)d next response target met and %(missed)s missed over the last %(days)s days; "
                        "%(running)s still within their target.",
                        "%(num)d next response targets met and %(missed)s missed over the last %(days)s "
                        "days; %(running)s still within their target.", met, **numbers)
    numbers["share"] = round(100 * met / (met + missed))
    if kind == FIRST:
        return ngettext("%(num)d first response target met and %(missed)s missed over the last %(days)s days "
                        "(%(share)s%% met); %(running)s still within their target.",
                        "%(num)d first response targets met and %(missed)s missed over the last %(days)s "
                        "days (%(share)s%% met); %(running)s still within their target.", met, **numbers)
    return ngettext("%(num)d next response target met and %(missed)s missed over the last %(days)s days "
                    "(%(share)s%% met); %(running)s still within their target.",
                    "%(num)d next response targets met and %(missed)s missed over the last %(days)s days "
                    "(%(share)s%% met); %(running)s still within their target.", met, **numbers)


def target_chart(figures: TargetFigures, kind: str) -> Markup:
    days = figures.days[kind]
    if kind == FIRST:
        title = _("First response targets met and missed per day")
        desc = _("First response targets met and missed per day (UTC), counted on the day the reply came in "
                 "time or the target passed unanswered, from %(first)s to %(last)s: %(words)s",
                 first=days[0].day, last=days[-1].day, words=words(figures, kind))
    else:
        title = _("Next response targets met and missed per day")
        desc = _("Next response targets met and missed per day (UTC), counted on the day the reply came in "
                 "time or the target passed unanswered, from %(first)s to %(last)s: %(words)s",
                 first=days[0].day, last=days[-1].day, words=words(figures, kind))
    return bar_chart(f"chart-targets-{kind}", title, desc, [short_date(d.day) for d in days],
                     [Series(_("Met"), [d.met for d in days], "met"),
                      Series(_("Missed"), [d.missed for d in days], "missed")],
                     stacked=True, label_every=5)


def charts(figures: TargetFigures) -> dict[str, Markup]:
    """Return the chart of each kind of target by kind."""
    return {kind: target_chart(figures, kind) for kind in KINDS}

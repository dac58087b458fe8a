"""The dashboard's charts: each figure of ``app.services.dashboard`` drawn by ``app.manage.charts``,
with a title and a description in words that carries the totals a picture only shows.

Pure: from the dashboard's dataclasses to markup, no request and no database.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from markupsafe import Markup

from app.console.pages import duration
from app.manage.charts import Series, bar_chart, count, hbar_chart
from app.services.dashboard import (
    AGE_BUCKETS,
    DAYS,
    OUTCOMES,
    TOP_ACCOUNTS,
    USAGE_DAYS,
    WEEKS,
    AccessFigures,
    AccountUsage,
    AccountVolumes,
    AgeBucket,
    Dashboard,
    ResponseWeek,
    Spread,
    Volume,
)


def short_date(day: date) -> str:
    """Return a day as the charts label it: "3 Feb"."""
    return f"{day.day} {day:%b}"


def hours(value: float | None) -> str:
    """Return a duration given in hours as every page writes durations: "45 min", "3 h 59 min"."""
    if value is None:
        return _("none yet")
    return duration(round(value * 60))


def spread_words(spread: Spread, none_yet: str) -> str:
    if not spread.count:
        return none_yet
    return _("Median %(median)s, 90th percentile %(p90)s over %(count)s.", median=hours(spread.median_hours),
             p90=hours(spread.p90_hours), count=spread.count)


def volume_chart(chart_id: str, volumes: list[Volume], per: str) -> Markup:
    inbound = sum(v.inbound for v in volumes)
    outbound = sum(v.outbound for v in volumes)
    busiest = max(volumes, key=lambda v: v.inbound + v.outbound)
    words = {"first": volumes[0].start, "last": volumes[-1].start, "inbound": inbound, "outbound": outbound}
    if per == "day":
        title = _("Inbound and outbound messages per day")
        desc = _("Messages per day over the last %(days)s days (UTC), from %(first)s to %(last)s: "
                 "%(inbound)s inbound and %(outbound)s outbound in all.", days=DAYS, **words)
        busiest_words = _("Busiest day: %(start)s, %(inbound)s in and %(outbound)s out.", start=busiest.start,
                          inbound=busiest.inbound, outbound=busiest.outbound)
    else:
        title = _("Inbound and outbound messages per week")
        desc = _("Messages per week over the last %(weeks)s weeks (UTC), from %(first)s to "
                 "%(last)s: %(inbound)s inbound and %(outbound)s outbound in all.", weeks=WEEKS, **words)
        busiest_words = _("Busiest week: %(start)s, %(inbound)s in and %(outbound)s out.",
                          start=busiest.start, inbound=busiest.inbound, outbound=busiest.outbound)
    if inbound + outbound:
        desc += " " + busiest_words
    return bar_chart(chart_id, title, desc,
                     [short_date(v.start) for v in volumes],
                     [Series(_("Inbound"), [v.inbound for v in volumes], "inbound"),
                      Series(_("Outbound"), [v.outbound for v in volumes], "outbound")],
                     axis=_("Messages"), label_every=5 if per == "day" else 2)


def ages_chart(ages: list[AgeBucket]) -> Markup:
    opened = sum(a.open for a in ages)
    pending = sum(a.pending for a in ages)
    each = "; ".join(_("%(age)s: %(open)s open, %(pending)s pending", age=a.label, open=a.open,
                       pending=a.pending) for a in ages)
    desc = _("%(open)s open and %(pending)s pending tickets by age since the first message: %(each)s.",
             open=opened, pending=pending, each=each)
    return bar_chart("chart-ages", _("Open and pending tickets by age"), desc,
                     [label for label, _count in AGE_BUCKETS],
                     [Series(_("Open"), [a.open for a in ages], "open"),
                      Series(_("Pending"), [a.pending for a in ages], "pending")],
                     stacked=True, axis=_("Tickets"))


def responses_chart(weeks: list[ResponseWeek], overall: Spread) -> Markup:
    desc = " ".join([
        _("Hours from a ticket's first inbound message to the first reply, per week of that message, last "
          "%(weeks)s weeks.", weeks=WEEKS),
        spread_words(overall, _("No replies yet.")),
        _("%(count)s tickets have no reply yet.", count=sum(w.unanswered for w in weeks))])
    return bar_chart("chart-responses", _("First-response time per week (median and 90th percentile)"), desc,
                     [short_date(w.start) for w in weeks],
                     [Series(_("Median"), [w.spread.median_hours or 0 for w in weeks], "median"),
                      Series(_("90th percentile"), [w.spread.p90_hours or 0 for w in weeks], "p90")],
                     unit=" h", axis=_("Hours"), label_every=2)


def accounts_chart(volumes: AccountVolumes) -> Markup:
    top = volumes.top
    each = "; ".join(_("%(account)s %(inbound)s in, %(outbound)s out", account=a.account, inbound=a.inbound,
                       outbound=a.outbound) for a in top)
    desc = _("Messages per account over the last %(days)s days, the %(top)s busiest: %(each)s. Other "
             "accounts: %(others)s with %(messages)s messages; unmatched mail: %(unmatched)s.", days=DAYS,
             top=TOP_ACCOUNTS, each=each, others=volumes.other_accounts, messages=volumes.other_messages,
             unmatched=volumes.unmatched)
    return hbar_chart("chart-accounts", _("Messages per account, top %(top)s", top=TOP_ACCOUNTS), desc,
                      [a.account for a in top],
                      [Series(_("Inbound"), [a.inbound for a in top], "inbound"),
                       Series(_("Outbound"), [a.outbound for a in top], "outbound")])


def outcomes_chart(access: AccessFigures) -> Markup:
    desc = _("Access requests made in the last %(weeks)s weeks by outcome: %(each)s.", weeks=WEEKS,
             each=", ".join(f"{access.outcomes[o]} {o}" for o in OUTCOMES))
    return bar_chart("chart-outcomes", _("Access requests by outcome"), desc,
                     [o.capitalize() for o in OUTCOMES],
                     [Series("", [access.outcomes[o] for o in OUTCOMES], "requests")], bar_classes=OUTCOMES,
                     axis=_("Requests"))


def decisions_chart(access: AccessFigures) -> Markup:
    desc = " ".join([
        _("Time an approver took to approve or deny a request: %(each)s.",
          each="; ".join(f"{label}: {n}" for label, n in access.decision_histogram)),
        spread_words(access.decisions, _("No decisions yet."))])
    return bar_chart("chart-decisions", _("Time to decision"), desc,
                     [label for label, _n in access.decision_histogram],
                     [Series("", [n for _label, n in access.decision_histogram], "decisions")],
                     axis=_("Decisions"))


def usage_chart(usage: list[AccountUsage]) -> Markup:
    shown = usage[:TOP_ACCOUNTS]
    each = "; ".join(_("%(account)s %(requests)s (mean %(mean)s ms)", account=usage_name(u),
                       requests=u.requests, mean=count(u.mean_ms)) for u in shown)
    desc = _("Requests to the desk per account from the request log, last %(days)s days: %(each)s.",
             days=USAGE_DAYS, each=each)
    return hbar_chart("chart-usage", _("Requests per account, last %(days)s days", days=USAGE_DAYS), desc,
                      [usage_name(u) for u in shown],
                      [Series(_("Requests"), [u.requests for u in shown], "usage")],
                      value_text=lambda i: f"{count(shown[i].requests)} · {count(shown[i].mean_ms)} ms")


def usage_name(usage: AccountUsage) -> str:
    return usage.account if usage.account is not None else _("(no account)")


def charts(dashboard: Dashboard) -> dict[str, Markup]:
    """Return every chart of the dashboard by name."""
    access = dashboard.access
    return {
        "days": volume_chart("chart-days", dashboard.days, "day"),
        "weeks": volume_chart("chart-weeks", dashboard.weeks, "week"),
        "ages": ages_chart(dashboard.ages),
        "responses": responses_chart(dashboard.responses, dashboard.response_overall),
        "accounts": accounts_chart(dashboard.accounts),
        "outcomes": outcomes_chart(access),
        "decisions": decisions_chart(access),
        "usage": usage_chart(dashboard.usage),
    }

"""The dashboard's charts: each figure of ``app.services.dashboard`` drawn by ``app.manage.charts``,
with a title and a description in words that carries the totals a picture only shows.

Pure: from the dashboard's dataclasses to markup, no request and no database.
"""

from __future__ import annotations

from datetime import date

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
        return "none yet"
    return duration(round(value * 60))


def spread_words(spread: Spread, what: str) -> str:
    if not spread.count:
        return f"No {what} yet."
    return (f"Median {hours(spread.median_hours)}, 90th percentile {hours(spread.p90_hours)} "
            f"over {spread.count}.")


def volume_chart(chart_id: str, volumes: list[Volume], per: str) -> Markup:
    inbound = sum(v.inbound for v in volumes)
    outbound = sum(v.outbound for v in volumes)
    busiest = max(volumes, key=lambda v: v.inbound + v.outbound)
    span = f"the last {DAYS} days" if per == "day" else f"the last {WEEKS} weeks"
    desc = (f"Messages per {per} over {span} (UTC), from {volumes[0].start} to {volumes[-1].start}: "
            f"{inbound} inbound and {outbound} outbound in all.")
    if inbound + outbound:
        desc += f" Busiest {per}: {busiest.start}, {busiest.inbound} in and {busiest.outbound} out."
    return bar_chart(chart_id, f"Inbound and outbound messages per {per}", desc,
                     [short_date(v.start) for v in volumes],
                     [Series("Inbound", [v.inbound for v in volumes], "inbound"),
                      Series("Outbound", [v.outbound for v in volumes], "outbound")],
                     axis="Messages", label_every=5 if per == "day" else 2)


def ages_chart(ages: list[AgeBucket]) -> Markup:
    opened = sum(a.open for a in ages)
    pending = sum(a.pending for a in ages)
    desc = (f"{opened} open and {pending} pending tickets by age since the first message: "
            + "; ".join(f"{a.label}: {a.open} open, {a.pending} pending" for a in ages) + ".")
    return bar_chart("chart-ages", "Open and pending tickets by age", desc,
                     [label for label, _ in AGE_BUCKETS],
                     [Series("Open", [a.open for a in ages], "open"),
                      Series("Pending", [a.pending for a in ages], "pending")], stacked=True, axis="Tickets")


def responses_chart(weeks: list[ResponseWeek], overall: Spread) -> Markup:
    desc = (f"Hours from a ticket's first inbound message to the first reply, per week of that message, "
            f"last {WEEKS} weeks. " + spread_words(overall, "replies")
            + f" {sum(w.unanswered for w in weeks)} tickets have no reply yet.")
    return bar_chart("chart-responses", "First-response time per week (median and 90th percentile)", desc,
                     [short_date(w.start) for w in weeks],
                     [Series("Median", [w.spread.median_hours or 0 for w in weeks], "median"),
                      Series("90th percentile", [w.spread.p90_hours or 0 for w in weeks], "p90")],
                     unit=" h", axis="Hours", label_every=2)


def accounts_chart(volumes: AccountVolumes) -> Markup:
    top = volumes.top
    desc = (f"Messages per account over the last {DAYS} days, the {TOP_ACCOUNTS} busiest: "
            + "; ".join(f"{a.account} {a.inbound} in, {a.outbound} out" for a in top)
            + f". Other accounts: {volumes.other_accounts} with {volumes.other_messages} messages; "
            f"unmatched mail: {volumes.unmatched}.")
    return hbar_chart("chart-accounts", f"Messages per account, top {TOP_ACCOUNTS}", desc,
                      [a.account for a in top],
                      [Series("Inbound", [a.inbound for a in top], "inbound"),
                       Series("Outbound", [a.outbound for a in top], "outbound")])


def outcomes_chart(access: AccessFigures) -> Markup:
    desc = (f"Access requests made in the last {WEEKS} weeks by outcome: "
            + ", ".join(f"{access.outcomes[o]} {o}" for o in OUTCOMES) + ".")
    return bar_chart("chart-outcomes", "Access requests by outcome", desc, [o.capitalize() for o in OUTCOMES],
                     [Series("", [access.outcomes[o] for o in OUTCOMES], "requests")], bar_classes=OUTCOMES,
                     axis="Requests")


def decisions_chart(access: AccessFigures) -> Markup:
    desc = ("Time an approver took to approve or deny a request: "
            + "; ".join(f"{label}: {n}" for label, n in access.decision_histogram) + ". "
            + spread_words(access.decisions, "decisions"))
    return bar_chart("chart-decisions", "Time to decision", desc,
                     [label for label, _ in access.decision_histogram],
                     [Series("", [n for _, n in access.decision_histogram], "decisions")], axis="Decisions")


def usage_chart(usage: list[AccountUsage]) -> Markup:
    shown = usage[:TOP_ACCOUNTS]
    desc = (f"Requests to the desk per account from the request log, last {USAGE_DAYS} days: "
            + "; ".join(f"{usage_name(u)} {u.requests} (mean {count(u.mean_ms)} ms)" for u in shown) + ".")
    return hbar_chart("chart-usage", f"Requests per account, last {USAGE_DAYS} days", desc,
                      [usage_name(u) for u in shown],
                      [Series("Requests", [u.requests for u in shown], "usage")],
                      value_text=lambda i: f"{count(shown[i].requests)} · {count(shown[i].mean_ms)} ms")


def usage_name(usage: AccountUsage) -> str:
    return usage.account if usage.account is not None else "(no account)"


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

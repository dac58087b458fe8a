"""``flask policy``: publish a privacy policy version, list the versions, and see how a version's
notices to company contacts stand; the same services serve the administration page."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from app.cli import DeskGroup
from app.cli.output import echo_json, echo_table
from app.extensions import db
from app.runtime import now
from app.services import policy
from app.services.errors import ServiceError

group = DeskGroup("policy", help="Privacy policy versions and the notices that announce them.")


@group.command("publish")
@click.option("--text-file", required=True, metavar="FILE", help="The new version's full text (UTF-8).")
@click.option("--summary", required=True,
              help="What changed, as the notice email and the public page say it.")
@click.option("--effective", required=True, metavar="YYYY-MM-DD",
              help="The UTC day it takes effect: at least POLICY_NOTICE_DAYS from today.")
def publish(text_file, summary, effective):
    """Publish a new version; the worker emails its notice to every company contact."""
    version = policy.publish_version(db.session, _read_text(text_file), summary, effective, by=None,
                                     now=now(), notice_days=current_app.config["POLICY_NOTICE_DAYS"])
    db.session.commit()
    owed = policy.notice_counts(db.session).get(version.id, {}).get("owed", 0)
    click.echo(ngettext("Published version %(version)s, in effect from %(day)s; the worker emails its notice "
                        "to %(num)d contact.",
                        "Published version %(version)s, in effect from %(day)s; the worker emails its notice "
                        "to %(num)d contacts.", owed, version=version.id, day=version.effective_on))


def _read_text(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ServiceError(_("%(file)s is not UTF-8 text; save the policy as UTF-8 and try again",
                             file=name)) from None
    except OSError as exc:
        raise ServiceError(_("cannot read %(file)s (%(problem)s)", file=name,
                             problem=exc.strerror or exc)) from None


@group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json):
    """List every version, newest first, with where it stands and how many notices were sent."""
    counts = policy.notice_counts(db.session)
    rows = [{"version": s.version.id, "published": f"{s.version.published_at:%Y-%m-%d %H:%M}",
             "effective": s.version.effective_on.isoformat(), "state": s.words,
             **counts.get(s.version.id, {"owed": 0, "sent": 0, "failing": 0})}
            for s in policy.history(db.session, now().date()).states]
    if as_json:
        echo_json(rows)
        return
    echo_table(rows, ["version", "published", "effective", "state", "owed", "sent", "failing"])


@group.command("status")
@click.argument("version", type=int, required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(version, as_json):
    """How the notices of VERSION (the latest when left out) stand, and each that failed, with its error."""
    overview = policy.notice_overview(db.session, policy.version_numbered(db.session, version), now())
    failed = [{"account": row.account, "email": row.notice.email, "attempts": row.notice.attempts,
               "error": row.notice.last_error} for row in overview.failed]
    if as_json:
        echo_json({"version": overview.version.id, "effective": overview.version.effective_on.isoformat(),
                   "counts": overview.counts, "failed": failed})
        return
    counts = ", ".join(f"{state} {n}" for state, n in overview.counts.items())
    click.echo(_("Version %(version)s, in effect from %(day)s: %(total)s notices: %(counts)s.",
                 version=overview.version.id, day=overview.version.effective_on, total=len(overview.rows),
                 counts=counts))
    if failed:
        click.echo(_("Failed (the worker tries them again at each run):"))
        echo_table(failed, ["account", "email", "attempts", "error"])

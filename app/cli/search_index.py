"""``flask search reindex`` and ``flask search check``: rebuild the index beside the live
one, and compare the index with the database.

Both are subcommands of ``flask search`` (``app.cli.search``), so a query for the word
"check" or "reindex" is written ``flask search query check``.
"""

import click
from flask_babel import gettext as _

from app.cli.output import echo_json, progressbar
from app.cli.search import group
from app.extensions import db
from app.runtime import raw_store, search_index
from app.services.indexing import (
    IndexCheck,
    archived_count,
    check_index,
    index_queue_unless_worker,
    pending_count,
    rebuild_index,
)

SHOWN_IDS = 50


@group.command("reindex")
def reindex():
    """Rebuild the whole index from the database; searches use the old one until it is done.

    Runs beside the worker: the worker keeps indexing new mail into the old index and
    writes into the new one from the switch on.
    """
    index = search_index()
    with progressbar(archived_count(db.session), _("Rebuilding the index")) as bar:
        result = rebuild_index(db.session, index, raw_store(), progress=bar.update)
    click.echo(_("Rebuilt the index in %(where)s from %(count)s message(s); searches use it now.",
                 where=result.where, count=result.messages))
    click.echo(_("Written again at the end: %(count)s message(s) archived, changed or indexed while it ran "
                 "or just before.", count=result.caught_up))
    indexed = index_queue_unless_worker(db.session, index, raw_store())
    if indexed is None:
        click.echo(_("The worker is running: it indexes the %(count)s message(s) waiting in the queue, now "
                     "into the new index.", count=pending_count(db.session)))
    elif indexed:
        click.echo(_("Indexed %(count)s message(s) that were waiting in the queue.", count=indexed))


@group.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def check(as_json):
    """Compare the index with the database; exit 1 if a message is missing from either."""
    index = search_index()
    result = check_index(db.session, index)
    if as_json:
        echo_json({"consistent": result.consistent, "generation": index.generation,
                   "in_both": result.in_both, "missing_from_index": result.missing_from_index,
                   "not_in_database": result.not_in_database, "held_twice": result.held_twice,
                   "waiting": result.waiting})
    else:
        _report(result)
    if not result.consistent:
        raise click.exceptions.Exit(1)


def _report(result: IndexCheck) -> None:
    click.echo(_("%(both)s messages in both; missing from the index: %(missing)s; in the index but not in "
                 "the database: %(extra)s.", both=result.in_both, missing=_ids(result.missing_from_index),
                 extra=_ids(result.not_in_database)))
    if result.held_twice:
        click.echo(_("Held twice in the index: %(ids)s.", ids=_ids(result.held_twice)))
    click.echo(_("%(count)s message(s) waiting in the index queue; the writer indexes them within seconds.",
                 count=result.waiting))
    if not result.consistent:
        click.echo(_("Run `flask search reindex` to rebuild the index from the database."), err=True)


def _ids(ids: list[int]) -> str:
    if not ids:
        return _("none")
    shown = ", ".join(str(i) for i in ids[:SHOWN_IDS])
    if len(ids) <= SHOWN_IDS:
        return shown
    return _("%(shown)s and %(more)s more", shown=shown, more=len(ids) - SHOWN_IDS)

"""``flask search``: query the archive's index from the command line.

``flask search WORDS`` runs a query; the group leaves room for maintenance
subcommands, and a query that is itself a subcommand's name is written
``flask search query WORD`` (the one place the hidden ``query`` command shows).
"""

import click
from flask_babel import gettext as _

from app.cli import DeskGroup
from app.cli.output import echo_json
from app.extensions import db
from app.runtime import search_index
from app.search.query import SORTS
from app.services.search import run_search


class SearchGroup(DeskGroup):
    """Treats ``flask search WORDS`` as ``flask search query WORDS``."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["query", *args]
        return super().parse_args(ctx, args)

    def help_command(self, ctx) -> str:
        # The query's options are explained by the group's help, which names no `query`.
        return f"{ctx.command_path.removesuffix(' query')} --help"


group = SearchGroup("search", help="Search the archive: flask search WORDS [--page N] [--limit N] "
                                   "[--sort relevance|date] [--json]. The query language is in the README.")


@group.command("query", hidden=True)
@click.argument("words", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: total, page, pages, hits, facets.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(min=1),
              help="Which page of hits (past the last page shows the last).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1),
              help="Hits per page.")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True,
              help="Best matches first, or newest first.")
def query(words, as_json, page, limit, sort):
    """Print one page of hits for a query in the desk's query language, and the exact total.

    Words and "exact phrases", AND / OR / NOT (or -word) and parentheses, and the fields
    from: to: cc: subject: account: mailbox: ticket: status: filename: has:attachment
    is:unmatched is:quarantined after: before: date:2024-01..2024-03 (see the README).
    A query that cannot be read is explained, and exits with status 1.
    """
    # The lines printed show no snippet; only --json carries them.
    results = run_search(db.session, search_index(), " ".join(words), page=page, pagelen=limit, sort=sort,
                         snippets=as_json)
    hits = [
        {"id": h.message_id, "score": round(h.score, 3), "subject": h.subject,
         "sender": h.sender, "date": h.date.isoformat() + "Z" if h.date else None,
         "account": h.account or None, "ticket": h.ticket, "status": h.status or None,
         "snippet": h.snippet}
        for h in results.hits
    ]
    if as_json:
        facets = {name: [{"value": f.value, "count": f.count} for f in values]
                  for name, values in results.facets.items()}
        echo_json({"total": results.total, "page": results.page, "pages": results.pages,
                   "hits": hits, "facets": facets})
        return
    click.echo(_("%(total)s message(s) match; page %(page)s of %(pages)s, %(shown)s shown.",
                 total=results.total, page=results.page, pages=results.pages, shown=len(hits)))
    for h in hits:
        date = (h["date"] or "")[:16].replace("T", " ")
        click.echo(f"#{h['id']:<6} {date:16}  {h['account'] or _('(unmatched)'):20.20}  "
                   f"{h['sender'][:30]:30}  {h['subject']}")

"""``flask search``: query the archive's index from the command line.

``flask search WORDS`` runs a query; the group leaves room for maintenance
subcommands, and a query that is itself a subcommand's name is written
``flask search query WORD``.
"""

import click

from app.cli import DeskGroup
from app.cli.output import echo_json
from app.runtime import search_index
from app.search.query import search_messages


class SearchGroup(DeskGroup):
    """Treats ``flask search WORDS`` as ``flask search query WORDS``."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["query", *args]
        return super().parse_args(ctx, args)


group = SearchGroup("search", help="Search the archive: flask search WORDS [--json] [--limit N].")


@group.command("query")
@click.argument("words", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1),
              help="At most this many hits.")
def query(words, as_json, limit):
    """Print ranked hits with subject, sender, date and account."""
    results = search_messages(search_index(), " ".join(words), limit)
    hits = [
        {"id": h.message_id, "score": round(h.score, 3), "subject": h.subject,
         "sender": h.sender, "date": h.date.isoformat() + "Z" if h.date else None,
         "account": h.account or None}
        for h in results.hits
    ]
    if as_json:
        echo_json({"total": results.total, "hits": hits})
        return
    click.echo(f"{results.total} message(s) match; showing {len(hits)}.")
    for h in hits:
        date = (h["date"] or "")[:16].replace("T", " ")
        click.echo(f"#{h['id']:<6} {date:16}  {h['account'] or '(unmatched)':20.20}  "
                   f"{h['sender'][:30]:30}  {h['subject']}")

"""The fields of an indexed message and how their text is analysed."""

from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.fields import BOOLEAN, DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.support.charset import accent_map

# Lower-case, accents folded, then stemmed English: folding first makes "Résumés",
# "résumé" and "resume" one stem, where stemming first would leave "resume" apart.
_TEXT = RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | StopFilter() | StemFilter()


def build_schema() -> Schema:
    """Return the index schema; changing it means ``flask search reindex``."""
    return Schema(
        id=NUMERIC(stored=True, unique=True, signed=False, bits=64),
        subject=TEXT(analyzer=_TEXT, stored=True, field_boost=2.0),
        body=TEXT(analyzer=_TEXT),
        sender=TEXT(analyzer=_TEXT, stored=True),
        from_addr=ID(stored=True),
        to=KEYWORD(commas=True, lowercase=True),
        cc=KEYWORD(commas=True, lowercase=True),
        # Sortable columns give the facets (counts by account and by month) cheaply.
        account=KEYWORD(lowercase=True, commas=True, stored=True, sortable=True),
        account_id=NUMERIC(stored=True),
        mailbox=KEYWORD(lowercase=True, commas=True),
        ticket=NUMERIC(stored=True),
        date=DATETIME(stored=True, sortable=True),
        filename=TEXT(analyzer=_TEXT),
        # Text read from attachments that hold text (text/*, HTML, PDF).
        attachments=TEXT(analyzer=_TEXT),
        # The ticket's status when the message was last indexed; a status change
        # puts the ticket's messages back in the index queue.
        status=ID(stored=True),
        # "2024-03": the month of the message's date, for the month facet.
        month=ID(stored=True, sortable=True),
        has_attachment=BOOLEAN,
        unmatched=BOOLEAN,
        quarantined=BOOLEAN,
        direction=ID,
        snippet=STORED,
    )

"""The fields of an indexed message and how their text is analysed."""

from whoosh.analysis import CharsetFilter, StemmingAnalyzer
from whoosh.fields import BOOLEAN, DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.support.charset import accent_map

# Lower-case, stemmed English, accents folded: "Résumé" finds "resume".
_TEXT = StemmingAnalyzer() | CharsetFilter(accent_map)


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
        account=KEYWORD(lowercase=True, commas=True, stored=True),
        account_id=NUMERIC(stored=True),
        mailbox=KEYWORD(lowercase=True, commas=True),
        ticket=NUMERIC(stored=True),
        date=DATETIME(stored=True, sortable=True),
        filename=TEXT(analyzer=_TEXT),
        has_attachment=BOOLEAN,
        unmatched=BOOLEAN,
        quarantined=BOOLEAN,
        direction=ID,
        snippet=STORED,
    )

"""The languages the desk speaks: Flask-Babel set up with a per-request locale, the
catalogues under ``app/translations/``, and the filters that write dates and durations the
way the chosen language writes them.

The locale of a page or an email is chosen, in this order: a locale forced around a block
of code (``in_locale(contact.language)``, how an email is written in its reader's
language), the locale a view chose for its request (``use_locale``: a customer page
chooses the contact's language), the signed-in agent's own language (their settings), and
English. Only a language that has a catalogue is
ever chosen (``supported``); English, the language of the source, always is.

The compiled catalogues (``.mo``) are not kept in git: the app compiles each ``.po``
whose ``.mo`` is missing or older when it starts, so a fresh clone, ``scripts/start`` and
the tests never read a catalogue older than its source.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, g, has_request_context
from flask_babel import (
    Babel,
    force_locale,
    format_date,
    format_datetime,
    format_timedelta,
    get_locale,
    get_timezone,
    refresh,
)
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

DEFAULT = "en"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

babel = Babel()


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    compile_catalogues(Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_time_zone)
    # {% trans %} blocks are extracted and looked up with their whitespace collapsed, so a
    # sentence may be laid out over several template lines (babel.cfg says the same).
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.add_template_filter(when, "when")
    app.add_template_filter(day, "day")
    app.add_template_filter(how_long, "how_long")
    app.context_processor(lambda: {"text_direction": text_direction, "html_lang": html_lang})


def select_locale() -> str:
    """Return the locale a view chose for this request, else the signed-in agent's, else English."""
    chosen = g.get("desk_locale")
    if chosen:
        return chosen
    if has_request_context() and current_user and current_user.is_authenticated:
        return supported(current_user.language)
    return DEFAULT


def select_time_zone() -> str:
    # A signed-in agent reads times in their own zone; a customer has none here, so UTC,
    # as the local_time filter does.
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.time_zone
    return "UTC"


def use_locale(language: str | None) -> None:
    """Write the rest of this request's page in ``language``, if the desk has it, else English."""
    g.desk_locale = supported(language)
    refresh()


@contextmanager
def in_locale(language: str | None) -> Iterator[None]:
    """Render what the block renders (an email) in ``language``, if the desk has it, else English."""
    with force_locale(supported(language)):
        yield


def available() -> list[str]:
    """Return the languages with a catalogue, English first."""
    directory = Path(current_app.config["BABEL_TRANSLATION_DIRECTORIES"])
    return [DEFAULT, *catalogue_languages(directory)]


def catalogue_languages(directory: Path) -> list[str]:
    """Return the languages that have a ``.po`` catalogue under ``directory``, sorted."""
    return sorted(po.parent.parent.name for po in directory.glob("*/LC_MESSAGES/messages.po"))


def supported(language: str | None) -> str:
    """Return ``language`` if the desk has a catalogue for it (or for its base language), else English."""
    if not language:
        return DEFAULT
    known = available()
    tag = language.strip().replace("-", "_")
    if tag in known:
        return tag
    base = tag.split("_")[0].lower()
    return base if base in known else DEFAULT


def from_header(value: str | None) -> str | None:
    """Return the best language the desk has for an Accept-Language or Content-Language header.

    None when the header names none the desk has a catalogue for (English included), so
    that a header saying nothing useful leaves what is known of the contact as it is.
    """
    if not value:
        return None
    accept = parse_accept_header(value, LanguageAccept)
    best = accept.best_match([tag.replace("_", "-") for tag in available()])
    return best.replace("-", "_") if best else None


def is_rtl(language: str) -> bool:
    """Say whether ``language`` is written from right to left (Arabic, Hebrew, Persian...)."""
    try:
        return Locale.parse(language).character_order == "right-to-left"
    except (ValueError, UnknownLocaleError):
        return False


def text_direction() -> str:
    """Return the ``dir`` of the page being rendered: "rtl" or "ltr"."""
    return "rtl" if is_rtl(str(get_locale() or DEFAULT)) else "ltr"


def html_lang() -> str:
    """Return the ``lang`` of the page being rendered, as HTML writes it ("de", "pt-BR")."""
    return str(get_locale() or DEFAULT).replace("_", "-")


def when(value: datetime | None, length: str = "medium") -> str:
    """Format a stored UTC time in the current locale and the reader's zone ("30.11.2026, 14:05 UTC")."""
    if value is None:
        return ""
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    pattern = {"short": "short", "medium": "medium", "long": "long"}[length]
    return f"{format_datetime(moment, pattern)} {_zone_name(moment)}"


def _zone_name(moment: datetime) -> str:
    return moment.astimezone(get_timezone()).tzname() or "UTC"


def day(value: date | datetime | None, length: str = "long") -> str:
    """Format a calendar day in the current locale ("30. November 2026", "2026年11月30日")."""
    if value is None:
        return ""
    return format_date(value, length)


def how_long(value: timedelta | int | float, unit: str = "minutes") -> str:
    """Format a duration in the current locale ("3 Stunden", "2日"); a number is taken in ``unit``."""
    span = value if isinstance(value, timedelta) else timedelta(**{unit: value})
    return format_timedelta(span, threshold=1.0, add_direction=False)


def compile_catalogues(directory: Path) -> list[Path]:
    """Compile each ``.po`` under ``directory`` whose ``.mo`` is missing or older; return those compiled.

    Each ``.mo`` is written to a temporary file and renamed over the old one, so that web
    processes starting together never read a half-written catalogue.
    """
    compiled = []
    for po in directory.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        _write_mo(po, mo)
        compiled.append(mo)
    return compiled


def _write_mo(po: Path, mo: Path) -> None:
    with po.open("rb") as source:
        catalogue = read_po(source, locale=po.parent.parent.name)
    handle, temporary = tempfile.mkstemp(dir=mo.parent, suffix=".mo.tmp")
    try:
        with os.fdopen(handle, "wb") as target:
            write_mo(target, catalogue)
        os.replace(temporary, mo)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def languages_named(codes: Iterable[str]) -> list[tuple[str, str]]:
    """Return (code, name) pairs, each language named in its own words ("Deutsch", "日本語")."""
    return [(code, Locale.parse(code).get_display_name(code).capitalize()) for code in codes]

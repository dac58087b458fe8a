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
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError, dates
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, g, has_app_context, has_request_context
from flask_babel import (
    Babel,
    force_locale,
    format_date,
    format_timedelta,
    get_locale,
    gettext,
    refresh,
)
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import escape
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
    """Return the zone times are written in: the one forced around a block (an email: UTC),
    else a signed-in agent's own, else UTC (a customer has no zone here), as local_time does."""
    forced = g.get("desk_time_zone") if has_app_context() else None
    if forced:
        return forced
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.time_zone
    return "UTC"


def use_locale(language: str | None) -> None:
    """Write the rest of this request's page in ``language``, if the desk has it, else English."""
    g.desk_locale = supported(language)
    refresh()


@contextmanager
def in_locale(language: str | None, time_zone: str = "UTC") -> Iterator[None]:
    """Render what the block renders (an email) in ``language``, if the desk has it, else English,
    with times in ``time_zone`` (UTC: the reader of an email has no zone here)."""
    before = g.get("desk_time_zone")
    g.desk_time_zone = time_zone
    try:
        with force_locale(supported(language)):
            refresh()
            yield
    finally:
        g.desk_time_zone = before
        refresh()


def available() -> list[str]:
    """Return the languages with a catalogue, English first."""
    # Outside an application (a pure function of the mail path under test) the shipped ones.
    directory = TRANSLATIONS
    if has_app_context():
        directory = Path(current_app.config["BABEL_TRANSLATION_DIRECTORIES"])
    return [DEFAULT, *catalogue_languages(directory)]


@cache
def catalogue_languages(directory: Path) -> tuple[str, ...]:
    """Return the languages that have a ``.po`` catalogue under ``directory``, sorted.

    Read once per process: every signed-in request asks (``select_locale``), and a new
    catalogue is compiled, like the others, only when the app starts.
    """
    return tuple(sorted(po.parent.parent.name for po in directory.glob("*/LC_MESSAGES/messages.po")))


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
    """Format a stored UTC time in the current locale and the reader's zone, naming the zone.

    English keeps the desk's own "2026-11-30 14:05 UTC", as every console page writes
    times; another language writes the day its way and the time to the minute:
    "30.11.2026, 14:05 UTC" ("30. November 2026, 14:05 UTC" when ``length`` is "long").
    """
    if value is None:
        return ""
    moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(ZoneInfo(select_time_zone()))
    locale = get_locale() or Locale.parse(DEFAULT)
    if locale.language == DEFAULT:
        return moment.strftime("%Y-%m-%d %H:%M %Z")
    written = dates.get_datetime_format(length, locale=locale).replace(
        "{1}", dates.format_date(moment, length, locale=locale)).replace(
        "{0}", dates.format_time(moment, "short", locale=locale))
    return f"{written} {moment.tzname()}"


def day(value: date | datetime | None, length: str = "long") -> str:
    """Format a calendar day in the current locale ("2026-11-30", "30. November 2026", "2026年11月30日")."""
    if value is None:
        return ""
    locale = get_locale() or Locale.parse(DEFAULT)
    if locale.language == DEFAULT:
        return value.strftime("%Y-%m-%d")
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


# The command line has no request and no reader to ask: it writes in the language of the
# shell that runs it, read in the order POSIX reads a locale's messages.
COMMAND_LINE_VARIABLES = ("DESK_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def command_line_language(environ: Mapping[str, str]) -> str:
    """Return the language a command writes in: DESK_LANGUAGE, else the POSIX locale, else English.

    The first variable set decides, as POSIX has it (LC_ALL over LC_MESSAGES over LANG);
    "de_DE.UTF-8" names German, "C" and "POSIX" English, and a language without a catalogue
    English too.
    """
    for name in COMMAND_LINE_VARIABLES:
        value = environ.get(name, "").strip()
        if value:
            return supported(value.split(".")[0].split("@")[0])
    return DEFAULT


class LazyText(LazyString):
    """A translation made when it is used (a form's label, a message at import time), in the
    language of that moment, and escaped in HTML as the plain string it replaces would be.

    Flask-Babel's ``LazyString`` says it is HTML already (its ``__html__`` returns it as it
    is), so "the agent's name" would reach a page with its apostrophe unescaped.
    """

    def __html__(self) -> str:
        return str(escape(str(self)))


def lazy_gettext(string: str, **variables) -> LazyText:
    """Return ``string`` to be translated when it is used; named so that ``pybabel extract`` finds it."""
    return LazyText(gettext, string, **variables)

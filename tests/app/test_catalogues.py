"""The catalogues are complete and current: every string the source marks for translation
(extracted afresh, as the README's `pybabel extract` does) has a German and a Japanese
translation that is not fuzzy, no catalogue keeps a string the source no longer has, and
the compiled catalogues the app reads are never older than their source.

A failure names each string and where it is in the source, so whoever wraps a new string
knows what to translate (the README's "Languages" section gives the commands).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from app import i18n

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = ("de", "ja")
# The same arguments as the README's extract command.
EXTRACT = ["-F", "babel.cfg", "-k", "lazy_gettext", "-k", "lazy_ngettext", "--project=desk"]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", *EXTRACT, "-o", str(pot), str(ROOT)])
    with pot.open("rb") as handle:
        return read_po(handle)


def catalogue(language: str):
    with (i18n.TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def where(message) -> str:
    return ", ".join(f"{path}:{line}" for path, line in message.locations) or "?"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_of_the_source_is_translated(template, language):
    po = catalogue(language)
    missing = []
    for message in template:
        if not message.id:
            continue
        ours = po.get(message.id, message.context)
        strings = ours.string if ours and isinstance(ours.string, tuple) else (ours.string if ours else "",)
        if ours is None or ours.fuzzy or not all(strings):
            state = "missing" if ours is None else "fuzzy" if ours.fuzzy else "untranslated"
            missing.append(f"{where(message)}: {state}: {message.id!r}")
    assert not missing, f"{language} needs {len(missing)} translations:\n" + "\n".join(missing)


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_catalogue_keeps_a_string_the_source_no_longer_has(template, language):
    stale = [m.id for m in catalogue(language) if m.id and template.get(m.id, m.context) is None]
    assert not stale, (f"{language} translates strings the source no longer has (run the README's "
                       f"pybabel update): {stale}")


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalogue_is_the_one_the_source_compiles_to(language):
    i18n.compile_catalogues(i18n.TRANSLATIONS)  # as create_app does
    po = catalogue(language)
    with (i18n.TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
        mo = read_mo(handle)
    assert compiled(mo) == compiled(po)


def compiled(catalogue) -> dict:
    # A plural's id and strings are read from a .mo as lists, from a .po as tuples.
    def same(value):
        return tuple(value) if isinstance(value, list | tuple) else value
    return {same(m.id): same(m.string) for m in catalogue if m.id and not m.fuzzy}


def test_a_catalogue_edited_after_compiling_is_compiled_again(tmp_path):
    folder = tmp_path / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = folder / "messages.po"
    po.write_text('msgid ""\nmsgstr ""\n"Language: de\\n"\n\nmsgid "Yes"\nmsgstr "Ja"\n', encoding="utf-8")
    assert i18n.compile_catalogues(tmp_path) == [folder / "messages.mo"]
    assert i18n.compile_catalogues(tmp_path) == []
    po.write_text(po.read_text(encoding="utf-8").replace("Ja", "Jawohl"), encoding="utf-8")
    mo = folder / "messages.mo"
    older = mo.stat().st_mtime - 10
    os.utime(mo, (older, older))
    assert i18n.compile_catalogues(tmp_path) == [mo]
    with mo.open("rb") as handle:
        assert read_mo(handle).get("Yes").string == "Jawohl"

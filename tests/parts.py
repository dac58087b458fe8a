"""Real parts the tests need (Dovecot, PostgreSQL, Chromium, the shared corpora), and the
rule for when one is missing: skip with the reason, except under ``CI=true``, where a
missing part fails the test, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
REPO = Path(__file__).resolve().parent.parent
CORPORA = Path(os.environ.get("DESK_CORPORA", REPO.parent / "shared" / "corpora"))


def missing(reason: str) -> None:
    """Skip the current test for a missing part, or fail it under CI=true."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a test whose part is missing fails)", pytrace=False)
    pytest.skip(reason)


def dovecot_binary() -> str:
    """Return the path of Debian's dovecot, or skip/fail when it is not installed."""
    path = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if path is None:
        missing("Dovecot is not installed (apt-get install dovecot-imapd)")
    return path


def corpus_folder(name: str) -> Path:
    """Return a folder of the shared corpora, or skip when the corpora are absent.

    A fresh clone has no corpora beside it, so their absence skips even under CI;
    CI runs beside shared/ and so reads them.
    """
    folder = CORPORA / name / "cur"
    if not folder.is_dir():
        if IN_CI and CORPORA.parent.exists():
            pytest.fail(f"the corpus {folder} is missing beside the repository", pytrace=False)
        pytest.skip(f"the corpus {folder} is absent")
    return folder


def postgres_url() -> str:
    """Return TEST_DATABASE_URL, or skip/fail when it is not set."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        missing("TEST_DATABASE_URL does not name a PostgreSQL database")
    return url


def redis_url() -> str:
    """Return TEST_REDIS_URL, or skip/fail when it is not set."""
    url = os.environ.get("TEST_REDIS_URL", "")
    if not url.startswith("redis://"):
        missing("TEST_REDIS_URL does not name a Redis server")
    return url


def chromium_binary() -> str:
    """Return the path of Debian's Chromium, or skip/fail when it is not installed.

    Playwright drives this browser through ``executable_path``; it never downloads one
    of its own (``playwright install`` is never run).
    """
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        missing("Chromium is not installed (apt-get install chromium chromium-driver)")
    return path


def sync_playwright():
    """Return Playwright's ``sync_playwright()``, or skip/fail when Playwright is not installed.

    Imported here rather than at the top of a module, so the rest of the suite runs
    without Playwright.
    """
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError:
        missing("Playwright is not installed (.venv/bin/pip install -r requirements-dev.txt)")
    return start()

"""Configuration read from the environment: a value that cannot be used stops the command with
one sentence naming the variable, never a traceback, before anything is touched.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.parts import REPO

BAD_SETTINGS = {
    "interval that is no number": ({"POLL_INTERVAL_SECONDS": "abc"},
                                   "POLL_INTERVAL_SECONDS must be a whole number, not 'abc'"),
    "batch of none": ({"IMAP_FETCH_BATCH": "0"}, "IMAP_FETCH_BATCH must be 1 or more, not 0"),
    "negative timeout": ({"SMTP_TIMEOUT_SECONDS": "-5"}, "SMTP_TIMEOUT_SECONDS must be 1 or more, not -5"),
    "a request log kept no days": ({"REQUEST_LOG_DAYS": "0"}, "REQUEST_LOG_DAYS must be 1 or more, not 0"),
    "unknown environment": ({"DESK_ENV": "prod"},
                            "DESK_ENV must be one of development, testing, production, not 'prod'"),
    "production without a secret key": ({"DESK_ENV": "production", "SECRET_KEY": ""},
                                         "SECRET_KEY is unset or the development default"),
    "production without an audit key": ({"DESK_ENV": "production", "SECRET_KEY": "s" * 64, "AUDIT_KEY": ""},
                                        "AUDIT_KEY is unset or the development default"),
    "production with the secret key as audit key": (
        {"DESK_ENV": "production", "SECRET_KEY": "s" * 64, "AUDIT_KEY": "s" * 64, "ENCRYPTION_KEY": "e" * 64},
        "SECRET_KEY, AUDIT_KEY and ENCRYPTION_KEY must be three different values"),
    "production without an encryption key": (
        {"DESK_ENV": "production", "SECRET_KEY": "s" * 64, "AUDIT_KEY": "a" * 64},
        "ENCRYPTION_KEY is unset or the development default"),
    "two-factor for a role that does not exist": ({"TWO_FACTOR_ROLES": "manager,boss"},
                                                  "TWO_FACTOR_ROLES names 'boss', which is no role"),
}


@pytest.mark.parametrize(("settings", "sentence"), BAD_SETTINGS.values(), ids=BAD_SETTINGS.keys())
def test_a_setting_that_cannot_be_used_ends_the_command_with_one_sentence_naming_it(
        tmp_path, settings, sentence):
    env = {**os.environ, "FLASK_APP": "wsgi", "DESK_INSTANCE_PATH": str(tmp_path), **settings}

    done = subprocess.run([sys.executable, "-m", "flask", "accounts", "list"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)

    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"Configuration error: {sentence}") and lines[0].endswith("."), lines[0]
    assert not any(tmp_path.iterdir()), "a refused configuration created files"

"""Keeps the secrets of customer links out of every log line this process writes.

A customer link carries its token in the path (``/customer/decide/<token>``), as does an
agent's link to set a password (``/password/<token>``), and every
web server writes request lines to an access log: werkzeug under ``flask run``, gunicorn
in its workers, Flask itself when a view fails ("Exception on /customer/..."). Rather
than configure each of them, the log record factory of the process rewrites any
customer path in a record's message to ``/customer/decide/[token]`` before a handler
sees it, whichever logger, format or handler wrote it. The Referer of a later request
cannot carry a token either: customer pages send ``Referrer-Policy: no-referrer``.
"""

from __future__ import annotations

import logging
import re

_CUSTOMER_PATH = re.compile(r"(/customer/(?:decide|revoke|log)/|/password/)[^\s/?#\"'<>]+")
REDACTED = r"\1[token]"


def redact(text: str) -> str:
    """Return ``text`` with the token of every customer link in it replaced by ``[token]``."""
    return _CUSTOMER_PATH.sub(REDACTED, text)


def keep_tokens_out_of_logs() -> None:
    """Install the redacting record factory in this process; safe to call again."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts_customer_tokens", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format: logging reports it later
            return record
        if "/customer/" in message or "/password/" in message:
            record.msg, record.args = redact(message), ()
        return record

    factory.redacts_customer_tokens = True
    logging.setLogRecordFactory(factory)

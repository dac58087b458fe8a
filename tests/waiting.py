"""Waiting, in tests, for something another process does (the worker, the IMAP server)."""

from __future__ import annotations

import time
from collections.abc import Callable


def until(condition: Callable[[], object], seconds: float) -> bool:
    """Return True as soon as ``condition()`` is true, or False once ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False

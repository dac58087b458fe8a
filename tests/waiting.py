"""Waiting, in tests, for something another process does (the worker, the IMAP server).

Never for a fixed time: a busy machine makes any fixed time too short. Each wait is for
a signal the test can observe (a row, a search hit, a line of output), with a deadline
that only a failure reaches.
"""

from __future__ import annotations

import subprocess
import threading
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


class OutputLines:
    """Collects a child process's output lines as they come, so a test can wait for one."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._arrived = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._reader.start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            with self._arrived:
                self.lines.append(line.rstrip("\n"))
                self._arrived.notify_all()
        with self._arrived:
            self.lines.append("")  # end of output: wake whoever waits
            self._arrived.notify_all()

    def wait_for(self, words: str, seconds: float) -> str:
        """Return the first line holding ``words``; fail with the output so far after ``seconds``."""
        with self._arrived:
            found = self._arrived.wait_for(lambda: any(words in line for line in self.lines), seconds)
            if not found:
                raise AssertionError(f"no line with {words!r} in {seconds} s; the output was:\n"
                                     + "\n".join(self.lines))
            return next(line for line in self.lines if words in line)

    @property
    def text(self) -> str:
        with self._arrived:
            return "\n".join(self.lines)

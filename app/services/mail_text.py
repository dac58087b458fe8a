"""The plain text of the emails the desk writes by itself: lines of at most 78 characters
(RFC 5322's recommendation, which mail clients show without wrapping them again), and
addresses (URLs) never broken, since a link cut in two no longer opens its page.
"""

from __future__ import annotations

import re
import textwrap

WIDTH = 78
_INDENT = re.compile(r"[ \t]*")


def wrap_body(text: str, width: int = WIDTH) -> str:
    """Wrap each line longer than ``width`` at spaces, keeping its indentation and every URL whole.

    A line is never joined to the next, so the template's own line breaks stay. A word
    longer than the width (a URL, a hash) stands alone on its line, unbroken.
    """
    lines = []
    for line in text.split("\n"):
        if len(line) <= width:
            lines.append(line)
            continue
        indent = _INDENT.match(line).group(0)
        lines.extend(textwrap.wrap(line, width, initial_indent=indent, subsequent_indent=indent,
                                   break_long_words=False, break_on_hyphens=False) or [line])
    return "\n".join(lines)

"""The plain text of the emails the desk writes by itself: lines of at most 78 characters
(RFC 5322's recommendation, which mail clients show without wrapping them again), and
addresses (URLs) never broken, since a link cut in two no longer opens its page.

An indented line that holds a word of ``COPIED_WORD`` characters or more (a hash, a token,
an address: the audit log's "entry 12, hash 9f2c...", set apart to be copied into ``flask
audit verify --anchor``) is kept whole, as a block to copy: wrapping would part that word
from its label.
"""

from __future__ import annotations

import re
import textwrap

WIDTH = 78
COPIED_WORD = 40
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
        if len(indent) >= 4 and max(len(word) for word in line.split()) >= COPIED_WORD:
            lines.append(line)  # something to copy as it stands
            continue
        lines.extend(textwrap.wrap(line, width, initial_indent=indent, subsequent_indent=indent,
                                   break_long_words=False, break_on_hyphens=False) or [line])
    return "\n".join(lines)

"""Write app/search/common_words.txt: the words the index pairs with their neighbours.

Usage, from the repository root::

    .venv/bin/python scripts/common_words.py [CORPUS_FOLDER] [--count 1000]

A phrase is found by looking up its word pairs, but pairing every word with its
neighbour made the index four times larger and its build three times slower (most
pairs are of rare words, which appear together in a handful of messages). So only
pairs of two common words are indexed; a phrase with a rarer word is checked by word
positions in the few messages that hold all its words (``app/search/docsets.py``).

Common means: among the ``--count`` words (as the index analyses them: lower-case,
accents folded, stemmed) found in the most message bodies of the corpus, default
``../shared/corpora/spamassassin/cur``, 6,046 messages of ham and spam. Words of
letters only; numbers and mixed tokens are left to the position check.

Changing the list changes nothing in an existing index: each index keeps the list it
was built with in its schema, and phrase search asks the index, not this file. A
rebuilt index (``flask search reindex``) takes the new list.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.search.schema import COMMON_WORDS_FILE, text_analyzer  # noqa: E402
from mailbox.parse import parse_message  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpora" / "spamassassin" / "cur"
_LETTERS = re.compile(r"[a-z]{2,}\Z")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, nargs="?", default=DEFAULT_CORPUS)
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        raise SystemExit(f"{args.corpus} is not a folder of messages")
    analyse = text_analyzer()
    frequency: Counter[str] = Counter()
    files = sorted(p for p in args.corpus.iterdir() if p.is_file())
    for path in files:
        try:
            body = parse_message(path.read_bytes()).text
        except Exception:  # a message the parser refuses has no body to count
            continue
        frequency.update({t.text for t in analyse(body) if _LETTERS.match(t.text)})
    words = sorted(word for word, _ in frequency.most_common(args.count))
    corpus = f"{args.corpus.parent.name}/{args.corpus.name}"
    header = (f"# The {len(words)} words found in the most message bodies of {corpus} "
              f"({len(files):,} messages), as the index analyses them.\n"
              "# Written by scripts/common_words.py; see there for what the list is for.\n")
    COMMON_WORDS_FILE.write_text(header + "\n".join(words) + "\n")
    print(f"wrote {len(words)} words to {COMMON_WORDS_FILE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

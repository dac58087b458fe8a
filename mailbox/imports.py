"""Importing mail from files: an mbox file, a Maildir, or a folder of ``.eml`` files.

Every message goes through ``Archiver.archive``, the poller's own entry point, with
a location naming the file (and the key inside an mbox or Maildir) and the hash of
the bytes found there, so running an import twice archives nothing twice, and a
file rewritten with other mail at the same places (an mbox compacted after a
deletion, an export that reuses file names) archives the new mail.  The bytes
archived are the bytes in the file; for an mbox, the message without its ``From ``
separator line, as the standard library's reader gives it.

The archive never deletes, so an import first reads every message and refuses the
whole source, naming the files, when any of them is not mail (a binary, a spreadsheet,
an empty file): nothing is archived. An operator who means it passes
``allow_non_mail``, and such files are archived raw and quarantined, as mail that
cannot be read is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from app.rawstore import RawStore, sha256_hex
from mailbox import stdlib
from mailbox.errors import ImportSourceError
from mailbox.ingest import Archiver, BatchResult, Seen

BATCH = 200
# How much of a message's start is read to tell whether it is mail at all.
_HEAD_BYTES = 64 * 1024
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:")
# Fields that mail has and other "Name: value" files do not: one of them must appear.
MAIL_FIELDS = frozenset({
    b"from", b"to", b"cc", b"bcc", b"subject", b"date", b"message-id", b"received", b"return-path",
    b"mime-version", b"content-type", b"content-transfer-encoding", b"delivered-to", b"reply-to",
    b"sender", b"in-reply-to", b"references", b"x-mailer", b"user-agent", b"dkim-signature",
    b"authentication-results", b"resent-from", b"resent-to", b"envelope-to", b"x-original-to",
})
_NAMED = 5  # files named in a refusal; the sentence counts the rest


@dataclass(frozen=True)
class ImportSource:
    kind: str  # "mbox", "maildir" or "eml"
    path: Path
    count: int


def open_source(path: str | Path) -> ImportSource:
    """Recognise what a path holds; raise ``ImportSourceError`` when it is no mail source."""
    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise ImportSourceError(f"{path} does not exist")
    if path.is_dir() and all((path / sub).is_dir() for sub in ("cur", "new")):
        return ImportSource("maildir", path, len(_maildir(path)))
    if path.is_dir():
        files = _eml_files(path)
        if not files:
            raise ImportSourceError(f"{path} holds no .eml files and is not a Maildir")
        return ImportSource("eml", path, len(files))
    if path.is_file():
        if not _looks_like_mbox(path):
            return ImportSource("eml", path, 1)
        return ImportSource("mbox", path, _mbox_count(path))
    raise ImportSourceError(f"{path} is neither a file nor a folder")


def not_mail(data: bytes) -> str | None:
    """Say why bytes are not a mail message (an empty file, a binary, no header), or None if they are."""
    if not data.strip():
        return "empty"
    head = data[:_HEAD_BYTES].lstrip(b" \t\r\n")
    if head.startswith(b"From "):  # an mbox separator line before the header
        head = head.partition(b"\n")[2]
    section = re.split(rb"\r?\n\r?\n", head, maxsplit=1)[0]
    if b"\0" in section:
        return "binary"
    lines = section.splitlines()
    if not lines or not _FIELD.match(lines[0]):
        return "no mail header at the start"
    if not {m.group(1).lower() for line in lines if (m := _FIELD.match(line))} & MAIL_FIELDS:
        return "no mail header field (From, To, Subject, Date, Received...)"
    return None


def refuse_non_mail(source: ImportSource) -> None:
    """Read every message of a source and raise ``ImportSourceError`` naming those that are not mail."""
    found = [(where, reason) for raw, where in read_messages(source) if (reason := not_mail(raw))]
    if not found:
        return
    named = ", ".join(f"{_name(where, source)} ({reason})" for where, reason in found[:_NAMED])
    more = f" and {len(found) - _NAMED} more" if len(found) > _NAMED else ""
    raise ImportSourceError(f"{len(found)} of {source.count} messages are not mail: {named}{more}; nothing "
                            "was imported (--allow-non-mail archives them anyway, for good)")


def _name(where: str, source: ImportSource) -> str:
    """Name a message of a source for a person: its file, or its place in the mbox or Maildir."""
    place = where.partition(":")[2].removeprefix(str(source.path)).lstrip("/")
    if not place:
        return source.path.name
    if place.startswith("#"):
        key = place[1:]
        return f"message {int(key) + 1}" if key.isdigit() else key
    return place


def read_messages(source: ImportSource) -> Iterator[tuple[bytes, str]]:
    """Yield (raw bytes, location string) for each message of a source, in a stable order."""
    if source.kind == "eml":
        files = [source.path] if source.path.is_file() else _eml_files(source.path)
        for file in files:
            yield file.read_bytes(), f"eml:{file}"
    elif source.kind == "maildir":
        box = _maildir(source.path)
        for key in sorted(box.keys()):
            yield box.get_bytes(key), f"maildir:{source.path}#{key}"
    else:
        box = stdlib.load().mbox(source.path, create=False)
        try:
            for position, key in enumerate(box.iterkeys()):
                yield box.get_bytes(key), f"mbox:{source.path}#{position}"
        finally:
            box.close()


def import_source(session: Session, store: RawStore, source: ImportSource, *, tag_prefix: str,
                  account: tuple[int, str] | None = None,
                  progress: Callable[[int], None] | None = None) -> BatchResult:
    """Archive every message of a source, committing batch by batch; return the totals.

    With ``account`` (id, name), every message new to the archive is linked to it.
    """
    archiver = Archiver(session, store, tag_prefix=tag_prefix, account=account)
    total = BatchResult()
    batch: list[tuple[bytes, Seen]] = []
    for raw, where in read_messages(source):
        batch.append((raw, Seen(source=content_location(where, raw))))
        if len(batch) >= BATCH:
            total.add(_commit(session, archiver, batch, progress))
            batch = []
    if batch:
        total.add(_commit(session, archiver, batch, progress))
    return total


def content_location(where: str, raw: bytes) -> str:
    """Return the location of bytes found at ``where``, e.g. "mbox:/path#3 sha256:0123abcd...".

    Unlike an IMAP UID, a place in a file is reused for other mail, and the archive
    skips a location it has recorded; naming the content keeps new mail there from
    being mistaken for mail already archived.
    """
    return f"{where} sha256:{sha256_hex(raw)[:16]}"


def _commit(session: Session, archiver: Archiver, batch: list[tuple[bytes, Seen]],
            progress: Callable[[int], None] | None) -> BatchResult:
    result = archiver.archive(batch)
    session.commit()
    if progress:
        progress(len(batch))
    return result


def _eml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.eml") if p.is_file())


def _maildir(path: Path):
    return stdlib.load().Maildir(path, factory=None, create=False)


def _looks_like_mbox(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(5) == b"From "


def _mbox_count(path: Path) -> int:
    box = stdlib.load().mbox(path, create=False)
    try:
        return len(box)
    finally:
        box.close()

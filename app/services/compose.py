"""What an agent adds to a reply besides its text: Cc and Bcc, files, and a signature.

Addresses are checked one by one with ``communications.is_address``, the one test of
an address that can stand in a header, so each bad one gets its own sentence. Files are
limited in their total size (``REPLY_ATTACHMENT_MAX_MB``), since mail servers refuse
large messages. The signature goes below the text after a "-- " line, the delimiter
mail programs recognise (RFC 3676, 4.3). Services flush; callers commit.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.models import Agent
from app.services.communications import Upload, is_address
from app.services.errors import ServiceError

MAX_RECIPIENTS = 50
MAX_SIGNATURE_CHARS = 2000
SIGNATURE_DELIMITER = "-- "
_SEPARATORS = re.compile(r"[\s,;]+")


def split_addresses(text: str) -> list[str]:
    """Return the addresses in a field, as typed, separated by commas, semicolons or spaces."""
    return list(dict.fromkeys(a for a in _SEPARATORS.split(text or "") if a))


def address_problems(addresses: Sequence[str]) -> list[str]:
    """Return one sentence for each address that cannot be mailed to, none when all can."""
    problems = [f"“{a[:80]}” is not an email address." for a in addresses if not is_address(a)]
    if len(addresses) > MAX_RECIPIENTS:
        problems.append(f"Give at most {MAX_RECIPIENTS} addresses.")
    return problems


def check_copies(cc: Sequence[str], bcc: Sequence[str]) -> None:
    """Refuse Cc or Bcc addresses that cannot be mailed to, naming the field and the address."""
    for field, addresses in (("cc", cc), ("bcc", bcc)):
        problems = address_problems(addresses)
        if problems:
            raise ServiceError(problems[0].rstrip("."), field)


def check_files(files: Sequence[Upload], max_bytes: int) -> None:
    """Refuse files that together weigh more than a reply may carry."""
    total = sum(len(f.data) for f in files)
    if total > max_bytes:
        raise ServiceError(f"the files come to {_mib(total)} MiB together, more than the "
                           f"{_mib(max_bytes)} MiB a reply may carry; nothing was sent", "files")


def _mib(size: int) -> str:
    return f"{size / 2 ** 20:.1f}".removesuffix(".0")


def content_type(filename: str) -> tuple[str, str]:
    """Return the (maintype, subtype) a file is sent as, guessed from its name, never sniffed."""
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    maintype, _, subtype = (guessed or "application/octet-stream").partition("/")
    return (maintype, subtype) if subtype else ("application", "octet-stream")


def signed(body: str, signature: str) -> str:
    """Return the reply's text with the signature below it, after a "-- " line."""
    signature = signature.strip("\n")
    if not signature.strip():
        return body
    return f"{body.rstrip()}\n\n{SIGNATURE_DELIMITER}\n{signature}"


def set_signature(session: Session, agent: Agent, text: str) -> Agent:
    """Set the acting agent's own signature; an empty one adds nothing to replies."""
    text = "\n".join(line.rstrip() for line in (text or "").replace("\r\n", "\n").split("\n")).strip("\n")
    if len(text) > MAX_SIGNATURE_CHARS:
        raise ServiceError(f"the signature is longer than {MAX_SIGNATURE_CHARS} characters", "signature")
    agent.signature = text
    session.flush()
    return agent

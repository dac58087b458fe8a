"""Raw messages kept in the database (``RAW_STORE=database``): the exact bytes, by sha256.

The files under ``RAW_STORE_PATH`` are the embedded default; this table lets every machine
read every message. Rows are written and read by ``app.rawstore.DatabaseRawStore`` only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.time import utcnow


class RawBlob(db.Model):
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime] = mapped_column(default=utcnow)

"""The reply box of a ticket's page: what it starts with, and what a sent form carries.

The box starts from the agent's draft, else by quoting the message it answers; a saved
reply chosen on the page (a GET with ``?saved_reply=ID``, so it works with scripts off)
goes above it with its placeholders filled. Each saved reply's filled text is on the page too, for the script
that inserts it at the cursor instead. The agent's signature is shown beside the box,
since the service adds it when the reply is sent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from flask import request
from sqlalchemy.orm import Session

from app.console import forms
from app.console.pages import local_time
from app.models import Agent, Message, Ticket
from app.services import saved_replies
from app.services.communications import Upload
from app.services.compose import split_addresses
from app.services.outbound import quoted


@dataclass(frozen=True)
class SavedChoice:
    id: int
    title: str
    shared: bool
    text: str  # placeholders filled for this ticket, this customer and this agent


def saved_choices(session: Session, ticket: Ticket, answering: Message, agent: Agent) -> list[SavedChoice]:
    """Return the saved replies the agent may use here, each filled for this ticket."""
    return [SavedChoice(r.id, r.title, r.shared, fill(r.body, ticket, answering, agent))
            for r in saved_replies.visible(session, agent)]


def fill(text: str, ticket: Ticket, answering: Message, agent: Agent) -> str:
    """Return a saved reply's text with the placeholders of this ticket filled."""
    return saved_replies.fill(text, customer_name=answering.from_name or answering.from_addr,
                              ticket_number=ticket.id, agent_name=agent.name)


def reply_form(choices: list[SavedChoice], answering: Message, chosen: int | None,
               draft: str | None) -> forms.ReplyForm:
    """Return the reply box as it starts: the agent's draft, else a quote of the message it
    answers, with a chosen saved reply, if any, above it."""
    when = local_time(answering.date_utc or answering.archived_at, "%Y-%m-%d %H:%M %Z")
    start = next((c.text for c in choices if c.id == chosen), "")
    if draft is not None:  # the agent's own text: a saved reply goes above it, a paragraph apart
        return forms.ReplyForm(formdata=None, body=f"{start}\n\n{draft}" if start else draft)
    # quoted() begins with two line breaks to write above: a saved reply goes there.
    body = f"{start}{quoted(answering, when)}" if start else quoted(answering, when)
    return forms.ReplyForm(formdata=None, body=body)


def extras(form: forms.ReplyForm) -> dict:
    """Return the Cc and Bcc addresses and the files of a valid reply form, for ``send_reply``."""
    files = tuple(Upload(_file_name(f.filename), f.read()) for f in request.files.getlist(form.files.name)
                  if f.filename)
    return {"cc": split_addresses(form.cc.data), "bcc": split_addresses(form.bcc.data),
            "files": files}


def _file_name(name: str) -> str:
    # The browser's name for the file, without any folder and with no control characters.
    name = os.path.basename(name.replace("\\", "/"))
    return "".join(c for c in name if c.isprintable()).strip()[:200] or "file"

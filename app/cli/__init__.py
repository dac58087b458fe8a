"""The command line, grouped by noun: ``flask access``, ``flask accounts``, ``flask agents``, ``flask audit``,
``flask mailbox``, ``flask archive``, ``flask policy``, ``flask records``, ``flask search``, ``flask usage``,
``flask worker``.

Every group is a ``DeskGroup``: an error a person can act on (a wrong argument, an
unknown name, an unreachable server, a database without its schema) ends the command
with one sentence on standard error and exit status 1, never a traceback or a usage text.
The sentences are written in the language of the shell that runs the command
(``i18n.command_line_language``: ``DESK_LANGUAGE``, else the POSIX locale, else English).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask, has_app_context
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError, ProgrammingError

from app.i18n import command_line_language, in_locale
from app.rawstore import RawStoreError
from app.search.errors import SearchError
from app.services.errors import ServiceError, as_sentence
from mailbox.errors import MailboxError

EXPECTED = (ServiceError, MailboxError, RawStoreError, SearchError)


@contextmanager
def in_shell_language() -> Iterator[None]:
    """Write what the block prints in the language of the shell running the command."""
    if not has_app_context():  # no catalogue to read yet: click's own errors, in English
        yield
        return
    # Read for each command rather than in config.py: the language is the caller's, not the app's.
    with in_locale(command_line_language(os.environ)):
        yield


@contextmanager
def clear_errors() -> Iterator[None]:
    """Turn expected failures into one clear sentence and exit status 1."""
    try:
        yield
    except EXPECTED as exc:
        raise click.ClickException(as_sentence(str(exc))) from exc
    except (OperationalError, ProgrammingError) as exc:
        with in_shell_language():  # the worker runs outside it, and says only this
            problem = database_problem(exc)
        raise click.ClickException(problem) from exc


class DeskGroup(AppGroup):
    """A command group whose commands fail with one clear sentence."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        with in_shell_language(), usage_in_one_sentence(self):
            return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        with in_shell_language(), clear_errors(), usage_in_one_sentence(self):
            return super().invoke(ctx)

    def help_command(self, ctx: click.Context) -> str:
        """Return the command whose --help explains the arguments of ``ctx``."""
        return f"{ctx.command_path} --help"


@contextmanager
def usage_in_one_sentence(group: DeskGroup) -> Iterator[None]:
    """Turn click's usage errors (a wrong option or value) into one sentence and exit status 1.

    Click prints the usage line, a hint and the error on three lines with status 2; a
    group run without a command still shows its help.
    """
    try:
        yield
    except click.exceptions.NoArgsIsHelpError:
        raise
    except click.UsageError as exc:
        error = exc.format_message().rstrip(".")
        if exc.ctx:
            error = _("%(error)s; see `%(command)s`", error=error, command=group.help_command(exc.ctx))
        raise click.ClickException(as_sentence(error)) from exc


def database_problem(exc: Exception) -> str:
    """Explain a database failure in words a newcomer can act on."""
    text = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return _("The database has no schema yet: run `flask db upgrade` first.")
    if "could not connect" in text or "unable to open database" in text or "Connection refused" in text:
        return _("Cannot reach the database (%(problem)s); check DATABASE_URL.", problem=text)
    return _("The database refused the operation: %(problem)s", problem=text)


def init_app(app: Flask) -> None:
    from app.cli import (
        access,
        accounts,
        agents,
        archive,
        audit,
        demo,
        mailbox,
        policy,
        records,
        search,
        search_index,  # noqa: F401  (adds reindex and check to the search group)
        usage,
        worker,
    )

    for module in (access, accounts, agents, archive, audit, demo, mailbox, policy, records, search,
                   usage):
        app.cli.add_command(module.group)
    app.cli.add_command(worker.command)

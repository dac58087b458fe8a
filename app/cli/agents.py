"""``flask agents``: staff who sign in to the console, inviting them, their roles, disabling them,
resetting their password, and their two-factor sign-in (set up on a headless server, or reset
when a phone is lost). The same services serve the administration pages."""

import sys

import click
import segno
from flask_babel import gettext as _

from app.access.rules import ROLES, role_words
from app.cli import DeskGroup
from app.cli.output import echo_json, echo_table
from app.extensions import db
from app.passwords import MIN_LENGTH
from app.runtime import now, secret_box
from app.services import password_links, two_factor
from app.services.agents import (
    add_agent,
    agent_with_email,
    change_role,
    check_new_agent,
    disable_agent,
    enable_agent,
    list_agents,
)
from config import read_secret

group = DeskGroup("agents", help="Staff who sign in to the console: invite, add, list, roles, disable.")


@group.command("add")
@click.argument("email")
@click.option("--name", required=True, help="The agent's name as colleagues see it.")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="agent works tickets; manager also searches and audits; admin configures.")
@click.option("--password-env", metavar="VAR",
              help="Read the password from this environment variable instead of a prompt.")
def add(email, name, role, password_env):
    """Add an agent EMAIL; the password is asked for at a hidden prompt."""
    # Checked before the prompt, so nobody types a password for a doomed command.
    check_new_agent(db.session, email, name, role)
    agent = add_agent(db.session, email, name, role, _password(password_env))
    db.session.commit()
    click.echo(_("Added %(role)s %(email)s (id %(id)s).", role=agent.role, email=agent.email, id=agent.id))


def _password(password_env: str | None) -> str:
    if password_env is None:
        return click.prompt(_("Password (at least %(min)s characters)", min=MIN_LENGTH), hide_input=True,
                            confirmation_prompt=_("Repeat the password"), err=True)
    password = read_secret(password_env)
    if password is None:
        raise click.ClickException(_("The environment variable %(name)s is not set.", name=password_env))
    return password


@group.command("invite")
@click.argument("email")
@click.option("--name", required=True, help="The agent's name as colleagues see it.")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="agent works tickets; manager also searches and audits; admin configures.")
def invite(email, name, role):
    """Invite agent EMAIL: they are emailed a link to set their password, and sign in after."""
    link = password_links.invite_agent(db.session, email, name, role, by=None, now=now())
    _send(link)
    click.echo(_("Invited %(role)s %(email)s (id %(id)s); the link to set a password was emailed and works "
                 "until %(until)s UTC.", role=link.agent.role, email=link.agent.email, id=link.agent.id,
                 until=f"{link.expires_at:%Y-%m-%d %H:%M}"))


@group.command("reset-password")
@click.argument("email")
def reset_password(email):
    """Remove the password of agent EMAIL, end their sessions and email them a link to set a new one."""
    agent = agent_with_email(db.session, email)
    link = password_links.reset_password(db.session, agent, by=None, now=now())
    _send(link)
    click.echo(_("The password of %(email)s was removed and their sessions ended; the link to set a new one "
                 "was emailed and works until %(until)s UTC.", email=agent.email,
                 until=f"{link.expires_at:%Y-%m-%d %H:%M}"))


def _send(link: password_links.PasswordLink) -> None:
    # Committed only once the mail server took the link: otherwise nothing changed.
    try:
        password_links.send_link(link)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()


@group.command("role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
def role(email, role):
    """Give agent EMAIL the ROLE agent, manager or admin (the last administrator stays one)."""
    agent = change_role(db.session, email, role, by=None, now=now())
    db.session.commit()
    click.echo(_("%(email)s is now %(role)s.", email=agent.email, role=role_words(agent.role)))


@group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json):
    """List agents with their roles (never a password or its hash)."""
    rows = list_agents(db.session)
    if as_json:
        echo_json(rows)
        return
    echo_table([{**r, "disabled": "disabled" if r["disabled"] else "",
                 "two_factor": "on" if r["two_factor"] else ""} for r in rows],
               ["id", "email", "name", "role", "disabled", "two_factor", "created_at"])


@group.command("disable")
@click.argument("email")
def disable(email):
    """Disable agent EMAIL: sign-in is refused and their open sessions end at once."""
    agent = disable_agent(db.session, email, now=now())
    db.session.commit()
    click.echo(_("Disabled %(email)s; their sessions and remembered sign-ins are revoked.",
                 email=agent.email))


@group.command("enable")
@click.argument("email")
def enable(email):
    """Let a disabled agent EMAIL sign in again."""
    agent = enable_agent(db.session, email, now=now())
    db.session.commit()
    click.echo(_("Enabled %(email)s.", email=agent.email))


@group.command("setup-two-factor")
@click.argument("email")
@click.option("--code", help="The code the authenticator app shows, to finish a setup begun before.")
def setup_two_factor(email, code):
    """Set up two-factor sign-in for agent EMAIL, in two steps.

    First without --code: prints the key (and a QR code) for the authenticator app. Then
    with --code and the code the app shows: turns it on and prints the recovery codes.
    """
    agent = agent_with_email(db.session, email)
    if code is None:
        secret = two_factor.start_setup(db.session, agent, secret_box())
        db.session.commit()
        uri = two_factor.provisioning_uri(agent, secret, "Support desk")
        segno.make(uri, error="m").terminal(out=sys.stderr, compact=True)
        click.echo(_("Key for the authenticator app of %(email)s: %(secret)s\n"
                     "Then run: flask agents setup-two-factor %(email)s --code CODE",
                     email=agent.email, secret=secret))
        return
    codes = two_factor.confirm_setup(db.session, agent, code, now(), secret_box())
    db.session.commit()
    click.echo(_("Two-factor sign-in is on for %(email)s; their other sessions ended. Recovery codes, each "
                 "good once (shown only now):", email=agent.email))
    for recovery in codes:
        click.echo(f"  {recovery}")


@group.command("reset-two-factor")
@click.argument("email")
def reset_two_factor(email):
    """Remove the authenticator and recovery codes of agent EMAIL (a lost phone) and end their sessions."""
    agent = agent_with_email(db.session, email)
    two_factor.reset(db.session, agent, now(), by=None)
    db.session.commit()
    click.echo(_("Two-factor sign-in of %(email)s was removed and their sessions ended; they set it up again "
                 "at their next sign-in.", email=agent.email))

"""The worker: one APScheduler process that polls mailboxes, keeps the index current,
rolls the request log up, sends the notices that are due and emails agents their notifications.

Jobs are declared as data in ``JOBS``.  With the Whoosh index, the worker holds the index
writer role for its whole life, so the index never has two writers; a second worker on
the same machine refuses to start.  With the index in PostgreSQL, workers on several
machines run side by side: each folder is polled by whichever holds its lease, and a job
that must run once across them all (``Job.once``) runs in the worker that takes its
lock in the database, while the others skip that run.
Where the server offers IMAP IDLE, one thread per folder waits for new mail and
brings the next poll forward, so mail is archived and searchable within seconds.
"""

from __future__ import annotations

import logging
import signal
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, current_app
from sqlalchemy import func, select

from app.access.grants import expire_due
from app.extensions import db
from app.runtime import now, poll_settings, raw_store, search_index
from app.search.errors import WriterBusy
from app.services.access_notices import WAITING, send, send_new_links
from app.services.errors import ServiceError
from app.services.indexing import index_pending
from app.services.mailboxes import mailbox_state, mailboxes_named, poll_mailboxes
from app.services.notification_emails import send_notification_emails
from app.services.notifications import notify_grants_ending
from app.services.policy import owe_notices_to_new_contacts
from app.services.policy_notices import send_policy_notices
from app.services.request_log import roll_up
from mailbox.errors import MailboxError
from mailbox.poller import open_source

log = logging.getLogger("desk.worker")
IDLE_SECONDS = 300  # RFC 2177 asks clients to re-issue IDLE at least every 29 minutes
# Set by SIGTERM or SIGINT: running jobs end after the batch they are on (see run_worker).
STOPPING = threading.Event()
# Set when IMAP IDLE reports a change: the poll running now, if one is, polls once more.
POLL_AGAIN = threading.Event()


@dataclass(frozen=True)
class Job:
    id: str
    run: Callable[[], None]
    seconds_setting: str
    # "all": one run at a time across every worker on the database; "index": so too, where
    # the index is shared (in the database), but each machine's own where it is Whoosh's.
    once: str = ""


def poll_all() -> None:
    """Poll every configured mailbox, again while IDLE reported changes meanwhile; log one
    line per folder and poll."""
    settings = replace(poll_settings(), should_stop=STOPPING.is_set)
    while True:
        POLL_AGAIN.clear()
        for report in poll_mailboxes(db.session, None, settings):
            level = logging.WARNING if report.errors else logging.INFO
            log.log(level, "%s", report.line())
        _send_new_links()
        if not POLL_AGAIN.is_set() or STOPPING.is_set():
            return


def _poll_soon(scheduler: BlockingScheduler) -> None:
    """Bring the next poll forward to now; a poll running now polls once more when done.

    The scheduler runs one poll at a time and skips a run asked for while one runs, so
    mail that arrived after a running poll had listed the folder would wait for the next
    interval without the flag.
    """
    POLL_AGAIN.set()
    scheduler.modify_job("poll-mailboxes", next_run_time=datetime.now(UTC))


def _send_new_links() -> None:
    sent = send_new_links()
    if sent:
        log.info("emailed %d new link(s) in place of links found in archived mail", sent)


def index_new_mail() -> None:
    """Index archived messages that the index does not hold yet."""
    count = index_pending(db.session, search_index(), store=raw_store(), should_stop=STOPPING.is_set)
    if count:
        log.info("indexed %d message(s)", count)


def tidy_access() -> None:
    """Expire undecided requests, tell everyone about grants that ran out, and replace leaked links.

    Access itself never waits for this job: the policy checks the clock at each request.
    """
    due = expire_due(db.session, now())
    try:
        send(due)  # before the commit, so that notices that could not be sent are tried again
    except ServiceError as exc:
        db.session.rollback()
        WAITING.note("access notices", exc)
    else:
        db.session.commit()
        if due:
            WAITING.sent("access notices")
            log.info("sent %d access notice(s)", len(due))
    _send_new_links()


def roll_up_request_log() -> None:
    """Roll up the request log's days older than REQUEST_LOG_DAYS into daily totals."""
    done = roll_up(db.session, now(), current_app.config["REQUEST_LOG_DAYS"], should_stop=STOPPING.is_set)
    if done.days:
        log.info("rolled up %d request(s) of %d day(s) into %d daily total(s)",
                 done.requests, len(done.days), done.totals)


def send_policy_notices_due() -> None:
    """Owe the latest privacy policy version's notice to new contacts, and send every notice due.

    Each notice is claimed in the database before it is sent, so every worker runs this
    job and shares the sending, and none sends a notice another has taken.
    """
    owe_notices_to_new_contacts(db.session, now())
    db.session.commit()
    _send_outbox("privacy policy notices", send_policy_notices)


def _send_outbox(what: str, send_due) -> None:
    """Send what an outbox (``app.services.outbox``) has due, and keep the health page told."""
    try:
        report = send_due(db.session, now, should_stop=STOPPING.is_set)
    except ServiceError as exc:  # SMTP_URL is not set
        WAITING.note(what, exc)
        return
    if report.sent:
        log.info("sent %d of the %s", report.sent, what)
    if report.failed:
        WAITING.note(what, ServiceError(f"{report.failed} not sent, the last because {report.last_error}"))
    elif report.sent:
        WAITING.sent(what)


def notify_agents() -> None:
    """Tell agents whose grants are about to end, and email the notifications agents chose to get
    by email.

    Each grant and each email is claimed in the database first, so every worker runs this
    job and none tells an agent twice.
    """
    lead = timedelta(minutes=current_app.config["GRANT_ENDING_NOTICE_MINUTES"])
    told = notify_grants_ending(db.session, now(), lead)
    db.session.commit()
    if told:
        log.info("told %d agent(s) that their access to records ends soon", told)
    _send_outbox("notification emails to agents", send_notification_emails)


JOBS = (
    # Folders are polled under leases, each by one worker at a time (mailbox.poller).
    Job("poll-mailboxes", poll_all, "POLL_INTERVAL_SECONDS"),
    Job("index-new-mail", index_new_mail, "INDEX_INTERVAL_SECONDS", once="index"),
    # Notices are marked sent in the transaction that sends them: one worker at a time
    # means one notice.
    Job("tidy-access", tidy_access, "ACCESS_TIDY_INTERVAL_SECONDS", once="all"),
    # Safe in two processes at once as well (app.services.request_log); once saves the work.
    Job("roll-up-request-log", roll_up_request_log, "REQUEST_LOG_ROLLUP_SECONDS", once="all"),
    # Not once: each notice is claimed by one worker before it is sent (app.services.policy_notices).
    Job("policy-notices", send_policy_notices_due, "POLICY_NOTICE_INTERVAL_SECONDS"),
    # Not once either: each grant and each email is claimed before an agent is told
    # (app.services.notifications, app.services.notification_emails).
    Job("notify-agents", notify_agents, "NOTIFICATION_INTERVAL_SECONDS"),
)


def run_worker(app: Flask) -> None:
    """Run the scheduler until SIGINT or SIGTERM."""
    index = app.extensions["search_index"]
    try:
        index.acquire_writer()
    except WriterBusy:
        raise ServiceError(
            f"another worker is already running (it holds the index lock in {index.path})"
        ) from None
    with app.app_context():
        removed = raw_store().remove_leftovers()
    if removed:
        log.info("removed %d half-written raw file(s) left by an interrupted write", removed)
    scheduler = BlockingScheduler(timezone=UTC)
    shared_index = not index.single_writer
    for job in JOBS:
        once = job.once == "all" or (job.once == "index" and shared_index)
        scheduler.add_job(_in_context(app, job.run, job.id if once else None), "interval",
                          id=job.id, name=job.id,
                          seconds=app.config[job.seconds_setting], max_instances=1,
                          coalesce=True, next_run_time=datetime.now(UTC))
    stop = threading.Event()
    if app.config["IMAP_IDLE"]:
        _start_idle_watchers(app, scheduler, stop)
    STOPPING.clear()

    def on_signal(*_) -> None:
        if not STOPPING.is_set():
            STOPPING.set()
            log.info("stopping: running jobs end after their current batch")
            scheduler.shutdown(wait=False)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    log.info("worker started: %s", ", ".join(j.id for j in JOBS))
    if not app.config["SMTP_URL"]:
        log.warning("SMTP_URL is not set: access and privacy policy notices wait until it is, "
                    "and replies are refused")
    try:
        scheduler.start()
    finally:
        # Every batch is committed whole, with its checkpoint; the writer role is given up
        # only once the running jobs have ended after theirs, so no other worker writes
        # the index while this one still does.
        RUNNING.wait_until_none()
        stop.set()
        index.release_writer()
        log.info("worker stopped")


def _in_context(app: Flask, func: Callable[[], None], once: str | None = None) -> Callable[[], None]:
    """Wrap a job for the scheduler; with ``once``, the name of the job's lock across workers."""
    def run() -> None:
        with RUNNING.one(), app.app_context():
            if STOPPING.is_set():  # started as the worker stops: leave it to the next worker
                return
            try:
                with once_across_workers(once) as mine:
                    if mine:
                        func()
            except Exception:  # a failed run is logged; the next run tries again
                log.exception("job %s failed", func.__name__)
                db.session.rollback()
    return run


@contextmanager
def once_across_workers(name: str | None) -> Iterator[bool]:
    """Hold the database's lock for the job ``name``; yield False when another worker holds it.

    On PostgreSQL the lock is an advisory lock of the session of a connection kept for the
    run, so a worker that dies lets go of it with its connection. SQLite is one machine
    with one worker (the index lock sees to it): there is nothing to share.
    """
    if name is None or db.engine.dialect.name != "postgresql":
        yield True
        return
    key = zlib.crc32(f"desk-job:{name}".encode())
    with db.engine.connect() as connection:
        mine = bool(connection.scalar(select(func.pg_try_advisory_lock(key))))
        connection.commit()
        try:
            yield mine
        finally:
            if mine:
                connection.scalar(select(func.pg_advisory_unlock(key)))
                connection.commit()


class _RunningJobs:
    """Counts the jobs running now, so that stopping can wait for them to end."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    @contextmanager
    def one(self) -> Iterator[None]:
        with self._changed:
            self._count += 1
        try:
            yield
        finally:
            with self._changed:
                self._count -= 1
                self._changed.notify_all()

    def wait_until_none(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._count == 0)


RUNNING = _RunningJobs()


def _start_idle_watchers(app: Flask, scheduler: BlockingScheduler, stop: threading.Event) -> None:
    with app.app_context():
        targets = watch_targets(db.session, poll_settings())
    for mailbox, folder, source in targets:
        thread = threading.Thread(target=_idle_loop, args=(source, mailbox, folder, scheduler, stop),
                                  name=f"idle-{mailbox}-{folder}", daemon=True)
        thread.start()


def watch_targets(session, settings) -> list[tuple[str, str, object]]:
    """Return (mailbox, folder, source) for each folder an IDLE watcher should wait on.

    Paused mailboxes, and OAuth2 ones not connected or needing reconnecting, are not
    watched, as they are not polled. A mailbox paused or resumed while the worker runs
    keeps its watchers, or gets them, at the worker's next start; polls follow its state
    at once.
    """
    targets = []
    for mailbox in mailboxes_named(session, None):
        if mailbox_state(mailbox) != "active":
            continue
        try:
            # A source per folder: each watcher's thread holds a connection of its own.
            targets += [(mailbox.name, f.name, open_source(mailbox, settings)) for f in mailbox.folders]
        except MailboxError:
            continue  # not configured enough to poll: the poll reports why
    return targets


def _idle_loop(source, mailbox: str, folder: str, scheduler: BlockingScheduler,
               stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with source:
                if not source.can_wait():
                    log.info("%s offers no IDLE; polling on the interval only", mailbox)
                    return
                source.wait_for_change(folder, 0)  # opens the folder: watching starts here
                # Mail that arrives from here on is reported when IDLE begins, or during it;
                # mail that arrived since the last poll listed the folder (before this
                # connection, or while it was down) is polled now.
                _poll_soon(scheduler)
                log.info("IDLE on %s/%s: new mail is polled at once", mailbox, folder)
                while not stop.is_set():
                    if source.wait_for_change(folder, IDLE_SECONDS):
                        _poll_soon(scheduler)
        except MailboxError as exc:
            log.warning("IDLE on %s/%s: %s; retrying in 30 s", mailbox, folder, exc)
            stop.wait(30)

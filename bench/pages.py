"""Console pages at a large archive: each page alone, on SQLite and on PostgreSQL.

It fills a database with N messages (default 300,000) spread over two years, their
bodies of 20 words drawn from 5,000 made-up ones by Zipf's law, in tickets of three
messages on average across 200 accounts (5 % of tickets open, 2 %
pending), with a request log of 50,000 requests over the last week, then signs in as an
administrator and times each console page in this process (Flask's test client: the
application's own work, without a network or a server's threads), as p50 and max of
``--repeat`` runs after one warm-up. The rows are written directly, without raw
messages: what is timed is what the pages read from the database.

Usage, from the repository root::

    .venv/bin/python -m bench.pages                                  # SQLite, N = 300,000
    .venv/bin/python -m bench.pages --postgresql postgresql://postgres@127.0.0.1/test
    .venv/bin/python -m bench.pages --messages 30000 --work /var/tmp/desk-pages --json

With ``--work`` the databases are kept and reused while they hold N messages.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.ingest import machine, postgres_schema, work_folder

PASSWORD = "bench-password-123"
ACCOUNTS = 200
# Bodies of 20 words drawn from 5,000 made-up words by Zipf's law, as words in mail are:
# the word of rank r stands in about 2.2/r of the messages (20 % for rank 10, 1 % for 200).
VOCABULARY_SIZE = 5_000
BODY_WORDS = 20
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def word(rank: int) -> str:
    """Return the made-up word of this rank (1 is the commonest): three syllables or more."""
    n, parts = rank + len(_SYLLABLES) ** 2, []
    while n:
        n, digit = divmod(n, len(_SYLLABLES))
        parts.append(_SYLLABLES[digit])
    return "".join(parts)


def body(rng: random.Random, m: int) -> str:
    ranks = rng.choices(range(1, VOCABULARY_SIZE + 1), _ZIPF, k=BODY_WORDS)
    return f"Message {m}: " + " ".join(word(r) for r in ranks) + "."


_ZIPF = [1 / r for r in range(1, VOCABULARY_SIZE + 1)]
PAGES = (
    ("queue: open", "/tickets"),
    ("queue: closed", "/tickets?status=closed"),
    ("queue: closed, page 50", "/tickets?status=closed&page=50"),
    ("queue: one account", "/tickets?status=closed&account={account}"),
    ("ticket", "/tickets/{ticket}"),
    ("accounts", "/accounts"),
    ("account", "/accounts/{account}"),
    ("dashboard", "/manage/dashboard"),
    ("audit log", "/manage/audit"),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgresql", metavar="URL", help="also on this PostgreSQL database")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--work", type=Path, help="keep the databases here, and reuse them")
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def application(url: str, work: Path):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(work / "instance"),
                       "RAW_STORE_PATH": str(work / "raw"), "INDEX_PATH": str(work / "index"),
                       "TWO_FACTOR_ROLES": (), "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})


def fill(app, n: int, say) -> dict:
    """Write the archive's rows unless the database holds N messages; return ids to visit."""
    from flask_migrate import upgrade
    from sqlalchemy import func, insert, select

    from app import MIGRATIONS
    from app.extensions import db
    from app.models import Account, AccountDomain, Agent, Message, RequestLog, Ticket
    from app.services.agents import add_agent

    with app.app_context():
        upgrade(directory=MIGRATIONS)
        if db.session.scalar(select(func.count(Message.id))) == n:
            say("  reusing the database")
            return _visits(db.session)
        if db.session.scalar(select(func.count(Message.id))):
            raise SystemExit("the database holds another archive: give a fresh --work folder")
        rng = random.Random(1)
        now = datetime.utcnow().replace(microsecond=0)
        start = now - timedelta(days=730)
        if db.session.scalar(select(func.count(Agent.id))) == 0:
            add_agent(db.session, "admin@bench.example", "Bench Admin", "admin", PASSWORD)
        db.session.execute(insert(Account), [{"id": i, "name": f"Account {i}", "created_at": start}
                                             for i in range(1, ACCOUNTS + 1)])
        db.session.execute(insert(AccountDomain), [{"account_id": i, "domain": f"a{i}.example"}
                                                   for i in range(1, ACCOUNTS + 1)])
        tickets = n // 3
        ticket_rows, message_rows = [], []
        written = 0
        for t in range(1, tickets + 1):
            opened = start + timedelta(seconds=730 * 86400 * t / tickets)
            roll = rng.random()
            status = "open" if roll < 0.05 else "pending" if roll < 0.07 else "closed"
            ticket_rows.append({"id": t, "account_id": rng.randint(1, ACCOUNTS), "subject": f"Question {t}",
                                "status": status, "created_at": opened, "last_activity_at": opened,
                                "assignee_id": 1 if rng.random() < 0.3 else None})
        db.session.execute(insert(Ticket), ticket_rows)
        for m in range(1, n + 1):
            t = ticket_rows[min((m - 1) // 3, tickets - 1)]
            when = t["created_at"] + timedelta(hours=(m - 1) % 3 * 5)
            message_rows.append({
                "id": m, "sha256": f"{m:064x}", "size": 4000, "subject": t["subject"],
                "direction": "outbound" if (m - 1) % 3 == 1 else "inbound",
                "from_addr": f"person{m % 997}@a{t['account_id']}.example", "date_utc": when,
                "archived_at": when, "account_id": t["account_id"], "ticket_id": t["id"],
                "body_text": body(rng, m), "indexed_at": when,
                "shown_as_html": False})
            if len(message_rows) == 5000:
                db.session.execute(insert(Message), message_rows)
                written += len(message_rows)
                message_rows = []
                say(f"  {written:,} of {n:,} messages")
        if message_rows:
            db.session.execute(insert(Message), message_rows)
        log_rows = [{"at": now - timedelta(seconds=rng.randint(0, 7 * 86400)), "route": "console.queue",
                     "method": "GET", "status": 200, "duration_ms": rng.uniform(5, 80),
                     "account_id": rng.choice([None, rng.randint(1, ACCOUNTS)])} for _ in range(50_000)]
        db.session.execute(insert(RequestLog), log_rows)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        return _visits(db.session)


def _visits(session) -> dict:
    from sqlalchemy import func, select

    from app.models import Message

    busiest = session.execute(select(Message.account_id, func.count()).group_by(Message.account_id)
                              .order_by(func.count().desc()).limit(1)).one()[0]
    ticket = session.scalar(select(Message.ticket_id).order_by(Message.id.desc()).limit(1))
    return {"account": busiest, "ticket": ticket}


def time_pages(app, visits: dict, repeat: int) -> dict:
    client = app.test_client()
    signed_in = client.post("/login", data={"email": "admin@bench.example", "password": PASSWORD})
    if signed_in.status_code != 302:
        raise SystemExit(f"could not sign in: {signed_in.status_code}")
    results = {}
    for name, path in PAGES:
        url = path.format(**visits)
        if client.get(url).status_code != 200:
            raise SystemExit(f"{url} did not answer 200")
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
        results[name] = {"path": url, "p50_ms": round(statistics.median(samples), 1),
                         "max_ms": round(max(samples), 1)}
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if args.json else print
    report = {"machine": machine(), "python": platform.python_version(), "messages": args.messages,
              "repeat": args.repeat, "databases": {}}
    with work_folder(args.work, "desk-bench-pages-") as work:
        databases = [] if args.no_sqlite else [("sqlite", f"sqlite:///{work / f'pages-{args.messages}.db'}")]
        if args.postgresql:
            schema = f"desk_bench_pages_{args.messages}"
            databases.append(("postgresql", postgres_schema(args.postgresql, schema)))
        for name, url in databases:
            say(f"{name}: {args.messages:,} messages")
            app = application(url, work)
            started = time.perf_counter()
            visits = fill(app, args.messages, say)
            say(f"  ready in {time.perf_counter() - started:.0f} s")
            report["databases"][name] = pages = time_pages(app, visits, args.repeat)
            for page, figures in pages.items():
                say(f"  {page:<24} p50 {figures['p50_ms']:7.1f} ms   max {figures['max_ms']:7.1f} ms")
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A team's load: signed-in agents working the console through gunicorn, over loopback.

For each setup (PostgreSQL with its search backend, and the embedded defaults, SQLite
and Whoosh), it builds an archive of N messages (default 100,000; the rows of
``bench.pages``, indexed by ``flask search reindex``'s own code), starts gunicorn as the
README runs it (``gunicorn --workers 4``, reading ``gunicorn.conf.py``), signs in 50
agents, and has them request a fixed mix of pages (the queue 35 %, a ticket 30 %, an
account 15 %, a search 20 %) in two phases, each bounded in time:

(a) at a human pace: each agent waits a random time (exponential, 3 s on average)
    between requests; p50, p95 and p99 of the response times, and errors (any answer but
    200, or none);
(b) without pause: every agent sends its next request as soon as the last one answered;
    requests per second at saturation, with the same percentiles.

The agents are threads of this process, on the same machine as the server: what they
use of the CPUs is not the server's, so (b) is a floor of what the server alone could do.

Usage, from the repository root::

    .venv/bin/python -m bench.load --postgresql postgresql://postgres@127.0.0.1/test
    .venv/bin/python -m bench.load --messages 20000 --seconds 20 --json
    .venv/bin/python -m bench.load --no-sqlite --postgresql URL --work /var/tmp/desk-load
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from bench.ingest import REPO, machine, postgres_schema, work_folder
from bench.pages import ACCOUNTS, PASSWORD, application, fill, word

AGENTS = 50
MIX = (("queue", 35), ("ticket", 30), ("account", 15), ("search", 20))
# Words of the bodies by how many messages hold them (bench.pages.word): about 20 %, 5 %,
# 1 % and 0.1 %; two words; a phrase; a word without another; fields and dates.
SEARCHES = (word(10), word(40), word(200), word(2000), f"{word(10)} {word(40)}", f'"{word(10)} {word(40)}"',
            f"{word(40)} -{word(10)}", "from:a7.example", "date:2025-06", f'account:"Account 12" {word(40)}')


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=AGENTS)
    parser.add_argument("--seconds", type=float, default=60.0, help="the length of each phase")
    parser.add_argument("--think", type=float, default=3.0, help="mean seconds between an agent's requests")
    parser.add_argument("--postgresql", metavar="URL", help="run the PostgreSQL setup on this database")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite and Whoosh setup")
    parser.add_argument("--work", type=Path, help="keep the archives here, and reuse them")
    parser.add_argument("--json", action="store_true")
    return parser.parse_args(argv)


def prepare(setup: str, url: str, work: Path, n: int, agents: int, say) -> dict:
    """Fill the archive, index it, add the agents; return the ids the agents visit."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Agent, Message, Ticket
    from app.runtime import search_index
    from app.services.agents import add_agent
    from app.services.indexing import check_index, rebuild_index

    app = application(url, work) if setup == "sqlite" else _postgres_app(url, work)
    fill(app, n, say)
    with app.app_context():
        have = db.session.scalar(select(func.count(Agent.id)).where(Agent.role == "agent"))
        for i in range(have, agents):
            add_agent(db.session, f"agent{i}@bench.example", f"Agent {i}", "agent", PASSWORD)
        db.session.commit()
        index = search_index()
        if check_index(db.session, index).in_both != n:
            say(f"  indexing {n:,} messages ({index.name})")
            rebuild_index(db.session, index, None)
        tickets = db.session.scalar(select(func.max(Ticket.id)))
        assert db.session.scalar(select(func.count(Message.id))) == n
    return {"tickets": tickets}


def _postgres_app(url: str, work: Path):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(work / "instance-pg"),
                       "SEARCH_BACKEND": "postgresql", "TWO_FACTOR_ROLES": ()})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(setup: str, url: str, work: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "TWO_FACTOR_ROLES": "",
           "DESK_INSTANCE_PATH": str(work / ("instance" if setup == "sqlite" else "instance-pg")),
           "INDEX_PATH": str(work / "index"), "RAW_STORE_PATH": str(work / "raw"),
           "SEARCH_BACKEND": "whoosh" if setup == "sqlite" else "postgresql"}
    command = [sys.executable, "-m", "gunicorn", "--workers", "4", "--bind", f"127.0.0.1:{port}",
               "--access-logfile", "/dev/null"]
    server = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5):
                return server, base
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn stopped: {server.stderr.read()}") from None
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 60 s")


class Agent:
    def __init__(self, base: str, n: int) -> None:
        self.base = base
        cookies = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        self.opener = urllib.request.build_opener(cookies)
        page = self.opener.open(f"{base}/login", timeout=30).read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        form = urlencode({"csrf_token": token, "email": f"agent{n}@bench.example", "password": PASSWORD,
                          "next": ""}).encode()
        self.opener.open(f"{base}/login", data=form, timeout=30).read()

    def get(self, path: str) -> tuple[float, bool]:
        started = time.perf_counter()
        try:
            with self.opener.open(self.base + path, timeout=30) as response:
                response.read()
                ok = response.status == 200
        except (urllib.error.URLError, OSError):
            ok = False
        return (time.perf_counter() - started) * 1000, ok


def next_request(rng: random.Random, visits: dict) -> tuple[str, str]:
    """Return the kind of page and the path of an agent's next request."""
    kind = rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
    if kind == "queue":
        return kind, rng.choice(["/tickets", "/tickets?queue=unassigned", "/tickets?status=pending",
                                 f"/tickets?status=closed&page={rng.randint(1, 20)}"])
    if kind == "ticket":
        return kind, f"/tickets/{rng.randint(1, visits['tickets'])}"
    if kind == "account":
        return kind, f"/accounts/{rng.randint(1, ACCOUNTS)}"
    return kind, "/search?" + urlencode({"q": rng.choice(SEARCHES)})


def phase(agents: list[Agent], visits: dict, seconds: float, think: float | None) -> dict:
    samples: list[tuple[str, float]] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def work(agent: Agent, seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        if think:
            time.sleep(rng.uniform(0, think))  # agents do not all start at once
        while time.monotonic() < stop_at:
            kind, path = next_request(rng, visits)
            took, ok = agent.get(path)
            with lock:
                samples.append((kind, took))
                errors += not ok
            if think:
                time.sleep(min(rng.expovariate(1 / think), max(0.0, stop_at - time.monotonic())))

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(agent, i)) for i, agent in enumerate(agents)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    by_kind = {kind: percentiles([took for k, took in samples if k == kind]) for kind, _ in MIX}
    return {"requests": len(samples), "errors": errors, "requests_per_s": round(len(samples) / elapsed, 1),
            **percentiles([took for _, took in samples]), "by_page": by_kind}


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1) if ordered else 0.0

    return {"p50_ms": round(statistics.median(ordered), 1) if ordered else 0.0, "p95_ms": pct(95),
            "p99_ms": pct(99)}


def run_setup(setup: str, url: str, args, work: Path, say) -> dict:
    say(f"{setup}: {args.messages:,} messages, {args.agents} agents")
    visits = prepare(setup, url, work, args.messages, args.agents, say)
    server, base = start_gunicorn(setup, url, work)
    try:
        agents = [Agent(base, n) for n in range(args.agents)]
        human = phase(agents, visits, args.seconds, args.think)
        say(f"  at a human pace: {human['requests']} requests, p50 {human['p50_ms']} ms, "
            f"p95 {human['p95_ms']} ms, p99 {human['p99_ms']} ms, {human['errors']} errors")
        flat_out = phase(agents, visits, args.seconds, None)
        say(f"  without pause: {flat_out['requests_per_s']} requests/s, p50 {flat_out['p50_ms']} ms, "
            f"p95 {flat_out['p95_ms']} ms, p99 {flat_out['p99_ms']} ms, {flat_out['errors']} errors")
    finally:
        server.terminate()
        server.wait(30)
    return {"human_pace": human, "saturation": flat_out}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if args.json else print
    report = {"machine": machine(), "python": platform.python_version(), "messages": args.messages,
              "agents": args.agents, "seconds": args.seconds, "think_s": args.think, "setups": {}}
    with work_folder(args.work, "desk-bench-load-") as work:
        setups = [] if args.no_sqlite else [("sqlite", f"sqlite:///{work / f'pages-{args.messages}.db'}")]
        if args.postgresql:
            schema = f"desk_bench_load_{args.messages}"
            setups.insert(0, ("postgresql", postgres_schema(args.postgresql, schema)))
        for setup, url in setups:
            report["setups"][setup] = run_setup(setup, url, args, work, say)
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Search benchmark: index build rate, index size and query latency at growing N, with notmuch.

It builds an archive of N messages from a corpus folder, repeating the corpus with
varied dates and sender addresses to reach N (each copy moves the Date header by a
whole number of weeks and puts a copy number in the sender's local part, so no two
messages are alike), and reports in one run, per N:

(a) the index build rate: documents (parsed text, sender, recipients, attachment names,
    account, date) written into a fresh index in one write, as ``flask search reindex``
    writes them (parsing is measured by ``bench.ingest``; making each document from the
    parsed corpus is timed with the write, and costs little beside it), and the size of
    the index folder; with ``--batches``, written as the worker writes new mail instead,
    in commits of 2,000, timing the writes only, where Whoosh's merges of small segments
    make the rate fall as N grows;
(b) p50 and p95 latency of a fixed mix of 20 queries in the product's query language,
    at the search function (``app.search.query.search_messages``, first page of 20,
    with facets), each query run several times after one warm-up; and again without
    snippets, as notmuch's summary output has none;
(c) the same through the search page over HTTP (``GET /search?q=...`` on a local
    werkzeug server, signed in, its SQLite database holding every message's body),
    which adds the page's rendering and snippets highlighted in the full bodies;
(d) notmuch over the same messages (``notmuch new`` on a Maildir of the same bytes,
    then ``notmuch search --limit=20`` per query as a subprocess; the process start is
    part of its figure, and a count of a query that matches nothing, ``notmuch count
    id:no-such-message``, is reported as that floor: starting, opening the database,
    answering nothing).
(e) in a fresh process (``bench.memory``): the first search after start, the first after
    a commit, and the process's memory at rest, after one search and after 8 searches
    at once (resident, and anonymous: what the process holds alone);
(g) with ``--postgresql URL``: the PostgreSQL search backend over the same documents, in a
    schema of its own per N (``desk_bench_n<N>``, kept and reused while it holds N
    documents): its build rate (one write, as ``flask search reindex``), the size of its
    tables with their indexes, and the function's p50/p95 with and without snippets;
(f) ``flask search WORDS`` as a user runs it (a new process each time, on the page's
    database and the index), beside the time Python takes to import the libraries any
    search command of this stack needs, and to import the application.

Usage, from the repository root::

    .venv/bin/python -m bench.search                       # N = 10,000, 100,000 and 300,000
    .venv/bin/python -m bench.search --sizes 10000 --json
    .venv/bin/python -m bench.search --no-notmuch --repeat 3
    .venv/bin/python -m bench.search --work /var/tmp/desk-bench   # keep what it builds, reuse it next time
    .venv/bin/python -m bench.search --postgresql postgresql://postgres@127.0.0.1/test

The corpus is read where it lies (default ``../shared/corpora/spamassassin/cur``) and
never copied into the repository; the archive is built in a temporary folder, or with
``--work`` in a folder that is kept: a later run with the same folder reuses each size's
index, Maildir and notmuch database, and reports the build figures of the run that built
them (so a change to query code can be measured again without building 300,000 messages).
An index of an older schema is built again; the Maildir and notmuch's database are kept.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlencode

from bench.ingest import CORPORA, REPO, machine, postgres_schema, work_folder

DEFAULT_CORPUS = CORPORA / "spamassassin" / "cur"
SIZES = (10_000, 100_000, 300_000)
CHUNK = 2000

# The fixed mix: common and rare words, AND, phrases, fields, dates, facets, sorting.
QUERIES = (
    ("common word", "please"),
    ("common word, by date", "please", "date"),
    ("rare word", "hydroponic"),
    ("two-word AND", "free software"),
    ("AND OR NOT", "(linux OR unix) NOT windows"),
    ("phrase", '"mailing list"'),
    ("phrase, two words", '"click here"'),
    ("from: address", "from:garym@canada.com"),
    ("subject:", "subject:perl"),
    ("date range, months", "date:2002-08..2002-09"),
    ("after: and a word", "after:2002-10-01 money"),
    ("before:", "before:2002-06-01"),
    ("word in date range", "date:2002-07..2002-08 spam"),
    ("has:attachment", "has:attachment"),
    ("filename:", "filename:gif"),
    ("account facet", 'account:"Account 3"'),
    ("account and word", 'account:"Account 5" offer'),
    ("negation with a word", "money -free"),
    ("another common word", "message"),
    ("to: address part", "to:yahoo.com"),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeat", type=int, default=5, help="runs of each query after a warm-up")
    parser.add_argument("--no-notmuch", action="store_true", help="skip the notmuch comparison")
    parser.add_argument("--batches", action="store_true",
                        help="build in commits of 2,000, as the worker indexes new mail, not in one write")
    parser.add_argument("--postgresql", metavar="URL",
                        help="also measure the PostgreSQL search backend in this database")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument("--work", type=Path, help="build in this folder and keep it; a later run with the "
                        "same folder reuses each size's index and notmuch database instead of building them")
    return parser.parse_args(argv)


def load_corpus(folder: Path) -> list[bytes]:
    if not folder.is_dir():
        raise SystemExit(f"the corpus folder {folder} does not exist (see ../shared/corpora)")
    return [p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()]


_DATE = re.compile(rb"^Date:[^\r\n]*(\r?\n[ \t][^\r\n]*)*", re.M | re.I)
_FROM = re.compile(rb"^From:([^\r\n]*?)([A-Za-z0-9._%+-]+)@", re.M | re.I)
_TO = re.compile(rb"^To:([^\r\n]*?)([A-Za-z0-9._%+-]+)@", re.M | re.I)
_MESSAGE_ID = re.compile(rb"^(Message-ID:\s*<)", re.M | re.I)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def varied(raw: bytes, copy: int, parsed_date) -> bytes:
    """Return copy number ``copy`` of a message: its date moved, its addresses and its
    Message-ID marked. notmuch keeps one message per Message-ID, whatever number of files
    carry it: copies that kept the original's would be one message to notmuch, and its
    database would hold the corpus's 6,000 messages at every N."""
    if copy == 0:
        return raw
    if parsed_date is not None:
        when = format_datetime(parsed_date + timedelta(weeks=copy * 3)).encode()
        raw = _DATE.sub(b"Date: " + when, raw, count=1)
    marker = f"copy{copy}.".encode()
    raw = _FROM.sub(lambda m: b"From:" + m.group(1) + marker + m.group(2) + b"@", raw, count=1)
    raw = _TO.sub(lambda m: b"To:" + m.group(1) + marker + m.group(2) + b"@", raw, count=1)
    end = _HEADER_END.search(raw)
    header_end = end.start() if end else len(raw)
    header = _MESSAGE_ID.sub(lambda m: m.group(1) + marker, raw[:header_end], count=1)
    return header + raw[header_end:]


def parsed_corpus(corpus: list[bytes]) -> list:
    """Parse each corpus message once; a message that cannot be parsed is None."""
    from mailbox.parse import parse_message

    parsed = []
    for raw in corpus:
        try:
            parsed.append(parse_message(raw))
        except Exception:  # archived raw and quarantined by the product; here, left out of the index text
            parsed.append(None)
    return parsed


def messages(corpus: list[bytes], parsed: list, n: int):
    """Yield (id, raw bytes, index document) for N messages made from the corpus."""
    from datetime import UTC

    for message_id, k, copy in _copies(len(corpus), n):
        p = parsed[k]
        date = p.date_utc.replace(tzinfo=UTC) if p is not None and p.date_utc else None
        yield message_id, varied(corpus[k], copy, date), document(message_id, p, copy)


def documents(corpus: list[bytes], parsed: list, n: int):
    """Yield the index documents of ``messages`` alone (without varying the raw bytes)."""
    for message_id, k, copy in _copies(len(corpus), n):
        yield document(message_id, parsed[k], copy)


def _copies(corpus_size: int, n: int):
    """Yield (message id, corpus index, copy number) for N messages made from the corpus."""
    for i in range(n):
        copy, k = divmod(i, corpus_size)
        yield i + 1, k, copy


def _marked(address: str, copy: int) -> str:
    return f"copy{copy}.{address}" if copy and "@" in address else address


def document(message_id: int, p, copy: int = 0):
    """Build the index document the product makes of a (varied) message, without database rows."""
    from app.search.index import IndexDocument

    if p is None:
        return IndexDocument(message_id, "", "", "", "", "", "", "", None, "", None, None, "", True, True,
                             "inbound")
    sender = _marked(p.from_addr, copy)
    to = [_marked(p.to[0], copy), *p.to[1:]] if p.to else []
    date = p.date_utc + timedelta(weeks=copy * 3) if p.date_utc else None
    return IndexDocument(
        id=message_id, subject=p.subject, body=p.text, sender=f"{p.from_name} {sender}".strip(),
        from_addr=sender, to=", ".join(to), cc=", ".join(p.cc), account=f"Account {message_id % 20}",
        account_id=message_id % 20, mailboxes="support", ticket=message_id, date=date,
        filenames=" ".join(a.filename for a in p.attachments if a.filename),
        unmatched=False, quarantined=False, direction="inbound", status="open",
    )


def build_index(path: Path, corpus: list[bytes], parsed: list, n: int, say, batches: bool = False) -> dict:
    """Write N documents into a fresh index, in one write (as a rebuild) or in commits of
    ``CHUNK`` (as the worker); return the rate and the index's size."""
    from app.search.index import SearchIndex

    index = SearchIndex(path)
    index.acquire_writer()
    try:
        if batches:
            seconds, written = _write_in_batches(index, corpus, parsed, n, say)
        else:
            started = time.perf_counter()
            written = index.write(documents(corpus, parsed, n), expected=n)
            seconds = time.perf_counter() - started
    finally:
        index.release_writer()
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return {"documents": written, "way": f"batches of {CHUNK}" if batches else "one write",
            "seconds": round(seconds, 1), "docs_per_s": round(written / seconds),
            "index_mib": round(size / 2**20, 1)}


def _write_in_batches(index, corpus: list[bytes], parsed: list, n: int, say) -> tuple[float, int]:
    seconds, written, batch = 0.0, 0, []
    for message_id, doc in enumerate(documents(corpus, parsed, n), 1):
        batch.append(doc)
        if len(batch) == CHUNK or message_id == n:
            started = time.perf_counter()
            written += index.write(batch, expected=len(batch))
            seconds += time.perf_counter() - started
            batch = []
            say(f"  indexed {written:,} of {n:,}")
    return seconds, written


def ensure_index(root: Path, corpus: list[bytes], parsed: list, n: int, say, batches: bool) -> dict:
    """Build the index of N messages in root/index, or reuse the one a finished build left."""
    from app.search.index import IndexOutdated, SearchIndex

    built = root / "build.json"  # written last: its presence means the index is whole
    if built.exists():
        try:
            held = SearchIndex(root / "index").open().doc_count()
        except IndexOutdated:
            say(f"  the index in {root} was built with another schema: building it again")
        else:
            if held == n:
                say(f"  reusing the index built in {root}")
                return json.loads(built.read_text())
            say(f"  the index in {root} holds {held:,} messages, not {n:,}: building it again")
        built.unlink()
    shutil.rmtree(root / "index", ignore_errors=True)  # what an interrupted build left
    build = build_index(root / "index", corpus, parsed, n, say, batches)
    built.write_text(json.dumps(build))
    return build


def ensure_maildir(root: Path, corpus: list[bytes], parsed: list, n: int, say) -> Path:
    """Write the same N messages, byte for byte, to root/mail for notmuch, unless a finished
    earlier run did. It is kept apart from the index, so that a change to the index schema
    rebuilds the index alone and notmuch's database is reused."""
    mail, written = root / "mail", root / "mail.json"
    # Maildirs written before copies got Message-IDs of their own are written again.
    if written.exists() and json.loads(written.read_text()).get("own_message_ids"):
        return mail
    shutil.rmtree(mail, ignore_errors=True)
    (root / "notmuch.json").unlink(missing_ok=True)  # its database went with the folder
    for part in ("cur", "new", "tmp"):
        (mail / part).mkdir(parents=True)
    for message_id, raw, _doc in messages(corpus, parsed, n):
        (mail / "cur" / f"{message_id}.bench:2,").write_bytes(raw)
    say(f"  wrote {n:,} messages to {mail}")
    written.write_text(json.dumps({"messages": n, "own_message_ids": True}))
    return mail


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p95_ms": round(p95 * 1000, 2)}


def time_queries(run, repeat: int, queries=QUERIES) -> tuple[dict, dict]:
    """Run each query once to warm up, then ``repeat`` times; return overall and per-query figures."""
    samples, per_query = [], {}
    for label, text, *sort in queries:
        run(text, sort[0] if sort else "relevance")
        mine = []
        for _ in range(repeat):
            started = time.perf_counter()
            total = run(text, sort[0] if sort else "relevance")
            mine.append(time.perf_counter() - started)
        samples += mine
        per_query[label] = {"query": text, "hits": total, **percentiles(mine)}
    return percentiles(samples), per_query


def function_runner(path: Path, snippets: bool = True, index=None):
    from app.search.index import SearchIndex
    from app.search.query import search_messages

    index = index or SearchIndex(path)

    def run(text: str, sort: str) -> int:
        return search_messages(index, text, page=1, pagelen=20, sort=sort, snippets=snippets).total

    return run


def http_runner(path: Path, work: Path, rows):
    """Serve the application on the built index and return a runner that fetches /search.

    The application's database holds a message row per indexed message (``rows``), with
    its full body, because the page highlights its snippets in the whole body text.
    """
    import http.cookiejar
    import urllib.request

    from sqlalchemy import insert
    from werkzeug.serving import make_server

    from app import create_app
    from app.extensions import db
    from app.models import Message
    from app.services.agents import add_agent

    database = work / "bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "INDEX_PATH": str(path),
                      "INSTANCE_PATH": str(work / "instance"), "RAW_STORE_PATH": str(work / "raw"),
                      "WTF_CSRF_ENABLED": False, "TESTING": False,
                      # The benchmark signs in as a manager to search, not to time two-factor sign-in.
                      "TWO_FACTOR_ROLES": ()})
    if not database.exists():
        with app.app_context():
            db.create_all()
            add_agent(db.session, "bench@desk.example", "Bench", "manager", "bench-password-123")
            batch = []
            for row in rows:
                batch.append(row)
                if len(batch) == CHUNK:
                    db.session.execute(insert(Message), batch)
                    batch = []
            if batch:
                db.session.execute(insert(Message), batch)
            db.session.commit()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request on the terminal
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    opener.open(f"{base}/login", data=urlencode({"email": "bench@desk.example",
                                                 "password": "bench-password-123"}).encode()).read()

    def run(text: str, sort: str) -> int:
        with opener.open(f"{base}/search?{urlencode({'q': text, 'sort': sort})}") as response:
            page = response.read().decode()
        found = re.search(r"<strong>([\d,]+)</strong> message", page)
        if found is None:
            raise RuntimeError(f"the search page gave no total for {text!r}")
        return int(found.group(1).replace(",", ""))

    return run, server


COMMAND_WORDS = ("money", "free software", "from:yahoo.com")
# What every `flask` command of this stack imports before it does anything: Flask's CLI
# loads the commands of Flask-Migrate (Alembic) and Flask-Limiter, a search needs
# SQLAlchemy, Whoosh and numpy.
STACK_IMPORTS = "import flask, flask_migrate, flask_limiter, flask_sqlalchemy, numpy, whoosh.index"


def postgres_index(url: str, corpus: list[bytes], parsed: list, n: int, say) -> tuple:
    """Build (or reuse) the PostgreSQL backend's tables of N documents; return the index and its build."""
    from sqlalchemy import create_engine, text

    from app.search import postgres

    schema = f"desk_bench_n{n}"
    engine = create_engine(postgres_schema(url, schema))
    postgres.metadata.create_all(engine)
    index = postgres.PostgresIndex(engine)
    built_at = Path(tempfile.gettempdir()) / f"desk-bench-{schema}.json"
    if built_at.exists() and len(index.stored_ids()) == n:
        say(f"  reusing the PostgreSQL search tables in schema {schema}")
        return index, json.loads(built_at.read_text())
    index.clear()
    started = time.perf_counter()
    written = index.write(documents(corpus, parsed, n))
    seconds = time.perf_counter() - started
    with engine.begin() as connection:
        connection.execute(text("ANALYZE search_document"))
        size = connection.scalar(text("SELECT pg_total_relation_size('search_document') "
                                      "+ pg_total_relation_size('search_chunk')"))
    build = {"documents": written, "seconds": round(seconds, 1), "docs_per_s": round(written / seconds),
             "tables_mib": round(size / 2**20, 1)}
    built_at.write_text(json.dumps(build))
    return index, build


def time_command(root: Path, repeat: int) -> dict:
    """Time ``flask search WORDS`` as a user runs it, on the benchmark's database and index,
    beside two floors: Python importing the stack's libraries, and importing the application."""
    env = {**os.environ, "FLASK_APP": "wsgi", "DATABASE_URL": f"sqlite:///{root / 'bench.db'}",
           "INDEX_PATH": str(root / "index"), "RAW_STORE_PATH": str(root / "raw"),
           "DESK_INSTANCE_PATH": str(root / "instance")}

    def timed(args: list[str]) -> list[float]:
        samples = []
        for _ in range(repeat + 1):  # the first run warms the page cache
            started = time.perf_counter()
            subprocess.run([sys.executable, *args], env=env, cwd=REPO, check=True, capture_output=True)
            samples.append(time.perf_counter() - started)
        return samples[1:]

    searches = [seconds for words in COMMAND_WORDS for seconds in timed(["-m", "flask", "search", words])]
    return {"search": percentiles(searches), "libraries": percentiles(timed(["-c", STACK_IMPORTS])),
            "application": percentiles(timed(["-c", "import wsgi"]))}


NOTMUCH_QUERIES = {
    "subject:perl": "subject:perl", "to:yahoo.com": "to:yahoo.com", "filename:gif": "attachment:gif",
    "(linux OR unix) NOT windows": "(linux or unix) and not windows",
    "date:2002-08..2002-09": "date:2002-08-01..2002-09-30",
    "after:2002-10-01 money": "date:2002-10-01.. money",
    "before:2002-06-01": "date:..2002-05-31",
    "date:2002-07..2002-08 spam": "date:2002-07-01..2002-08-31 spam",
    "has:attachment": "attachment:*", "money -free": "money and not free",
    # notmuch knows no accounts: those two queries are left out of its mix.
    'account:"Account 3"': None, 'account:"Account 5" offer': None,
}


def notmuch_runner(maildir_root: Path, work: Path, say) -> tuple:
    config = work / "notmuch-config"
    config.write_text(f"[database]\npath={maildir_root}\n[new]\ntags=\n[search]\nexclude_tags=\n")
    env = {**os.environ, "NOTMUCH_CONFIG": str(config)}
    indexed = work / "notmuch.json"  # written once `notmuch new` has finished
    if indexed.exists():
        seconds = json.loads(indexed.read_text())["notmuch_new_s"]
    else:
        started = time.perf_counter()
        subprocess.run(["notmuch", "new", "--quiet"], env=env, check=True, capture_output=True)
        seconds = round(time.perf_counter() - started, 1)
        indexed.write_text(json.dumps({"notmuch_new_s": seconds}))

    def run(text: str, sort: str) -> int:
        query = NOTMUCH_QUERIES.get(text, text)
        order = ["--sort=newest-first"] if sort == "date" else []
        out = subprocess.run(["notmuch", "search", "--output=messages", "--limit=20", *order, query],
                             env=env, capture_output=True, text=True)
        return len(out.stdout.splitlines())

    floor = []
    for _ in range(10):
        t = time.perf_counter()
        # Not `count '*'`: counting every message takes time of its own at 100,000.
        subprocess.run(["notmuch", "count", "id:no-such-message"], env=env, capture_output=True)
        floor.append(time.perf_counter() - t)
    held = int(subprocess.run(["notmuch", "count", "*"], env=env, capture_output=True, text=True,
                              check=True).stdout)
    size = sum(f.stat().st_size for f in (maildir_root / ".notmuch").rglob("*") if f.is_file())
    say(f"  notmuch new: {seconds:.1f} s; its database holds {held:,} messages in {size / 2**20:.1f} MiB")
    return run, {"notmuch_new_s": seconds, "messages": held, "database_mib": round(size / 2**20, 1),
                 "process_floor": percentiles(floor)}


def memory_probe(path: Path) -> dict:
    """Run ``bench.memory`` on the index in a fresh process; return its figures."""
    done = subprocess.run([sys.executable, "-m", "bench.memory", str(path)], capture_output=True, text=True,
                          check=True, cwd=REPO)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_size(n: int, corpus: list[bytes], parsed: list, args, work: Path, say) -> dict:
    say(f"N = {n:,}")
    root = work / f"n{n}"
    root.mkdir(parents=True, exist_ok=True)
    build = ensure_index(root, corpus, parsed, n, say, args.batches)
    say(f"  built ({build.get('way', 'batches of 2000')}): {build['docs_per_s']:,} docs/s, "
        f"{build['index_mib']} MiB")
    result = {"n": n, "build": build}
    run = function_runner(root / "index")
    result["function"], result["function_queries"] = time_queries(run, args.repeat)
    say(f"  function: p50 {result['function']['p50_ms']} ms, p95 {result['function']['p95_ms']} ms")
    # notmuch's summary lines carry no snippet: this is the like-for-like figure.
    result["function_bare"], _ = time_queries(function_runner(root / "index", snippets=False), args.repeat)
    say(f"  function without snippets: p50 {result['function_bare']['p50_ms']} ms, "
        f"p95 {result['function_bare']['p95_ms']} ms")
    if args.postgresql:
        pg, result["postgresql_build"] = postgres_index(args.postgresql, corpus, parsed, n, say)
        b = result["postgresql_build"]
        say(f"  PostgreSQL search: built {b['docs_per_s']:,} docs/s, tables {b['tables_mib']} MiB")
        result["postgresql"], result["postgresql_queries"] = time_queries(
            function_runner(root, index=pg), args.repeat)
        result["postgresql_bare"], _ = time_queries(
            function_runner(root, snippets=False, index=pg), args.repeat)
        full, bare = result["postgresql"], result["postgresql_bare"]
        say(f"  PostgreSQL search function: p50 {full['p50_ms']} ms, p95 {full['p95_ms']} ms; "
            f"without snippets p50 {bare['p50_ms']} ms, p95 {bare['p95_ms']} ms")
    result["memory"] = memory_probe(root / "index")
    m = result["memory"]
    say(f"  fresh process: first search {m['first_search_ms']} ms, first after a commit "
        f"{m['after_commit_ms']} ms; RSS {m['rest']['rss_mib']} MiB at rest, {m['one']['rss_mib']} after "
        f"one search, {m['eight']['rss_mib']} after {m['concurrent']} at once (anonymous "
        f"{m['rest']['anonymous_mib']}, {m['one']['anonymous_mib']}, {m['eight']['anonymous_mib']} MiB)")
    rows = ({"id": message_id, "sha256": f"{message_id:064x}", "size": len(raw), "subject": doc.subject,
             "from_addr": doc.from_addr[:320], "date_utc": doc.date, "body_text": doc.body}
            for message_id, raw, doc in messages(corpus, parsed, n))
    runner, server = http_runner(root / "index", root, rows)
    try:
        result["page"], result["page_queries"] = time_queries(runner, args.repeat)
    finally:
        server.shutdown()
    say(f"  page: p50 {result['page']['p50_ms']} ms, p95 {result['page']['p95_ms']} ms")
    result["command"] = time_command(root, args.repeat)
    c = result["command"]
    say(f"  flask search: p50 {c['search']['p50_ms']} ms; Python importing the stack's libraries alone "
        f"{c['libraries']['p50_ms']} ms, the application (libraries included) "
        f"{c['application']['p50_ms']} ms")
    if not args.no_notmuch:
        run, notmuch = notmuch_runner(ensure_maildir(root, corpus, parsed, n, say), root, say)
        result["notmuch"] = notmuch
        mix = [q for q in QUERIES if NOTMUCH_QUERIES.get(q[1], q[1]) is not None]
        result["notmuch"]["queries"], result["notmuch_queries"] = time_queries(run, args.repeat, mix)
        say(f"  notmuch: p95 {result['notmuch']['queries']['p95_ms']} ms "
            f"(process start alone: {notmuch['process_floor']['p50_ms']} ms)")
    if not (args.keep or args.work):
        shutil.rmtree(root, ignore_errors=True)
    return result


def growth(results: list[dict]) -> list[dict]:
    """Compare each size with the smallest: how latency grew against how N grew."""
    first = results[0]

    def factor(r: dict, part: str) -> float:
        return round(r[part]["p95_ms"] / max(first[part]["p95_ms"], 1e-9), 2)

    return [{"n": r["n"], "n_factor": round(r["n"] / first["n"], 1),
             "function_p95_factor": factor(r, "function"), "page_p95_factor": factor(r, "page")}
            for r in results]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if args.json else print
    corpus = load_corpus(args.corpus)
    with work_folder(args.work, "desk-bench-search-", keep=args.keep) as work:
        parsed = parsed_corpus(corpus)
        results = [run_size(n, corpus, parsed, args, work, say) for n in sorted(args.sizes)]
    report = {"machine": machine(), "python": platform.python_version(), "corpus": str(args.corpus),
              "corpus_messages": len(corpus), "repeat": args.repeat, "sizes": results,
              "growth": growth(results)}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for row in report["growth"]:
            say(f"N x{row['n_factor']}: function p95 x{row['function_p95_factor']}, "
                f"page p95 x{row['page_p95_factor']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

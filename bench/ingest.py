"""Ingestion benchmark: the product's IMAP-to-searchable rate against raw IMAP and notmuch.

It loads N messages of a corpus into a fresh private Dovecot and measures, on the
same messages, in one run:

(a) a raw IMAP fetch with IMAPClient (UID FETCH BODY.PEEK[] in batches of 200);
(b) ``notmuch new`` over a Maildir holding the bytes Dovecot serves (CRLF endings);
(c) the product end to end: ``flask mailbox poll --once`` in a subprocess on a fresh
    SQLite database, which fetches, stores raw (fsynced), parses, links, threads,
    commits and indexes before it returns; its peak RSS comes from ``wait4``, and
    ``flask archive stats --json`` must then count every message with none waiting
    for the index;
(d) the ratios product/notmuch and product/raw fetch, and (c) repeated at N/4 so
    the two peak memories show whether memory grows with N.

Usage, from the repository root::

    .venv/bin/python -m bench.ingest                  # the whole spamassassin corpus
    .venv/bin/python -m bench.ingest --limit 1000 --json
    .venv/bin/python -m bench.ingest --profile /tmp/poll.prof   # cProfile the N-sized poll

Options: ``--corpus PATH`` (a folder of one message per file; default
``../shared/corpora/spamassassin/cur`` beside the repository, or ``$DESK_CORPORA``),
``--limit N`` (default all), ``--json`` (one JSON document on standard output),
``--keep`` (keep the temporary folders and say where they are), ``--profile FILE``.
The corpus is read where it lies and never copied into the repository.  Needs
Dovecot (``/usr/sbin/dovecot``) and notmuch; Dovecot is stopped even on failure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.dovecot import PASSWORD, USER, Dovecot
from tests.factories import crlf

REPO = Path(__file__).resolve().parent.parent
CORPORA = Path(os.environ.get("DESK_CORPORA", REPO.parent / "shared" / "corpora"))
DEFAULT_CORPUS = CORPORA / "spamassassin" / "cur"
BATCH = 200  # the poller's default IMAP_FETCH_BATCH, so (a) and (c) fetch alike
QUARTER_FOLDER = "Quarter"
PASSWORD_ENV = "DESK_BENCH_IMAP_PASSWORD"
# Peak memory at N may exceed that at N/4 by this factor before we call it growth:
# allocator noise and one batch of larger messages account for a few per cent.
GROWTH_TOLERANCE = 1.2


class BenchError(Exception):
    """The benchmark cannot run or its result is wrong; the message says why."""


@dataclass
class Rate:
    messages: int
    seconds: float
    peak_rss_mib: float | None = None
    cpu_seconds: float | None = None  # user + system, with the helper processes it waited for

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "messages_per_second": round(self.per_second, 1)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                        help=f"folder of one message per file (default {DEFAULT_CORPUS})")
    parser.add_argument("--limit", type=int, help="use only the first N messages (default all)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the N-sized poll here")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 4:
        parser.error("--limit must be at least 4 (the memory check also runs at N/4)")
    return args


@contextmanager
def work_folder(kept: Path | None, prefix: str, keep: bool = False) -> Iterator[Path]:
    """Yield the benchmark's working folder: ``kept`` (``--work``), made if missing and left in
    place, or a temporary one, removed at the end unless ``keep``."""
    work = kept or Path(tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    try:
        yield work
    finally:
        if not (kept or keep):
            shutil.rmtree(work, ignore_errors=True)


def postgres_schema(url: str, schema: str) -> str:
    """Create ``schema`` in the PostgreSQL database at ``url`` if needed; return a URL whose
    connections work in it (through their search_path), so that benchmarks keep apart."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    engine.dispose()
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


def machine() -> dict:
    """Describe the machine the figures come from."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model,
        "ram_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "notmuch": _version(["notmuch", "--version"]),
        "dovecot": _version([_dovecot_binary(), "--version"]),
    }


def _version(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not found"


def _dovecot_binary() -> str:
    return shutil.which("dovecot") or "/usr/sbin/dovecot"


def load_corpus(folder: Path, limit: int | None) -> list[bytes]:
    """Read the first ``limit`` messages, with the CRLF line endings IMAP carries."""
    if not folder.is_dir():
        raise BenchError(f"the corpus folder {folder} is absent; pass --corpus or set DESK_CORPORA "
                         "(the shared corpora live beside the repository, in ../shared/corpora)")
    files = sorted(p for p in folder.iterdir() if p.is_file())[:limit]
    if len(files) < 4:
        raise BenchError(f"the corpus folder {folder} holds {len(files)} message(s); at least 4 needed")
    return [crlf(p.read_bytes()) for p in files]


def fill_server(server: Dovecot, raws: list[bytes]) -> None:
    """Append every message to INBOX, and the first quarter again to a folder of its own."""
    with server.client() as client:
        client.create_folder(QUARTER_FOLDER)
        for folder, messages in (("INBOX", raws), (QUARTER_FOLDER, raws[:len(raws) // 4])):
            for start in range(0, len(messages), BATCH):
                client.multiappend(folder, messages[start:start + BATCH])


def fetch_all(server: Dovecot) -> dict[int, bytes]:
    """Fetch every INBOX message with BODY.PEEK[] in batches; return bytes by UID."""
    found: dict[int, bytes] = {}
    with server.client() as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        for start in range(0, len(uids), BATCH):
            response = client.fetch(uids[start:start + BATCH], [b"BODY.PEEK[]"])
            found.update((uid, data[b"BODY[]"]) for uid, data in response.items())
    return found


def measure_raw_fetch(server: Dovecot) -> tuple[Rate, list[bytes]]:
    """Time a raw fetch; the first, untimed pass warms Dovecot's caches as the product's would be."""
    served = fetch_all(server)
    start = time.perf_counter()
    again = fetch_all(server)
    elapsed = time.perf_counter() - start
    if len(again) != len(served):
        raise BenchError(f"two fetches of INBOX returned {len(served)} and {len(again)} messages")
    return Rate(len(again), elapsed), [served[uid] for uid in sorted(served)]


def measure_notmuch(raws: list[bytes], work: Path) -> tuple[Rate, dict]:
    """Time ``notmuch new`` over a fresh Maildir of the served bytes."""
    maildir = work / "maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for i, raw in enumerate(raws):
        (maildir / "cur" / f"{i:06d}.bench:2,S").write_bytes(raw)
    config = work / "notmuch-config"
    config.write_text(f"[database]\npath={maildir}\n[user]\nname=Bench\n"
                      "primary_email=bench@example.invalid\n[new]\ntags=inbox;\n")
    env = {**os.environ, "NOTMUCH_CONFIG": str(config)}
    seconds, rss, cpu, status = run_timed(["notmuch", "new", "--quiet"], env, work / "notmuch.log")
    if status != 0:
        raise BenchError(f"notmuch new failed (status {status}): {_tail(work / 'notmuch.log')}")
    counts = {kind: int(_check(["notmuch", "count", f"--output={kind}", "*"], env).strip())
              for kind in ("files", "messages")}
    return Rate(len(raws), seconds, rss, cpu), counts


def run_timed(cmd: list[str], env: dict, log: Path) -> tuple[float, float, float, int]:
    """Run a command; return wall seconds, its peak RSS in MiB, its CPU seconds, and its
    exit status.

    ``wait4`` reports the usage of this one child (and its reaped descendants), where
    RUSAGE_CHILDREN would be the maximum over every child this script ever ran.  CPU
    seconds beside wall seconds tell how much of the time the machine's CPUs were busy.
    """
    # Write back what earlier steps left dirty (the Maildir copy, the other runs'
    # files), so it is not flushed during, and charged to, the step timed here.
    os.sync()
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # interrupted: leave no poll running against a stopped server
            proc.kill()
            proc.wait()
            raise
        elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, proc.returncode


def _check(cmd: list[str], env: dict) -> str:
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} failed: {(done.stderr or done.stdout).strip()[-2000:]}")
    return done.stdout


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def product_env(instance: Path) -> dict:
    """Return the environment of ``flask`` commands on a private instance folder."""
    return {
        **os.environ,
        "FLASK_APP": "wsgi",
        "DESK_INSTANCE_PATH": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'desk.db'}",
        "RAW_STORE_PATH": str(instance / "raw"),
        "INDEX_PATH": str(instance / "index"),
        "RAW_STORE_FSYNC": "1",  # measure the durable path the product ships with
        PASSWORD_ENV: PASSWORD,
    }


def measure_product(server: Dovecot, folder: str, expected: int, work: Path,
                    profile: Path | None = None) -> tuple[Rate, dict]:
    """Time ``flask mailbox poll --once`` on a fresh instance; check what it archived."""
    instance = work / f"product-{folder.lower()}"
    env = product_env(instance)
    flask = [sys.executable, "-m", "flask"]
    _check([*flask, "db", "upgrade"], env)
    _check([*flask, "mailbox", "add", "bench", "--host", "127.0.0.1", "--port", str(server.port),
            "--security", "none", "--username", USER, "--password-env", PASSWORD_ENV,
            "--folder", folder], env)
    poll = ["mailbox", "poll", "--once"]
    cmd = ([sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "flask", *poll]
           if profile else [*flask, *poll])
    log = work / f"poll-{folder.lower()}.log"
    seconds, rss, cpu, status = run_timed(cmd, env, log)
    if status != 0:
        raise BenchError(f"flask mailbox poll --once failed (status {status}): {_tail(log)}")
    stats = json.loads(_check([*flask, "archive", "stats", "--json"], env))
    if stats["messages"] != expected or stats["not_yet_indexed"] != 0:
        raise BenchError(f"after polling {folder} the archive holds {stats['messages']} messages "
                         f"(expected {expected}) with {stats['not_yet_indexed']} not yet indexed")
    return Rate(stats["messages"], seconds, rss, cpu), stats


def distinct(raws: list[bytes]) -> int:
    """Count distinct byte strings: identical bytes are one message in the archive."""
    return len({hashlib.sha256(raw).digest() for raw in raws})


def run(args: argparse.Namespace, work: Path, say) -> dict:
    raws = load_corpus(args.corpus, args.limit)
    result = {"machine": machine(), "corpus": str(args.corpus), "n": len(raws),
              "corpus_bytes": sum(map(len, raws))}
    say(describe_machine(result))
    server = Dovecot(work / "dovecot", _dovecot_binary())
    try:
        server.start()
        fill_server(server, raws)
        raw_rate, served = measure_raw_fetch(server)
        say(f"(a) raw IMAP fetch: {line(raw_rate)}")
        notmuch_rate, counts = measure_notmuch(served, work / "notmuch")
        say(f"(b) notmuch new:    {line(notmuch_rate)} ({counts['messages']} distinct Message-IDs)")
        quarter = served[:len(served) // 4]
        small, _ = measure_product(server, QUARTER_FOLDER, distinct(quarter), work)
        full, stats = measure_product(server, "INBOX", distinct(served), work, args.profile)
        say(f"(c) product poll:   {line(full)}; archive: {stats['messages']} messages, "
            f"{stats['quarantined']} quarantined, not_yet_indexed {stats['not_yet_indexed']}")
        say(f"    at N/4:         {line(small)}")
    finally:
        server.stop()
    result.update(raw_fetch=raw_rate.as_dict(), notmuch=notmuch_rate.as_dict(),
                  notmuch_counts=counts, product=full.as_dict(), product_quarter=small.as_dict(),
                  archive_stats=stats, **compare(full, small, notmuch_rate, raw_rate))
    say(describe_comparison(result))
    return result


def compare(full: Rate, small: Rate, notmuch: Rate, raw: Rate) -> dict:
    growth = full.peak_rss_mib / small.peak_rss_mib
    return {
        "product_over_notmuch": round(full.per_second / notmuch.per_second, 3),
        "product_over_raw_fetch": round(full.per_second / raw.per_second, 3),
        "memory_growth_n_over_quarter": round(growth, 3),
        "memory_grows_with_n": growth > GROWTH_TOLERANCE,
    }


def line(rate: Rate) -> str:
    rss = f", peak RSS {rate.peak_rss_mib:.0f} MiB" if rate.peak_rss_mib is not None else ""
    cpu = f", CPU {rate.cpu_seconds:.1f} s" if rate.cpu_seconds is not None else ""
    return f"{rate.messages} msgs in {rate.seconds:.2f} s = {rate.per_second:,.0f} msg/s{rss}{cpu}"


def describe_machine(result: dict) -> str:
    m = result["machine"]
    return (f"Machine: {m['nproc']} CPUs, {m['cpu']}, {m['ram_gib']} GiB RAM, Python {m['python']}, "
            f"Linux {m['kernel']}, {m['notmuch']}, dovecot {m['dovecot']}\n"
            f"Corpus: {result['corpus']}: {result['n']} messages, "
            f"{result['corpus_bytes'] / 2**20:.1f} MiB with CRLF")


def describe_comparison(result: dict) -> str:
    verdict = "grows with N" if result["memory_grows_with_n"] else "does not grow with N"
    return (f"(d) product/notmuch = {result['product_over_notmuch']:.2f} (target >= 1.0), "
            f"product/raw fetch = {result['product_over_raw_fetch']:.3f}\n"
            f"    peak RSS: {result['product_quarter']['peak_rss_mib']:.0f} MiB at N/4 = "
            f"{result['product_quarter']['messages']}, {result['product']['peak_rss_mib']:.0f} MiB "
            f"at N = {result['n']} (x{result['memory_growth_n_over_quarter']:.2f}): {verdict}")


def _stop_on_signal(signum, frame) -> None:
    # SIGTERM and SIGHUP become an exception so the finally clauses stop Dovecot.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_on_signal)
    work = Path(tempfile.mkdtemp(prefix="desk-bench-"))
    os.chmod(work, 0o755)  # Dovecot's unprivileged processes read its folder inside
    say = (lambda text: print(text, file=sys.stderr)) if args.json else print
    try:
        result = run(args, work, say)
    except BenchError as exc:
        print(f"bench.ingest: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"Kept the temporary folders in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

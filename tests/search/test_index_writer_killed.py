"""A writer killed while its helper processes analyse a batch leaves the index free.

Whoosh analyses a large batch in helper processes forked from the writer. Forked, they
hold the writer's file locks too; if the writer is killed (SIGKILL, the OOM killer, a
power cut of the container), orphaned helpers would wait on its job queue for ever and
keep the index locked, so no worker or poller could index again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from app.search.index import SearchIndex, WriterBusy
from tests.parts import REPO
from tests.waiting import OutputLines, until

# Writes batches of generated documents until killed, with Whoosh's helpers at work.
WRITER = textwrap.dedent("""
    import sys
    from app.search.index import IndexDocument, SearchIndex

    index = SearchIndex(sys.argv[1])
    index.acquire_writer()
    words = "invoice export refund meeting deadline order plant signal".split()
    docs = [IndexDocument(n, f"subject {n}", " ".join(words[(n + k) % 8] + str(k) for k in range(300)),
                          "Kim kim@acme.example", "kim@acme.example", "", "", "Acme", 1, "support",
                          None, None, "", False, False, "inbound") for n in range(1, 3001)]
    print("writing", flush=True)
    while True:
        index.write(docs, expected=len(docs))
""")


def children(pid: int) -> set[int]:
    """The live children of ``pid``, from /proc (every thread's list)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:  # the thread ended meanwhile
            pass
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_writer_killed_mid_batch_leaves_no_helper_and_no_lock_behind(tmp_path):
    folder = tmp_path / "index"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)], cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = OutputLines(writer)
    try:
        output.wait_for("writing", 120)
        helpers: set[int] = set()
        assert until(lambda: helpers.update(children(writer.pid)) or len(helpers) >= 2, 120), \
            f"no helper processes started:\n{output.text}"
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)

        assert until(lambda: not any(alive(pid) for pid in helpers), 30), "a helper outlived its writer"
        index = SearchIndex(folder)
        try:
            index.acquire_writer()
        except WriterBusy:
            raise AssertionError("the index is still locked after its writer was killed") from None
        index.release_writer()
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()

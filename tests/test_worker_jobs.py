"""Jobs that must run once across every worker on the database (app.worker.once_across_workers)."""

from __future__ import annotations

import threading

from app.worker import _in_context, once_across_workers


def test_a_job_for_all_workers_runs_in_one_at_a_time_and_in_the_next_once_the_lock_is_free(app, backend):
    ran = []
    job = _in_context(app, lambda: ran.append(threading.current_thread().name), "tidy-access")
    with once_across_workers("tidy-access") as mine:
        assert mine
        other = threading.Thread(target=job, name="other-worker")  # another connection, as another host
        other.start()
        other.join()
        # On PostgreSQL the other worker skipped its run; SQLite is one machine with one worker.
        assert ran == ([] if backend == "postgresql" else ["other-worker"])
    job()
    assert ran[-1] == threading.current_thread().name


def test_a_job_of_each_machine_is_not_held_back_by_another_jobs_lock(app):
    ran = []
    with once_across_workers("tidy-access"):
        _in_context(app, lambda: ran.append("index"), "index-new-mail")()
        _in_context(app, lambda: ran.append("poll"))()
    assert ran == ["index", "poll"]

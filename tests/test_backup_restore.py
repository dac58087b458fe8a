"""Backups and restores as the README's "Backups" section writes them: the database dumped
(pg_dump, or SQLite's .backup while the desk runs), the raw store copied with tar, then
restored on a "new machine" (another database, another instance folder), where the index
is rebuilt and `flask archive verify` and `flask audit verify --anchor` accept the result.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db
from app.models import utcnow
from app.search.query import matching_ids
from app.services import audit
from tests import factories
from tests.conftest import app_settings, fresh_schema
from tests.parts import missing, postgres_url


def run(*command: str, cwd: Path | None = None) -> str:
    if shutil.which(command[0]) is None:
        missing(f"{command[0]} is not installed (Debian packages postgresql-client, sqlite3)")
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(command)}: {done.stderr}"
    return done.stdout


def fill(app) -> str:
    """Archive mail and write audit entries; return the anchor `flask audit verify` prints."""
    with app.app_context():
        for n in range(3):
            factories.archived(db.session, factories.message(n, body=f"Compressor {n} overheats."))
        for n in range(4):
            audit.append(db.session, "search exported (csv)", at=utcnow(), detail=f"backup test {n}")
        db.session.commit()
        printed = app.test_cli_runner().invoke(args=["audit", "verify"]).output
    return re.search(r"--anchor (\d+:[0-9a-f]+)", printed).group(1)


def check_restored(app, anchor: str) -> None:
    with app.app_context():
        runner = app.test_cli_runner()
        for args in (["search", "reindex"], ["archive", "verify"], ["audit", "verify", "--anchor", anchor]):
            result = runner.invoke(args=args)
            assert result.exit_code == 0, f"{args}: {result.output}"
        assert "All 3 raw messages match their sha256." in runner.invoke(args=["archive", "verify"]).output
        assert len(matching_ids(app.extensions["search_index"], "compressor")) == 3


def backup_raw(instance: Path, backups: Path) -> Path:
    archive = backups / "raw.tar"
    run("tar", "-C", str(instance), "-cf", str(archive), "raw")
    return archive


def restore_raw(archive: Path, instance: Path) -> None:
    instance.mkdir(parents=True)
    run("tar", "-C", str(instance), "-xf", str(archive))


def test_a_postgresql_dump_and_the_raw_files_restore_on_a_new_machine(postgres_schema_url, tmp_path):
    old = create_app(app_settings(postgres_schema_url, tmp_path / "old"))
    fresh_schema(old)
    anchor = fill(old)
    backups = tmp_path / "backups"
    backups.mkdir()
    schema = re.search(r"search_path%3D(\w+)", postgres_schema_url).group(1)
    base = postgres_url()
    # The README's command, kept to this run's schema: other runs share the test database.
    run("pg_dump", "--format=custom", f"--file={backups / 'desk.dump'}", f"--schema={schema}", base)
    raw = backup_raw(Path(old.config["INSTANCE_PATH"]), backups)

    restored_db = f"desk_restore_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {restored_db}"))
        connection.execute(text(f"CREATE DATABASE {restored_db}"))
    try:
        restored_url = base.rsplit("/", 1)[0] + f"/{restored_db}"
        run("pg_restore", f"--dbname={restored_url}", str(backups / "desk.dump"))
        restore_raw(raw, tmp_path / "new" / "instance")
        new = create_app(app_settings(restored_url + f"?options=-csearch_path%3D{schema}", tmp_path / "new"))
        check_restored(new, anchor)
        with new.app_context():
            db.engine.dispose()
    finally:
        with old.app_context():
            db.engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {restored_db} WITH (FORCE)"))
        admin.dispose()


def test_a_sqlite_backup_taken_while_the_desk_runs_restores_on_a_new_machine(tmp_path):
    database = tmp_path / "old" / "desk.db"
    database.parent.mkdir()
    old = create_app(app_settings(f"sqlite:///{database}", tmp_path / "old"))
    fresh_schema(old)
    anchor = fill(old)
    backups = tmp_path / "backups"
    backups.mkdir()
    with old.app_context(), db.engine.connect():  # the desk holds its database open meanwhile
        run("sqlite3", str(database), f".backup '{backups / 'desk-backup.db'}'")
        raw = backup_raw(Path(old.config["INSTANCE_PATH"]), backups)

    restore_raw(raw, tmp_path / "new" / "instance")
    copy = tmp_path / "new" / "desk.db"
    copy.write_bytes((backups / "desk-backup.db").read_bytes())
    new = create_app(app_settings(f"sqlite:///{copy}", tmp_path / "new"))
    check_restored(new, anchor)
    for app in (old, new):
        with app.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("unit", ["desk-web.service", "desk-worker.service"])
def test_the_systemd_units_are_valid_and_start_what_the_readme_says(unit, tmp_path):
    deploy = Path(__file__).resolve().parent.parent / "deploy"
    text_ = (deploy / unit).read_text()
    start = re.search(r"^ExecStart=(.+)$", text_, re.M).group(1)
    assert start in ("/opt/desk/.venv/bin/gunicorn --workers 4", "/opt/desk/.venv/bin/flask worker")
    assert "EnvironmentFile=/etc/desk/desk.env" in text_
    # systemd's own check, with the paths of this checkout standing in for /opt/desk.
    local = tmp_path / unit
    repo = deploy.parent
    local.write_text(text_.replace("/opt/desk", str(repo)).replace("/etc/desk/desk.env",
                                                                   str(deploy / "desk.env.example"))
                     .replace("User=desk", "User=root").replace("Group=desk", "Group=root"))
    if shutil.which("systemd-analyze") is None:
        missing("systemd-analyze is not installed (Debian package systemd)")
    checked = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr

"""`caredesk users ...` and `caredesk customer forget ...` as an operator runs them (a real process,
stdin not a terminal), on SQLite and PostgreSQL."""

from __future__ import annotations

import getpass
import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from crm_store import models
from crm_store.services import accounts, privacy, users
from crm_store.unit_of_work import UnitOfWork
from tests.integration.test_forget import ANA, conversations, save_conversations, stored_senders

PROJECT = Path(__file__).resolve().parents[2]


def caredesk(db_url: str, tmp_path, *args: str, stdin: str = "", tracker_url: str | None = None):
    env = {**os.environ, "DATABASE_URL": db_url, "CAREDESK_VAR_DIR": str(tmp_path / "var"),
           "TRACKER_STORE_URL": tracker_url or f"sqlite:///{tmp_path / 'var' / 'tracker.db'}",
           "CAREDESK_PROJECT_DIR": str(PROJECT)}
    env.pop("CAREDESK_ENV", None)
    return subprocess.run([sys.executable, "-m", "caredesk.cli", *args], input=stdin, capture_output=True,
                          text=True, env=env, cwd=PROJECT, timeout=120)


def _token(output: str) -> str:
    return re.search(r"token[^:]*: (cdu_\S+)", output).group(1)


def test_users_are_added_listed_given_new_tokens_and_disabled(db_url, tmp_path):
    added = caredesk(db_url, tmp_path, "users", "add", "sam", "--role", "agent", "--password-stdin",
                     stdin="a very long passphrase\n")
    assert added.returncode == 0, added.stderr
    assert "a very long passphrase" not in added.stdout and "Password" not in added.stdout
    first = _token(added.stdout)
    assert users.user_for_token(first, UnitOfWork(db_url)).username == "sam"
    assert users.authenticate("sam", "a very long passphrase", UnitOfWork(db_url)) is not None

    generated = caredesk(db_url, tmp_path, "users", "add", "ana", "--role", "admin")
    password = re.search(r"Password \(shown once\): (\S+)", generated.stdout).group(1)
    assert users.authenticate("ana", password, UnitOfWork(db_url)).role == "admin"

    listed = caredesk(db_url, tmp_path, "users", "list").stdout
    assert re.search(r"ana\s+admin\s+active", listed) and re.search(r"sam\s+agent\s+active", listed)
    assert "cdu_" not in listed and "scrypt" not in listed

    rotated = caredesk(db_url, tmp_path, "users", "token", "sam")
    assert rotated.returncode == 0
    assert users.user_for_token(first, UnitOfWork(db_url)) is None
    assert users.user_for_token(_token(rotated.stdout), UnitOfWork(db_url)).username == "sam"

    assert caredesk(db_url, tmp_path, "users", "disable", "sam").returncode == 0
    assert users.user_for_token(_token(rotated.stdout), UnitOfWork(db_url)) is None
    assert re.search(r"sam\s+agent\s+disabled", caredesk(db_url, tmp_path, "users", "list").stdout)


def test_bad_user_commands_fail_clearly(db_url, tmp_path):
    short = caredesk(db_url, tmp_path, "users", "add", "sam", "--role", "agent", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "password needs" in short.stderr
    assert users.list_users(UnitOfWork(db_url)) == []
    missing = caredesk(db_url, tmp_path, "users", "token", "nobody")
    assert missing.returncode == 2 and "no user 'nobody'" in missing.stderr


async def test_forget_without_yes_shows_what_it_would_erase_and_refuses_without_a_terminal(db_url, tmp_path):
    tracker_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    await save_conversations(tracker_url, conversations())
    before = stored_senders(tracker_url)

    asked = caredesk(db_url, tmp_path, "customer", "forget", str(ANA), tracker_url=tracker_url)

    assert asked.returncode == 2 and "no terminal to confirm" in asked.stderr
    assert re.search(r"\s3  conversations deleted from the tracker store", asked.stdout)
    assert "customer record anonymised" in asked.stdout
    assert accounts.get_account(ANA, UnitOfWork(db_url)).email == "ana@example.com"
    assert stored_senders(tracker_url) == before


async def test_forget_yes_erases_prints_the_counts_and_settles_the_request(db_url, tmp_path):
    tracker_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    await save_conversations(tracker_url, conversations())
    accounts.request_account_deletion(ANA, UnitOfWork(db_url), conversation_id="web:ana-widget", channel="web")
    listed = caredesk(db_url, tmp_path, "customer", "forget-requests")
    assert re.search(rf"\s+\d+\s+{ANA}\s+\S+ \S+\s+pending\s+web", listed.stdout)

    done = caredesk(db_url, tmp_path, "customer", "forget", str(ANA), "--yes", tracker_url=tracker_url)

    assert done.returncode == 0, done.stderr
    assert re.search(r"\s3  conversations deleted from the tracker store", done.stdout)
    assert re.search(r"\s1  forget requests marked done", done.stdout)
    assert accounts.get_account(ANA, UnitOfWork(db_url)).email == privacy.forgotten_email(ANA)
    assert "web:ana-widget" not in stored_senders(tracker_url)
    assert "No pending forget requests." in caredesk(db_url, tmp_path, "customer", "forget-requests").stdout
    with UnitOfWork(db_url) as uow:
        actor = uow.session.execute(select(models.AuditLog.actor).where(
            models.AuditLog.action == "forget")).scalar_one()
    assert actor == f"cli:{getpass.getuser()}"
    unknown = caredesk(db_url, tmp_path, "customer", "forget", "99999", "--yes", tracker_url=tracker_url)
    assert unknown.returncode == 2 and "no customer 99999" in unknown.stderr


def test_a_request_can_be_rejected_from_the_command_line(db_url, tmp_path):
    accounts.request_account_deletion(ANA, UnitOfWork(db_url), conversation_id="api:x", channel="rest")
    [request] = privacy.list_forget_requests(UnitOfWork(db_url))
    rejected = caredesk(db_url, tmp_path, "customer", "forget-requests", "--reject", str(request.id))
    assert rejected.returncode == 0 and "rejected" in rejected.stdout
    assert privacy.list_forget_requests(UnitOfWork(db_url), status="rejected")[0].id == request.id
    assert caredesk(db_url, tmp_path, "customer", "forget-requests", "--reject", str(request.id)).returncode == 2


async def test_forget_while_a_reader_holds_the_tracker_file_fails_clearly_and_a_rerun_erases(db_url, tmp_path):
    """A reader of the tracker store's SQLite file (the console, a report) in a transaction keeps
    the write-ahead log from being emptied: the command says so and how to go on, without a
    traceback, leaves the CRM as it was, and the rerun erases."""
    import sqlite3

    tracker_path = tmp_path / "tracker.db"
    tracker_url = f"sqlite:///{tracker_path}"
    await save_conversations(tracker_url, conversations())
    reader = sqlite3.connect(tracker_path, timeout=0.5, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM events").fetchone()
    try:
        busy = caredesk(db_url, tmp_path, "customer", "forget", str(ANA), "--yes", tracker_url=tracker_url)
    finally:
        reader.execute("COMMIT")
        reader.close()
    assert busy.returncode == 3
    assert "Traceback" not in busy.stderr
    assert "run the command again" in busy.stderr.lower()
    assert accounts.get_account(ANA, UnitOfWork(db_url)).email != privacy.forgotten_email(ANA)

    done = caredesk(db_url, tmp_path, "customer", "forget", str(ANA), "--yes", tracker_url=tracker_url)
    assert done.returncode == 0, done.stderr
    assert accounts.get_account(ANA, UnitOfWork(db_url)).email == privacy.forgotten_email(ANA)
    assert b"web:ana-widget" not in tracker_path.read_bytes()

"""Forget me, end to end against the real running processes (`caredesk run`).

A customer verifies in chat, asks to delete her account, an admin lists the request and runs
`caredesk customer forget ID --yes` on the running stack. Afterwards her e-mail is nowhere in the
CRM or tracker-store files on disk (not even in freed pages or the write-ahead log), her
conversation is gone from Rasa, and her old e-mail no longer verifies anyone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from caredesk.harness import start_stack, stop_stack
from crm_store import models
from crm_store.services import privacy
from crm_store.unit_of_work import UnitOfWork
from tests.e2e.agents import agent_call, agent_token

pytestmark = pytest.mark.e2e
PROJECT = Path(__file__).resolve().parents[2]
ANA, EMAIL, PHONE = 1, "ana@example.com", "+49 30 1155438"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("forget"))
    yield running
    stop_stack(running)


def caredesk(stack, *args: str):
    """The operator command against the running stack's databases (no terminal attached)."""
    env = {**os.environ, "CAREDESK_VAR_DIR": str(stack.var_dir), "CAREDESK_PROJECT_DIR": str(PROJECT)}
    for name in ("DATABASE_URL", "TRACKER_STORE_URL"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "caredesk.cli", *args], capture_output=True, text=True,
                          env=env, cwd=PROJECT, stdin=subprocess.DEVNULL, timeout=120)


def reply(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def on_disk(stack, *names: str) -> bytes:
    """The raw bytes of the stack's database files, journals and write-ahead logs included."""
    return b"".join(path.read_bytes() for name in names for path in stack.var_dir.glob(f"{name}*") if path.is_file())


def _shipped_order(stack) -> str:
    with UnitOfWork(stack.database_url) as uow:
        return uow.session.execute(select(models.Order.reference).where(
            models.Order.customer_id == ANA, models.Order.status == "shipped")).scalars().first()


def test_a_customer_asks_to_be_forgotten_and_an_admin_forgets_her_everywhere(stack):
    ref = _shipped_order(stack)
    sender, conversation = "ana-leaving", "api:ana-leaving"
    assert "e-mail" in reply(stack.say(sender, f"where is my order {ref}"))
    assert "verified" in reply(stack.say(sender, EMAIL))
    asked = reply(stack.say(sender, "/delete_account"))
    assert "delete" in asked.lower()
    assert "erases your personal data" in reply(stack.say(sender, "/affirm"))
    assert EMAIL.encode() in on_disk(stack, "crm.db") and conversation.encode() in on_disk(stack, "tracker.db")

    listed = caredesk(stack, "customer", "forget-requests")
    assert listed.returncode == 0 and "pending" in listed.stdout and f"  {ANA}  " in listed.stdout
    refused = caredesk(stack, "customer", "forget", str(ANA))
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert privacy.list_forget_requests(UnitOfWork(stack.database_url))[0].status == "pending"

    done = caredesk(stack, "customer", "forget", str(ANA), "--yes")

    assert done.returncode == 0, done.stderr
    assert "conversations deleted from the tracker store" in done.stdout
    assert privacy.list_forget_requests(UnitOfWork(stack.database_url)) == []
    # Nothing of hers is left in the files on disk, freed pages and write-ahead logs included.
    for secret in (EMAIL, PHONE, "Ana Lopez", conversation):
        assert secret.encode() not in on_disk(stack, "crm.db"), secret
    for secret in (EMAIL, conversation, ref):
        assert secret.encode() not in on_disk(stack, "tracker.db"), secret
    # Rasa has nothing left of the conversation; the agent console sees an empty transcript.
    transcript = agent_call(stack, "GET", f"/api/conversations/{conversation}", token=agent_token(stack))
    assert transcript["messages"] == []
    # Her old e-mail proves nothing any more.
    stack.say("someone-else", f"where is my order {ref}")
    assert "verified" not in reply(stack.say("someone-else", EMAIL))

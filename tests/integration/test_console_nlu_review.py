"""The admins' NLU review page (/nlu/review), in process over real HTTP: admins see the stored
messages the model missed and save intents for them into data/nlu/learned/ (redacted, through the
same function as ``caredesk nlu learn``); agents and analysts are refused; an unknown intent writes
nothing."""

from __future__ import annotations

import html
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot.console import nlu_review
from bot.console.app import create_app
from bot.nlu import learning
from crm_store.migrate import upgrade
from crm_store.services import users
from crm_store.unit_of_work import UnitOfWork
from tests.integration.test_forget import save_conversations
from tests.support.console import PASSWORD, log_in

PROJECT = Path(__file__).resolve().parents[2]
MISSED = "i want to swap my shoes, mail me at jane.doe@example.com"
STORED = "i want to swap my shoes, mail me at [email]"  # as the tracker store saves it


def _said(text: str, intent: str, confidence: float, at: datetime):
    from rasa.shared.core.events import UserUttered

    ranking = [{"name": intent, "confidence": confidence}]
    if intent == "nlu_fallback":
        ranking.append({"name": "get_refund", "confidence": 0.22})
    parse = {"text": text, "intent": ranking[0], "intent_ranking": ranking, "entities": []}
    return UserUttered(text, ranking[0], [], parse, timestamp=at.timestamp())


@pytest.fixture
async def console(tmp_path):
    url, tracker = f"sqlite:///{tmp_path / 'crm.db'}", f"sqlite:///{tmp_path / 'tracker.db'}"
    upgrade(url)
    for name, role in (("maria", "agent"), ("boss", "admin"), ("ana", "analyst")):
        users.add_user(name, role, UnitOfWork(url), password=PASSWORD)
    recent = datetime.utcnow() - timedelta(days=2)
    await save_conversations(tracker, {"web:1": [_said(MISSED, "nlu_fallback", 0.35, recent),
                                                 _said("where is my order", "track_order", 0.97, recent)]})
    project = tmp_path / "project"
    (project / "data" / "nlu").mkdir(parents=True)
    shutil.copy(PROJECT / "domain.yml", project / "domain.yml")
    app = create_app(rasa_url="http://127.0.0.1:9", rasa_token="x", database_url=url, tracker_store_url=tracker,
                     poll_interval=0.2)
    app[nlu_review.PROJECT_DIR] = project
    client = TestClient(TestServer(app))
    await client.start_server()
    client.project = project  # type: ignore[attr-defined]
    yield client
    await client.close()


async def _log_in(client: TestClient, username: str) -> None:
    assert (await log_in(client, username)).status == 303


async def test_agents_and_analysts_are_refused(console):
    for name in ("maria", "ana"):
        console.session.cookie_jar.clear()
        await _log_in(console, name)
        assert (await console.get("/nlu/review", headers={"Accept": "text/html"})).status == 403, name
        assert (await console.post("/nlu/review", data={"text": "x", "intent": "greet"})).status == 403, name


async def test_an_admin_reviews_the_missed_messages_and_saves_an_intent(console):
    await _log_in(console, "boss")
    page = await console.get("/nlu/review", headers={"Accept": "text/html"})
    text = html.unescape(await page.text())
    assert page.status == 200
    assert STORED in text and "jane.doe" not in text
    assert "where is my order" not in text  # understood messages are not reviewed
    assert '<option value="change_order">' in text and "EXTERNAL_" not in text
    token = re.search(r'name="csrf_token" value="([^"]+)"', text)[1]
    # The posted text is redacted again: a form can be edited (here: the e-mail written back in).
    saved = await console.post("/nlu/review", data={"csrf_token": token, "text": MISSED, "intent": "change_order"})
    assert saved.status == 200, await saved.text()
    assert "change_order: added 1" in html.unescape(await saved.text())
    learned = learning.learned_path(console.project / "data", "change_order")
    [block] = yaml.safe_load(learned.read_text(encoding="utf-8"))["nlu"]
    assert block["examples"].strip() == f"- {STORED}"


async def test_an_unknown_intent_is_named_and_nothing_is_written(console):
    await _log_in(console, "boss")
    text = await (await console.get("/nlu/review", headers={"Accept": "text/html"})).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', text)[1]
    form = [("csrf_token", token), ("text", "swap shoes"), ("intent", "change_order"),
            ("text", MISSED), ("intent", "swap_order")]
    refused = await console.post("/nlu/review", data=form)
    assert refused.status == 400
    assert "row 2: &#39;swap_order&#39; is not an intent" in await refused.text()
    assert not (console.project / "data" / "nlu" / "learned").exists()

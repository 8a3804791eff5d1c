"""Personal data stays out of everything that is kept, replayed against the real running processes
(`caredesk run` with RabbitMQ as the event broker).

A customer verifies over REST with an order reference and their e-mail and gets their order's
status; then writes a phone number, a card number and a street address; then asks for a person in
anger, so a ticket is opened; a logged-in customer of the shop chats on the web page (the channel
gets the shop's signed token). Afterwards none of the e-mail address, the phone number, the card
number, the address, an identity token (``eyJ...``) or an identity signature is found in the
tracker store's database file, in the broker's messages, in any log file, or in the ticket.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid

import pytest
from sqlalchemy import select

from caredesk.harness import start_stack, stop_stack
from caredesk.webchat_client import WebChat
from common import identity_token
from crm_store import models
from crm_store.services import orders
from crm_store.unit_of_work import UnitOfWork
from tests.e2e.test_web_scale import RABBITMQ_URL, ensure_rabbitmq

pytestmark = pytest.mark.e2e
SECRET = "personal-data-test-secret-0123456789abcdef"
PHONE = "+49 30 9876543"
CARD = "4111 1111 1111 1111"
STREET = "12 High Street, SW1A 1AA London"
JWT = re.compile(rb"eyJ[A-Za-z0-9_\-]{6,}\.[A-Za-z0-9_\-]{6,}")
SIGNATURE_KEY = re.compile(rb"""\\?["']sig\\?["']""")
EXCHANGE = "rasa-exchange"  # Rasa's pika broker publishes to this fanout exchange


async def _broker_queue(name: str, action: str) -> list[bytes]:
    """A queue of our own bound to Rasa's exchange: it gets a copy of every event the broker
    publishes, without taking them from the queue other consumers read."""
    import aio_pika

    connection = await aio_pika.connect_robust(RABBITMQ_URL, timeout=10)
    async with connection:
        channel = await connection.channel()
        if action == "bind":
            exchange = await channel.declare_exchange(EXCHANGE, type=aio_pika.ExchangeType.FANOUT)
            queue = await channel.declare_queue(name, auto_delete=False)
            await queue.bind(exchange, "")
            return []
        queue = await channel.declare_queue(name, auto_delete=False)
        if action == "delete":
            await queue.delete(if_unused=False, if_empty=False)
            return []
        bodies = []
        while (message := await queue.get(no_ack=True, fail=False, timeout=5)) is not None:
            bodies.append(message.body)
        return bodies


@pytest.fixture(scope="module")
def broker_queue():
    ensure_rabbitmq()
    name = f"caredesk_personal_data_{uuid.uuid4().hex[:8]}"
    asyncio.run(_broker_queue(name, "bind"))
    yield name
    asyncio.run(_broker_queue(name, "delete"))


@pytest.fixture(scope="module")
def conversation(tmp_path_factory, broker_queue):
    """The stack, after the conversations; yields what the customers were told and where to look."""
    stack = start_stack(tmp_path_factory.mktemp("personal-data"), extra_env={
        "CAREDESK_SECRET_KEY": SECRET, "RABBITMQ_URL": RABBITMQ_URL})
    try:
        with UnitOfWork(stack.database_url) as uow:
            customer = uow.session.get(models.Customer, 1)
            email = customer.email
            ref = uow.session.execute(select(models.Order.reference).where(
                models.Order.customer_id == 1, models.Order.status == "shipped")).scalars().first()
        truth = orders.order_status(1, ref, UnitOfWork(stack.database_url))
        sender = f"privacy-{uuid.uuid4().hex[:6]}"
        told = [stack.say(sender, f"where is my order {ref}"),
                stack.say(sender, f"my email is {email}"),
                stack.say(sender, f"you can call me on {PHONE}, charge my card {CARD}, I live at {STREET}"),
                stack.say(sender, "this is a scam, I'm furious, get me a human"),
                stack.say(sender, "I want to talk to a person")]  # the model reads the first as "are you a bot?"
        token = identity_token.issue(1, SECRET, identity_token.CHAT_IDENTITY)
        asyncio.run(_web_chat(stack, token))
        time.sleep(2)  # the broker's publisher is asynchronous
        yield {"stack": stack, "email": email, "truth": truth, "told": told, "sender": sender, "token": token}
    finally:
        stop_stack(stack)


async def _web_chat(stack, token: str) -> None:
    async with WebChat(f"ws://127.0.0.1:{stack.rasa_port}", stack.shop_url) as chat:
        await chat.session(token=token)
        await chat.turn("hi, is my parcel coming? my number is " + PHONE)


def _texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def _assert_nothing_personal(where: str, data: bytes, conversation) -> None:
    forbidden = {"the e-mail address": conversation["email"].encode(), "the phone number": b"9876543",
                 "the card number": b"4111 1111 1111 1111", "the card number's digits": b"4111111111111111",
                 "the street": b"High Street", "the postcode": b"SW1A",
                 "the shop's token": conversation["token"].encode()}
    for name, value in forbidden.items():
        assert value not in data, f"{name} is in {where}"
    assert not JWT.search(data), f"an identity token (eyJ...) is in {where}"
    assert not SIGNATURE_KEY.search(data), f"an identity signature is in {where}"


def test_the_verified_customer_got_their_order_status(conversation):
    answer = _texts(conversation["told"][1])
    assert "verified" in answer and conversation["truth"].tracking_number in answer
    assert conversation["truth"].carrier in answer


def test_the_tracker_store_keeps_the_conversation_without_personal_data(conversation):
    stack = conversation["stack"]
    # The file and its write-ahead log (the tracker store runs in WAL mode): recent turns live in the log.
    data = b"".join(p.read_bytes() for p in stack.var_dir.glob("tracker.db*") if p.is_file())
    assert conversation["truth"].reference.encode() in data  # the conversation is there ...
    assert b"[email]" in data and b"[phone]" in data and b"[card]" in data and b"[address]" in data
    assert b'"identity": {"cid": 1}' in data  # the web channel's assertion, kept without its signature
    _assert_nothing_personal("the tracker store", data, conversation)  # ... its personal data is not


def test_the_event_broker_got_the_events_without_personal_data(conversation, broker_queue):
    bodies = asyncio.run(_broker_queue(broker_queue, "read"))
    events = [json.loads(body) for body in bodies]
    ours = [e for e in events if conversation["sender"] in (e.get("sender_id") or "")]
    assert {"user", "bot", "slot"} <= {e["event"] for e in ours}
    assert any("[email]" in (e.get("text") or "") for e in ours)
    _assert_nothing_personal("the broker's messages", b"\n".join(bodies), conversation)


def test_no_log_file_holds_personal_data(conversation):
    stack = conversation["stack"]
    logs = sorted((stack.var_dir / "logs").rglob("*"))
    assert {"rasa.log", "actions.log"} <= {p.name for p in logs}
    for path in logs:
        if path.is_file():
            _assert_nothing_personal(f"log {path.name}", path.read_bytes(), conversation)
    _assert_nothing_personal("the output of caredesk run", "".join(stack.lines).encode(), conversation)


def test_the_ticket_summary_copies_redacted_messages(conversation):
    stack = conversation["stack"]
    with UnitOfWork(stack.database_url) as uow:
        summaries = uow.session.execute(select(models.Ticket.summary).where(
            models.Ticket.conversation_id.contains(conversation["sender"]))).scalars().all()
    assert summaries, "the escalation opened a ticket"
    summary = "\n".join(summaries)
    assert "[phone]" in summary and "[card]" in summary
    _assert_nothing_personal("the ticket summary", summary.encode(), conversation)
    crm = (stack.var_dir / "crm.db").read_bytes()
    assert b"9876543" not in crm and b"4111 1111 1111 1111" not in crm, "the CRM keeps what the customer typed"

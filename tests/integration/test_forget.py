"""Forgetting a customer, on SQLite and PostgreSQL, with conversations saved by Rasa's own SQL
tracker store in a database of the same kind."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from sqlalchemy import create_engine, func, select, text

from common import identity_token
from crm_store import errors, models
from crm_store.models import Base
from crm_store.services import accounts, identity, privacy, tickets
from tests.support.postgres import admin_execute, database_url

ANA, BOB = 1, 2
KEY = "test-signing-key-for-forget-tests-0123456789"
NOW = datetime(2026, 6, 15, 12, 0)
SECRET_WORDS = "please ring me on 0171 5550123 before noon"


@pytest.fixture
def tracker_url(db_url, tmp_path):
    """An empty tracker-store database next to this test's CRM, on the same backend."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    name = f"caredesk_tr_{uuid.uuid4().hex[:10]}"
    admin_execute(f"CREATE DATABASE {name}")
    yield database_url(name)
    admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def save_conversations(url: str, conversations: dict[str, list]) -> None:
    """Store conversations exactly as the Rasa server does (Rasa's SQL tracker store with our
    redaction, as endpoints.yml configures it, and our domain)."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from sqlalchemy.engine import make_url

    from bot.tracker_store import RedactingSQLTrackerStore as SQLTrackerStore
    from tests.actions_support import DOMAIN_PATH

    parsed = make_url(url)
    domain = Domain.load(str(DOMAIN_PATH))
    if parsed.get_backend_name() == "sqlite":
        store = SQLTrackerStore(domain, dialect="sqlite", db=parsed.database)
    else:
        store = SQLTrackerStore(domain, dialect="postgresql", host=parsed.host, port=parsed.port or 5432,
                                db=parsed.database, username=parsed.username)
    try:
        for sender, events in conversations.items():
            await store.save(DialogueStateTracker.from_events(sender, events, domain.slots))
    finally:
        store.engine.dispose()


def said(sender: str, text_: str, cid: int | None = None):
    from rasa.shared.core.events import UserUttered

    metadata = {"client": "c0ffee"}
    if cid is not None:
        metadata["identity"] = identity_token.assert_identity(sender, cid, KEY)
    return UserUttered(text_, {"name": "order_status", "confidence": 1.0}, metadata=metadata)


def proven(sender: str, cid: int):
    from rasa.shared.core.events import SlotSet

    return SlotSet("verified", identity_token.chat_proof(sender, cid, KEY))


def stored_senders(url: str) -> set[str]:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return set(connection.execute(text("SELECT DISTINCT sender_id FROM events")).scalars())
    finally:
        engine.dispose()


def everything_stored(url: str) -> str:
    """Every row of every CRM table, as text, to grep for personal data."""
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return "\n".join(str(row) for name in Base.metadata.tables
                             for row in connection.execute(text(f"SELECT * FROM {name}")))
    finally:
        engine.dispose()


def give_ana_a_history(uow_factory) -> dict:
    """Ana as she would look after some months: a linked Telegram account, chats, a ticket, a return,
    an address change, an e-mail notice waiting, a link code. Returns what she said and where."""
    identity.create_link_code(ANA, "telegram", uow_factory(), now=NOW)
    identity.link_identity(ANA, "telegram", "777001", uow_factory(), now=NOW)
    tickets.create_ticket(uow_factory(), customer_id=ANA, reason="complaint",
                          summary=f"Customer: {SECRET_WORDS} (ana@example.com)", conversation_id="api:ana-ticket")
    with uow_factory() as uow:
        order = uow.session.execute(select(models.Order).where(models.Order.customer_id == ANA)
                                    .order_by(models.Order.id)).scalars().first()
        uow.session.add(models.Return(order_id=order.id, reason=SECRET_WORDS, status="requested", requested_at=NOW))
        uow.session.add(models.AuditLog(at=NOW, actor="chat:web:ana-address", entity="order", entity_id=order.id,
                                        action="change_address", detail={"before": "12 Secret Lane, 10115 Berlin"}))
        uow.session.add(models.VerificationAttempt(subject="web:ana-verified", at=NOW, outcome="ok", customer_id=ANA,
                                                   reference=order.reference))
        uow.session.add(models.OutboxMessage(customer_id=ANA, kind="contact_changed", recipient="ana@example.com",
                                             subject="Your e-mail was changed", body="Hello Ana", created_at=NOW))
        feedback = uow.session.execute(select(models.Feedback).where(
            models.Feedback.customer_id == ANA)).scalars().first()
        feedback.comment, feedback.conversation_id = SECRET_WORDS, "web:ana-feedback"
        uow.commit()
    return {"order_reference": order.reference}


def conversations() -> dict[str, list]:
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet

    return {
        # Ana's: found by the identity in the messages' metadata, by the chat proof, by the CRM's ids.
        "web:ana-widget": [said("web:ana-widget", "where is my order", ANA), BotUttered("It is on its way.")],
        "api:ana-proof": [said("api:ana-proof", "my email is ana@example.com"), proven("api:ana-proof", ANA),
                          ActionExecuted("action_listen")],
        "api:ana-old-slot": [said("api:ana-old-slot", "hi"), SlotSet("customer_id", ANA)],
        "tg:777001": [said("tg:777001", "/start")],
        "api:ana-ticket": [said("api:ana-ticket", SECRET_WORDS)],
        "web:ana-verified": [said("web:ana-verified", "ABC-123 ana@example.com")],
        "web:ana-address": [said("web:ana-address", "send it to 12 Secret Lane")],
        # Not Ana's: other customers (11 and 21 start with her id's digit), and anonymous chats.
        "api:bob": [said("api:bob", "where is my order", BOB), proven("api:bob", BOB)],
        "api:eleven": [said("api:eleven", "hi", 11), proven("api:eleven", 11), SlotSet("customer_id", 21)],
        "rest:stranger": [said("rest:stranger", "do you sell socks")],
    }


NOT_ANAS = {"api:bob", "api:eleven", "rest:stranger"}


async def test_forgetting_erases_her_personal_data_everywhere_and_keeps_the_accounts(uow_factory, db_url, tracker_url):
    give_ana_a_history(uow_factory)
    await save_conversations(tracker_url, conversations())
    bob_before = accounts.get_account(BOB, uow_factory())
    with uow_factory() as uow:
        totals_before = uow.session.execute(select(func.sum(models.Order.total_cents), func.count(models.Order.id))
                                            .where(models.Order.customer_id == ANA)).one()
        invoices_before = uow.session.execute(select(func.sum(models.Invoice.amount_cents)).join(models.Order)
                                              .where(models.Order.customer_id == ANA)).scalar_one()
        street = uow.session.execute(select(models.Address.line1).where(models.Address.customer_id == ANA)).scalar_one()

    report = privacy.forget_customer(ANA, uow_factory(), tracker_store_url=tracker_url, actor="cli:admin")

    assert report.done and not report.already_forgotten
    counts = dict(report.counts)
    assert counts["conversations"] == 7 and counts["customer"] == 1 and counts["addresses"] == 1
    assert counts["order_addresses"] == totals_before[1] and counts["link_codes"] == 1
    assert counts["channel_identities"] == 1 and counts["ticket_transcripts"] == 1 and counts["feedback_comments"] == 1
    assert counts["return_reasons"] == 1 and counts["outbox_messages"] == 1 and counts["verification_attempts"] == 1
    assert stored_senders(tracker_url) == NOT_ANAS

    account = accounts.get_account(ANA, uow_factory())
    assert (account.name, account.email, account.phone) == ("Forgotten customer", "forgotten-1@invalid", None)
    assert account.newsletter_opt_in is False and account.churn_score is None
    crm = everything_stored(db_url)
    for personal in ("ana@example.com", "+49 30 1155438", "Ana Lopez", street, SECRET_WORDS, "Secret Lane",
                     "777001", "ana-widget", "ana-ticket", "ana-verified", "ana-address", "ana-feedback"):
        assert personal not in crm, personal
    with uow_factory() as uow:
        # The accounts are whole: the same orders, amounts and invoices, and the delivery country.
        assert uow.session.execute(select(func.sum(models.Order.total_cents), func.count(models.Order.id))
                                   .where(models.Order.customer_id == ANA)).one() == totals_before
        assert uow.session.execute(select(func.sum(models.Invoice.amount_cents)).join(models.Order)
                                   .where(models.Order.customer_id == ANA)).scalar_one() == invoices_before
        assert all(len(c) == 2 for c in uow.session.execute(
            select(models.Order.ship_country).where(models.Order.customer_id == ANA)).scalars())
        forgot = uow.session.execute(select(models.AuditLog).where(
            models.AuditLog.action == "forget", models.AuditLog.entity_id == ANA)).scalar_one()
        assert forgot.actor == "cli:admin" and forgot.detail["conversations"] == 7
        scrubbed = uow.session.execute(select(models.AuditLog).where(
            models.AuditLog.action == "change_address", models.AuditLog.actor == "customer:forgotten")).scalar_one()
        assert scrubbed.detail == {"erased": ["before"]}
    # Nobody else lost anything.
    assert accounts.get_account(BOB, uow_factory()) == bob_before


async def test_a_dry_run_counts_the_same_and_changes_nothing(uow_factory, db_url, tracker_url):
    give_ana_a_history(uow_factory)
    await save_conversations(tracker_url, conversations())
    crm_before = everything_stored(db_url)

    preview = privacy.forget_customer(ANA, uow_factory(), tracker_store_url=tracker_url, actor="cli:admin",
                                      dry_run=True)

    assert not preview.done and preview.count("conversations") == 7 and preview.count("conversation_events") > 7
    assert everything_stored(db_url) == crm_before
    assert stored_senders(tracker_url) == NOT_ANAS | set(conversations()) - NOT_ANAS
    done = privacy.forget_customer(ANA, uow_factory(), tracker_store_url=tracker_url, actor="cli:admin")
    assert done.counts == preview.counts


async def test_forgetting_twice_is_harmless_and_keeps_the_first_record(uow_factory, tracker_url):
    give_ana_a_history(uow_factory)
    await save_conversations(tracker_url, conversations())
    first = privacy.forget_customer(ANA, uow_factory(), tracker_store_url=tracker_url, actor="cli:admin")
    again = privacy.forget_customer(ANA, uow_factory(), tracker_store_url=tracker_url, actor="cli:admin")
    assert again.already_forgotten and sum(n for _, n in again.counts) == 0
    with uow_factory() as uow:
        record = uow.session.execute(select(models.AuditLog.detail).where(
            models.AuditLog.action == "forget").order_by(models.AuditLog.id)).scalars().first()
    assert record == {kind: n for kind, n in first.counts if n}


def test_a_missing_tracker_store_is_not_created_and_an_unknown_customer_is_refused(uow_factory, tmp_path):
    missing = tmp_path / "no-tracker.db"
    report = privacy.forget_customer(ANA, uow_factory(), tracker_store_url=f"sqlite:///{missing}", actor="cli:admin")
    assert report.count("conversations") == 0 and report.count("customer") == 1 and not missing.exists()
    with pytest.raises(errors.CustomerNotFound):
        privacy.forget_customer(99999, uow_factory(), tracker_store_url=None, actor="cli:admin")


def test_a_deletion_request_in_chat_waits_for_an_admin_and_forgetting_settles_it(uow_factory):
    ticket = accounts.request_account_deletion(ANA, uow_factory(), conversation_id="web:ana-asks", channel="web")
    accounts.request_account_deletion(ANA, uow_factory(), conversation_id="web:ana-asks", channel="web")
    assert ticket.reason == "delete_account"
    pending = privacy.list_forget_requests(uow_factory())
    assert [(r.customer_id, r.conversation_id, r.status) for r in pending] == [(ANA, "web:ana-asks", "pending")]

    report = privacy.forget_customer(ANA, uow_factory(), tracker_store_url=None, actor="cli:admin")

    assert report.count("forget_requests") == 1 and report.count("tickets_closed") >= 1
    assert privacy.list_forget_requests(uow_factory()) == []
    [done] = privacy.list_forget_requests(uow_factory(), status="done")
    assert (done.decided_by, done.conversation_id) == ("cli:admin", None)


def test_an_admin_can_reject_a_request_once(uow_factory):
    accounts.request_account_deletion(BOB, uow_factory(), conversation_id="api:bob", channel="rest")
    [request] = privacy.list_forget_requests(uow_factory())
    rejected = privacy.reject_forget_request(request.id, uow_factory(), actor="cli:admin")
    assert rejected.status == "rejected" and rejected.decided_by == "cli:admin"
    with pytest.raises(errors.InvalidInput, match="already rejected"):
        privacy.reject_forget_request(request.id, uow_factory(), actor="cli:admin")
    assert accounts.get_account(BOB, uow_factory()).email != privacy.forgotten_email(BOB)


@pytest.mark.parametrize(("event", "names_ana"), [
    ({"event": "user", "metadata": {"identity": {"cid": 1, "sig": "s"}}}, True),
    ({"event": "user", "metadata": {"identity": {"cid": 1}}}, True),  # as the redacting store keeps it
    ({"event": "user", "metadata": {"identity": {"cid": 11, "sig": "s"}}}, False),
    ({"event": "slot", "name": "session_started_metadata", "value": {"identity": {"cid": 1}}}, True),
    ({"event": "slot", "name": "session_started_metadata", "value": {"identity": {"cid": 2}}}, False),
    ({"event": "user", "metadata": {"identity": {"cid": True, "sig": "s"}}}, False),
    ({"event": "user", "metadata": {"identity": {"cid": "1", "sig": "s"}}}, False),
    ({"event": "slot", "name": "verified", "value": "1.1790000000.sig"}, True),
    ({"event": "slot", "name": "verified", "value": "11.1790000000.sig"}, False),
    ({"event": "slot", "name": "customer_id", "value": 1.0}, True),
    ({"event": "slot", "name": "customer_id", "value": 21}, False),
    ({"event": "slot", "name": "order_ref", "value": "1.2"}, False),
    ({"event": "user", "text": "customer 1", "metadata": None}, False),
    ("not an event", False),
])
def test_which_stored_events_name_a_customer(event, names_ana):
    assert privacy.event_names_customer(event, ANA) is names_ana


async def test_forgetting_drops_her_rows_from_the_report_tables_at_once(uow_factory, db_url, tracker_url):
    from dataclasses import dataclass

    from caredesk.reports import rebuild

    @dataclass(frozen=True)
    class Settings:
        database_url: str
        tracker_store_url: str

    give_ana_a_history(uow_factory)
    await save_conversations(tracker_url, conversations())
    rebuild(Settings(db_url, tracker_url))
    from crm_store.services import reports

    before = reports.last_build(uow_factory())
    with uow_factory() as uow:
        reported = set(uow.session.execute(select(models.ReportEpisode.conversation_id)).scalars())
    assert {"web:ana-widget", "api:ana-ticket"} <= reported and reported >= NOT_ANAS

    privacy.forget_customer(ANA, uow_factory(), tracker_store_url=tracker_url, actor="cli:admin")

    with uow_factory() as uow:
        assert set(uow.session.execute(select(models.ReportEpisode.conversation_id)).scalars()) == NOT_ANAS
        assert not uow.session.execute(select(models.ReportEpisode.id).where(
            models.ReportEpisode.customer_id == ANA)).first()
    after = reports.last_build(uow_factory())  # what the console's caches are keyed on
    assert after.episodes == len(NOT_ANAS) < before.episodes
    crm = everything_stored(db_url)
    for personal in ("ana-widget", "ana-ticket", "ana-verified", "ana-address", "777001"):
        assert personal not in crm, personal

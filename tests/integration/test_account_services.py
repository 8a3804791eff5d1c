from datetime import timedelta

import pytest

from crm_store import errors, models
from crm_store.services import accounts, identity, invoices, outbox, tickets
from tests.integration.shop import count, customer_email, order_ref

ANA, BEN = 1, 2


def test_contact_details_are_validated_and_saved(uow_factory):
    info = accounts.update_contact(ANA, uow_factory(), email=" Ana.New@Example.com ", phone="+31 6 1234 5678")
    assert info.email == "ana.new@example.com" and info.phone == "+31 6 1234 5678"
    assert accounts.get_account(ANA, uow_factory()).email == "ana.new@example.com"


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "<script>@x.com", "x" * 300 + "@example.com"])
def test_invalid_emails_are_refused(uow_factory, email):
    with pytest.raises(errors.InvalidInput):
        accounts.update_contact(ANA, uow_factory(), email=email)
    assert accounts.get_account(ANA, uow_factory()).email == "ana@example.com"


def test_an_email_of_another_account_is_refused(uow_factory):
    with pytest.raises(errors.InvalidInput):
        accounts.update_contact(ANA, uow_factory(), email=customer_email(uow_factory(), BEN))


def test_newsletter_can_be_switched_on_and_off(uow_factory):
    assert accounts.set_newsletter(ANA, True, uow_factory()).newsletter_opt_in is True
    assert accounts.set_newsletter(ANA, False, uow_factory()).newsletter_opt_in is False


def test_account_deletion_is_a_request_with_a_ticket(uow_factory):
    ticket = accounts.request_account_deletion(ANA, uow_factory(), conversation_id="c-1", channel="web")
    assert ticket.reason == "delete_account" and ticket.status == "open"
    assert accounts.get_account(ANA, uow_factory()).deletion_requested is True


def test_unknown_customer(uow_factory):
    with pytest.raises(errors.CustomerNotFound):
        accounts.get_account(99_999, uow_factory())


def test_invoice_of_own_paid_order(uow_factory):
    ref = order_ref(uow_factory(), ANA, "shipped")
    invoice = invoices.get_invoice(ANA, ref, uow_factory())
    assert invoice.order_reference == ref and invoice.number.startswith("INV-")
    assert invoice.amount_cents > 0 and invoice.lines


def test_no_invoice_of_someone_elses_order(uow_factory):
    with pytest.raises(errors.NotOrderOwner):
        invoices.get_invoice(ANA, order_ref(uow_factory(), BEN, "shipped"), uow_factory())


def test_verification_needs_the_email_on_that_order(uow_factory, as_of):
    ref = order_ref(uow_factory(), ANA, "shipped")
    assert identity.verify_by_order(ref, "ANA@example.com ", uow_factory(), conversation="chat-1", now=as_of) == ANA
    with pytest.raises(errors.VerificationFailed):
        identity.verify_by_order(ref, customer_email(uow_factory(), BEN), uow_factory(), conversation="chat-2",
                                 now=as_of)
    with pytest.raises(errors.VerificationFailed):
        identity.verify_by_order("CD-ZZZZZZ", "ana@example.com", uow_factory(), conversation="chat-3", now=as_of)


def test_failed_verifications_are_limited_then_forgiven(uow_factory, as_of):
    ref = order_ref(uow_factory(), ANA, "shipped")
    for _ in range(identity.FAILURE_LIMITS["conversation"]):
        with pytest.raises(errors.VerificationFailed):
            identity.verify_by_order(ref, "wrong@example.com", uow_factory(), conversation="guesser", now=as_of)
    with pytest.raises(errors.TooManyAttempts) as refused:
        identity.verify_by_order(ref, "ana@example.com", uow_factory(), conversation="guesser", now=as_of)
    assert refused.value.retry_after == identity.WINDOW
    later = as_of + identity.WINDOW + timedelta(minutes=1)
    assert identity.verify_by_order(ref, "ana@example.com", uow_factory(), conversation="guesser", now=later) == ANA


def test_channel_identities_link_and_unlink(uow_factory):
    identity.link_identity(ANA, "telegram", "555", uow_factory())
    assert identity.customer_for_identity("telegram", "555", uow_factory()) == ANA
    identity.link_identity(BEN, "telegram", "555", uow_factory())  # relinking moves it
    assert identity.customer_for_identity("telegram", "555", uow_factory()) == BEN
    assert identity.unlink_identity("telegram", "555", uow_factory()) is True
    assert identity.customer_for_identity("telegram", "555", uow_factory()) is None


def test_tickets_are_listed_most_urgent_first_then_assigned_and_closed(uow_factory):
    low = tickets.create_ticket(uow_factory(), customer_id=ANA, reason="question", priority="low")
    urgent = tickets.create_ticket(uow_factory(), customer_id=ANA, reason="complaint", priority="urgent",
                                   summary="Angry about a late parcel", conversation_id="conv-9")
    listed = [t.id for t in tickets.list_tickets(uow_factory(), limit=500)]
    assert listed.index(urgent.id) < listed.index(low.id)
    assert tickets.assign_ticket(urgent.id, "sam@shop", uow_factory()).status == "assigned"
    assert tickets.close_ticket(urgent.id, uow_factory(), actor="sam@shop").status == "closed"
    assert count(uow_factory(), models.AuditLog, models.AuditLog.entity == "ticket",
                 models.AuditLog.entity_id == urgent.id) == 3


def test_a_ticket_needs_a_known_priority(uow_factory):
    with pytest.raises(errors.InvalidInput):
        tickets.create_ticket(uow_factory(), customer_id=ANA, reason="x", priority="whenever")


def test_a_link_code_links_once_and_expires(uow_factory, as_of):
    code = identity.create_link_code(ANA, "telegram", uow_factory(), now=as_of)
    assert identity.redeem_link_code(code, "telegram", "4242", uow_factory(), now=as_of) == ANA
    assert identity.customer_for_identity("telegram", "4242", uow_factory()) == ANA
    with pytest.raises(errors.VerificationFailed):
        identity.redeem_link_code(code, "telegram", "9999", uow_factory(), now=as_of)  # used
    late = identity.create_link_code(BEN, "telegram", uow_factory(), now=as_of)
    with pytest.raises(errors.VerificationFailed):
        identity.redeem_link_code(late, "telegram", "5555", uow_factory(), now=as_of + timedelta(hours=1))
    with pytest.raises(errors.VerificationFailed):
        identity.redeem_link_code("made-up", "telegram", "5555", uow_factory(), now=as_of)
    assert identity.customer_for_identity("telegram", "5555", uow_factory()) is None


def test_a_contact_change_waits_for_the_customers_yes_in_that_conversation(uow_factory, as_of):
    held = accounts.propose_contact_change(ANA, uow_factory(), conversation="web:a", email="Ana.New@Example.com",
                                           now=as_of)
    assert held.preview == "e-mail address to a***w@example.com"
    assert accounts.get_account(ANA, uow_factory()).email == "ana@example.com"
    with pytest.raises(errors.NothingToConfirm):  # not from another conversation
        accounts.confirm_contact_change(ANA, uow_factory(), conversation="web:b", now=as_of)
    with pytest.raises(errors.NothingToConfirm):  # nor for another customer
        accounts.confirm_contact_change(BEN, uow_factory(), conversation="web:a", now=as_of)
    info = accounts.confirm_contact_change(ANA, uow_factory(), conversation="web:a", actor="chat:web:a", now=as_of)
    assert info.email == "ana.new@example.com"
    with pytest.raises(errors.NothingToConfirm):  # once
        accounts.confirm_contact_change(ANA, uow_factory(), conversation="web:a", now=as_of)


def test_an_email_change_is_told_to_the_previous_address_masked(uow_factory, as_of):
    accounts.propose_contact_change(ANA, uow_factory(), conversation="web:a", email="ana.new@example.com", now=as_of)
    accounts.confirm_contact_change(ANA, uow_factory(), conversation="web:a", actor="chat:web:a", now=as_of)
    [notice] = outbox.for_customer(ANA, uow_factory())
    assert notice.recipient == "ana@example.com" and notice.sent_at is None
    assert "a***w@example.com" in notice.body and "ana.new@" not in notice.body
    assert "in a chat" in notice.body and "web:a" not in notice.body


def test_a_phone_change_is_told_to_the_email_with_only_the_last_digits(uow_factory, as_of):
    accounts.update_contact(ANA, uow_factory(), phone="+31 6 1234 5678", now=as_of)
    [notice] = outbox.for_customer(ANA, uow_factory())
    assert notice.recipient == "ana@example.com" and "ending in 678" in notice.body and "1234" not in notice.body


def test_a_contact_change_is_checked_before_it_is_held_and_a_no_forgets_it(uow_factory, as_of):
    with pytest.raises(errors.InvalidInput):
        accounts.propose_contact_change(ANA, uow_factory(), conversation="web:a",
                                        email=customer_email(uow_factory(), BEN), now=as_of)
    with pytest.raises(errors.InvalidInput):
        accounts.propose_contact_change(ANA, uow_factory(), conversation="web:a", phone="call me", now=as_of)
    accounts.propose_contact_change(ANA, uow_factory(), conversation="web:a", phone="+31 6 1234 5678", now=as_of)
    accounts.discard_contact_change(ANA, uow_factory(), conversation="web:a")
    with pytest.raises(errors.NothingToConfirm):
        accounts.confirm_contact_change(ANA, uow_factory(), conversation="web:a", now=as_of)
    accounts.propose_contact_change(ANA, uow_factory(), conversation="web:a", phone="+31 6 1234 5678", now=as_of)
    with pytest.raises(errors.NothingToConfirm):  # expired
        accounts.confirm_contact_change(ANA, uow_factory(), conversation="web:a", now=as_of + timedelta(hours=1))
    assert accounts.get_account(ANA, uow_factory()).phone != "+31 6 1234 5678"
    assert outbox.for_customer(ANA, uow_factory()) == []


def test_an_email_taken_while_the_change_waited_is_refused(uow_factory, as_of):
    accounts.propose_contact_change(ANA, uow_factory(), conversation="web:a", email="shared@example.com", now=as_of)
    accounts.update_contact(BEN, uow_factory(), email="shared@example.com", now=as_of)
    with pytest.raises(errors.InvalidInput):
        accounts.confirm_contact_change(ANA, uow_factory(), conversation="web:a", now=as_of)
    assert accounts.get_account(ANA, uow_factory()).email == "ana@example.com"


def test_forgetting_a_customer_drops_the_change_they_had_not_confirmed(uow_factory, as_of):
    from crm_store.services import privacy

    accounts.propose_contact_change(ANA, uow_factory(), conversation="web:a", email="ana.new@example.org", now=as_of)
    privacy.forget_customer(ANA, uow_factory(), tracker_store_url=None, actor="admin", now=as_of)
    assert count(uow_factory(), models.PendingChange) == 0
    with pytest.raises(errors.NothingToConfirm):
        accounts.confirm_contact_change(ANA, uow_factory(), conversation="web:a", now=as_of)

"""A customer's request to delete their account, from chat: queued for an admin, never run on a
conversation that no longer proves who it is."""

from actions import account
from crm_store.services import accounts, privacy
from crm_store.unit_of_work import UnitOfWork
from tests.actions_support import make_tracker, run, slot_sets, texts

ANA = 1


async def test_a_confirmed_request_is_queued_for_an_admin_with_its_conversation(crm):
    _, messages = await run(account.ActionSubmitDeleteAccount(), make_tracker(
        slots={"customer_id": ANA, "confirmed": True}, sender_id="web:ana-wants-out"))
    assert "ticket #" in texts(messages) and "erases your personal data" in texts(messages)
    [request] = privacy.list_forget_requests(UnitOfWork(crm))
    assert (request.customer_id, request.conversation_id, request.status) == (ANA, "web:ana-wants-out", "pending")
    # Nothing is erased until an admin confirms.
    assert accounts.get_account(ANA, UnitOfWork(crm)).email == "ana@example.com"


async def test_a_confirmation_without_a_live_proof_asks_who_is_there_instead_of_failing(crm):
    events, messages = await run(account.ActionSubmitDeleteAccount(), make_tracker(
        slots={"confirmed": True, "verified": "1.1000000000.forged"}, sender_id="api:someone"))
    assert slot_sets(events)["next_step"] == "verify"
    assert slot_sets(events)["pending_action"] == "action_delete_account"
    assert privacy.list_forget_requests(UnitOfWork(crm)) == []
    assert not accounts.get_account(ANA, UnitOfWork(crm)).deletion_requested


async def test_saying_no_changes_nothing(crm):
    _, messages = await run(account.ActionSubmitDeleteAccount(), make_tracker(
        slots={"customer_id": ANA, "confirmed": False}))
    assert "stays as it is" in texts(messages)
    assert privacy.list_forget_requests(UnitOfWork(crm)) == []

"""A ticket's summary is stored without the customer's personal data, whoever opens the ticket."""

from __future__ import annotations

from sqlalchemy import select

from crm_store import models
from crm_store.services import tickets


def test_a_ticket_summary_is_stored_redacted_and_keeps_the_conversation_id(uow_factory):
    summary = ("Why: asked for a person\nConversation: tg:123456789\nLast messages:\n"
               "  > my email is ana@example.com and my phone 0612345678  [negative]\n"
               "  > card 4111 1111 1111 1111, send it to 5 Elm Avenue, 3511 AB Utrecht\n"
               "Orders: CD-7KQ2MX")
    ticket = tickets.create_ticket(uow_factory(), customer_id=1, reason="handoff", summary=summary,
                                   conversation_id="tg:123456789", channel="telegram")
    with uow_factory() as uow:
        stored = uow.session.execute(select(models.Ticket.summary).where(models.Ticket.id == ticket.id)).scalar_one()
    assert stored == ("Why: asked for a person\nConversation: tg:123456789\nLast messages:\n"
                      "  > my email is [email] and my phone [phone]  [negative]\n"
                      "  > card [card], send it to [address]\n"
                      "Orders: CD-7KQ2MX")

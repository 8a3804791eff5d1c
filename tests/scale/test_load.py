"""Issue 16, load: 200 conversations of 20 turns each at once through nginx, on two Rasa servers and
two action servers. Every message is answered once, each conversation is stored in the order it was
written with nothing lost or doubled, and no conversation lock fails. Throughput and latency are
printed (``-s``), never asserted: the machine is shared."""

from __future__ import annotations

import os
import uuid

from tests.scale.load import NO_REPLY, Load, LogMark, stored_conversations

CONVERSATIONS = int(os.environ.get("CAREDESK_SCALE_CONVERSATIONS", "200"))
TURNS = 20


def test_200_conversations_of_20_turns_are_all_answered_once_and_stored_in_order(production):
    marks = LogMark(production.var_dir)
    prefix = f"load-{uuid.uuid4().hex[:6]}"
    load = Load(production.rest_url, production.env["REST_API_KEYS"], prefix, CONVERSATIONS, TURNS).run()
    print("\nload:", load.figures())

    turns = load.all_turns()
    assert len(turns) == CONVERSATIONS * TURNS
    unanswered = [(c.sender, t.number, t.status, t.error or t.body[:200]) for c in load.conversations
                  for t in c.turns if not t.answered]
    assert not unanswered, f"{len(unanswered)} messages not answered: {unanswered[:5]}"
    for turn in turns:  # no reply twice in one answer
        texts = [repr(sorted(reply.items())) for reply in turn.replies]
        assert len(texts) == len(set(texts)), turn.replies
        assert all(reply.get("text") != NO_REPLY for reply in turn.replies)

    stored = stored_conversations(production.env["DATABASE_URL"], prefix)
    assert len(stored) == CONVERSATIONS
    for conversation in load.conversations:
        kept = stored[conversation.conversation_id]
        assert kept.user_texts == [turn.text for turn in conversation.turns], conversation.sender
        assert kept.bot_events == sum(len(turn.replies) for turn in conversation.turns), conversation.sender
    assert not marks.lock_trouble(), marks.lock_trouble()[:5]

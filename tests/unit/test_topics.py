"""Complaint topics: negative messages grouped by what they complain about."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest

from crm_store.scoring.episodes import NegativeMessage
from crm_store.scoring.topics import UNCLUSTERED, terms_of, topics

# Written for this test: three complaints, each in several wordings.
LATE = (
    "My parcel is late again, the delivery was promised for Monday.",
    "The delivery is three days late and the parcel still has not come.",
    "Why is my delivery so late? The parcel was due last week.",
    "Late delivery again. Where is the parcel?",
    "Your courier is late, my parcel should have been delivered on Friday.",
    "Still no parcel, the delivery is very late.",
    "The parcel delivery is late and nobody tells me when it comes.",
    "Delivery late by a week, parcel nowhere to be seen.",
)
DAMAGED = (
    "The item arrived damaged, the screen is cracked.",
    "My lamp arrived broken and the glass is cracked.",
    "The item was damaged in the box, a corner is cracked.",
    "Received a damaged item: cracked and scratched.",
    "Everything arrived broken, the item is cracked in two places.",
    "The vase arrived damaged and cracked.",
    "Damaged item, the frame is cracked and bent.",
    "Opened the box and the item was cracked and damaged.",
)
REFUND = (
    "I returned the jacket a month ago and my refund has not been received.",
    "Refund still not received after two weeks.",
    "Where is my refund? I have not received any money.",
    "You promised a refund but I never received it.",
    "No refund received yet for my return, this is too slow.",
    "The refund was not received on my card.",
    "I am still waiting to receive my refund for the returned shoes.",
    "Refund not received, I want my money.",
)
START = datetime(2026, 3, 2, 9, 0)  # Monday of ISO week 10


def message(text: str, i: int = 0, intent: str | None = "complaint") -> NegativeMessage:
    return NegativeMessage(conversation_id=f"web:{i}", number=1, at=START + timedelta(days=i), text=text,
                           intent=intent, score=-0.6, channel="web")


def complaints() -> list[NegativeMessage]:
    texts = [text for group in zip(LATE, DAMAGED, REFUND, strict=True) for text in group]  # themes interleaved
    return [message(text, i) for i, text in enumerate(texts)]


def topic_of(found, text: str, messages: list[NegativeMessage] | None = None):
    """The topic holding the message with ``text``."""
    messages = messages or complaints()
    return next(topic for topic in found if text in {messages[i].text for i in topic.members})


def test_similar_complaints_share_a_topic_and_different_ones_do_not():
    found = topics(complaints())
    late, damaged, refund = topic_of(found, LATE[0]), topic_of(found, DAMAGED[0]), topic_of(found, REFUND[0])
    assert len({late.id, damaged.id, refund.id}) == 3
    messages = complaints()
    for theme, topic in ((LATE, late), (DAMAGED, damaged), (REFUND, refund)):
        members = {messages[i].text for i in topic.members}
        assert members == set(theme)


def test_characteristic_terms_say_what_the_complaint_is_about():
    found = topics(complaints())
    assert {"late", "delivery", "parcel"} <= set(topic_of(found, LATE[0]).terms[:4])
    assert {"damage", "crack", "item"} <= set(topic_of(found, DAMAGED[0]).terms[:4])
    assert {"refund", "receive"} <= set(topic_of(found, REFUND[0]).terms[:3])


def test_terms_are_lemmas_and_adjacent_pairs_without_stop_words():
    [terms] = terms_of(["Late deliveries, the parcels were delayed and arrived damaged"])
    assert terms == ["late", "delivery", "parcel", "delay", "arrive", "damage", "late delivery", "arrive damage"]


def test_order_references_and_numbers_are_neither_terms_nor_glue_between_words():
    [terms] = terms_of(["Order CD-7KQ2XM late 3 days, ref CD-ABCDEF"])
    assert terms == ["order", "late", "day", "ref"]


def test_each_topic_has_three_distinct_examples_weekly_counts_and_sizes_that_add_up():
    messages = complaints()
    found = topics(messages)
    assert sum(topic.size for topic in found) == len(messages)
    assert sorted(i for topic in found for i in topic.members) == list(range(len(messages)))
    assert [topic.id for topic in found] == list(range(len(found)))
    assert all(a.size >= b.size for a, b in zip(found, found[1:], strict=False))
    for topic in found:
        assert len({example.text for example in topic.examples}) == 3
        assert sum(n for _, n in topic.weekly) == topic.size
        assert [week for week, _ in topic.weekly] == sorted(week for week, _ in topic.weekly)
        assert topic.weekly[0][0] == "2026-W10"
        assert topic.intents == (("complaint", topic.size),)
        assert json.loads(json.dumps(topic.as_dict()))["size"] == topic.size


def test_repeated_messages_weigh_in_but_do_not_crowd_out_the_examples():
    messages = complaints() + [message(LATE[0], 100 + i) for i in range(30)]
    found = topics(messages)
    late = topic_of(found, LATE[0], messages)
    assert set(range(len(complaints()), len(messages))) <= set(late.members)
    for topic in found:
        distinct_texts = {messages[i].text for i in topic.members}
        assert len({example.text for example in topic.examples}) == min(3, len(distinct_texts))


def test_no_messages_make_no_topics():
    assert topics([]) == []


def test_one_or_a_few_messages_make_one_topic():
    [single] = topics([message(REFUND[0])])
    assert single.size == 1 and "refund" in single.terms and single.examples[0].text == REFUND[0]
    [few] = topics([message(text, i) for i, text in enumerate(LATE[:3])])
    assert few.size == 3 and few.terms[0] in {"late", "delivery", "parcel"}


def test_messages_without_content_words_are_kept_apart():
    messages = complaints() + [message("no!!", 50), message("why???", 51)]
    found = topics(messages)
    wordless = found[-1]
    assert wordless.label == UNCLUSTERED and wordless.terms == () and wordless.size == 2
    assert sum(topic.size for topic in found) == len(messages)


def test_max_topics_caps_the_number_of_topics():
    assert len(topics(complaints(), max_topics=2)) == 2
    assert len(topics(complaints(), max_topics=1)) == 1


def test_the_same_messages_give_the_same_topics():
    first, again = topics(complaints()), topics(complaints())
    assert [(t.terms, t.members) for t in first] == [(t.terms, t.members) for t in again]


@pytest.mark.parametrize("n", [20_000])
def test_twenty_thousand_messages_are_grouped_in_seconds(n):
    themes = LATE + DAMAGED + REFUND
    messages = [message(f"{themes[i % len(themes)]} Order A-{i}.", i % 90) for i in range(n)]
    topics(messages[:10])  # spaCy's first load is not what this measures
    started = time.perf_counter()
    found = topics(messages)
    assert sum(topic.size for topic in found) == n and len(found) >= 3
    assert time.perf_counter() - started < 20

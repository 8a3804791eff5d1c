from bot.channels.limits import RateLimiter
from bot.channels.telegram import MAX_CALLBACK_DATA, ButtonPayloads, split_text


def test_long_messages_are_split_under_telegrams_limit_at_line_breaks():
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(100))
    chunks = split_text(text)
    assert len(chunks) > 1 and all(len(c) <= 4096 for c in chunks)
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")


def test_a_single_huge_word_is_still_split():
    assert [len(c) for c in split_text("y" * 9000)] == [4096, 4096, 808]


def test_short_and_empty_messages_stay_whole():
    assert split_text("hi") == ["hi"] and split_text("") == [""]


def test_the_rate_limit_is_per_chat_and_forgets_old_messages():
    limiter = RateLimiter(limit=3, window=10)
    assert [limiter.allow("a", now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.allow("b", now=3)
    assert limiter.allow("a", now=11.5)


def test_long_button_payloads_travel_as_short_keys():
    payloads = ButtonPayloads()
    short = '/track_order{"order_ref": "CD-ABC234"}'
    long = '/recommend_products{"product_category": "' + "z" * 80 + '"}'
    assert payloads.pack(short) == short
    key = payloads.pack(long)
    assert len(key.encode()) <= MAX_CALLBACK_DATA and payloads.unpack(key) == long


def test_the_rate_limiter_forgets_quiet_conversations():
    from bot.channels.limits import PRUNE_EVERY

    limiter = RateLimiter(limit=3, window=10)
    for i in range(PRUNE_EVERY - 1):
        limiter.allow(f"visitor-{i}", now=0.0)
    assert len(limiter) == PRUNE_EVERY - 1
    limiter.allow("latest", now=100.0)  # the 1000th call prunes everyone quiet for 10 s
    assert len(limiter) == 1

"""A message the assistant is unsure of is clarified with buttons, not met with a bare "please rephrase":
action_fallback run as the SDK runs it, with a real CRM behind the escalation check."""

import yaml

from actions.small_talk import MENU, ActionFallback, ActionSmallTalk
from tests.actions_support import make_tracker, run, slot_sets, texts

# What the NLU gives a bare "refund": too unsure to answer, but the refund requests lead.
REFUND_RANKING = [
    {"name": "nlu_fallback", "confidence": 0.35},
    {"name": "get_refund", "confidence": 0.31},
    {"name": "greet", "confidence": 0.2},
    {"name": "track_refund", "confidence": 0.18},
    {"name": "contact_human_agent", "confidence": 0.14},
    {"name": "check_refund_policy", "confidence": 0.12},
    {"name": "cancel_order", "confidence": 0.11},
    {"name": "track_order", "confidence": 0.04},
]


def _missed(text, ranking, *, misses=0):
    said = {"event": "user", "text": text, "parse_data": {
        "intent": {"name": "nlu_fallback"}, "entities": [], "sentiment": {"label": "neutral", "score": 0.0}}}
    return make_tracker(slots={"fallback_count": misses}, text=text, intent="nlu_fallback", ranking=ranking,
                        events=[said])


def _buttons(messages) -> list[tuple[str, str]]:
    return [(b["title"], b["payload"]) for m in messages for b in m.get("buttons") or []]


def _floor(monkeypatch, tmp_path, floor: float) -> None:
    from crm_store.policy import DEFAULT_POLICY_FILE, load_policy

    raw = yaml.safe_load(DEFAULT_POLICY_FILE.read_text())
    raw["nlu"] = {"clarify_floor": floor}
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("CAREDESK_POLICY_FILE", str(path))
    load_policy.cache_clear()


async def test_a_bare_keyword_gets_its_likeliest_requests_a_person_and_something_else_as_buttons(crm):
    result, messages = await run(ActionFallback(), _missed("refund", REFUND_RANKING))
    assert _buttons(messages) == [("Return / refund", "/get_refund"), ("Refund status", "/track_refund"),
                                  ("Refund policy", "/check_refund_policy"),
                                  ("Talk to a person", "/contact_human_agent"), ("Something else", "/out_of_scope")]
    assert "Did you mean one of these?" in texts(messages) and "another way" not in texts(messages)
    assert slot_sets(result) == {"fallback_count": 1}


async def test_small_talk_the_fallback_and_a_person_are_never_guesses(crm):
    _, messages = await run(ActionFallback(), _missed("refund", REFUND_RANKING))
    payloads = [payload for _, payload in _buttons(messages)]
    assert "/greet" not in payloads and "/nlu_fallback" not in payloads
    assert payloads.count("/contact_human_agent") == 1 and payloads[-2:] == ["/contact_human_agent", "/out_of_scope"]


async def test_guesses_below_the_policy_floor_are_not_offered(crm, monkeypatch, tmp_path):
    _floor(monkeypatch, tmp_path, 0.3)
    try:
        _, messages = await run(ActionFallback(), _missed("refund", REFUND_RANKING))
    finally:
        from crm_store.policy import load_policy

        monkeypatch.delenv("CAREDESK_POLICY_FILE")
        load_policy.cache_clear()
    assert [p for _, p in _buttons(messages)] == ["/get_refund", "/contact_human_agent", "/out_of_scope"]


async def test_with_no_guess_above_the_floor_the_main_requests_are_offered_never_a_bare_rephrase(crm):
    noise = [{"name": "nlu_fallback", "confidence": 0.35}, {"name": "greet", "confidence": 0.3},
             {"name": "track_order", "confidence": 0.05}]
    result, messages = await run(ActionFallback(), _missed("qwzx", noise))
    assert "say it another way" in texts(messages)
    payloads = [p for _, p in _buttons(messages)]
    assert payloads == [f"/{name}" for name in (*MENU, "contact_human_agent", "out_of_scope")]
    assert slot_sets(result) == {"fallback_count": 1}


async def test_a_lone_yes_that_reads_like_a_request_keyword_is_clarified_not_okayed(crm):
    # "COD" (cash on delivery) once came out as affirm with payment methods close behind.
    cod = [{"name": "affirm", "confidence": 0.46}, {"name": "check_payment_methods", "confidence": 0.29},
           {"name": "greet", "confidence": 0.04}]
    _, messages = await run(ActionSmallTalk(), make_tracker(text="COD", intent="affirm", ranking=cod))
    assert "Okay." not in texts(messages)
    assert [p for _, p in _buttons(messages)][0] == "/check_payment_methods"


async def test_a_plain_yes_or_no_with_nothing_pending_is_still_just_okayed(crm):
    for intent in ("affirm", "deny"):
        ranking = [{"name": intent, "confidence": 0.97}, {"name": "greet", "confidence": 0.01},
                   {"name": "track_order", "confidence": 0.01}]
        _, messages = await run(ActionSmallTalk(), make_tracker(text="ok", intent=intent, ranking=ranking))
        assert "Okay." in texts(messages) and _buttons(messages) == []


async def test_the_second_miss_in_a_row_offers_a_person_with_or_without_guesses(crm):
    result, messages = await run(ActionFallback(), _missed("refund", REFUND_RANKING, misses=1))
    assert "shall I get a colleague" in texts(messages) and len(_buttons(messages)) == 5
    assert slot_sets(result) == {"fallback_count": 2}

    noise = [{"name": "nlu_fallback", "confidence": 0.35}, {"name": "track_order", "confidence": 0.02}]
    result, messages = await run(ActionFallback(), _missed("qwzx", noise, misses=1))
    assert "shall I get a colleague" in texts(messages)
    assert _buttons(messages) == [("Talk to a person", "/contact_human_agent")]


async def test_a_clarified_miss_still_goes_through_the_escalation_check_first(crm, agents_live):
    insult = [{"name": "nlu_fallback", "confidence": 0.35}, {"name": "complaint", "confidence": 0.3}]
    tracker = _missed("what a useless bot", insult)
    tracker.events[-1]["parse_data"]["sentiment"] = {"label": "negative", "score": -0.49}
    result, messages = await run(ActionFallback(), tracker)
    assert "asked a colleague" in texts(messages) and _buttons(messages) == []
    assert slot_sets(result)["fallback_count"] == 0

import pytest

from crm_store.scoring.escalation import (
    EscalationRules,
    Signals,
    contains_term,
    decide,
    is_insult,
    says_asked_before,
    sentiment_trend,
    words,
)

RULES = EscalationRules()


def test_the_trend_weights_recent_messages_more():
    assert sentiment_trend([]) == 0.0
    assert sentiment_trend([0.5]) == 0.5
    assert sentiment_trend([0.8, -0.8], alpha=0.5) == 0.0
    assert sentiment_trend([0.0, 0.0, -0.8], alpha=0.5) < sentiment_trend([-0.8, 0.0, 0.0], alpha=0.5)


def test_asking_for_a_person_escalates():
    decision = decide(Signals(intent="contact_human_agent"), RULES)
    assert decision.escalate and decision.reasons == ("asked for a person",)


def test_one_very_negative_message_escalates():
    assert "very negative message" in decide(Signals("track_order", sentiments=[0.1, -0.8]), RULES).reasons


def test_a_calm_customer_is_not_escalated():
    assert not decide(Signals("track_order", sentiments=[0.0, -0.2, 0.1]), RULES).escalate


def test_a_negative_streak_escalates_even_for_low_churn():
    decision = decide(Signals("track_order", sentiments=[-0.4, -0.45, -0.5], churn_score=0.05), RULES)
    assert decision.reasons == ("negative sentiment trend",)


def test_a_short_negative_start_is_not_yet_a_trend():
    assert not decide(Signals("track_order", sentiments=[-0.5, -0.5]), RULES).escalate


def test_an_at_risk_customer_who_wants_to_cancel_escalates_with_a_retention_offer():
    decision = decide(Signals("cancel_order", sentiments=[0.0], churn_score=0.8), RULES)
    assert decision.escalate and decision.retention and decision.priority == "high"


def test_a_loyal_customer_cancelling_calmly_is_left_to_the_bot():
    assert not decide(Signals("cancel_order", sentiments=[0.0], churn_score=0.1), RULES).escalate


def test_repeated_fallbacks_escalate():
    assert decide(Signals("nlu_fallback", fallbacks=RULES.fallbacks_at), RULES).reasons == (
        "repeated misunderstandings",)


def test_one_misunderstanding_short_of_the_limit_is_left_to_the_bot():
    assert not decide(Signals("nlu_fallback", fallbacks=RULES.fallbacks_at - 1), RULES).escalate


def test_priority_rises_with_risk_value_and_anger():
    angry_valuable_at_risk = Signals("complaint", sentiments=[-0.9], churn_score=0.9, lifetime_value_cents=90_000)
    assert decide(angry_valuable_at_risk, RULES).priority == "urgent"
    assert decide(Signals("contact_human_agent", sentiments=[0.0]), RULES).priority == "normal"


def test_the_thresholds_come_from_the_policy_file(tmp_path):
    from crm_store.policy import DEFAULT_POLICY_FILE, load_policy

    message = Signals("greet", sentiments=[-0.7])
    assert decide(message, load_policy().escalation).escalate
    edited = tmp_path / "policy.yml"
    edited.write_text(DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
                      .replace("very_negative_at: -0.6", "very_negative_at: -0.9"), encoding="utf-8")
    rules = load_policy(str(edited)).escalation
    assert rules.very_negative_at == -0.9 and not decide(message, rules).escalate


@pytest.mark.parametrize("text", ["you are useless, third time I'm asking", "stupid bot", "you idiot",
                                  "this chatbot is garbage", "What a USELESS bot!!", "you suck", "useless.",
                                  "this is a waste of time", "You're all incompetent", "your service is pathetic"])
def test_an_insult_aimed_at_the_assistant_or_the_shop_is_an_insult(text):
    assert is_insult(text, -0.4, RULES)


@pytest.mark.parametrize("text", ["sorry, stupid question: where is my invoice?",
                                  "is the charger useless without the cable?",
                                  "my old blender was garbage, want a new one", "hello, kinda annoyed today",
                                  "that took a while"])
def test_a_bad_word_not_aimed_at_anyone_here_or_no_bad_word_at_all_is_not_an_insult(text):
    assert not is_insult(text, -0.4, RULES)


def test_a_positive_message_is_not_an_insult():
    assert not is_insult("you're not useless after all, thanks!", 0.6, RULES)


def test_terms_match_whole_words_with_an_optional_any_ending():
    assert contains_term(words("You IDIOTS."), ("idiot*",))
    assert not contains_term(words("a useful idea"), ("useless",))
    assert contains_term(words("what a waste of time"), ("waste of time",))
    assert not contains_term(words("waste time"), ("waste of time",))
    assert words("You’re") == ("youre",)


def test_an_insult_with_no_request_escalates_with_high_priority():
    decision = decide(Signals("bot_challenge", sentiments=[0.0, -0.45], text="you are useless"), RULES)
    assert decision.escalate and decision.reasons == ("insult",) and decision.priority == "high"


def test_saying_it_was_asked_before_escalates_even_as_small_talk():
    decision = decide(Signals("greet", sentiments=[-0.2], text="hello?? how many times do I have to write"), RULES)
    assert decision.reasons == ("asked again",)


def test_asking_again_happily_is_not_frustration():
    assert not says_asked_before("third time I order here, love it", 0.7, RULES)


def test_the_issue_example_fires_both_new_rules():
    reasons = decide(Signals("bot_challenge", sentiments=[-0.3], text="you are useless, third time I'm asking"),
                     RULES).reasons
    assert reasons == ("insult", "asked again")


def test_mildly_negative_small_talk_is_left_to_the_bot():
    assert not decide(Signals("greet", sentiments=[-0.32], text="hello, kinda annoyed today"), RULES).escalate
    assert not decide(Signals("thank_you", sentiments=[0.0, -0.2], text="ok thanks, not ideal but fine"),
                      RULES).escalate


def test_the_lexicons_come_from_the_policy_file(tmp_path):
    from crm_store.policy import DEFAULT_POLICY_FILE, load_policy

    rules = load_policy().escalation
    assert "useless" in rules.insult_terms and isinstance(rules.insult_terms, tuple)
    edited = tmp_path / "policy.yml"
    edited.write_text(DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
                      .replace("insult_terms: [useless,", "insult_terms: [nitwit*, useless,"), encoding="utf-8")
    assert is_insult("you nitwits", -0.3, load_policy(str(edited)).escalation)
    assert not is_insult("you nitwits", -0.3, rules)

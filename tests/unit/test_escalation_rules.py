from crm_store.scoring.escalation import EscalationRules, Signals, decide, sentiment_trend

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
    assert decide(Signals("nlu_fallback", fallbacks=2), RULES).reasons == ("repeated misunderstandings",)


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

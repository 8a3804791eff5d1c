"""Every request the assistant can offer as a guess after a misunderstanding has a button label in
domain.yml (utter_intent_label_<intent>), so no guess is silently dropped and a shop words them there."""

from actions.small_talk import ALWAYS_OFFERED, NOT_GUESSED, clarify_buttons, intent_labels, likely_requests
from tests.actions_support import load_domain

DOMAIN = load_domain()


def test_every_intent_that_can_be_offered_has_a_short_label():
    labels = intent_labels(DOMAIN)
    offerable = {i for i in DOMAIN["intents"] if i not in NOT_GUESSED} | set(ALWAYS_OFFERED)
    assert offerable - set(labels) == set()
    assert all(0 < len(labels[name]) <= 25 for name in offerable), {n: labels[n] for n in offerable}


def test_every_label_names_an_intent_of_the_domain():
    assert set(intent_labels(DOMAIN)) <= set(DOMAIN["intents"])


def test_labels_come_from_the_domain_so_a_shop_can_reword_them():
    domain = {"responses": {"utter_intent_label_get_refund": [{"text": "Money back"}],
                            "utter_intent_label_out_of_scope": [{"text": "None of these"}]}}
    labels = intent_labels(domain)
    assert clarify_buttons(["get_refund"], labels) == [{"title": "Money back", "payload": "/get_refund"},
                                                       {"title": "None of these", "payload": "/out_of_scope"}]


def test_the_guesses_are_the_best_three_requests_at_or_above_the_floor():
    labels = intent_labels(DOMAIN)
    ranking = [{"name": n, "confidence": c} for n, c in
               [("nlu_fallback", 0.4), ("check_invoice", 0.3), ("affirm", 0.25), ("get_invoice", 0.2),
                ("payment_issue", 0.1), ("track_order", 0.1), ("delivery_period", 0.09)]]
    assert likely_requests(ranking, labels, 0.1) == ["check_invoice", "get_invoice", "payment_issue"]
    assert likely_requests(ranking, labels, 0.25) == ["check_invoice"]
    assert likely_requests(ranking, labels, 0.5) == []

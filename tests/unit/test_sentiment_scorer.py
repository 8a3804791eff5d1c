"""The shop-tuned sentiment scorer (pure; VADER's lexicon from the vaderSentiment package)."""

import pytest

from bot.nlu import sentiment_scorer as sentiment


@pytest.fixture(autouse=True)
def nltk_data_in_tmp(monkeypatch, tmp_path):
    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path))


@pytest.mark.parametrize("text", [
    "my parcel still hasn't arrived",
    "this is the third time i ask about my refund",
    "WHERE IS MY ORDER",
    "great, another week and still no parcel",
    "the kettle stopped working after two days",
    "😡😡 where is it",
    "how many times do I have to explain this?!",
])
def test_shop_frustration_reads_as_negative(text):
    assert sentiment.score(text).label == "negative"


@pytest.mark.parametrize("text", ["thanks, that was really helpful", "perfect, sorted quickly 👍",
                                  "love the headphones"])
def test_thanks_and_praise_read_as_positive(text):
    assert sentiment.score(text).label == "positive"


@pytest.mark.parametrize("text", ["where is my order CD-7KQ2MX", "i want to change my address",
                                  "do you ship to belgium"])
def test_plain_requests_are_neutral(text):
    assert sentiment.score(text).label == "neutral"


def test_plain_vader_misses_what_the_shop_scorer_catches():
    text = "my parcel still hasn't arrived"
    assert sentiment.plain_vader(text).label == "neutral"
    assert sentiment.score(text).label == "negative"


def test_negation_is_kept():
    assert sentiment.score("the support was not helpful at all").label == "negative"


def test_scores_are_bounded_and_long_input_is_fine():
    result = sentiment.score("terrible awful worst " * 2000)
    assert result.label == "negative" and -1.0 <= result.score <= 1.0


def test_the_lexicon_is_built_from_the_installed_package(tmp_path):
    folder = sentiment.nltk_data_dir()
    assert (folder / "sentiment" / "vader_lexicon.zip").exists()
    assert str(folder).startswith(str(tmp_path))


@pytest.mark.parametrize("text,label", [("1 star, never again", "negative"), ("2/5 for the delivery", "negative"),
                                        ("5 stars from me", "positive"), ("yes please", "neutral"),
                                        ("ok", "neutral")])
def test_ratings_count_and_confirmations_are_not_feelings(text, label):
    assert sentiment.score(text).label == label


@pytest.mark.parametrize("text", ["i want to cancel my order", "can i stop the newsletter", "can i pay by card",
                                  "i'd like a refund please", "how do i return the kettle"])
def test_shop_request_words_are_not_feelings(text):
    assert sentiment.score(text).label == "neutral"


@pytest.mark.parametrize("text", ["the parcel arrived damaged", "you overcharged me", "this is a scam",
                                  "the lid is cracked and the box was smashed"])
def test_shop_failures_read_as_negative_where_plain_vader_may_not(text):
    assert sentiment.lexicon_score(text).label == "negative"


def test_negation_marks_words_until_punctuation():
    terms = sentiment.terms("It's not good at all. Thanks")
    assert "NOT_good" in terms and "NOT_all" in terms
    assert "thanks" in terms and "NOT_thanks" not in terms
    assert "not NOT_good" in terms  # bigrams carry the marks
    assert "NOT_working" in sentiment.terms("it doesn't working")


def _model(**terms):
    return sentiment.LinearModel(0.0, (0.0,) * len(sentiment.DENSE_FEATURES), terms)


def test_learned_layer_leaves_messages_without_feeling_neutral():
    model = _model(order=-9.0, where=-9.0)  # a model that hates the word "order"
    assert sentiment.learned_score("where is my order", model) == sentiment.Sentiment("neutral", 0.0)
    assert sentiment.learned_score("where is my order, this is awful", model).label == "negative"


def test_learned_layer_follows_its_weights_on_the_compound_scale():
    assert sentiment.learned_score("not good", _model(**{"NOT_good": -3.0})).score < -0.9
    assert sentiment.learned_score("not good", _model(**{"NOT_good": 3.0})).score > 0.9
    neutral = sentiment.learned_score("good", _model())
    assert neutral.score == 0.0 and neutral.label == "neutral"


def test_model_file_round_trip_and_refuses_other_features():
    model = sentiment.LinearModel(0.25, tuple(float(i) for i in range(len(sentiment.DENSE_FEATURES))),
                                  {"NOT_good": -1.5}, ("amazon", "yelp"))
    assert sentiment.LinearModel.from_json(model.to_json()) == model
    with pytest.raises(ValueError):
        sentiment.LinearModel.from_json({**model.to_json(), "features": ["compound"]})


def test_score_uses_the_shipped_file_when_there_is_one(monkeypatch, tmp_path):
    import json

    path = tmp_path / "sentiment_model.json"
    monkeypatch.setattr(sentiment, "MODEL_FILE", path)
    sentiment.shipped_model.cache_clear()
    try:
        assert sentiment.score("the soup was lovely") == sentiment.lexicon_score("the soup was lovely")
        path.write_text(json.dumps(_model(lovely=-8.0).to_json()), encoding="utf-8")
        sentiment.shipped_model.cache_clear()
        assert sentiment.score("the soup was lovely").label == "negative"
    finally:
        sentiment.shipped_model.cache_clear()


def test_a_message_takes_well_under_half_a_millisecond():
    import time

    texts = [f"my parcel {i} still hasn't arrived and nobody answers?!" for i in range(300)]
    sentiment.score("warm up")
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for text in texts:
            sentiment.score(text)
        best = min(best, (time.perf_counter() - started) * 1000 / len(texts))
    assert best < 0.5


def _review_set(name, negative, positive):
    from caredesk.sentiment_eval import ReviewSet

    texts = tuple(negative) + tuple(positive)
    return ReviewSet(name, texts, ("negative",) * len(negative) + ("positive",) * len(positive))


def test_leave_one_set_out_trains_each_leg_on_the_other_sets_only():
    from caredesk.sentiment_eval import leave_one_set_out, train_model

    bad = ["not good at all", "it is not nice", "not great, sadly", "terrible item", "awful, broke at once",
           "not worth it", "the worst", "bad and not pretty", "not happy with it", "horrible"]
    good = ["good value", "nice and sturdy", "great buy", "lovely thing", "love it", "works great",
            "really good", "very nice", "happy with it", "excellent"]
    sets = [_review_set(name, bad, good) for name in ("a", "b", "c")]
    legs = leave_one_set_out(sets)
    assert [(leg.name, leg.trained_on) for leg in legs] == [("a", ("b", "c")), ("b", ("a", "c")), ("c", ("a", "b"))]
    model, _ = train_model(sets[:2], c=10.0)
    assert model.trained_on == ("a", "b")
    assert model.terms["NOT_good"] < 0 < model.terms.get("good", 0.0)
    assert sentiment.learned_score("not good", model).label == "negative"

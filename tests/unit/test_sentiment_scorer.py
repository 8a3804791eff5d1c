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

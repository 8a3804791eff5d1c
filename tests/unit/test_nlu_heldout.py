"""The Bitext evaluation splits stay out of the training data (scripts/bitext_overlap.py).

The data tests read ../shared/data beside the checkout (see its README) and are skipped without it.
"""

import importlib.util
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


overlap = _script("bitext_overlap")


@pytest.fixture(scope="module")
def bitext_rows():
    if not overlap.BITEXT.exists():
        pytest.skip(f"Bitext data not found at {overlap.BITEXT} (../shared/data beside the checkout)")
    return overlap.read_bitext()


@pytest.mark.parametrize("ours,theirs", [
    ("Cancelling purchase [CD-H4N8PQ](order_ref)", "cancelling purchase 00123842"),
    ("contact customer service.", "Contact  customer service"),
    ("refund CD-BF3XUY", "refund $1200"),
    ("i cant find invoice #CD-7KQ2MX", "I can't find invoice #00108"),
    ("NEWSLETTER SUBSCRIPTION??", "newsletter subscription"),
    ("status of {{Order Number}}", "status of 370795561790"),
])
def test_order_numbers_references_case_and_punctuation_do_not_make_a_sentence_new(ours, theirs):
    assert overlap.normalise(ours) == overlap.normalise(theirs)


def test_different_words_stay_different():
    assert overlap.normalise("cancel my order") != overlap.normalise("cancel my orders")


def test_a_phrase_seen_only_in_the_evaluation_splits_is_found():
    rows = [{"split": "train", "text": "track my order 123"}, {"split": "test", "text": "where is the ETA of 456?"},
            {"split": "val", "text": "I want to track my order"}]
    found = overlap.phrases_only_in_evaluation(["the eta of {r}", "track my order", "i want to {vp}"], rows)
    assert found == ["the eta of {r}", "i want to {vp}"]


def test_no_training_example_equals_a_bitext_sentence_once_normalised(bitext_rows):
    equal = overlap.examples_equal_to_bitext(overlap.training_examples(), bitext_rows)
    assert equal == []


def test_no_phrase_of_ours_occurs_only_in_bitext_test_or_validation(bitext_rows):
    generator = _script("generate_nlu")
    assert overlap.phrases_only_in_evaluation(generator.all_phrases(), bitext_rows) == []

"""Every evaluation text stays out of the training data (scripts/bitext_overlap.py).

The evaluation texts are Bitext (all splits), the real shop queries, the review sentences (every CSV
with a text column under ../shared/data) and the NLU benchmark's own held-out files. The data tests
read ../shared/data beside the checkout (see its README) and are skipped without it.
"""

import importlib.util
import subprocess
import sys
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
    ("refund!!", "Refund"),
    ("where is my order", "Where is my order?"),
    ("Order [CD-7KQ2MX](order_ref) not delivered", "order 4405-22 not delivered."),
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


@pytest.fixture(scope="module")
def evaluation():
    missing = [p for p in overlap.REQUIRED_EVALUATION if not p.exists()]
    if missing:
        pytest.skip(f"evaluation data not found: {missing} (../shared/data beside the checkout)")
    return overlap.evaluation_texts()


def test_every_evaluation_file_of_the_shared_data_is_compared():
    if not overlap.SHARED.is_dir():
        pytest.skip(f"no {overlap.SHARED}")
    names = {f"{p.parent.name}/{p.name}" for p in overlap.evaluation_files()}
    assert {"bitext_customer_support/utterances.csv", "real_shop_queries/dev.csv", "review_sentiment/amazon.csv",
            "review_sentiment/imdb.csv", "review_sentiment/yelp.csv", "data/heldout_messy.csv",
            "data/heldout_out_of_scope.txt"} <= names
    assert not any(name.endswith(".gz") for name in names)  # online retail: transactions, no texts


def test_no_training_example_equals_any_evaluation_text_once_normalised(evaluation):
    examples = overlap.training_examples()
    assert len(examples) > 10_000  # the generated requests are read, not an empty folder
    assert overlap.examples_equal_to_evaluation(examples, evaluation) == []


def test_learned_and_nested_files_are_read_and_patterns_are_not(tmp_path):
    (tmp_path / "nlu" / "learned").mkdir(parents=True)
    (tmp_path / "nlu" / "learned" / "get_refund.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: get_refund\n  examples: |\n    - Refund.\n    - money back pls\n')
    (tmp_path / "nlu" / "entities.yml").write_text(
        'version: "3.1"\nnlu:\n  - lookup: product\n    examples: |\n      - refund\n')
    (tmp_path / "rules.yml").write_text('version: "3.1"\nrules: []\n')
    examples = overlap.training_examples(tmp_path)
    assert examples == [("nlu/learned/get_refund.yml", "Refund."), ("nlu/learned/get_refund.yml", "money back pls")]
    evaluation = overlap.evaluation_texts([_csv(tmp_path, ["Refund", "10/10"])])
    assert overlap.examples_equal_to_evaluation(examples, evaluation) == [
        ("nlu/learned/get_refund.yml", "Refund.", "x/eval.csv: Refund")]
    assert "0" not in evaluation  # a text without letters would equal every bare order reference


def _csv(folder: Path, texts: list[str]) -> Path:
    path = folder / "x" / "eval.csv"
    path.parent.mkdir()
    path.write_text("text,label\n" + "".join(f"{t},negative\n" for t in texts))
    return path


def test_no_phrase_of_ours_occurs_only_in_bitext_test_or_validation(bitext_rows):
    generator = _script("generate_nlu")
    assert overlap.phrases_only_in_evaluation(generator.all_phrases(), bitext_rows) == []


def test_the_generator_excludes_the_real_shop_queries_and_reviews(evaluation):
    generator = _script("generate_nlu")
    excluded = generator.excluded_texts(overlap.SHARED, [])
    assert overlap.normalise("Where is my order?") in excluded  # real_shop_queries/dev.csv
    assert overlap.normalise("Good case, Excellent value.") in excluded  # review_sentiment/amazon.csv
    assert set(evaluation) == excluded


BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "nlu_bitext.py"


def _bench():
    """benchmarks/nlu_bitext.py, registered before it runs (its dataclasses look their module up)."""
    if "nlu_bitext" not in sys.modules:
        spec = importlib.util.spec_from_file_location("nlu_bitext", BENCH)
        module = importlib.util.module_from_spec(spec)
        sys.modules["nlu_bitext"] = module
        spec.loader.exec_module(module)
    return sys.modules["nlu_bitext"]


def test_the_real_shop_halves_are_stable_and_ignore_case_punctuation_and_numbers():
    bench = _bench()
    assert bench.shop_half("Where is my order 1234?") == bench.shop_half("where is my ORDER 99")
    halves = [bench.shop_half(f"message number {word}") for word in ("one", "two", "three", "four", "five", "six",
                                                                     "seven", "eight", "nine", "ten", "eleven")]
    assert {bench.TUNE, bench.HELD_OUT} == set(halves)


def test_the_real_shop_file_splits_into_two_halves_of_every_common_label():
    bench = _bench()
    if not bench.REAL_SHOP.exists():
        pytest.skip(f"no {bench.REAL_SHOP}")
    rows = bench.read_shop()
    tune = [r for r in rows if r.half == bench.TUNE]
    assert 0.4 < len(tune) / len(rows) < 0.6
    for label in {r.label for r in rows if sum(x.label == r.label for x in rows) >= 10}:
        assert {r.half for r in rows if r.label == label} == {bench.TUNE, bench.HELD_OUT}


def test_a_fallback_counts_as_wrong_and_the_figures_are_split_by_half_and_label():
    bench = _bench()
    rows = [bench.ShopRow("a", "ORDER_STATUS", frozenset({"track_order"}), bench.TUNE),
            bench.ShopRow("b", "ORDER_STATUS", frozenset({"track_order"}), bench.HELD_OUT),
            bench.ShopRow("c", "RECOMMEND_PRODUCT", frozenset({"product_info"}), bench.HELD_OUT)]
    parsed = [bench.Parsed("track_order", "track_order", 1.0), bench.Parsed("track_order", "nlu_fallback", 1.0),
              bench.Parsed("product_info", "product_info", 1.0)]
    report = bench.evaluate_shop(rows, parsed)
    overall = report["overall"]
    assert overall["all"] == {"n": 3, "answered_right": 0.6667, "answered_right_strict": 0.6667,
                              "top_intent_right": 1.0, "fallback_share": 0.3333}
    assert overall["without product requests"]["answered_right"] == 0.5
    assert overall[bench.TUNE]["answered_right"] == 1.0
    assert overall[bench.HELD_OUT]["answered_right"] == 0.5
    assert report["per_source_label"]["ORDER_STATUS"][bench.HELD_OUT]["fallback_share"] == 1.0


def test_a_newer_intent_counts_only_where_the_intent_it_refines_is_accepted():
    bench = _bench()
    rows = [bench.ShopRow("x", "REFUNDS_RETURNS_REPLACEMENTS", frozenset({"get_refund"}), bench.TUNE),
            bench.ShopRow("y", "ORDER_STATUS", frozenset({"track_order"}), bench.TUNE),
            bench.ShopRow("z", "CANCEL_ORDER", frozenset({"cancel_order"}), bench.TUNE)]
    parsed = [bench.Parsed("exchange_item", "exchange_item", 1.0),
              bench.Parsed("report_not_received", "report_not_received", 1.0),
              bench.Parsed("exchange_item", "exchange_item", 1.0)]
    summary = bench.evaluate_shop(rows, parsed)["overall"]["all"]
    assert summary["answered_right"] == 0.6667
    assert summary["answered_right_strict"] == 0.0


def test_the_benchmark_refuses_to_print_held_out_texts():
    done = subprocess.run([sys.executable, str(BENCH), "--show-misses", "tune", "held-out"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "refused" in done.stderr
    assert "trained" not in done.stdout  # refused before any training

"""Learning from conversations (bot/nlu/learning.py): which stored messages are reviewed, how
they are grouped, and what an annotated CSV may and may not add to the training data."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from bot.nlu import learning as nlu_learning
from bot.nlu.learning import (
    AnnotationError,
    MissedMessage,
    learn,
    missed_messages,
    read_annotations,
    review_rows,
)
from caredesk.training import fingerprint

PROJECT = Path(__file__).resolve().parents[2]
INTENTS = {"track_order", "cancel_order", "get_refund", "greet"}


def _user(text: str, intent: str, confidence: float, ranking: list[tuple[str, float]] = (), ts: float = 0.0):
    return {"event": "user", "text": text, "timestamp": ts or datetime(2026, 5, 4, 12).timestamp(),
            "parse_data": {"text": text, "intent": {"name": intent, "confidence": confidence},
                           "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking]}}


def _missed(text: str, guessed: str = "track_order", confidence: float = 0.3) -> MissedMessage:
    return MissedMessage("c1", datetime(2026, 5, 4, 12), text, guessed, confidence)


def _csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=nlu_learning.REVIEW_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row.get(column, "") for column in nlu_learning.REVIEW_COLUMNS})
    return path


def test_fallbacks_and_low_confidence_messages_are_reviewed_with_the_models_real_guess():
    events = [
        _user("where is my parcel", "track_order", 0.92),
        _user("exchange", "nlu_fallback", 0.35, [("nlu_fallback", 0.35), ("get_refund", 0.21), ("greet", 0.1)]),
        _user("toll free number", "contact_customer_service", 0.41),
        _user("/affirm", "affirm", 0.2),  # a button, not typed
        {"event": "bot", "text": "Sorry?", "timestamp": 1.0},
    ]
    found = missed_messages("c1", events, threshold=0.5)
    assert [(m.text, m.guessed_intent, m.confidence) for m in found] == [
        ("exchange", "get_refund", 0.21), ("toll free number", "contact_customer_service", 0.41)]


def test_since_leaves_out_older_messages():
    old = _user("exchange", "nlu_fallback", 0.3, ts=datetime(2026, 4, 1, 12).timestamp())
    new = _user("swap size", "nlu_fallback", 0.3, ts=datetime(2026, 5, 2, 12).timestamp())
    assert [m.text for m in missed_messages("c1", [old, new], since=date(2026, 5, 1))] == ["swap size"]


def test_the_same_text_written_differently_is_one_row_with_its_count_most_frequent_first():
    messages = [_missed("Exchange?"), _missed("exchange"), _missed("EXCHANGE !"), _missed("toll free number"),
                _missed("toll free number", "contact_customer_service", 0.4), _missed("hello there friend")]
    rows = review_rows(messages, max_groups=2)
    counts = {row.text.casefold().strip(" ?!"): row.count for row in rows}
    assert counts == {"exchange": 3, "toll free number": 2, "hello there friend": 1}
    for group in {row.group for row in rows}:
        in_group = [row.count for row in rows if row.group == group]
        assert in_group == sorted(in_group, reverse=True)


def test_similar_wordings_share_a_group_and_different_requests_do_not():
    exchange = ["i want to exchange the shoes", "exchange shoes for bigger size", "can i exchange my shoes",
                "exchange the shoes please", "shoes exchange size"]
    number = ["toll free number please", "give me the toll free number", "what is your toll free number",
              "toll free number for support"]
    rows = review_rows([_missed(t) for t in exchange + number], max_groups=4)
    group_of = {row.text: row.group for row in rows}
    assert len({group_of[t] for t in exchange}) == 1
    assert len({group_of[t] for t in number}) == 1
    assert group_of[exchange[0]] != group_of[number[0]]


def test_a_guess_is_the_models_most_frequent_one_with_its_mean_confidence():
    rows = review_rows([_missed("exchange", "get_refund", 0.2), _missed("Exchange", "get_refund", 0.3),
                        _missed("exchange", "track_order", 0.4)])
    assert (rows[0].guessed_intent, rows[0].confidence, rows[0].count) == ("get_refund", 0.25, 3)


def test_a_text_a_spreadsheet_would_run_as_a_formula_is_quoted_and_read_back_as_typed(tmp_path):
    rows = review_rows([_missed("=HYPERLINK(\"http://x\")"), _missed("-where is it")])
    path = tmp_path / "review.csv"
    nlu_learning.write_review(rows, path)
    with path.open(encoding="utf-8", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert {row["text"] for row in written} == {"'=HYPERLINK(\"http://x\")", "'-where is it"}
    for row in written:
        row["intent"] = "track_order"
    _csv(path, written)
    assert {a.text for a in read_annotations(path, INTENTS)} == {"=HYPERLINK(\"http://x\")", "-where is it"}


def test_rows_without_an_intent_are_skipped_and_known_intents_are_read(tmp_path):
    path = _csv(tmp_path / "review.csv", [{"text": "exchange", "intent": "get_refund"},
                                          {"text": "blah blah", "intent": ""},
                                          {"text": "  toll   free number ", "intent": " cancel_order "}])
    found = read_annotations(path, INTENTS)
    assert [(a.row, a.text, a.intent) for a in found] == [(2, "exchange", "get_refund"),
                                                         (4, "toll free number", "cancel_order")]


def test_an_unknown_intent_is_refused_naming_its_row_and_nothing_is_learned(tmp_path):
    path = _csv(tmp_path / "review.csv", [{"text": "exchange", "intent": "get_refund"},
                                          {"text": "where is it", "intent": "trak_order"}])
    with pytest.raises(AnnotationError, match=r"row 3: 'trak_order' is not an intent of domain.yml"):
        read_annotations(path, INTENTS)


def test_a_csv_without_an_intent_column_is_refused(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("text,label\nexchange,x\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match="no intent column"):
        read_annotations(path, INTENTS)


def test_the_domain_intents_are_the_typed_ones():
    intents = nlu_learning.domain_intents(PROJECT / "domain.yml")
    assert {"track_order", "greet", "out_of_scope"} <= intents
    assert not any(name.startswith("EXTERNAL_") for name in intents)
    assert "nlu_fallback" not in intents


def _annotation(text: str, intent: str = "track_order", row: int = 2) -> nlu_learning.Annotation:
    return nlu_learning.Annotation(row, text, intent)


def _learned(data: Path, intent: str) -> list[str]:
    content = yaml.safe_load(nlu_learning.learned_path(data, intent).read_text(encoding="utf-8"))
    assert content["version"] == "3.1"
    [block] = content["nlu"]
    assert block["intent"] == intent
    return [line[2:] for line in block["examples"].splitlines()]


def test_an_email_in_an_annotated_text_is_redacted_before_it_is_written(tmp_path):
    result = learn([_annotation("my order never came, write me at jane.doe@example.com")], tmp_path,
                   {}, nlu_learning.example_key)
    assert _learned(tmp_path, "track_order") == ["my order never came, write me at [email]"]
    assert "jane" not in nlu_learning.learned_path(tmp_path, "track_order").read_text(encoding="utf-8")
    assert [a.text for a in result.added] == ["my order never came, write me at [email]"]


def test_learning_appends_and_deduplicates(tmp_path):
    learn([_annotation("wheres my stuff")], tmp_path, {}, nlu_learning.example_key)
    result = learn([_annotation("Wheres  my stuff", row=2), _annotation("parcel not here yet", row=3),
                    _annotation("parcel not here yet", row=4)], tmp_path, {}, nlu_learning.example_key)
    assert _learned(tmp_path, "track_order") == ["wheres my stuff", "parcel not here yet"]
    assert [a.row for a in result.known] == [2, 4]


def test_a_text_already_taught_as_another_intent_is_refused(tmp_path):
    (tmp_path / "nlu").mkdir()
    (tmp_path / "nlu" / "requests.yml").write_text(
        'version: "3.1"\nnlu:\n  - intent: cancel_order\n    examples: |\n      - cancel [CD-ABCDEF](order_ref)\n',
        encoding="utf-8")
    result = learn([_annotation("Cancel CD-ABCDEF")], tmp_path, {}, nlu_learning.example_key)
    assert [r.reason for r in result.refused] == ["already a training example of cancel_order"]
    assert not nlu_learning.learned_path(tmp_path, "track_order").exists()


def test_a_text_equal_to_an_evaluation_text_is_refused_after_normalising_naming_its_file(tmp_path):
    normalise = nlu_learning.normaliser(PROJECT)
    shared = tmp_path / "shared"
    (shared / "real").mkdir(parents=True)
    (shared / "real" / "dev.csv").write_text("text,source_label\nWhen i will get the product?,ETA\n",
                                             encoding="utf-8")
    (shared / "numbers.csv").write_text("id,value\n1,2\n", encoding="utf-8")  # no text column: ignored
    evaluation = nlu_learning.evaluation_texts(PROJECT, shared)
    result = learn([_annotation("when I will get the product", row=2), _annotation("when will my parcel come", row=3)],
                   tmp_path / "data", evaluation, normalise)
    assert [(r.row, r.reason) for r in result.refused] == [(2, "equals an evaluation text (real/dev.csv)")]
    assert _learned(tmp_path / "data", "track_order") == ["when will my parcel come"]


def test_the_real_evaluation_files_are_excluded():
    shared = PROJECT.parent / "shared" / "data"
    if not (shared / "real_shop_queries" / "dev.csv").exists():
        pytest.skip("../shared/data is not beside this checkout")
    normalise = nlu_learning.normaliser(PROJECT)
    evaluation = nlu_learning.evaluation_texts(PROJECT)
    with (shared / "real_shop_queries" / "dev.csv").open(encoding="utf-8") as handle:
        first_real = next(csv.DictReader(handle))["text"]
    assert normalise(first_real) in evaluation
    assert normalise("how can I cancel purchase 113542617735902?") in evaluation  # Bitext, number normalised
    with (PROJECT / "benchmarks" / "data" / "heldout_messy.csv").open(encoding="utf-8") as handle:
        assert normalise(next(csv.DictReader(handle))["text"]) in evaluation  # our own held-out phrasings


def test_a_learned_file_is_a_training_input_of_the_fingerprint(tmp_path):
    (tmp_path / "data" / "nlu").mkdir(parents=True)
    (tmp_path / "config.yml").write_text("pipeline: []\n")
    (tmp_path / "domain.yml").write_text("version: '3.1'\n")
    before = fingerprint(tmp_path)
    learn([_annotation("wheres my stuff")], tmp_path / "data", {}, nlu_learning.example_key)
    after_first = fingerprint(tmp_path)
    assert after_first != before
    learn([_annotation("parcel not here yet")], tmp_path / "data", {}, nlu_learning.example_key)
    assert fingerprint(tmp_path) != after_first
